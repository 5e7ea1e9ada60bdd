"""Layouts: manager, client, time and direction read from a recording's path.

Real telephony systems and CRMs store calls in many ways; the layout says
where in the path (folders, file name) the manager, client, time and
direction are written. A call log (:mod:`auditor.ingest.calllog`) wins over it.

``--layout`` takes a preset name or a template. A template is matched against
the path of the recording relative to the recordings folder, without the
extension; ``/`` separates folders. Fields in braces capture values, anything
else is literal text:

==============  ===========================================================
``{manager}``   the manager: a name or an internal extension (``101``)
``{client}``    the client's phone number (spaces, dashes, brackets dropped)
``{src}``       the calling number; ``{dst}`` the called number. Which one is
                the manager follows from ``{direction}`` (out: src; in: dst);
                without a direction the short one (an extension, up to 5
                digits) is the manager
``{direction}`` in/out; PBX words (``external``, ``q``, ``rg``, ``входящий``,
                ``исходящий``, ``outbound``...) are normalised to in/out
``{date}``      2026-11-02, 20261102, 2026.11.02 or 02.11.2026
``{time}``      10-15-00, 10:15:00, 10.15.00, 101500 or 10-15
``{datetime}``  date and time together: 20261102101500, 2026-11-02_10-15-00
``{uniqueid}``  the PBX call id (ignored for attribution)
``{*}``         anything, ignored (also ``{_}`` or any other unknown name)
``**``          (a whole folder level) any number of folders
==============  ===========================================================

Folder levels before the file name are matched from the top of the
recordings folder; folders between them and the file are ignored unless
``**`` is used, after which the levels are matched from the file upwards.

Presets:

``default``
    ``{manager}/{date}_{time}_{client}``, leniently: manager = first folder,
    the date, time and client are searched anywhere in the name and the
    client is optional. ``Ирина Соколова/2026-11-02_10-15-00_+79125550123.wav``
``asterisk`` (also ``mixmonitor``, ``issabel``)
    ``{direction}-{client}-{manager}-{date}-{time}-{uniqueid}``, the Asterisk
    MixMonitor naming used by Issabel/Elastix:
    ``out-79125550123-101-20261102-101500-1730540100.123.wav``
``freepbx``
    ``{direction}-{dst}-{src}-{date}-{time}-{uniqueid}``, FreePBX's
    ``{type}-{to}-{from}-...`` naming, where the order of extension and
    number depends on the direction: ``out-79125550123-101-20261102-101500-
    1730540100.123.wav`` and ``external-101-79125550123-20261102-101500-
    1730540100.124.wav`` both give manager 101, client 79125550123. Files may
    sit in FreePBX's ``YYYY/MM/DD`` folders: folders are ignored.
``3cx``
    ``[{*}]_{src}-{dst}_{datetime}({uniqueid})``, the 3CX-style name
    ``[Ivan Petrov]_101-79125550123_20261102101500(42).wav``.
``crm``
    ``{*}``: names carry nothing (cloud PBX/CRM exports such as Mango Office
    or Bitrix24 name files by call id); use it with ``--call-log``, joined by
    file name.

Where a file does not match the layout it is kept, with what could not be
read left empty (start time = the file's mtime), and listed in
``Discovery.unmatched``.
"""


from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from auditor.errors import ConfigError
from auditor.ingest.normalise import normalize_direction, normalize_phone

# The file endings taken for recordings (PyAV decodes all of them).
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".flac", ".webm", ".amr",
     ".wma", ".mp4", ".3gp", ".gsm"}
)

_DEFAULT_NAME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[_ T](?P<time>\d{2}[-:.]\d{2}[-:.]\d{2})"
    r"(?:[_ ](?P<client>\+?\d[\d\-() ]{4,}\d))?"
)

PRESETS: dict[str, str] = {
    "default": "{manager}/{date}_{time}_{client}",
    "asterisk": "{direction}-{client}-{manager}-{date}-{time}-{uniqueid}",
    "mixmonitor": "{direction}-{client}-{manager}-{date}-{time}-{uniqueid}",
    "issabel": "{direction}-{client}-{manager}-{date}-{time}-{uniqueid}",
    "freepbx": "{direction}-{dst}-{src}-{date}-{time}-{uniqueid}",
    "3cx": "[{*}]_{src}-{dst}_{datetime}({uniqueid})",
    "crm": "{*}",
}

# What each field may look like inside one path level; order matters only for
# readability. Unknown names match anything and are ignored.
_FIELD_RE: dict[str, str] = {
    "manager": r"[^/]+?",
    "client": r"[^/]+?",
    "src": r"[^/]+?",
    "dst": r"[^/]+?",
    "direction": r"[^\W\d_]+",
    "date": r"\d{4}[-.]?\d{2}[-.]?\d{2}|\d{2}\.\d{2}\.\d{4}",
    "time": r"\d{2}[-:.]?\d{2}(?:[-:.]?\d{2})?",
    "datetime": r"\d{4}-?\d{2}-?\d{2}[T_ -]?\d{2}[-:.]?\d{2}[-:.]?\d{2}",
    "uniqueid": r"[^/]+?",
}
_ANY = r"[^/]*?"
_FIELD = re.compile(r"\{([^{}]*)\}")

_EXTENSION_MAX_DIGITS = 5


def _parse_date(s: str) -> date | None:
    digits = re.sub(r"\D", "", s)
    if len(digits) != 8:
        return None
    try:
        if re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", s):
            return date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def _parse_time(s: str) -> time | None:
    digits = re.sub(r"\D", "", s)
    if len(digits) not in (4, 6):
        return None
    try:
        return time(int(digits[:2]), int(digits[2:4]), int(digits[4:6] or 0))
    except ValueError:
        return None


