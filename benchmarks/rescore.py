"""`rescore` of 1,000 stored transcripts: the real analysis, a real SQLite file.

The database is filled with 1,000 done recordings whose stored transcripts are
the labelled calls of fixtures/corpus (ru and en, stereo and mono), cycled,
each with an analysis by an older rule set and every tenth with a review.
Then `auditor.audit.rescore.rescore` runs as the `rescore` command does (spaCy and
the rule models loaded in the timed run, worker processes = cores) and the
script prints the wall time against the 30 s target.

    python benchmarks/rescore.py [--calls 1000] [--jobs N] [--keep DB]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from auditor import store  # noqa: E402
from auditor.analysis.evaluate import labelled_files  # noqa: E402
from auditor.analysis.loaders import load_transcript  # noqa: E402
from auditor.audit.rescore import rescore  # noqa: E402
from auditor.config import Settings  # noqa: E402
from auditor.records import CallAnalysis  # noqa: E402

TARGET_S = 30.0


def fill(db: Path, n: int) -> None:
    docs = [load_transcript(p)[0] for p in labelled_files([ROOT / "fixtures" / "corpus"])]
    engine = store.make_engine(str(db))
    base = datetime(2026, 11, 2, 9, 0)
    with Session(engine) as s:
        for i in range(n):
            doc = docs[i % len(docs)]
            rec = store.Recording(path=f"/calls/manager {i % 12}/{i:05d}.wav", sha256=f"{i:064x}",
                                  duration_s=doc.duration, manager=f"manager {i % 12}",
                                  started_at=base + timedelta(minutes=6 * i), status="done")
            s.add(rec)
            s.flush()
            mode = "mono" if all(seg.speaker == "unknown" for seg in doc.segments) else "stereo"
            t = store.save_transcript(s, rec, doc, mode, 1.0)
            old = CallAnalysis(call_type="new_client", verdict="ok", stages={},
                               reason="older rules", language=doc.language,
                               duration_s=doc.duration, ruleset_version=f"{doc.language}-0.9.0")
            store.save_analysis(s, rec.id or 0, t.id, old)
            if i % 10 == 0:
                s.add(store.Review(recording_id=rec.id or 0, verdict="ok", note="checked",
                                   reviewer="anna", auto_verdict="ok"))
        s.commit()
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=None, help="worker processes [cores]")
    parser.add_argument("--keep", type=Path, help="build the database here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.keep or Path(tmp) / "rescore.db"
        t0 = time.perf_counter()
        fill(db, args.calls)
        print(f"filled {db} with {args.calls} stored transcripts in "
              f"{time.perf_counter() - t0:.1f} s")
        engine = store.make_engine(str(db))
        settings = Settings(db=str(db))
        summary = rescore(engine, settings, jobs=args.jobs)
        counts = json.dumps({f"{a}->{b}": n for (a, b), n in sorted(summary.transitions.items())})
        print(f"rescored {summary.rescored} of {summary.total} in {summary.seconds:.1f} s "
              f"({summary.rescored / summary.seconds:.0f} calls/s, jobs "
              f"{args.jobs or settings.threads}); failed {len(summary.failed)}; "
              f"changes {counts}; {len(summary.disagreements)} disagree with a review")
        ok = summary.rescored == args.calls and summary.seconds < TARGET_S
        print(f"  [{'PASS' if ok else 'FAIL'}] rescore of {args.calls} < {TARGET_S:.0f} s")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
