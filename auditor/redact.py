"""Mask personal data: phone numbers, card numbers and e-mail addresses.

Used by ``--redact`` on ``audit`` (what is stored) and on every report (what
is shown), so a database or a report can be handed to someone who must not
see clients' contacts.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# 13-19 digits, optionally grouped by spaces or dashes (card numbers).
_CARD = re.compile(r"(?<![\d+])\d(?:[ -]?\d){12,18}(?!\d)")
# 7-15 digits with an optional +, grouped by spaces, dashes, dots or brackets (phones).
_PHONE = re.compile(r"(?<![\w+])\+?\d(?:[\s().-]{0,2}\d){6,14}(?!\d)")

MASK_EMAIL = "[email]"
MASK_CARD = "[card]"


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def mask_phone(phone: str | None) -> str | None:
    """Keep the last two digits, so calls to one client can still be told apart."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 5:
        return phone
    return "+" + "*" * (len(digits) - 2) + digits[-2:] if phone.startswith("+") else (
        "*" * (len(digits) - 2) + digits[-2:]
    )


def _card(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group())
    return MASK_CARD if _luhn_ok(digits) else m.group()


def _phone(m: re.Match[str]) -> str:
    return mask_phone(m.group()) or m.group()


def redact_text(text: str) -> str:
    """The text with e-mails, card numbers (Luhn-valid) and phone numbers masked."""
    text = _EMAIL.sub(MASK_EMAIL, text)
    text = _CARD.sub(_card, text)
    return _PHONE.sub(_phone, text)
