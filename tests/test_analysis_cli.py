"""`auditor analyze` and `auditor eval` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
runner = CliRunner()


def test_analyze_text_shows_type_stages_quotes_and_verdict():
    result = runner.invoke(app, ["analyze", str(CORPUS / "dev-ru-017.json")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "call type: new_client" in out
    assert "needs         found" in out
    assert "«Вам какая плотность нужна, под что?» (manager 0:11)" in out
    assert "next_step     missing vague ending" in out
    assert "verdict: missed_opportunity — sales call of 1:23 under 5:00 missing profile, " \
           "next_step" in out


def test_analyze_json_one_file_is_an_object_several_a_list():
    one = runner.invoke(app, ["analyze", str(CORPUS / "dev-en-007.json"), "--format", "json"])
    assert one.exit_code == 0, one.output
    data = json.loads(one.output)
    assert data["file"].endswith("dev-en-007.json")
    assert data["call_type"] == "post_sale" and data["verdict"] == "exempt"
    two = runner.invoke(app, ["analyze", str(CORPUS / "dev-en-007.json"),
                              str(CORPUS / "dev-ru-001.json"), "-f", "json"])
    assert two.exit_code == 0
    items = json.loads(two.output)
    assert [i["verdict"] for i in items] == ["exempt", "ok"]
    assert items[1]["stages"]["next_step"]["evidence"][0]["speaker"] == "manager"


def test_analyze_bad_file_is_reported_and_the_others_still_run(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    good = tmp_path / "call.txt"
    good.write_text("Manager: Hi, Coolflow, this is Tom.\nClient: How much is the condenser?\n"
                    "Manager: Sixteen forty-nine.\n", encoding="utf-8")
    result = runner.invoke(app, ["analyze", str(bad), str(good)])
    assert result.exit_code == 2
    assert f"error: {bad}: not valid JSON (line 1" in result.output
    assert "verdict: missed_opportunity" in result.output


def test_analyze_short_call_threshold_flag():
    path = str(CORPUS / "dev-ru-007.json")  # 5:52, no next step
    assert "verdict: incomplete" in runner.invoke(app, ["analyze", path]).output
    out = runner.invoke(app, ["analyze", path, "--short-call-s", "400"]).output
    assert "verdict: missed_opportunity" in out and "under 6:40" in out


def test_analyze_rejects_unknown_format():
    result = runner.invoke(app, ["analyze", str(CORPUS / "dev-ru-001.json"), "-f", "xml"])
    assert result.exit_code == 2


def test_eval_json_has_the_documented_figures():
    result = runner.invoke(app, ["eval", str(CORPUS), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["n"] == 52
    assert data["call_type_accuracy"] >= 0.9 and data["verdict_accuracy"] >= 0.85
    for stage in ("profile", "needs", "presentation", "next_step"):
        assert set(data["stages"][stage]) >= {"precision", "recall", "f1"}
        assert data["stages"][stage]["f1"] >= 0.85
    assert "macro_f1" in data


def test_eval_text_report_and_missing_folder(tmp_path):
    result = runner.invoke(app, ["eval", str(CORPUS)])
    assert result.exit_code == 0
    assert "call type accuracy" in result.output and "confusion" in result.output
    missing = runner.invoke(app, ["eval", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "no such file or folder" in missing.output


@pytest.mark.parametrize("command", ["analyze", "eval"])
def test_help_has_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
