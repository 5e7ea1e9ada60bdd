"""Discovery: walk a recordings folder and describe every recording found.

Who/whom/when is read from (in increasing priority) the file's mtime, the
folder layout and file-name pattern (:mod:`auditor.ingest.layouts`), and a
call-log CSV exported from the PBX or CRM (:mod:`auditor.ingest.calllog`); a
call log wins over the file name.

Where a file does not match the layout it is kept, with what could not be
read left empty (start time = the file's mtime), and listed in
``Discovery.unmatched``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from auditor.errors import InputError
from auditor.ingest.calllog import CallLog, CallLogRow, join, read_call_log
from auditor.ingest.layouts import AUDIO_EXTENSIONS, Layout, compile_layout, parse_name, resolve
from auditor.records import RecordingInfo

log = logging.getLogger(__name__)


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
    :func:`auditor.ingest.calllog.parse_columns`). The call log wins over the file name.
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
    logbook = call_log if isinstance(call_log, CallLog) else read_call_log(call_log, columns)
    result = join(found.recordings, logbook, tolerance_s=tolerance_s)
    found.call_log = logbook
    found.recordings = result.recordings
    found.rows_without_recording = result.rows_without_recording
    found.recordings_without_row = result.recordings_without_row
    # A file the layout could not read but the log attributed is no longer a problem.
    unlogged = set(result.recordings_without_row)
    found.unmatched = [p for p in found.unmatched if p in unlogged]