def _parse_datetime(s: str) -> datetime | None:
    digits = re.sub(r"\D", "", s)
    if len(digits) != 14:
        return None
    d, t = _parse_date(digits[:8]), _parse_time(digits[8:])
    return datetime.combine(d, t) if d and t else None


@dataclass(frozen=True)
class Layout:
    """A compiled layout template: which fields sit where in the path."""

    template: str
    head: tuple[re.Pattern[str], ...]  # folder levels from the top
    tail: tuple[re.Pattern[str], ...]  # folder levels just above the file
    name: re.Pattern[str] | None  # the file name without extension
    lenient: bool = False  # the historical default: search, don't require

    def fields(self, rel: Path) -> dict[str, str] | None:
        """The raw field values for a path relative to root, or None if it does not match."""
        folders = rel.parent.parts
        if len(folders) < len(self.head) + len(self.tail):
            return None
        values: dict[str, str] = {}
        levels = list(zip(self.head, folders[: len(self.head)]))
        if self.tail:
            levels += list(zip(self.tail, folders[len(folders) - len(self.tail):]))
        for pattern, part in levels:
            m = pattern.fullmatch(part)
            if m is None:
                return None
            values.update({k: v for k, v in m.groupdict().items() if v is not None})
        stem = rel.stem if rel.suffix.lower() in AUDIO_EXTENSIONS else rel.name
        if self.lenient:
            m = _DEFAULT_NAME.search(stem)
            if m is None:
                return None
            values.update({k: v for k, v in m.groupdict().items() if v is not None})
        elif self.name is not None:
            m = self.name.fullmatch(stem)
            if m is None:
                return None
            values.update({k: v for k, v in m.groupdict().items() if v is not None})
        return values


def _compile_level(level: str, template: str) -> re.Pattern[str]:
    out: list[str] = []
    seen: set[str] = set()
    pos = 0
    for m in _FIELD.finditer(level):
        out.append(re.escape(level[pos:m.start()]))
        name = m.group(1).strip()
        if name in _FIELD_RE:
            if name in seen:
                raise ConfigError(f"layout {template!r}: field {{{name}}} twice in one level")
            seen.add(name)
            out.append(f"(?P<{name}>{_FIELD_RE[name]})")
        else:
            out.append(_ANY)
        pos = m.end()
    out.append(re.escape(level[pos:]))
    return re.compile("".join(out))


def compile_layout(spec: str | None) -> Layout:
    """A preset name or a template (see the module docstring) compiled for matching."""
    spec = (spec or "default").strip()
    if spec in PRESETS:
        template = PRESETS[spec]
    elif "{" in spec or "/" in spec:
        template = spec
    else:
        raise ConfigError(f"unknown layout {spec!r}: use a template with {{fields}} or one "
                          f"of {', '.join(PRESETS)}")
    if template.count("{") != template.count("}"):
        raise ConfigError(f"layout {template!r}: unbalanced braces")
    levels = [p for p in template.strip("/").split("/") if p != ""]
    if not levels or levels[-1] == "**":
        raise ConfigError(f"layout {template!r}: must end with the file-name pattern")
    folders = levels[:-1]
    if folders.count("**") > 1:
        raise ConfigError(f"layout {template!r}: '**' may appear once")
    if "**" in folders:
        i = folders.index("**")
        head, tail = folders[:i], folders[i + 1:]
    else:
        head, tail = folders, []
    lenient = spec == "default" or template == PRESETS["default"]
    return Layout(
        template=template,
        head=tuple(_compile_level(p, template) for p in head),
        tail=tuple(_compile_level(p, template) for p in tail),
        name=None if lenient else _compile_level(levels[-1], template),
        lenient=lenient,
    )


def _is_extension(number: str | None) -> bool:
    digits = re.sub(r"\D", "", number or "")
    return 0 < len(digits) <= _EXTENSION_MAX_DIGITS and len(digits) == len(
        re.sub(r"[\s\-()+]", "", number or ""))


def resolve(values: dict[str, str]) -> dict[str, object]:
    """Turn raw field values into manager, client, started_at and direction."""
    direction = normalize_direction(values.get("direction"))
    manager = values.get("manager")
    client = values.get("client")
    src, dst = values.get("src"), values.get("dst")
    if src is not None or dst is not None:
        if direction is None and _is_extension(src) != _is_extension(dst):
            direction = "out" if _is_extension(src) else "in"
        if direction == "out":
            manager, client = manager or src, client or dst
        elif direction == "in":
            manager, client = manager or dst, client or src
    started: datetime | None = None
    if values.get("datetime"):
        started = _parse_datetime(values["datetime"])
    elif values.get("date"):
        d = _parse_date(values["date"])
        t = _parse_time(values["time"]) if values.get("time") else None
        if d is not None:
            started = datetime.combine(d, t or time.min)
    return {
        "manager": manager.strip() if manager and manager.strip() else None,
        "client": normalize_phone(client),
        "started_at": started,
        "direction": direction,
    }


def parse_name(stem: str) -> tuple[datetime | None, str | None]:
    """Start time and client phone from a name like 2026-11-02_10-15-00_+79125550123."""
    m = _DEFAULT_NAME.search(stem)
    if not m:
        return None, None
    try:
        t = re.sub(r"[-:.]", ":", m["time"])
        started = datetime.fromisoformat(f"{m['date']}T{t}")
    except ValueError:
        return None, None
    client = re.sub(r"[\s\-()]", "", m["client"]) if m["client"] else None
    return started, client
