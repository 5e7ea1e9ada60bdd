"""Helpers for report tests: a database filled directly through auditor.store, no ASR.

Imported by the report tests (not a pytest conftest: tests/conftest.py belongs
to the whole suite).
"""

from __future__ import annotations

import hashlib
import json
import struct
import wave
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from auditor import store
from auditor.records import STAGES, CallAnalysis, Evidence, Segment, StageResult
from auditor.records import Transcript as TranscriptDoc

from .dbs import new_db


def write_wav(path: Path, seconds: float, rate: int = 8000, channels: int = 1) -> Path:
    """A silent 16-bit PCM WAV of the given length."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * channels * int(seconds * rate))
    return path


def riff_wav(path: Path, seconds: float, rate: int = 8000, extra_chunk: bool = True,
             data_size: int | None = None) -> Path:
    """A hand-made WAV with a LIST chunk before the data and an optional bogus data size."""
    frames = int(seconds * rate)
    data = b"\x00\x00" * frames
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if extra_chunk:
        info = b"INFOISFT\x05\x00\x00\x00test\x00\x00"
        chunks += b"LIST" + struct.pack("<I", len(info)) + info
    size = len(data) if data_size is None else data_size
    chunks += b"data" + struct.pack("<I", size) + data
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)
    return path


@dataclass
class FakeCall:
    """One call to put in the test database."""

    manager: str | None
    client: str | None
    started_at: datetime | None
    duration_s: float
    call_type: str
    verdict: str
    found: dict[str, str] = field(default_factory=dict)  # stage -> quote (manager says it)
    extra_text: list[tuple[str, str]] = field(default_factory=list)  # (speaker, text)
    review: str | None = None  # a reviewer's verdict
    status: str = "done"
    reason: str = ""


def _segments(call: FakeCall) -> tuple[list[Segment], dict[str, StageResult]]:
    segs: list[Segment] = []
    stages: dict[str, StageResult] = {}
    t = 1.0
    segs.append(Segment("manager", t, t + 3, "Добрый день, компания СтройРесурс."))
    t += 4
    for speaker, text in call.extra_text:
        segs.append(Segment(speaker, t, t + 3, text))
        t += 4
    for st in STAGES:
        quote = call.found.get(st)
        if quote is None:
            stages[st] = StageResult(st, False, reason="no cue")
            continue
        seg = Segment("manager", t, t + 4, f"Скажите, {quote} — это важно.")
        segs.append(seg)
        segs.append(Segment("client", t + 4.5, t + 6, "Да, понятно."))
        stages[st] = StageResult(st, True, [Evidence(quote, "manager", seg.start, seg.end, st)])
        t += 7
    return segs, stages


def add_call(engine: Engine, audio: Path, call: FakeCall) -> int:
    """Insert Recording, Transcript, Analysis (and a Review) rows for one call."""
    segs, stages = _segments(call)
    sha = hashlib.sha256(str(audio).encode()).hexdigest()
    with Session(engine, expire_on_commit=False) as s:
        rec = store.Recording(path=str(audio.resolve()), sha256=sha, size=1,
                              duration_s=call.duration_s, channels=1, sample_rate=8000,
                              manager=call.manager, client=call.client,
                              started_at=call.started_at, status=call.status,
                              error="cannot decode audio" if call.status == "failed" else None)
        s.add(rec)
        s.commit()
        if call.status != "done":
            return rec.id or 0
        doc = TranscriptDoc(segments=segs, language="ru", duration_s=call.duration_s,
                            model="test-model")
        tr = store.save_transcript(s, rec, doc, "stereo", 0.0)
        result = CallAnalysis(call_type=call.call_type, verdict=call.verdict, stages=stages,
                              duration_s=call.duration_s, ruleset_version="test-1",
                              language="ru", reason=call.reason or f"{call.verdict} (test)")
        store.save_analysis(s, rec.id or 0, tr.id, result)
        if call.review is not None:
            s.add(store.Review(recording_id=rec.id or 0, verdict=call.review,
                               auto_verdict=call.verdict, reviewer="head",
                               note="checked", stages_json=json.dumps({})))
        s.commit()
        return rec.id or 0


ALL = {"profile": "чем занимается ваша компания", "needs": "какой объём вам нужен",
       "presentation": "у нас своя доставка и гарантия", "next_step": "созвонимся в четверг в 10"}


def sample_calls() -> list[FakeCall]:
    """Two managers over two days with every verdict, reviews, and hostile text."""
    d1, d2 = datetime(2026, 11, 2, 10, 0), datetime(2026, 11, 3, 11, 0)
    evil = [("client", "<script>alert('xss')</script> & <b>bold</b>")]
    return [
        FakeCall("Ирина Соколова", "+79125550101", d1, 380.0, "new_client", "ok", dict(ALL)),
        FakeCall("Ирина Соколова", "+79125550102", d1.replace(hour=11), 150.0, "new_client",
                 "missed_opportunity", {"profile": ALL["profile"]}, evil, review="missed_opportunity"),
        FakeCall("Ирина Соколова", "+79125550103", d1.replace(hour=12), 90.0, "post_sale",
                 "exempt"),
        FakeCall("Ирина Соколова", "+79125550104", d2, 330.0, "existing_client", "incomplete",
                 {k: ALL[k] for k in ("profile", "needs", "presentation")}, review="ok"),
        FakeCall("=HYPERLINK(\"http://x\")", "-1+2", d2.replace(hour=14), 45.0, "no_contact",
                 "no_contact"),
        FakeCall("Pavel <Orlov>", "@SUM(A1)", d1.replace(hour=15), 200.0, "new_client",
                 "missed_opportunity", {"needs": ALL["needs"]}, review="missed_opportunity"),
        FakeCall("Pavel <Orlov>", "+79125550107", d2.replace(hour=16), 420.0, "new_client",
                 "ok", dict(ALL)),
        FakeCall("Pavel <Orlov>", "+79125550108", d2.replace(hour=17), 30.0, "new_client",
                 "failed", status="failed"),
    ]


def make_db(tmp_path: Path, calls: list[FakeCall] | None = None, seconds: float = 30.0
            ) -> tuple[Engine, str, list[int]]:
    """A test database with the sample calls and a short silent WAV for each."""
    db = new_db(tmp_path, "audit.db")
    engine = store.make_engine(db)
    ids = []
    for i, call in enumerate(calls if calls is not None else sample_calls()):
        audio = write_wav(tmp_path / "rec" / f"call {i:02d} запись.wav", seconds)
        ids.append(add_call(engine, audio, call))
    return engine, db, ids
