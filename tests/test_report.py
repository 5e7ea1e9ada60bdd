"""auditor report: the figures, and the CSV, JSON, table and HTML renderings of them."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.config import Settings
from auditor.views.kpi import Targets
from auditor.views.reports import load_report
from auditor.views.reports.csv_out import neutralise

from .conftest_reports import make_db

# Every test on SQLite and again on PostgreSQL (tests/dbs.py).
pytestmark = pytest.mark.usefixtures("db_backend")


def _run(*args: str) -> str:
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return res.stdout


@pytest.fixture()
def db(tmp_path: Path) -> tuple[object, str]:
    engine, path, _ids = make_db(tmp_path)
    return engine, path


def test_figures(db: tuple[object, str]) -> None:
    engine, _ = db
    rep = load_report(engine, Targets.from_settings(Settings()))  # type: ignore[arg-type]
    irina = next(r for r in rep.managers if r.manager == "Ирина Соколова")
    # 380 + 150 + 90 + 330 s over two days
    assert (irina.calls, irina.days, irina.talk_min, irina.talk_min_per_day) == (4, 2, 15.8, 7.9)
    assert irina.sales_calls == 3  # the post-sale call is not a sales call
    assert irina.coverage_pct == {"profile": 100.0, "needs": 66.7, "presentation": 66.7,
                                  "next_step": 33.3}
    # the incomplete call was reviewed as ok: the effective verdict counts
    assert irina.verdicts["ok"] == 2 and irina.verdicts["incomplete"] == 0
    assert irina.missed_opportunities == 1
    assert (irina.short_calls, irina.short_exempt, irina.short_sales) == (2, 1, 1)
    # worst first: both miss three stages, the shorter call first
    assert [(p.id, p.verdict) for p in rep.problems] == [(2, "missed_opportunity"),
                                                         (6, "missed_opportunity")]
    agree = {a.auto_verdict: a for a in rep.agreement}
    assert (agree["missed_opportunity"].reviewed, agree["missed_opportunity"].agreed) == (2, 2)
    assert (agree["incomplete"].reviewed, agree["incomplete"].agreed) == (1, 0)
    assert agree["all"].agree_pct == 66.7
    assert rep.total.calls == 8 and rep.total.verdicts["failed"] == 1


def test_json_matches_csv(db: tuple[object, str]) -> None:
    _, path = db
    data = json.loads(_run("report", "--db", path, "--format", "json"))
    assert data["targets"] == {"daily_target_min": 120.0, "short_call_s": 300.0,
                               "band_min_s": 300.0, "band_max_s": 420.0,
                               "min_speech_coverage": 0.8,
                               "norms": {"talk_share_min": 35.0, "talk_share_max": 65.0,
                                         "monologue_max_s": 90.0, "questions_min": 6.0,
                                         "interruptions_max": 2.0, "score_min": 70.0}}
    text = _run("report", "--db", path, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    by_manager = {r["Manager"]: r for r in rows}
    for m in [*data["managers"], data["total"]]:
        name = m["manager"]
        row = by_manager.get(name) or by_manager["'" + name]  # formula-neutralised
        assert int(row["Calls"]) == m["calls"]
        assert float(row["Talk min/day (target 120)"]) == m["talk_min_per_day"]
        assert float(row["Avg call, s (band 300-420)"]) == m["avg_duration_s"]
        assert (float(row["Short %"]) if row["Short %"] else None) == m["short_pct"]
        for stage, pct in m["coverage_pct"].items():
            assert (float(row[f"{stage} %"]) if row[f"{stage} %"] else None) == pct
        assert int(row["missed_opportunity"]) == m["verdicts"]["missed_opportunity"]
    calls = list(csv.DictReader(io.StringIO(
        _run("report", "--db", path, "--format", "csv", "--table", "calls").lstrip("\ufeff"))))
    assert [int(c["Call"]) for c in calls] == [p["id"] for p in data["problems"]]
    agreement = list(csv.DictReader(io.StringIO(
        _run("report", "--db", path, "--format", "csv", "--table", "agreement").lstrip("\ufeff"))))
    assert [a["Automatic verdict"] for a in agreement] == [
        a["auto_verdict"] for a in data["agreement"]]
    # by day: one row per manager-day, the same figures as JSON's days
    day_rows = list(csv.DictReader(io.StringIO(
        _run("report", "--db", path, "--format", "csv", "--by", "day").lstrip("\ufeff"))))
    assert len(day_rows) == len(data["days"])
    assert [float(r["Talk min"]) for r in day_rows] == [d["talk_min"] for d in data["days"]]


def test_csv_for_excel(db: tuple[object, str], tmp_path: Path) -> None:
    _, path = db
    out = tmp_path / "out" / "managers.csv"
    _run("report", "--db", path, "--format", "csv", "--delimiter", ";", "-o", str(out))
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    names = [r[0] for r in rows[1:]]
    assert "Ирина Соколова" in names  # Cyrillic intact
    assert "'=HYPERLINK(\"http://x\")" in names  # formula neutralised
    calls_csv = tmp_path / "calls.csv"
    _run("report", "--db", path, "--format", "csv", "--table", "calls", "-o", str(calls_csv))
    with calls_csv.open(encoding="utf-8-sig", newline="") as f:
        calls = list(csv.DictReader(f))
    assert "'@SUM(A1)" in [c["Client"] for c in calls]
    assert all(not c[k].startswith(("=", "+", "-", "@")) for c in calls for k in c)


def test_neutralise() -> None:
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("+7912") == "'+7912"
    assert neutralise("-2") == "'-2"
    assert neutralise("@x") == "'@x"
    assert neutralise("Ирина") == "Ирина"
    assert neutralise(-2.5) == -2.5 and neutralise(3.0) == 3


def test_table_filters_and_targets(db: tuple[object, str]) -> None:
    _, path = db
    out = _run("report", "--db", path, "--manager", "Ирина Соколова", "--from", "2026-11-03",
               "--daily-target-min", "90")
    assert "Targets: 90 talk min/day" in out
    assert "Pavel" not in out and "Ирина Соколова" in out
    data = json.loads(_run("report", "--db", path, "--format", "json", "--to", "2026-11-02"))
    assert data["total"]["calls"] == 4 and data["filters"]["to"] == "2026-11-02"


def test_html_escapes_everything(db: tuple[object, str], tmp_path: Path) -> None:
    _, path = db
    out = tmp_path / "site" / "report.html"
    _run("report", "--db", path, "--format", "html", "-o", str(out), "--with-audio")
    html = out.read_text(encoding="utf-8")
    assert html.count("<script") == 1  # only the page's own script
    assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in html
    assert "Pavel &lt;Orlov&gt;" in html and "<Orlov>" not in html
    assert "Ирина Соколова" in html
    # no network: nothing is loaded from anywhere but the report's folder
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    # every recording copied next to the report and referenced relatively
    srcs = re.findall(r'<audio id="audio-\d+" controls preload="none" src="([^"]+)"', html)
    assert len(srcs) == 8  # the failed call too: its file exists
    assert all(s.startswith("report_audio/") for s in srcs)
    assert len(list((out.parent / "report_audio").iterdir())) == 8
    # targets shown
    assert "120 talk minutes per day" in html and "300 s" in html


def test_html_relative_audio_and_problem_calls_only(db: tuple[object, str], tmp_path: Path
                                                     ) -> None:
    _, path = db
    out = tmp_path / "r" / "only-problems.html"
    _run("report", "--db", path, "--format", "html", "-o", str(out), "--calls", "problems")
    html = out.read_text(encoding="utf-8")
    assert html.count('<article class="call"') == 2
    srcs = re.findall(r'<audio id="audio-\d+" controls preload="none" src="([^"]+)"', html)
    assert srcs and all(s.startswith("../rec/call%20") for s in srcs)


@pytest.mark.parametrize("cmd", ["stats", "report"])
def test_help_has_example(cmd: str) -> None:
    res = CliRunner().invoke(app, [cmd, "--help"])
    assert res.exit_code == 0 and "Example:" in res.stdout


def table_rows(out: str) -> dict[str, list[str]]:
    """The data rows of each table printed, by title: lines after the header rule."""
    tables: dict[str, list[str]] = {}
    title, rows, body = "", None, False
    for line in out.splitlines():
        if "━" in line:
            rows, body = tables.setdefault(title, []), True
        elif body and line.strip() and not set(line.strip()) - set("─┼"):
            continue  # the rule above a total
        elif "│" in line:
            if body:
                rows.append(line)  # type: ignore[union-attr]
        elif line.strip():
            body = False
            title = line.strip()
    return tables


def test_report_tables_keep_each_row_on_one_line_at_80_columns(db: tuple[object, str]) -> None:
    _, path = db
    res = CliRunner().invoke(app, ["report", "--db", path], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    assert max(len(line) for line in res.stdout.splitlines()) <= 80
    tables = table_rows(res.stdout)
    talk = tables["Talk time per manager"]
    assert len(talk) == 4  # three managers and the total: one line each
    irina = next(r for r in talk if "Ирина Соколова" in r)
    assert irina.split("│")[1:4] == ["    4 ", "    7.9 ", "    7% "]  # numbers to the right
    quality = tables["Stage coverage (% of sales calls) and verdicts per manager"]
    assert len(quality) == 4 and "100%" in next(r for r in quality if "Ирина" in r)
    problems = tables["Calls to listen to: missed, incomplete and inconclusive, worst first"]
    assert len(problems) == 2
    assert all(("2:30" in r) != ("3:20" in r) for r in problems)
    assert "not shown at this width: Client, Reason" in " ".join(res.stdout.split())


def test_report_tables_use_the_width_there_is(db: tuple[object, str]) -> None:
    _, path = db
    res = CliRunner().invoke(app, ["report", "--db", path], env={"COLUMNS": "160"})
    assert res.exit_code == 0, res.output
    problems = table_rows(res.stdout)["Calls to listen to: missed, incomplete and inconclusive, worst first"]
    assert len(problems) == 2
    assert "+79125550102" in problems[0] and "needs, presentation, next_step" in problems[0]
    assert "not shown at this width" not in res.stdout
