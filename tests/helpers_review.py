"""Stored calls for the review, search and rescore tests, written through auditor.store.

Each call is a Recording with a Transcript (realistic segments) and the
automatic Analysis a run of the auditor would have stored, so the tests do
not need audio, ASR or the real analyzer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from auditor import store
from auditor.records import STAGES, CallAnalysis, ChannelStats, Evidence, Segment, StageResult
from auditor.records import Transcript as TranscriptDoc

from .dbs import new_db

Seg = tuple[str, float, float, str]  # speaker, start, end, text

# A short sales call: the manager answers "how much" and lets the client go.
RU_SHORT_SALE: list[Seg] = [
    ("manager", 0.8, 3.9, "Компания «СтройРесурс», Ирина, добрый день."),
    ("client", 4.5, 9.2, "Здравствуйте, сколько у вас стоит газоблок D500?"),
    ("manager", 9.9, 15.1, "Газоблок D500 — четыре тысячи восемьсот за куб с доставкой."),
    ("client", 15.8, 18.0, "Понял, спасибо, я подумаю. [шум]"),
    ("manager", 18.4, 20.2, "Хорошо, звоните, если что. До свидания."),
]
RU_SHORT_EVIDENCE = {"presentation": (2, "четыре тысячи восемьсот за куб с доставкой")}

# A post-sale call about shipping: "отгрузку", "отгрузки" (never "отгрузка").
RU_POST_SALE: list[Seg] = [
    ("manager", 0.5, 4.0, "Андрей, добрый день, это Ирина из «СтройРесурса»."),
    ("client", 4.6, 6.1, "Да, Ирина, слушаю."),
    ("manager", 6.8, 13.5, "Звоню подтвердить отгрузку на четверг: машина будет к девяти утра."),
    ("client", 14.0, 19.9, "Хорошо. А документы для отгрузки водитель привезёт?"),
    ("manager", 20.5, 26.0, "Да, счёт-фактуру и накладную передаст водитель. Ещё что-нибудь?"),
    ("client", 26.4, 28.0, "Нет, всё, спасибо."),
]

# A full sales conversation: all four stages.
RU_FULL_SALE: list[Seg] = [
    ("manager", 1.2, 4.7, "Компания «СтройРесурс», Ирина, добрый день."),
    ("client", 5.9, 12.0, "Добрый день, нас интересует газоблок для коттеджей."),
    ("manager", 12.8, 19.5, "Подскажите, вы от организации? Какие объёмы берёте в месяц?"),
    ("client", 20.1, 30.0, "Мы строим коттеджи под ключ, в месяц кубов двести выходит."),
    ("manager", 30.5, 41.0, "Какие сроки по первой поставке и какая марка нужна, D500 или D600?"),
    ("client", 41.5, 50.0, "Нужен D500, первая поставка через две недели."),
    ("manager", 50.5, 70.0, "У нас собственный склад в Берёзовском, доставка манипулятором, "
                            "и на объём от ста кубов скидка пять процентов."),
    ("client", 70.5, 75.0, "Звучит хорошо, пришлите предложение."),
    ("manager", 75.5, 84.0, "Отправлю сегодня, а в четверг в десять позвоню обсудить, договорились?"),
    ("client", 84.5, 86.0, "Договорились."),
]
RU_FULL_EVIDENCE = {
    "profile": (2, "Какие объёмы берёте в месяц?"),
    "needs": (4, "Какие сроки по первой поставке"),
    "presentation": (6, "на объём от ста кубов скидка пять процентов"),
    "next_step": (8, "в четверг в десять позвоню"),
}

# An English sales call with inflected forms: "shipments", "invoices", "delivered".
EN_SALE: list[Seg] = [
    ("manager", 0.6, 3.5, "Good morning, Northwind Supplies, this is John."),
    ("client", 4.0, 10.5, "Hi John, our last two shipments were delivered late [laughs]."),
    ("manager", 11.0, 18.0, "I'm sorry about that. How many pallets do you usually order per month?"),
    ("client", 18.5, 24.0, "About forty, and we need the invoices by the end of each week."),
    ("manager", 24.5, 33.0, "We can ship from our Leeds warehouse, next-day delivery is included."),
    ("client", 33.5, 36.0, "Okay, I'll think about it."),
]


@dataclass
class StoredCall:
    id: int
    transcript_id: int | None


def make_engine(tmp_path: Path) -> tuple[str, Engine]:
    """The test's database (SQLite or PostgreSQL, see tests/dbs.py): (path or URL, engine)."""
    db = new_db(tmp_path, "review.db")
    return db, store.make_engine(db)


