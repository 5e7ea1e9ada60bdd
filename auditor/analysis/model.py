"""The call-type model: a multinomial logistic regression over dialogue features.

Why a trained component: cue rules fitted to the calls one can read did not
transfer to other industries (0.73 call-type accuracy on dev2 with rules
written on dev). The rules still find the cues; this model learns, from the
labelled corpora and their speech-recognised versions, how much each figure
of features.py weighs for each call type. It is small enough to read: one
weight per feature and call type, stored as JSON in models/calltype-model.json
(``auditor-train`` / ``make train`` rebuilds it from the repository's corpora,
deterministically), and every decision lists the features that pushed it most,
with the clauses behind them.

Prediction needs nothing but the standard library; training (train.py) uses
numpy.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from auditor.analysis.features import Features
from auditor.analysis.rules import DECISION_FILE
from auditor.errors import ConfigError

MODEL_FILE = "calltype-model.json"


@dataclass(frozen=True)
class CallTypeModel:
    classes: tuple[str, ...]
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[tuple[float, ...], ...]  # per class, per feature
    bias: tuple[float, ...]
    version: str = ""
    meta: dict[str, Any] | None = None

    def logits(self, f: Features) -> list[float]:
        x = self._x(f)
        return [b + sum(w * v for w, v in zip(ws, x, strict=True))
                for ws, b in zip(self.weights, self.bias, strict=True)]

    def _x(self, f: Features) -> list[float]:
        return [(f.values.get(n, 0.0) - m) / s
                for n, m, s in zip(self.features, self.mean, self.scale, strict=True)]

    def probabilities(self, f: Features) -> dict[str, float]:
        z = self.logits(f)
        top = max(z)
        e = [math.exp(v - top) for v in z]
        total = sum(e)
        return {c: v / total for c, v in zip(self.classes, e, strict=True)}

    def contributions(self, f: Features, call_type: str) -> list[tuple[str, float]]:
        """Features by how much they pushed towards call_type against the others."""
        k = self.classes.index(call_type)
        x = self._x(f)
        n = len(self.classes)
        out = []
        for j, name in enumerate(self.features):
            if name[:2] in ("m:", "c:") and not f.values.get(name):
                continue  # a word not said explains nothing to a reader
            mine = self.weights[k][j] * x[j]
            rest = sum(self.weights[i][j] * x[j] for i in range(n) if i != k) / max(1, n - 1)
            out.append((name, mine - rest))
        return sorted(out, key=lambda t: -t[1])

    def to_dict(self) -> dict[str, Any]:
        return {"classes": list(self.classes), "features": list(self.features),
                "mean": list(self.mean), "scale": list(self.scale),
                "weights": [list(w) for w in self.weights], "bias": list(self.bias),
                "meta": self.meta or {}}

    @classmethod
    def from_dict(cls, d: dict[str, Any], version: str = "") -> CallTypeModel:
        return cls(classes=tuple(d["classes"]), features=tuple(d["features"]),
                   mean=tuple(float(v) for v in d["mean"]),
                   scale=tuple(float(v) for v in d["scale"]),
                   weights=tuple(tuple(float(v) for v in w) for w in d["weights"]),
                   bias=tuple(float(v) for v in d["bias"]), version=version,
                   meta=d.get("meta"))


@functools.cache
def models_version() -> str:
    """A short hash of the model and decision files: part of every analysis's version."""
    from auditor.analysis.rules import _models_root

    root = _models_root()
    h = hashlib.sha256()
    for name in (MODEL_FILE, DECISION_FILE):
        try:
            h.update(root.joinpath(name).read_bytes())
        except OSError as e:
            raise ConfigError(f"{name} cannot be read: {e}") from None
    return "m" + h.hexdigest()[:8]


@functools.cache
def load_model() -> CallTypeModel:
    """The shipped model (models/calltype-model.json), with a version from its content."""
    from auditor.analysis.rules import _models_root

    root = _models_root()
    try:
        text = str(root.joinpath(MODEL_FILE).read_text(encoding="utf-8"))
        data = json.loads(text)
        return CallTypeModel.from_dict(data, "m" + hashlib.sha256(text.encode()).hexdigest()[:8])
    except (OSError, ValueError, KeyError) as e:
        raise ConfigError(f"call-type model {MODEL_FILE} cannot be read: {e}") from None
