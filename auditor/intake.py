"""Discover recordings and tell whose they are: manager, client, start time.

Real telephony systems and CRMs store calls in many ways, so who/whom/when is
read from (in increasing priority) the file's mtime, the folder layout and
file-name pattern, and a call-log CSV exported from the PBX or CRM
(see :mod:`auditor.calllog`); a call log wins over the file name.

Layouts
-------
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

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.audio import AUDIO_EXTENSIONS
from auditor.errors import ConfigError, InputError
from auditor.records import RecordingInfo

if TYPE_CHECKING:
    from auditor.calllog import CallLog, CallLogRow

log = logging.getLogger(__name__)

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

_INBOUND = {"in", "inbound", "incoming", "external", "ext", "q", "queue", "rg", "from",
            "входящий", "входящие", "вх", "входящая"}
_OUTBOUND = {"out", "outbound", "outgoing", "force", "to", "исходящий", "исходящие", "исх",
             "исходящая"}
_EXTENSION_MAX_DIGITS = 5


@dataclass
class Discovery:
    """What a folder walk found: recordings and what was passed over."""

    recordings: list[RecordingInfo] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)
    # Recordings whose path did not match the layout (kept, partly attributed).
    unmatched: list[Path] = field(default_factory=list)
    # Filled only when a call log is given.
    call_log: CallLog | None = None
    rows_without_recording: list[CallLogRow] = field(default_factory=list)
    recordings_without_row: list[Path] = field(default_factory=list)


# --- layouts ---------------------------------------------------------------


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


# --- the walk ----------------------------------------------------------------


def _walk(root: Path, problems: list[tuple[Path, str]]) -> Iterator[Path]:
    """Files under root, sorted, following directory symlinks but never in a loop."""
    seen: set[tuple[int, int]] = set()

    def visit(d: Path) -> Iterator[Path]:
        try:
            st = d.stat()
        except OSError as e:
            problems.append((d, f"cannot read folder: {e.strerror}"))
            return
        key = (st.st_dev, st.st_ino)
        if key in seen:
            problems.append((d, "symlink loop skipped"))
            return
        seen.add(key)
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as e:
            problems.append((d, f"cannot read folder: {e.strerror}"))
            return
        for entry in entries:
            p = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=True):
                    yield from visit(p)
                elif entry.is_file(follow_symlinks=True):
                    yield p
                elif entry.is_symlink():
                    # A dangling link to a recording is a recording that cannot be read:
                    # the audit lists it as failed instead of silently passing it over.
                    yield p
                else:
                    problems.append((p, "not a regular file"))
            except OSError as e:
                problems.append((p, f"cannot stat: {e.strerror}"))

    yield from visit(root)


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


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime)
    except OSError:
        return None


def describe(path: Path, root: Path, layout: Layout | None = None) -> RecordingInfo:
    """Who/whom/when for one file under root by the layout (default: manager folder + name)."""
    rel = path.relative_to(root)
    if layout is None or layout.lenient:
        # The historical default; kept byte-for-byte in behaviour.
        manager = rel.parts[0] if len(rel.parts) > 1 else None
        started, client = parse_name(path.stem)
        return RecordingInfo(path=path, manager=manager, client=client,
                             started_at=started or _mtime(path))
    values = layout.fields(rel)
    info = resolve(values or {})
    return RecordingInfo(
        path=path,
        manager=info["manager"],  # type: ignore[arg-type]
        client=info["client"],  # type: ignore[arg-type]
        started_at=info["started_at"] or _mtime(path),  # type: ignore[arg-type]
        direction=info["direction"],  # type: ignore[arg-type]
    )


def _matches(layout: Layout | None, path: Path, root: Path) -> bool:
    if layout is None or layout.lenient:
        return True
    return layout.fields(path.relative_to(root)) is not None


def discover(
    root: Path,
    layout: str | Layout | None = None,
    call_log: Path | CallLog | None = None,
    columns: str | dict[str, str] | None = None,
    tolerance_s: float = 120.0,
) -> Discovery:
    """Every audio file under root (recursively) with its manager, client and time.

    ``layout`` is a preset name or template (module docstring); ``call_log`` a
    CRM/PBX export joined by file name or by client + start time within
    ``tolerance_s`` (``columns`` maps its headers, see
    :func:`auditor.calllog.parse_columns`). The call log wins over the file name.
    """
    if not root.exists():
        raise InputError(f"{root}: no such folder")
    lay = layout if isinstance(layout, Layout) else (
        compile_layout(layout) if layout is not None else None)
    found = Discovery()
    single = root.is_file()
    if single:
        base = root.parent
        paths: Iterator[Path] = iter([root])
    else:
        base = root
        paths = _walk(root, found.problems)
    for p in paths:
        if single or p.suffix.lower() in AUDIO_EXTENSIONS:
            found.recordings.append(describe(p, base, lay))
            if not _matches(lay, p, base):
                found.unmatched.append(p)
        else:
            found.skipped.append(p)
    if call_log is not None:
        _apply_call_log(found, call_log, columns, tolerance_s)
    return found


def _apply_call_log(found: Discovery, call_log: Path | CallLog,
                    columns: str | dict[str, str] | None, tolerance_s: float) -> None:
    from auditor.calllog import CallLog, join, read_call_log

    logbook = call_log if isinstance(call_log, CallLog) else read_call_log(call_log, columns)
    result = join(found.recordings, logbook, tolerance_s=tolerance_s)
    found.call_log = logbook
    found.recordings = result.recordings
    found.rows_without_recording = result.rows_without_recording
    found.recordings_without_row = result.recordings_without_row
    # A file the layout could not read but the log attributed is no longer a problem.
    unlogged = set(result.recordings_without_row)
    found.unmatched = [p for p in found.unmatched if p in unlogged]