def analysis_for(
    segments: list[Seg],
    verdict: str,
    call_type: str,
    duration_s: float,
    evidence: dict[str, tuple[int, str]] | None = None,
    language: str = "ru",
    ruleset: str = "test-1",
    reason: str = "",
) -> CallAnalysis:
    """The analysis the auditor would have stored, with evidence quoted from the segments."""
    evidence = evidence or {}
    stages = {}
    for stage in STAGES:
        if stage in evidence:
            i, quote = evidence[stage]
            sp, st, en, _ = segments[i]
            stages[stage] = StageResult(stage, True, [Evidence(quote, sp, st, en, cue=stage)])
        else:
            stages[stage] = StageResult(stage, False, reason="no cue found")
    return CallAnalysis(
        call_type=call_type, verdict=verdict, stages=stages, duration_s=duration_s,
        ruleset_version=ruleset, language=language,
        reason=reason or f"{call_type}: {verdict}",
    )


def add_call(
    engine: Engine,
    name: str,
    segments: list[Seg],
    *,
    manager: str = "Ирина Соколова",
    client: str | None = "+7 912 555-01-23",
    started_at: datetime = datetime(2026, 11, 2, 10, 0),
    duration_s: float = 120.0,
    language: str = "ru",
    verdict: str | None = "ok",
    call_type: str = "new_client",
    evidence: dict[str, tuple[int, str]] | None = None,
    status: str = "done",
    error: str | None = None,
    with_transcript: bool = True,
    ruleset: str = "test-1",
    channels: list[ChannelStats] | None = None,
    dropped: list[Segment] | None = None,
) -> StoredCall:
    """Store one audited call: recording, transcript and (unless verdict is None) analysis."""
    sha = hashlib.sha256(name.encode()).hexdigest()
    with store.session(engine) as s:
        rec = store.Recording(
            path=f"/calls/{manager}/{name}.wav", sha256=sha, size=1000, duration_s=duration_s,
            channels=2, sample_rate=8000, manager=manager, client=client, started_at=started_at,
            status=status, error=error,
        )
        s.add(rec)
        s.flush()
        transcript_id = None
        if with_transcript:
            doc = TranscriptDoc(segments=[Segment(*seg) for seg in segments], language=language,
                                duration_s=duration_s, model="base", channels=channels or [],
                                dropped=dropped or [])
            t = store.save_transcript(s, rec, doc, mode="stereo", asr_seconds=1.0)
            transcript_id = t.id
        if verdict is not None:
            store.save_analysis(s, rec.id or 0, transcript_id, analysis_for(
                segments, verdict, call_type, duration_s, evidence, language, ruleset))
        s.commit()
        return StoredCall(rec.id or 0, transcript_id)


def standard_calls(engine: Engine) -> dict[str, StoredCall]:
    """Four calls of two managers: a short missed opportunity, a post-sale call,
    a full sale and an English call."""
    return {
        "short": add_call(engine, "short", RU_SHORT_SALE, duration_s=21.0,
                          verdict="missed_opportunity", evidence=RU_SHORT_EVIDENCE,
                          started_at=datetime(2026, 11, 2, 9, 15)),
        "post": add_call(engine, "post", RU_POST_SALE, duration_s=29.0, verdict="exempt",
                         call_type="post_sale", manager="Павел Орлов",
                         started_at=datetime(2026, 11, 3, 11, 30)),
        "full": add_call(engine, "full", RU_FULL_SALE, duration_s=368.0, verdict="ok",
                         evidence=RU_FULL_EVIDENCE, started_at=datetime(2026, 11, 4, 14, 0)),
        "en": add_call(engine, "en", EN_SALE, duration_s=37.0, language="en",
                       verdict="missed_opportunity", manager="John Smith", client="=cmd|' /C calc'!A0",
                       evidence={"needs": (2, "How many pallets do you usually order per month?")},
                       started_at=datetime(2026, 11, 5, 16, 45)),
    }


def standard_db(tmp_path: Path) -> tuple[str, dict[str, StoredCall]]:
    """A database file holding the standard calls, closed again: (path, calls)."""
    path, engine = make_engine(tmp_path)
    calls = standard_calls(engine)
    engine.dispose()
    return path, calls


def reviews_of(engine: Engine, call_id: int) -> list[dict[str, Any]]:
    from sqlmodel import select

    with store.session(engine) as s:
        rows = s.exec(select(store.Review).where(store.Review.recording_id == call_id)
                      .order_by(store.Review.id)).all()  # type: ignore[arg-type]
        return [{"verdict": r.verdict, "note": r.note, "reviewer": r.reviewer,
                 "call_type": r.call_type, "stages": json.loads(r.stages_json),
                 "auto_verdict": r.auto_verdict} for r in rows]
