#!/usr/bin/env python3
"""Search speed on a large store: index build time and query latency.

Creates N stored calls (default 10,000; 80 % Russian, 20 % English) in a
temporary SQLite file, with synthetic but realistic sales-call sentences in
which the nouns and verbs appear in every case and tense (pymorphy3 inflects
them), builds the search index, then times a set of queries: word forms that
must fold, rare and very common words, several words, filters on manager,
dates and verdict. Target: under a second per query.

    .venv/bin/python benchmarks/search.py              # 10,000 calls
    .venv/bin/python benchmarks/search.py --calls 2000 --repeat 5 --keep bench.db
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from auditor import store
from auditor.store.search_index import ensure_index
from auditor.store.search_terms import Lemmatizer
from auditor.views.callrow import CallFilter
from auditor.views.search import search

MANAGERS = ["Ирина Соколова", "Павел Орлов", "Анна Кузнецова", "Дмитрий Волков", "Елена Морозова",
            "Сергей Лебедев", "Ольга Новикова", "Максим Фёдоров", "John Smith", "Mary Jones"]
VERDICTS = ["ok", "incomplete", "missed_opportunity", "exempt", "no_contact"]
RU_NOUNS = ["отгрузка", "доставка", "счёт", "скидка", "договор", "газоблок", "поставка", "оплата",
            "накладная", "кирпич", "цемент", "склад", "объект", "предложение", "образец",
            "прайс", "машина", "менеджер", "бригада", "кладка", "смета", "акт", "претензия"]
RU_CASES = ["nomn", "gent", "datv", "accs", "ablt", "loct"]
RU_TEMPLATES = [
    "Добрый день, компания «СтройРесурс», меня зовут {name}.",
    "Подскажите, пожалуйста, по {n:datv}, когда будет?",
    "Звоню подтвердить {n:accs} на {day}.",
    "А документы для {n:gent} водитель привезёт?",
    "Мы сейчас работаем с другим поставщиком, нас не устраивает {n:nomn}.",
    "Какие объёмы {n:gent} вам нужны в месяц?",
    "У нас собственный склад, {n:nomn} в течение двух дней, и на объём скидка.",
    "Давайте я пришлю коммерческое предложение и в {day} позвоню обсудить {n:accs}.",
    "Дорого, у конкурентов {n:nomn} дешевле.",
    "Я с {n:ablt} разберусь и перезвоню.",
    "Нет, спасибо, нам пока ничего не нужно.",
    "Скажите, а вы для себя строите или от организации?",
    "По {n:datv} вопросов нет, всё пришло вовремя.",
    "Хорошо, договорились, жду {n:accs}.",
    "А что у вас ещё есть по {n:datv}?",
    "Какой срок по {n:datv} и какой бюджет закладываете?",
    "Извините, сейчас неудобно, наберите позже.",
    "Мы про {n:accs} уже говорили с вашим коллегой.",
    "В {n:loct} ошибка, пересчитайте, пожалуйста.",
]
RU_DAYS = ["понедельник", "вторник", "среду", "четверг", "пятницу"]
RU_NAMES = ["Ирина", "Павел", "Анна", "Дмитрий", "Елена", "Сергей"]
EN_NOUNS = ["shipment", "invoice", "delivery", "discount", "contract", "pallet", "order",
            "sample", "quote", "warehouse", "payment", "price list"]
EN_TEMPLATES = [
    "Good morning, Northwind Supplies, this is {name}.",
    "I'm calling about the {n}s we ordered last week.",
    "Our last two {n}s were delivered late.",
    "How many {n}s do you usually need per month?",
    "We can ship from our Leeds warehouse, next-day {n} is included.",
    "Could you send the {n} by Friday?",
    "We're shipping the {n} tomorrow morning.",
    "I'll think about it and call you back.",
    "What budget are you working with for the {n}?",
    "Let me email you a quote and I'll call you on {day} at ten.",
    "Sorry, he's in a meeting, can you call later?",
    "The {n} was missing two items.",
]
EN_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
EN_NAMES = ["John", "Mary", "Peter", "Susan"]

QUERIES: list[tuple[str, CallFilter | None]] = [
    ("отгрузка", None),                         # finds отгрузку, отгрузки, отгрузкой...
    ("накладными", None),
    ("скидку", None),
    ("претензия акт", None),                    # two words in one segment
    ("перезвоню", None),
    ("добрый день", None),                      # in nearly every call
    ("пересчитайте ошибка", CallFilter(manager="Ирина Соколова")),
    ("договор", CallFilter(date_from=date(2026, 10, 1), date_to=date(2026, 10, 15))),
    ("дорого", CallFilter(verdict="missed_opportunity")),
    ("shipment", None),                         # finds shipments
    ("invoices late", None),
    ("shipping", CallFilter(manager="John Smith")),
    ("несуществующееслово", None),
]


class Inflector:
    def __init__(self) -> None:
        import pymorphy3

        self.morph = pymorphy3.MorphAnalyzer()
        self.cache: dict[tuple[str, str], str] = {}

    def __call__(self, word: str, case: str) -> str:
        key = (word, case)
        if key not in self.cache:
            form = self.morph.parse(word)[0].inflect({case})
            self.cache[key] = form.word if form else word
        return self.cache[key]


def _ru_sentence(rng: random.Random, infl: Inflector) -> str:
    tpl = rng.choice(RU_TEMPLATES)
    noun = rng.choice(RU_NOUNS)
    out = tpl.replace("{name}", rng.choice(RU_NAMES)).replace("{day}", rng.choice(RU_DAYS))
    for case in RU_CASES:
        out = out.replace("{n:" + case + "}", infl(noun, case))
    return out


def _en_sentence(rng: random.Random) -> str:
    tpl = rng.choice(EN_TEMPLATES)
    return (tpl.replace("{name}", rng.choice(EN_NAMES)).replace("{day}", rng.choice(EN_DAYS))
            .replace("{n}", rng.choice(EN_NOUNS)))


def populate(engine: object, n: int, seed: int = 7) -> int:
    """n recordings with transcripts and analyses; returns the number of segments."""
    rng = random.Random(seed)
    infl = Inflector()
    start = datetime(2026, 9, 1, 9, 0)
    recs, trans, ans = [], [], []
    segments_total = 0
    for i in range(1, n + 1):
        en = i % 5 == 0
        manager = rng.choice(MANAGERS[8:] if en else MANAGERS[:8])
        segs, t = [], rng.uniform(0.5, 2.0)
        for k in range(rng.randint(8, 40)):
            sentence = _en_sentence(rng) if en else _ru_sentence(rng, infl)
            length = 1.5 + len(sentence) / 14
            segs.append({"speaker": "manager" if k % 2 == 0 else "client", "start": round(t, 2),
                         "end": round(t + length, 2), "text": sentence})
            t += length + rng.uniform(0.2, 1.5)
        segments_total += len(segs)
        sha = f"{i:064x}"
        verdict = rng.choice(VERDICTS)
        recs.append({"id": i, "path": f"/calls/{manager}/{i}.wav", "sha256": sha, "size": 0,
                     "duration_s": round(t + 3, 1), "manager": manager, "client": None,
                     "started_at": start + timedelta(minutes=13 * i), "status": "done",
                     "created_at": start, "updated_at": start})
        trans.append({"id": i, "recording_id": i, "sha256": sha, "model": "base",
                      "language": "en" if en else "ru", "mode": "stereo",
                      "duration_s": round(t + 3, 1), "asr_seconds": 0.0, "created_at": start,
                      "segments_json": json.dumps(segs, ensure_ascii=False)})
        ans.append({"recording_id": i, "transcript_id": i, "ruleset_version": "bench",
                    "call_type": "new_client", "verdict": verdict, "reason": "",
                    "stages_found": "", "stages_missing": "", "details_json": "{}",
                    "created_at": start})
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(insert(store.Recording), recs)
        conn.execute(insert(store.Transcript), trans)
        conn.execute(insert(store.Analysis), ans)
    return segments_total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each query")
    ap.add_argument("--keep", type=Path, help="write the database here instead of a temp dir")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.keep or Path(tmp) / "bench.db"
        if db.exists():
            db.unlink()
        engine = store.make_engine(str(db))
        t0 = time.perf_counter()
        segments = populate(engine, args.calls)
        print(f"stored {args.calls} calls, {segments} segments in "
              f"{time.perf_counter() - t0:.1f} s")

        lem = Lemmatizer()
        t0 = time.perf_counter()
        lem.query_terms("прогрев")  # load spaCy and pymorphy3 outside the timings
        lem.query_terms("warm up")
        print(f"lemmatizers loaded in {time.perf_counter() - t0:.1f} s")
        stats = ensure_index(engine, lem)
        print(f"index built: {stats.indexed} transcripts, {stats.segments} segments in "
              f"{stats.seconds:.1f} s ({stats.segments / max(stats.seconds, 1e-9):,.0f} "
              f"segments/s); database {db.stat().st_size / 1e6:.0f} MB")
        t0 = time.perf_counter()
        ensure_index(engine, lem)
        print(f"index check with nothing new: {(time.perf_counter() - t0) * 1000:.0f} ms")

        latencies: list[float] = []
        print(f"\n{'query':<32} {'filter':<22} {'matches':>8} {'calls':>6} {'median ms':>10} "
              f"{'worst ms':>9}")
        for query, flt in QUERIES:
            runs = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                res = search(engine, query, flt, limit=50, lemmatizer=lem)
                runs.append(time.perf_counter() - t0)
            latencies.extend(runs)
            desc = ""
            if flt is not None:
                desc = ", ".join(f"{k}={v}" for k, v in flt.__dict__.items()
                                 if v not in (None, False))[:22]
            print(f"{query:<32} {desc:<22} {res.total_segments:>8} {res.total_calls:>6} "
                  f"{statistics.median(runs) * 1000:>10.0f} {max(runs) * 1000:>9.0f}")
        med, worst = statistics.median(latencies), max(latencies)
        print(f"\nall queries: median {med * 1000:.0f} ms, worst {worst * 1000:.0f} ms "
              f"(target < 1000 ms): {'OK' if worst < 1 else 'SLOW'}")
        engine.dispose()
    return 0 if worst < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
