#!/usr/bin/env python3
"""auditor serve page times on a large store: the queue, a call, managers, search, a review.

Creates N stored calls (default 10,000; the synthetic calls of
benchmarks/search.py) in a temporary SQLite file and times each page through
Starlette's TestClient (in process: the app's own work, no network). Every
page asks the store for the call list once or twice (the queue, the call's
neighbours in its queue), so its time grows with the number of calls.
Target: a call page under a second at 10,000 calls.

    .venv/bin/python benchmarks/web.py                 # 10,000 calls
    .venv/bin/python benchmarks/web.py --calls 2000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from search import populate  # benchmarks/search.py: the same synthetic calls
from sqlalchemy import update
from starlette.testclient import TestClient

from auditor import store
from auditor.config import Settings
from auditor.records import CallAnalysis
from auditor.web.app import create_app


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3, help="requests per page")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        engine = store.make_engine(str(db))
        t0 = time.perf_counter()
        populate(engine, args.calls)
        with engine.begin() as conn:  # search.py stores no analysis details; a call page reads them
            details = CallAnalysis("new_client", "incomplete", {}, 300.0, "bench", "ru",
                                   reason="bench").to_dict()
            conn.execute(update(store.Analysis).values(details_json=json.dumps(details)))
        print(f"stored {args.calls} calls in {time.perf_counter() - t0:.1f} s")
        c = TestClient(create_app(engine, Settings(db=str(db)), local_user="bench"),
                       base_url="http://127.0.0.1")
        t0 = time.perf_counter()
        c.get("/search?q=отгрузка")  # spaCy, pymorphy3 and the search index, outside the timings
        print(f"first search (loads the lemmatisers, builds the index): "
              f"{time.perf_counter() - t0:.1f} s")
        mid = args.calls // 2
        pages = [("queue, all calls", "/"), ("queue, one manager unreviewed",
                                             "/?manager=Ирина+Соколова&unreviewed=1"),
                 ("call page", f"/calls/{mid}"),
                 ("call page in a filtered queue", f"/calls/{mid}?verdict=incomplete"),
                 ("managers (KPIs, charts)", "/managers"), ("search", "/search?q=скидку")]
        print(f"{'page':34} {'median ms':>10} {'max ms':>8} {'KB':>6}")
        for name, url in pages:
            times, size = [], 0
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                r = c.get(url)
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, (url, r.status_code)
                size = len(r.content)
            print(f"{name:34} {statistics.median(times):10.0f} {max(times):8.0f} "
                  f"{size / 1024:6.0f}")
        times = []
        for i in range(args.repeat):
            page = c.get(f"/calls/{mid + i}").text
            token = re.search(r'name="csrf" value="([^"]+)"', page)
            assert token
            t0 = time.perf_counter()
            r = c.post(f"/calls/{mid + i}/review", data={
                "csrf": token.group(1), "action": "set", "verdict": "ok", "note": "bench"},
                follow_redirects=False)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 303
        print(f"{'review (POST, then redirect)':34} {statistics.median(times):10.0f} "
              f"{max(times):8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
