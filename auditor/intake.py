"""Discover recordings and tell whose they are: manager, client, start time.

Default convention: ``RECORDINGS_DIR/<manager>/<YYYY-MM-DD_HH-MM-SS_+client>.ext``.
Where the name does not match, the start time is the file's mtime.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from auditor.audio import AUDIO_EXTENSIONS
from auditor.errors import InputError
from auditor.records import RecordingInfo

log = logging.getLogger(__name__)

_DEFAULT_NAME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[_ T](?P<time>\d{2}[-:.]\d{2}[-:.]\d{2})"
    r"(?:[_ ](?P<client>\+?\d[\d\-() ]{4,}\d))?"
)


@dataclass
class Discovery:
    """What a folder walk found: recordings and what was passed over."""

    recordings: list[RecordingInfo] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)


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


def describe(path: Path, root: Path) -> RecordingInfo:
    """Manager from the first folder level under root; time and client from the name."""
    rel = path.relative_to(root)
    manager = rel.parts[0] if len(rel.parts) > 1 else None
    started, client = parse_name(path.stem)
    if started is None:
        try:
            started = datetime.fromtimestamp(path.stat().st_mtime)
        except OSError:
            started = None
    return RecordingInfo(path=path, manager=manager, client=client, started_at=started)


def discover(root: Path) -> Discovery:
    """Every audio file under root (recursively) with its manager, client and time."""
    if not root.exists():
        raise InputError(f"{root}: no such folder")
    if root.is_file():
        found = Discovery()
        found.recordings.append(describe(root, root.parent))
        return found
    found = Discovery()
    for p in _walk(root, found.problems):
        if p.suffix.lower() in AUDIO_EXTENSIONS:
            found.recordings.append(describe(p, root))
        else:
            found.skipped.append(p)
    return found
