"""Recordings: the row of each audio file, found again by path (and audio under redact), and claims.

Two audit runs (on one machine or many) may share a database. A recording is
*claimed* with one UPDATE whose WHERE clause holds the condition, so two runs
can never both win it; a claim whose owner died (a killed run on this host)
or that is older than STALE_CLAIM is taken over. Where the database has row
locks (PostgreSQL) the row is first taken with ``SELECT ... FOR UPDATE SKIP
LOCKED``: a run never waits on a row another run is claiming, it moves on.

With redaction the stored path has phone numbers masked, so two files can
share it ("1730540100.wav" and "1730540200.wav" are both "********00.wav"):
the audio hash then tells the rows apart.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from auditor.records import AudioInfo, RecordingInfo
from auditor.redact import mask_phone, redact_path
from auditor.store.tables import Recording, utcnow

# A claim older than this is taken to belong to a run that died.
STALE_CLAIM = timedelta(minutes=30)


def run_owner() -> str:
    """Who claims: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_is_dead(owner: str | None) -> bool:
    """A claim by a process of this host that no longer exists (a killed run)."""
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def stored_path(rec: RecordingInfo, redact: bool) -> str:
    """The path a recording is stored under: absolute, not following links; masked under redact."""
    path = os.path.abspath(rec.path)  # a dangling link is still a row
    return redact_path(path, rec.client) if redact else path


def find_row(s: Session, rec: RecordingInfo, path: str, sha: str, redact: bool
             ) -> Recording | None:
    """The row of this recording: by its path, or by masked path and audio when redacting.

    A row with this masked path and other audio is this file changed on disk,
    unless another file of the folder masks to the same path.
    """
    rows = list(s.exec(select(Recording).where(Recording.path == path).order_by(col(Recording.id))))
    if not redact:
        return rows[0] if rows else None
    same = [r for r in rows if r.sha256 == sha]
    if same:
        return same[0]
    if rows and not _masked_twin(rec.path, path, rec.client):
        return rows[0]
    return None


def _masked_twin(path: Path, masked: str, client: str | None) -> bool:
    """Whether another file in path's folder is stored under the same masked path."""
    try:
        siblings = [e.path for e in os.scandir(path.parent) if e.name != path.name]
    except OSError:
        return False
    return any(redact_path(os.path.abspath(p), client) == masked
               or redact_path(os.path.abspath(p)) == masked for p in siblings)


def upsert_recording(s: Session, rec: RecordingInfo, sha: str, size: int,
                     info: AudioInfo | None, redact: bool) -> Recording:
    """Insert or update the row of a recording with what was found on disk; committed."""
    path = stored_path(rec, redact)
    row = find_row(s, rec, path, sha, redact)
    if row is None:
        row = Recording(path=path, sha256=sha)
    elif row.sha256 != sha:
        row.status = "pending"  # the file changed on disk: audit it again
    row.sha256 = sha
    row.size = size
    row.manager = rec.manager
    row.client = mask_phone(rec.client) if redact else rec.client
    row.started_at = rec.started_at
    row.direction = rec.direction
    if info is not None:
        row.duration_s = info.duration_s
        row.channels = info.channels
        row.sample_rate = info.sample_rate
    row.updated_at = utcnow()
    s.add(row)
    try:
        s.commit()
    except Exception:
        # a concurrent run inserted the same recording first
        s.rollback()
        found = find_row(s, rec, path, sha, redact)
        if found is None:
            raise
        row = found
    return row


def claim(s: Session, row: Recording, owner: str) -> bool:
    """Atomically mark the recording as owner's; False if another live run holds it."""
    now = utcnow()
    R = Recording
    s.refresh(row)
    dead = row.claimed_by if owner_is_dead(row.claimed_by) else owner
    claimable = (
        col(R.id) == row.id,
        or_(
            col(R.status) != "running",
            col(R.claimed_by).is_(None),
            col(R.claimed_by) == owner,
            col(R.claimed_by) == dead,
            col(R.claimed_at) < now - STALE_CLAIM,
        ),
    )
    if s.get_bind().dialect.name == "postgresql":
        # Lock the row if it is free to claim; a row another run holds locked
        # (claiming it right now) is skipped rather than waited for.
        locked = s.exec(select(R.id).where(*claimable).with_for_update(skip_locked=True))
        if locked.first() is None:
            s.rollback()
            s.refresh(row)
            return False
    result = s.execute(update(R).where(*claimable)
                       .values(status="running", claimed_by=owner, claimed_at=now))
    s.commit()
    s.refresh(row)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(s: Session, recording_id: int | None, owner: str) -> None:
    """Give up owner's claim on a recording without a verdict: it is audited next time."""
    row = s.get(Recording, recording_id) if recording_id is not None else None
    if row is None or row.claimed_by != owner:
        return
    _settle(s, row, status="pending", claimed_at=None)


def mark_done(s: Session, row: Recording) -> None:
    """The recording has its verdict; committed."""
    _settle(s, row, status="done", error=None)


def mark_failed(s: Session, row: Recording, error: str) -> None:
    """The recording failed with the first line of error (cut to 300 characters); committed."""
    _settle(s, row, status="failed", error=error.splitlines()[0][:300] if error else "failed")


def _settle(s: Session, row: Recording, **values: object) -> None:
    """Set values, drop the claim, stamp and commit."""
    for name, value in values.items():
        setattr(row, name, value)
    row.claimed_by = None
    row.updated_at = utcnow()
    s.add(row)
    s.commit()


def record_unreadable(s: Session, rec: RecordingInfo, error: str, redact: bool) -> None:
    """A file that could not even be read (no hash): its row, failed."""
    path = stored_path(rec, redact)
    row = find_row(s, rec, path, "", redact)
    if row is None:
        client = mask_phone(rec.client) if redact else rec.client
        row = Recording(path=path, sha256="", manager=rec.manager,
                        client=client, started_at=rec.started_at)
    mark_failed(s, row, error)


def manager_names(s: Session) -> list[str]:
    """Every manager with a stored recording, in alphabetical order (for filter menus)."""
    names = s.exec(select(Recording.manager).distinct()).all()
    return sorted((n for n in names if n), key=str.lower)
