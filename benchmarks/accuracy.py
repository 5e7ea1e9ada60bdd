"""Accuracy of the analysis: clean and speech-recognised transcripts, by language, industries held out.

    python benchmarks/accuracy.py            # every set (about 2 min on 2 cores)
    python benchmarks/accuracy.py --json out.json

Sets: dev (fixtures/corpus, 52 calls the rules were first written on), dev2
(fixtures/corpus2, 100 calls in 24 other industries), holdout (fixtures/holdout,
30 calls written blind, never trained on), asr (fixtures/corpus-asr: dev and
dev2 synthesized into 8 kHz phone audio and transcribed by the product).

Two readings of each set:

- **held-out industry** (the figure to trust): every call is analysed with a
  call-type model fitted without its industry (and without the speech-recognised
  copies of those calls); dev counts as one industry. The holdout set is always
  scored with the model trained on everything, which never saw it.
- **shipped**: the shipped model, trained on dev, dev2 and asr: in-sample for
  those, and said so.

Printed per set and language: call type and verdict accuracy, the F1 of each
stage, calls wrongly accused (labelled ok, exempt or no_contact, reported as
missed_opportunity or incomplete) and calls judged inconclusive.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from auditor.analysis import train  # noqa: E402
from auditor.analysis.engine import analyze  # noqa: E402
from auditor.analysis.evaluate import EvalReport  # noqa: E402
from auditor.analysis.loaders import load_transcript  # noqa: E402
from auditor.analysis.model import load_model  # noqa: E402
from auditor.config import Settings  # noqa: E402
from auditor.records import ACCUSING, BLAMELESS  # noqa: E402

SETS = {"dev": "fixtures/corpus", "dev2": "fixtures/corpus2", "holdout": "fixtures/holdout",
        "asr": "fixtures/corpus-asr"}
SOURCE_OF = {"corpus": "dev", "corpus2": "dev2", "corpus-asr": "asr", "holdout": "holdout"}


def _source_group(ex: train.Example) -> str:
    """The group an ASR copy belongs to: its source call's industry."""
    return ex.group


def evaluate(examples: list[train.Example], held_out: bool, settings: Settings
             ) -> dict[str, EvalReport]:
    reports: dict[str, EvalReport] = {}
    shipped = load_model()
    training = [e for e in examples if e.source != "holdout"]
    models: dict[str, Any] = {}
    if held_out:
        for g in sorted({e.group for e in training}):
            models[g] = train.fit([e for e in training if e.group != g])
        full = train.fit(training)
    for e in examples:
        model = shipped
        if held_out:
            model = full if e.source == "holdout" else models[e.group]
        transcript, labels = load_transcript(e.path)
        result = analyze(transcript, settings, model=model)
        name = SOURCE_OF.get(e.source, e.source)
        for key in (name, f"{name} {e.language}"):
            reports.setdefault(key, EvalReport()).add(e.id, str(e.path), labels or {}, result)
    return reports


def print_table(title: str, reports: dict[str, EvalReport]) -> None:
    print(title)
    head = (f"{'set':<12}{'n':>5}{'type':>7}{'verdict':>8}{'profile':>9}{'needs':>7}{'pres.':>7}"
            f"{'next':>7}{'accused':>9}{'inconcl.':>9}")
    print(head)
    print("-" * len(head))
    for name in sorted(reports, key=lambda k: (list(SETS).index(k.split()[0]), k)):
        r = reports[name]
        f1 = [r.stages[s].f1 for s in ("profile", "needs", "presentation", "next_step")]
        print(f"{name:<12}{r.n:>5}{r.call_type_accuracy:>7.3f}{r.verdict_accuracy:>8.3f}"
              + "".join(f"{x:>{w}.3f}" for x, w in zip(f1, (9, 7, 7, 7), strict=True))
              + f"{100 * r.false_accusation_rate:>8.1f}%{100 * r.inconclusive_rate:>8.1f}%")
    print()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--shipped-only", action="store_true", help="skip the held-out refits")
    ap.add_argument("--accused", action="store_true",
                    help="list the wrongly accused calls of the held-out reading, with the reason")
    args = ap.parse_args(argv)
    folders = [ROOT / p for p in SETS.values() if (ROOT / p).is_dir()]
    examples = train.load_examples(folders)
    settings = Settings()
    out: dict[str, Any] = {}
    if not args.shipped_only:
        held = evaluate(examples, True, settings)
        print_table("held-out industry (each call scored by a model fitted without its industry)",
                    held)
        out["held_out"] = {k: v.summary() for k, v in held.items()}
        if args.accused:
            for name in SETS:
                for m in held.get(name, EvalReport()).misses:
                    if m.kind == "verdict" and m.expected in BLAMELESS and m.predicted in ACCUSING:
                        print(f"  accused: {m.call_id} labelled {m.expected}, got {m.predicted}: "
                              f"{m.reason}")
            print()
    shipped = evaluate(examples, False, settings)
    print_table("shipped model (in-sample for dev, dev2 and asr)", shipped)
    out["shipped"] = {k: v.summary() for k, v in shipped.items()}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
