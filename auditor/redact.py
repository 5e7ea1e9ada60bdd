"""Mask personal data: phone numbers, card numbers and e-mail addresses.

Used by ``--redact`` on ``audit`` (what is stored) and on every command that
shows calls (what is shown), so a database or a report can be handed to
someone who must not see clients' contacts.

Redaction for display is applied where each output loads its data (the call
list, the transcript and analysis of a call, search hits), never per field in
the renderers, so a new column or format cannot forget it. Masks are
idempotent: redacting what ``audit --redact`` stored changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from auditor.records import CallAnalysis, Evidence, Segment

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# 13-19 digits, optionally grouped by spaces or dashes (card numbers).
_CARD = re.compile(r"(?<![\d+])\d(?:[ -]?\d){12,18}(?!\d)")
# 7-15 digits with an optional +, grouped by spaces, dashes, dots or brackets (phones).
_PHONE = re.compile(r"(?<![\w+])\+?\d(?:[\s().-]{0,2}\d){6,14}(?!\d)")
# Phones inside file names, where dates and times are digit groups too
# ("2026-11-02_10-15-00_+79125550123", "out-79125550123-101-20261102-101500-17305.1"):
# a number with a +, a bare run of 10-13 digits (a date is 8, a datetime 14, a
# PBX unique id is followed by ".digits"), or one with an area code in brackets.
_PATH_PHONE = re.compile(
    r"\+\d(?:[\s().-]{0,2}\d){6,14}(?!\d)"
    r"|(?<![\d.])\d{10,13}(?!\d|\.\d)"
    r"|(?<!\d)(?:[78][\s-]?)?\(\d{3,5}\)[\s-]?\d(?:[\s-]?\d){4,8}(?!\d)"
)

MASK_EMAIL = "[email]"
MASK_CARD = "[card]"
_BLANK = "\x00"  # stands in for a masked stretch while the next pattern looks

Span = tuple[int, int]
_Replacement = tuple[int, int, str]  # start, end in the original text, what replaces it
# A pattern and its mask: a fixed string, or a function of the match (None: leave it).
_Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str | None]]


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


def _card(m: re.Match[str]) -> str | None:
    return MASK_CARD if _luhn_ok(re.sub(r"\D", "", m.group())) else None


def _phone(m: re.Match[str]) -> str | None:
    return mask_phone(m.group())


def _replacements(text: str, rules: Sequence[_Rule]) -> list[_Replacement]:
    """What to mask, as non-overlapping (start, end, mask) in the original text.

    Rules apply in order; a stretch one rule masked is blanked before the next
    looks, as if it had been replaced, so e-mails win over phones inside them.
    """
    found: list[_Replacement] = []
    work = text
    for pattern, mask in rules:
        new: list[_Replacement] = []
        for m in pattern.finditer(work):
            r = mask if isinstance(mask, str) else mask(m)
            if r is not None and r != m.group():
                new.append((m.start(), m.end(), r))
        for a, b, _ in new:
            work = work[:a] + _BLANK * (b - a) + work[b:]
        found += new
    return sorted(found)


def _apply(text: str, reps: Iterable[_Replacement]) -> str:
    out, pos = [], 0
    for a, b, r in reps:
        out.append(text[pos:a])
        out.append(r)
        pos = b
    out.append(text[pos:])
    return "".join(out)


_TEXT_RULES: tuple[_Rule, ...] = ((_EMAIL, MASK_EMAIL), (_CARD, _card), (_PHONE, _phone))


def redact_text(text: str) -> str:
    """The text with e-mails, card numbers (Luhn-valid) and phone numbers masked."""
    return _apply(text, _replacements(text, _TEXT_RULES))


def redact_spans(text: str, spans: Iterable[Span]) -> tuple[str, list[Span]]:
    """Redact text and move character spans (e.g. search matches) to the new text.

    A span that touches a masked stretch is widened to the whole mask.
    """
    reps = _replacements(text, _TEXT_RULES)

    def moved(p: int, is_end: bool) -> int:
        shift = 0
        for a, b, r in reps:
            if p < a or (is_end and p == a):
                break
            if p < b or (is_end and p == b):
                return a + shift + (len(r) if is_end else 0)
            shift += len(r) - (b - a)
        return p + shift

    merged: list[Span] = []
    for a, b in sorted((moved(a, False), moved(b, True)) for a, b in spans):
        if merged and a < merged[-1][1]:  # two words of one number: one mask
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return _apply(text, reps), merged


def redact_path(path: str, client: str | None = None) -> str:
    """A file path (or a message quoting one) for display, phone numbers masked.

    Besides the general rules for file names, the call's own client number is
    masked wherever it appears, in whatever grouping ("8 (912) 555-01-23").
    """
    rules: list[_Rule] = [(_EMAIL, MASK_EMAIL)]
    digits = re.sub(r"\D", "", client or "")
    if len(digits) >= 5:
        # The number as written in the name may drop or add the leading 7/8 or +.
        core = digits[1:] if len(digits) == 11 and digits[0] in "78" else digits
        own = r"(?:\+?[78][\s().-]{0,2})?" + r"[\s().-]{0,2}".join(core)
        rules.append((re.compile(r"(?<!\d)" + own + r"(?!\d)"), _phone))
    rules.append((_PATH_PHONE, _phone))
    return _apply(path, _replacements(path, rules))


def redact_segments(segments: Iterable[Segment]) -> list[Segment]:
    """Transcript segments with their text redacted."""
    return [replace(s, text=redact_text(s.text)) for s in segments]


def _evidence(items: Iterable[Evidence]) -> list[Evidence]:
    return [replace(e, quote=redact_text(e.quote), cue=redact_text(e.cue)) for e in items]


def redact_analysis(analysis: CallAnalysis) -> CallAnalysis:
    """A copy of an analysis with evidence quotes and reasons redacted."""
    stages = {k: replace(v, evidence=_evidence(v.evidence), reason=redact_text(v.reason))
              for k, v in analysis.stages.items()}
    return replace(analysis, stages=stages, reason=redact_text(analysis.reason),
                   call_type_reason=redact_text(analysis.call_type_reason),
                   call_type_evidence=_evidence(analysis.call_type_evidence))
