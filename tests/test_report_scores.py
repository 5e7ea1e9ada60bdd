"""The report's scores and conversation metrics per manager: against the norms, ranked, in every format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.analysis.metrics import norms
from auditor.cli import app
from auditor.records import CallMetrics
from auditor.views.callrow import CallRow
from auditor.views.scores import distribution, score_figures

from .helpers_review import standard_db

runner = CliRunner()


def _run(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.fixture()
def db(tmp_path: Path) -> str:
    path, _ = standard_db(tmp_path)
    _run("rescore", "--db", path)
    return path


def _row(i: int, score: float | None, talk: float, questions: int, interrupts: int,
         mono: bool = False, monologue: float = 100.0) -> CallRow:
    return CallRow(id=i, path=f"/c/{i}.wav", manager="A", client=None, started_at=None,
                   duration_s=300.0, status="done", error=None, call_type="new_client",
                   verdict="ok", score=score,
                   metrics=CallMetrics(estimate=mono, manager_talk_pct=talk,
                                       manager_monologue_s=monologue, questions=questions,
                                       manager_interruptions=interrupts))


def test_figures_against_the_norms() -> None:
    n = norms()
    rows = [_row(1, 50.0, 80.0, 2, 4), _row(2, 70.0, 70.0, 4, 2, mono=True)]
    f = score_figures(rows, n)
    assert (f.scored_calls, f.avg_score, f.talk_share) == (2, 60.0, 75.0)
    assert (f.questions_per_call, f.interruptions_per_call, f.monologue_s) == (3.0, 3.0, 100.0)
    assert f.measured_calls == 2 and f.estimated_calls == 1
    assert f.vs_norm == {"avg_score": "under", "talk_share": "over", "monologue_s": "over",
                         "questions_per_call": "under", "interruptions_per_call": "over"}
    good = score_figures([_row(3, 90.0, 45.0, 8, 0, monologue=60.0)], n)
    assert set(good.vs_norm.values()) == {"in"}
    assert [b["calls"] for b in distribution(rows + [_row(4, 100.0, 45.0, 8, 0)])] == \
        [0, 0, 0, 0, 0, 1, 0, 1, 0, 1]


def test_report_json_csv_and_table_carry_the_scores(db: str) -> None:
    calls = json.loads(_run("calls", "--db", db, "--format", "json"))
    data = json.loads(_run("report", "--db", db, "--format", "json"))
    irina = next(m for m in data["managers"] if m["manager"] == "Ирина Соколова")
    mine = [c["score"] for c in calls if c["manager"] == "Ирина Соколова"
            and c["score"] is not None]
    assert irina["scores"]["scored_calls"] == len(mine) == 2
    assert irina["scores"]["avg_score"] == pytest.approx(sum(mine) / len(mine), abs=0.05)
    talk = [c["talk_share"] for c in calls if c["manager"] == "Ирина Соколова"
            and c["call_type"] in ("new_client", "existing_client")]
    assert irina["scores"]["talk_share"] == pytest.approx(sum(talk) / len(talk), abs=0.05)
    assert set(irina["scores"]["vs_norm"]) == {"avg_score", "talk_share", "monologue_s",
                                               "questions_per_call", "interruptions_per_call"}
    assert [r["manager"] for r in data["ranking"]] == ["Ирина Соколова"]  # the only one scored
    assert sum(b["calls"] for b in data["score_distribution"]) == len(
        [c for c in calls if c["score"] is not None])
    text = _run("report", "--db", db, "--format", "csv")
    rows = {r["Manager"]: r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}
    row = rows["Ирина Соколова"]
    assert float(row["Avg checklist score (norm ≥ 70)"]) == irina["scores"]["avg_score"]
    assert row["Score vs norm"] == irina["scores"]["vs_norm"]["avg_score"]
    assert float(row["Manager talk share % (norm 35-65)"]) == irina["scores"]["talk_share"]
    assert row["Questions vs norm"] == irina["scores"]["vs_norm"]["questions_per_call"]
    table = _run("report", "--db", db)
    assert "Checklist score and conversation metrics per manager" in table
    assert "Managers ranked by average" in table
    assert ("▼" in table) == ("under" in irina["scores"]["vs_norm"].values())


def test_html_has_the_talk_share_and_score_charts(db: str, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    runner.invoke(app, ["report", "--db", db, "--format", "html", "-o", str(out)])
    html = out.read_text(encoding="utf-8")
    talk = html[html.index('id="chart-talk-share"'):html.index('id="chart-score"')]
    assert 'class="band"' in talk and "norm 35-65%" in talk and "Ирина Соколова" in talk
    score = html[html.index('id="chart-score"'):]
    assert "scored calls by checklist score" in score and 'class="bar"' in score
    assert 'id="table-ranking"' in html
