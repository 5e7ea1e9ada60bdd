"""Generalisation: a labelled set written blind to the rules (fixtures/holdout).

The rules were developed on fixtures/corpus; these 30 calls come from other
industries and phrasings and were written without reading models/ or the
engine, so they estimate accuracy on calls the product has never seen.
"""

from __future__ import annotations

from auditor.analysis.evaluate import evaluate
from auditor.config import Settings

from .conftest import FIXTURES

HOLDOUT = FIXTURES / "holdout"


def test_blind_holdout_meets_the_targets() -> None:
    report = evaluate(sorted(HOLDOUT.glob("*.json")), Settings())
    assert report.n == 30
    assert report.call_type_accuracy >= 0.90
    assert report.verdict_accuracy >= 0.85
    for stage, scores in report.stages.items():
        assert scores.f1 >= 0.85, (stage, scores)
