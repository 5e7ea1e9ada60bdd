"""The analysis measured on the labelled dev corpus must reach the product targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.analysis.evaluate import evaluate
from auditor.config import Settings
from auditor.errors import InputError
from auditor.records import STAGES

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"


@pytest.fixture(scope="module")
def report():
    return evaluate([CORPUS], Settings())


def test_corpus_targets(report):
    assert report.n == 52
    assert not report.errors
    assert report.call_type_accuracy >= 0.90
    assert report.verdict_accuracy >= 0.85
    for stage in STAGES:
        assert report.stages[stage].f1 >= 0.85, stage
    assert report.macro_f1 == pytest.approx(sum(m.f1 for m in report.stages.values()) / 4)


def test_targets_hold_per_language(report):
    assert set(report.by_language) == {"ru", "en"}
    assert report.by_language["ru"].n == 40 and report.by_language["en"].n == 12
    for sub in report.by_language.values():
        assert sub.call_type_accuracy >= 0.85
        assert sub.verdict_accuracy >= 0.8
        assert sub.macro_f1 >= 0.8


def test_confusion_matrices_add_up(report):
    assert sum(sum(row.values()) for row in report.call_type_confusion.values()) == report.n
    assert sum(sum(row.values()) for row in report.verdict_confusion.values()) == report.n
    diagonal = sum(report.call_type_confusion[t][t] for t in report.call_type_confusion)
    assert diagonal == report.call_type_correct


def test_report_dict_has_the_documented_keys(report):
    data = json.loads(json.dumps(report.to_dict()))
    for key in ("n", "call_type_accuracy", "verdict_accuracy", "macro_f1", "stages",
                "call_type_confusion", "verdict_confusion", "misses", "by_language"):
        assert key in data
    assert set(data["stages"]) == set(STAGES)
    assert set(data["stages"]["needs"]) >= {"precision", "recall", "f1"}


def test_misses_carry_the_file_and_the_evidence(tmp_path):
    # Relabel one call wrongly: the miss must name it and show what was used.
    src = json.loads((CORPUS / "dev-ru-017.json").read_text(encoding="utf-8"))
    src["labels"] = {"call_type": "post_sale", "stages": [], "verdict": "exempt"}
    (tmp_path / "wrong.json").write_text(json.dumps(src, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "plain.json").write_text(json.dumps({"segments": [
        {"speaker": "manager", "start": 0, "end": 1, "text": "Hello."}]}), encoding="utf-8")
    rep = evaluate([tmp_path])
    assert rep.n == 1 and rep.call_type_accuracy == 0.0
    assert rep.skipped == [str(tmp_path / "plain.json")]
    fields = {m.kind for m in rep.misses}
    assert {"call_type", "verdict", "stage:needs", "stage:presentation"} <= fields
    miss = next(m for m in rep.misses if m.kind == "stage:needs")
    assert miss.call_id == "dev-ru-017" and miss.evidence
    assert miss.expected == "absent" and miss.predicted == "present"
    assert rep.stages["needs"].fp == 1 and rep.stages_sales_only["needs"].fp == 0


def test_bad_labels_and_empty_folders_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no labelled calls"):
        evaluate([tmp_path])
    src = json.loads((CORPUS / "dev-en-006.json").read_text(encoding="utf-8"))
    src["labels"]["verdict"] = "great"
    (tmp_path / "bad.json").write_text(json.dumps(src), encoding="utf-8")
    with pytest.raises(InputError, match="labels.verdict 'great'"):
        evaluate([tmp_path])
