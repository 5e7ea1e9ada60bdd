"""Accuracy and speed of the analysis on the labelled corpus.

Prints the evaluation figures (overall and per language) and the analysis
throughput in calls per second after a warm-up pass (spaCy pipelines and rule
models loaded, caches filled), which is what a `rescore` of stored transcripts
sees.

    python benchmarks/analysis.py [CORPUS_DIR] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from auditor.analysis import analyze  # noqa: E402
from auditor.analysis.evaluate import evaluate, labelled_files  # noqa: E402
from auditor.analysis.loaders import load_transcript  # noqa: E402
from auditor.config import Settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=str(ROOT / "fixtures" / "corpus"))
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the corpus")
    args = parser.parse_args()
    settings = Settings()

    t0 = time.perf_counter()
    report = evaluate([Path(args.corpus)], settings)
    cold = time.perf_counter() - t0
    print(f"corpus: {args.corpus}  ({report.n} labelled calls)")
    print(f"{'':<8}{'n':>4}{'type acc':>10}{'verdict':>9}{'macro F1':>10}"
          f"{'profile':>9}{'needs':>7}{'pres.':>7}{'next':>7}")
    rows = [("all", report)] + sorted(report.by_language.items())
    for name, rep in rows:
        f1 = [rep.stages[s].f1 for s in ("profile", "needs", "presentation", "next_step")]
        print(f"{name:<8}{rep.n:>4}{rep.call_type_accuracy:>10.3f}{rep.verdict_accuracy:>9.3f}"
              f"{rep.macro_f1:>10.3f}" + "".join(f"{x:>{w}.3f}" for x, w in
                                                  zip(f1, (9, 7, 7, 7), strict=True)))
    if report.misses:
        print(f"misses: {len(report.misses)} (auditor eval {args.corpus} lists them)")

    transcripts = [load_transcript(p)[0] for p in labelled_files([Path(args.corpus)])]
    for t in transcripts:  # warm-up: pipelines, rule models, lemma caches
        analyze(t, settings)
    rates = []
    for _ in range(max(1, args.rounds)):
        t0 = time.perf_counter()
        for t in transcripts:
            analyze(t, settings)
        rates.append(len(transcripts) / (time.perf_counter() - t0))
    segments = sum(len(t.segments) for t in transcripts)
    print(f"first pass (cold, incl. loading spaCy and rules): {cold:.2f} s")
    print(f"throughput after warm-up: {statistics.median(rates):.1f} calls/s "
          f"(median of {len(rates)} passes, best {max(rates):.1f}; "
          f"{segments / len(transcripts):.0f} segments per call)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
