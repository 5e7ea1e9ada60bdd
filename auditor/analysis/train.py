"""Train the call-type model from the repository's labelled corpora.

    auditor-train                      # or: make train; writes models/calltype-model.json
    auditor-train --cv                 # leave-one-industry-out figures, writes nothing

Training data: fixtures/corpus (dev, one group), fixtures/corpus2 (dev2, 24
industries) and fixtures/corpus-asr (both as the product hears them after a
phone line and Whisper; each call in the group of its source). The blind
holdout (fixtures/holdout) is never trained on.

The fit is a multinomial logistic regression with an L2 penalty, by full-batch
gradient descent from zero on standardised features: the same data give the
same weights, to the last digit, on any machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.analysis.features import FEATURE_NAMES, Features
from auditor.analysis.model import MODEL_FILE, CallTypeModel
from auditor.records import CALL_TYPES

ROOT = Path(__file__).resolve().parents[2]
TRAIN_CORPORA = ("fixtures/corpus", "fixtures/corpus2", "fixtures/corpus-asr")
L2 = 0.02  # on the dialogue figures
L2_WORDS = 0.1  # on the words (many more of them)
MIN_CALLS = 4  # a word is a feature when at least this many training calls use it
STEPS = 3000
RATE = 0.5


@dataclass
class Example:
    """One labelled call, ready to train on or to score."""

    id: str
    group: str  # the industry (dev: "dev"); an ASR copy is in the group of its source
    source: str  # the corpus folder
    language: str
    labels: dict[str, Any]
    features: Features
    path: Path


def group_of(data: dict[str, Any], corpus: str) -> str:
    """The industry of a call; dev (one industry set) is one group, ASR copies join their source's."""
    if data.get("industry"):
        return str(data["industry"])
    source = data.get("source")
    if isinstance(source, dict) and source.get("corpus"):
        return str(source["corpus"])
    return corpus


def load_examples(folders: Iterable[Path], prepare: Callable[..., Any] | None = None
                  ) -> list[Example]:
    """Features of every labelled call in the folders (calls without labels are skipped)."""
    from auditor.analysis.engine import prepare as default_prepare
    from auditor.analysis.loaders import load_transcript

    prepare = prepare or default_prepare
    out = []
    for folder in folders:
        for path in sorted(Path(folder).glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            if "labels" not in data:
                continue
            transcript, labels = load_transcript(path)
            if labels is None:
                continue
            prepared = prepare(transcript)
            if prepared is None:  # nothing recognised: no features to learn from
                continue
            corpus = Path(folder).name
            if corpus == "corpus":
                corpus = "dev"
            out.append(Example(str(data.get("id", path.stem)), group_of(data, corpus), corpus,
                               prepared.language, labels, prepared.features, path))
    return out


def vocabulary(examples: list[Example], min_calls: int = MIN_CALLS) -> list[str]:
    """The lexical features ("m:…", "c:…") used in at least min_calls of the examples."""
    from collections import Counter

    df: Counter[str] = Counter()
    for e in examples:
        df.update(k for k in e.features.values if k[:2] in ("m:", "c:"))
    return sorted(w for w, n in df.items() if n >= min_calls)


def fit(examples: list[Example], l2: float = L2, l2_words: float = L2_WORDS,
        steps: int = STEPS) -> CallTypeModel:
    import numpy as np

    names = list(FEATURE_NAMES) + vocabulary(examples)
    classes = CALL_TYPES
    x = np.array([[e.features.values.get(n, 0.0) for n in names] for e in examples])
    y = np.array([classes.index(e.labels["call_type"]) for e in examples])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    z = (x - mean) / scale
    penalty = np.array([l2] * len(FEATURE_NAMES) + [l2_words] * (len(names) - len(FEATURE_NAMES)))
    n, d = z.shape
    k = len(classes)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0
    # Each class weighs the same in the loss, however many calls it has.
    counts = onehot.sum(axis=0)
    sample_w = (n / (k * np.maximum(counts, 1)))[y]
    w = np.zeros((k, d))
    b = np.zeros(k)
    for _ in range(steps):
        logits = z @ w.T + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        err = (p - onehot) * sample_w[:, None] / n
        w -= RATE * (err.T @ z + penalty[None, :] * w)
        b -= RATE * err.sum(axis=0)
    return CallTypeModel(classes=tuple(classes), features=tuple(names),
                         mean=tuple(round(float(v), 6) for v in mean),
                         scale=tuple(round(float(v), 6) for v in scale),
                         weights=tuple(tuple(round(float(v), 6) for v in row) for row in w),
                         bias=tuple(round(float(v), 6) for v in b),
                         meta={"trained_on": sorted({e.source for e in examples}),
                               "calls": len(examples), "l2": l2, "l2_words": l2_words,
                               "steps": steps, "min_calls": MIN_CALLS})


def held_out(examples: list[Example], score: Callable[[CallTypeModel, Example], Any],
             key: Callable[[Example], str] = lambda e: e.group) -> dict[str, Any]:
    """Score every call with a model fitted without its group (leave one group out)."""
    out: dict[str, Any] = {}
    for g in sorted({key(e) for e in examples}):
        model = fit([e for e in examples if key(e) != g])
        for e in examples:
            if key(e) == g:
                out[e.id] = score(model, e)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="auditor-train", description=__doc__.splitlines()[0])
    ap.add_argument("--cv", action="store_true", help="print held-out-industry accuracy only")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / MODEL_FILE)
    args = ap.parse_args(argv)
    folders = [ROOT / c for c in TRAIN_CORPORA if (ROOT / c).is_dir()]
    examples = load_examples(folders)
    if not examples:
        print("error: no labelled calls to train on", file=sys.stderr)
        return 2
    if args.cv:
        preds = held_out(examples, lambda m, e: max(m.probabilities(e.features).items(),
                                                    key=lambda kv: kv[1])[0])
        for source in sorted({e.source for e in examples}):
            sub = [e for e in examples if e.source == source]
            ok = sum(preds[e.id] == e.labels["call_type"] for e in sub)
            print(f"{source:12} {len(sub):4} calls  held-out-industry call type {ok / len(sub):.3f}")
        return 0
    model = fit(examples)
    args.out.write_text(json.dumps(model.to_dict(), indent=1) + "\n", encoding="utf-8")
    print(f"trained on {len(examples)} calls from {', '.join((model.meta or {})['trained_on'])}: "
          f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
