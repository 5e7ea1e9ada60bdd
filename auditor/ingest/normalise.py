"""Phone numbers and call directions as PBXs and CRMs write them, normalised.

Used by the layouts (names carry numbers and ``in``/``out`` words) and by the
call log (columns carry the same), so both fold them the same way.
"""

from __future__ import annotations

import re

_INBOUND = {"in", "inbound", "incoming", "external", "ext", "q", "queue", "rg", "from",
            "входящий", "входящие", "вх", "входящая"}
_OUTBOUND = {"out", "outbound", "outgoing", "force", "to", "исходящий", "исходящие", "исх",
             "исходящая"}


def normalize_phone(value: str | None) -> str | None:
    """A phone number without spaces, dashes or brackets; other text is kept as is."""
    if value is None:
        return None
    v = re.sub(r"[\s\-()]", "", value.strip())
    return v or None


def normalize_direction(value: str | None) -> str | None:
    """in / out for the words PBXs and CRMs use; anything else lower-cased."""
    if not value:
        return None
    v = value.strip().lower()
    if v in _INBOUND:
        return "in"
    if v in _OUTBOUND:
        return "out"
    return v or None
