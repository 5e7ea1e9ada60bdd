"""The score and the metrics where people read them: calls, show and review (real analysis, real SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from auditor.cli import app
from auditor.cli import calls_table as calls_table_mod

from .helpers_review import standard_db

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture()
def db(tmp_path: Path) -> tuple[str, dict]:
    """The standard calls, analysed by the real analysis (a rescore of their transcripts)."""
    path, calls = standard_db(tmp_path)
    r = run("rescore", "--db", path)
    assert r.exit_code == 0, r.output
    return path, calls


def _calls(path: str, *args: str) -> list[dict]:
    r = run("calls", "--db", path, "--format", "json", *args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_calls_sort_and_filter_by_score(db: tuple[str, dict]) -> None:
    path, c = db
    rows = _calls(path, "--sort", "score")
    scores = [r["score"] for r in rows]
    scored = [s for s in scores if s is not None]
    assert scored == sorted(scored) and len(scored) >= 2
    assert scores[:len(scored)] == scored  # unscored calls last
    assert {r["id"]: r["score"] for r in rows}[c["post"].id] is None  # exempt: no score
    assert all(r["talk_share"] is not None for r in rows)
    full = next(r for r in rows if r["id"] == c["full"].id)
    short = next(r for r in rows if r["id"] == c["short"].id)
    assert full["score"] > short["score"]
    between = _calls(path, "--min-score", str(short["score"] + 1))
    assert [r["id"] for r in between] == [r["id"] for r in rows
                                         if r["score"] is not None and r["score"] > short["score"]]
    assert _calls(path, "--max-score", str(short["score"]))[0]["id"] == c["short"].id
    bad = run("calls", "--db", path, "--sort", "loudest")
    assert bad.exit_code != 0 and "--sort" in bad.output


def test_the_calls_table_fits_80_columns(db: tuple[str, dict], monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    path, c = db
    wide = run("calls", "--db", path)  # not a terminal: every column
    assert "conf" in wide.stdout.splitlines()[0] and "type" in wide.stdout.splitlines()[0]
    monkeypatch.setattr(calls_table_mod, "make_console",
                        lambda: Console(width=80, highlight=False, no_color=True))
    r = run("calls", "--db", path)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[0].split() == ["id", "started", "manager", "dur", "verdict", "score", "talk",
                                "missing"]
    full = next(line for line in lines if line.split()[0] == str(c["full"].id))
    assert "Ирина Соколова" in full and "%" in full


def test_show_has_the_metrics_and_the_checklist(db: tuple[str, dict]) -> None:
    path, c = db
    r = run("show", str(c["full"].id), "--db", path)
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "metrics by channel (stereo)" in out and "talk share: manager" in out
    assert "longest monologue" in out and "questions by the manager" in out
    assert "checklist score" in out
    assert "✓ Следующий шаг с датой или временем" in out and "в четверг в десять" in out
    exempt = run("show", str(c["post"].id), "--db", path).stdout
    assert "metrics" in exempt and "checklist score" not in exempt
    detail = json.loads(run("show", str(c["full"].id), "--db", path, "--format", "json").stdout)
    assert detail["analysis"]["metrics"]["manager_talk_pct"] is not None
    assert detail["call"]["score"] == detail["analysis"]["score"]


def test_review_corrects_a_checklist_item_and_the_score_follows(db: tuple[str, dict]) -> None:
    path, c = db
    before = next(r for r in _calls(path) if r["id"] == c["full"].id)
    r = run("review", str(c["full"].id), "--db", path, "--item", "greeting=no",
            "--note", "the company was not named", "--reviewer", "anna")
    assert r.exit_code == 0, r.output
    after = next(r for r in _calls(path) if r["id"] == c["full"].id)
    assert after["verdict"] == before["verdict"]  # the verdict stays what it was
    assert after["auto_score"] == before["score"]
    assert after["score"] == pytest.approx(before["score"] - 10)  # greeting weighs 10 of 100
    shown = run("show", str(c["full"].id), "--db", path).stdout
    assert f"checklist score {after['score']:.0f}/100" in shown and "✎ Приветствие" in shown
    assert "greeting=no" in shown
    # a stage answer moves its checklist item as well
    r = run("review", str(c["full"].id), "--db", path, "--verdict", "incomplete", "--stage",
            "needs=no", "--note", "no real needs question", "--reviewer", "anna")
    assert r.exit_code == 0, r.output
    last = next(r for r in _calls(path) if r["id"] == c["full"].id)
    assert last["score"] == pytest.approx(before["score"] - 15)  # the latest review is in force


def test_review_of_an_unknown_item_or_an_unscored_call_is_refused(db: tuple[str, dict]) -> None:
    path, c = db
    r = run("review", str(c["full"].id), "--db", path, "--item", "smile=yes", "--note", "x",
            "--reviewer", "anna")
    assert r.exit_code != 0 and "unknown checklist item 'smile'" in r.output
    r = run("review", str(c["post"].id), "--db", path, "--item", "greeting=no", "--note", "x",
            "--reviewer", "anna")
    assert r.exit_code != 0 and "no checklist score" in r.output
    r = run("review", str(c["full"].id), "--db", path, "--item", "greeting", "--note", "x")
    assert r.exit_code != 0 and "--item must be ITEM=yes|no" in r.output
