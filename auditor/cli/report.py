"""Commands that report: stats (talk time from file headers) and report (over the database)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from auditor.cli.common import (
    CallLogOpt,
    ConfigOpt,
    DbOpt,
    FormatOpt,
    FromOpt,
    LayoutOpt,
    LogColumnsOpt,
    ManagerOpt,
    QuietOpt,
    RedactOpt,
    ToOpt,
    app,
    build_settings,
    check_choice,
    discover_for_cli,
    guarded,
    is_tty,
    print_discovery_notes,
    shown_path,
)

ByOpt = Annotated[str, typer.Option("--by", help="Rows per 'manager' or per manager 'day'.")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
]
DelimiterOpt = Annotated[
    str, typer.Option("--delimiter", help="CSV separator; ';' suits a Russian-locale Excel.")
]
TargetOpt = Annotated[
    float | None, typer.Option("--daily-target-min", help="Talk minutes per day target.")
]
ShortOpt = Annotated[
    float | None, typer.Option("--short-call-s", help="Short-call threshold in seconds.")
]


def _day(d: datetime | None) -> date | None:
    return d.date() if d is not None else None


def _delimiter(value: str) -> str:
    value = {"\\t": "\t", "tab": "\t", "semicolon": ";", "comma": ","}.get(value, value)
    if len(value) != 1:
        raise typer.BadParameter("--delimiter must be one character (or 'tab')")
    return value


def _emit(text: str, output: Path | None, quiet: bool = False) -> None:
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8", newline="")
    if not quiet:
        typer.echo(f"wrote {output}", err=True)


@app.command()
def stats(
    recordings: Annotated[Path, typer.Argument(help="Folder of call recordings.")],
    layout: LayoutOpt = None,
    call_log: CallLogOpt = None,
    call_log_columns: LogColumnsOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    manager: ManagerOpt = None,
    by: ByOpt = "manager",
    output_format: FormatOpt = "table",
    output: OutputOpt = None,
    delimiter: DelimiterOpt = ",",
    threads: Annotated[int | None, typer.Option("--threads", help="Probe threads.")] = None,
    daily_target_min: TargetOpt = None,
    short_call_s: ShortOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
    redact: RedactOpt = False,
) -> None:
    """Talk-time KPIs per manager and day from recording lengths alone.

    Reads only container headers: no decoding, no speech recognition, no
    database; thousands of files take seconds. Shows calls, talk minutes per
    day against the daily target, average call length against the call-length
    band (daily_target_min, band_min_s, band_max_s in auditor.toml), and the
    share of short calls.

    Example: auditor stats recordings/ --by day --format csv -o talk.csv
    """
    from rich.console import Console

    check_choice(output_format, ("table", "csv", "json"), "--format")
    check_choice(by, ("manager", "day"), "--by")
    sep = _delimiter(delimiter)
    err = Console(stderr=True)
    with guarded():
        from auditor.views.kpi import Targets, talk_time
        from auditor.views.stats import scan_durations

        settings = build_settings(config, daily_target_min=daily_target_min,
                                  short_call_s=short_call_s, redact=redact or None)
        targets = Targets.from_settings(settings)
        found = discover_for_cli(recordings, layout, call_log, call_log_columns)
        scan = scan_durations(found, threads=threads)
    d0, d1 = _day(date_from), _day(date_to)
    calls = [c for c in scan.calls
             if (manager is None or c.manager == manager)
             and (d0 is None or (c.started_at is not None and c.started_at.date() >= d0))
             and (d1 is None or (c.started_at is not None and c.started_at.date() <= d1))]
    summary = talk_time(calls, targets)
    shown = shown_path(settings.redact)
    if output_format == "json":
        from auditor.views.reports.json_out import to_json

        _emit(to_json({
            "targets": targets.to_dict(),
            "managers": [r.to_dict() for r in summary.managers],
            "days": [r.to_dict() for r in summary.days],
            "total": summary.total.to_dict(),
            "files": len(scan.calls) + len(scan.problems),
            "unreadable": [{"path": shown(p), "reason": shown(why)} for p, why in scan.problems],
            "seconds": round(scan.seconds, 3),
        }), output, quiet)
    elif output_format == "csv":
        from auditor.views.reports.columns import talk_columns
        from auditor.views.reports.csv_out import to_csv

        rows = summary.days if by == "day" else [*summary.managers, summary.total]
        _emit(to_csv(talk_columns(targets, by == "day"), rows, sep,
                     bom=output is not None or not is_tty()), output, quiet)
    else:
        from auditor.views.reports.table import stats_tables

        console = Console()
        for renderable in stats_tables(summary, targets, by):
            console.print(renderable)
    if not quiet:
        from rich.markup import escape

        print_discovery_notes(found, err, redact=settings.redact)
        for path, why in scan.problems[:20]:
            err.print(f"[yellow]unreadable: {escape(shown(path))}: {escape(shown(why))}[/yellow]",
                      markup=True, highlight=False)
        if len(scan.problems) > 20:
            err.print(f"... and {len(scan.problems) - 20} more unreadable files")
        err.print(f"{len(scan.calls) + len(scan.problems)} files in {scan.seconds:.2f} s "
                  f"({scan.files_per_s:.0f} files/s)", highlight=False)


@app.command()
def report(
    db: DbOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    manager: ManagerOpt = None,
    by: ByOpt = "manager",
    output_format: FormatOpt = "table",
    output: OutputOpt = None,
    delimiter: DelimiterOpt = ",",
    table: Annotated[
        str, typer.Option("--table", help="CSV: which table: summary (managers or manager-"
                          "days), calls (missed and incomplete, worst first) or agreement.")
    ] = "summary",
    with_audio: Annotated[
        bool, typer.Option("--with-audio", help="HTML: copy the recordings next to the report "
                           "(into REPORT_audio/) so the folder can be sent as is.")
    ] = False,
    calls: Annotated[
        str, typer.Option("--calls", help="HTML: call sections for 'all' calls, only "
                          "'problems' (missed and incomplete) or 'none'.")
    ] = "all",
    limit: Annotated[
        int, typer.Option("--limit", help="Table: at most this many problem calls (0 = all).")
    ] = 50,
    daily_target_min: TargetOpt = None,
    short_call_s: ShortOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
    redact: RedactOpt = False,
) -> None:
    """Per-manager KPIs, stage coverage, problem calls and reviewer agreement.

    Uses effective verdicts (a human review overrides the automatic one).
    Formats: a table in the terminal; CSV for Excel (UTF-8 with BOM, formula-
    safe); JSON; one self-contained HTML file with charts, transcripts and
    an audio player per call.

    Example: auditor report --db audit.db --from 2026-11-01 --format html -o report.html
    """
    from rich.console import Console

    from auditor.views.reports import BY, FORMATS

    check_choice(output_format, FORMATS, "--format")
    check_choice(by, BY, "--by")
    check_choice(table, ("summary", "calls", "agreement"), "--table")
    check_choice(calls, ("all", "problems", "none"), "--calls")
    sep = _delimiter(delimiter)
    with guarded():
        from auditor import store
        from auditor.views.kpi import Targets
        from auditor.views.reports import load_report

        settings = build_settings(config, db=db, daily_target_min=daily_target_min,
                                  short_call_s=short_call_s, redact=redact or None)
        engine = store.make_engine(settings.db)
        rep = load_report(engine, Targets.from_settings(settings), by=by,
                          date_from=_day(date_from), date_to=_day(date_to), manager=manager,
                          redact=settings.redact)
        if output_format == "html":
            from auditor.views.kpi import PROBLEM_VERDICTS
            from auditor.views.reports.details import load_details
            from auditor.views.reports.html import write_html

            chosen = {"all": rep.calls, "none": [],
                      "problems": [c for c in rep.calls if c.verdict in PROBLEM_VERDICTS]}[calls]
            path = write_html(rep, load_details(engine, chosen, redact=settings.redact),
                              output or Path("report.html"), with_audio=with_audio)
            if not quiet:
                typer.echo(f"wrote {path} ({len(rep.calls)} calls, {len(chosen)} with "
                           f"transcripts)", err=True)
            return
    if output_format == "json":
        from auditor.views.reports.json_out import to_json

        _emit(to_json(rep.to_dict()), output, quiet)
    elif output_format == "csv":
        from auditor.views.reports import columns as cols
        from auditor.views.reports.csv_out import to_csv

        t = rep.targets
        spec: tuple[list[Any], Any] = {
            "summary": (cols.summary_columns(t, by == "day", cols.used_verdicts(
                [*rep.summary_rows, rep.total])),
                rep.days if by == "day" else [*rep.managers, rep.total]),
            "calls": (cols.problem_columns(), rep.problems),
            "agreement": (cols.agreement_columns(), rep.agreement),
        }[table]
        _emit(to_csv(spec[0], spec[1], sep, bom=output is not None or not is_tty()),
              output, quiet)
    else:
        import io

        from auditor.views.reports.table import report_tables

        console = Console(file=io.StringIO(), width=200, record=True) if output else Console()
        for renderable in report_tables(rep, limit=limit or None):
            console.print(renderable)
        if output is not None:
            _emit(console.export_text(), output, quiet)
