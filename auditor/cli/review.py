"""The review loop: calls, show, review, search, rescore.

Find the calls worth a look, read one with its evidence in place, record a
human decision (which every list and report then uses), search everything
that was said, and re-apply changed rules to the stored transcripts.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import datetime
from typing import Annotated, Any

import typer

from auditor.cli.common import (
    EXIT_SOME_FAILED,
    ConfigOpt,
    DbOpt,
    FormatOpt,
    RedactOpt,
    app,
    build_settings,
    check_choice,
    guarded,
    is_tty,
)

# Kept here rather than imported so that `auditor --help` stays instant.
_VERDICTS = ("ok", "incomplete", "missed_opportunity", "exempt", "no_contact")
_CALL_TYPES = ("new_client", "existing_client", "post_sale", "no_contact")
_STAGES = ("profile", "needs", "presentation", "next_step")
_STATUSES = ("done", "failed", "pending", "running")
_COLORS = {"ok": "green", "missed_opportunity": "red", "incomplete": "yellow",
           "exempt": "cyan", "no_contact": "bright_black", "failed": "red"}
_STAGE_STYLE = {"profile": "bold black on cyan", "needs": "bold black on yellow",
                "presentation": "bold black on green", "next_step": "bold black on magenta",
                "call_type": "bold black on white"}
_SPEAKER_STYLE = {"manager": "cyan", "client": "magenta", "unknown": "white"}

ManagerOpt = Annotated[str | None, typer.Option("--manager", "-m", help="Only this manager.")]
FromOpt = Annotated[datetime | None, typer.Option(
    "--from", formats=["%Y-%m-%d"], help="Calls on or after this day (YYYY-MM-DD).")]
ToOpt = Annotated[datetime | None, typer.Option(
    "--to", formats=["%Y-%m-%d"], help="Calls on or before this day (YYYY-MM-DD).")]
VerdictOpt = Annotated[str | None, typer.Option(
    "--verdict", help="Effective verdict: " + "|".join(_VERDICTS) + "|failed.")]
TypeOpt = Annotated[str | None, typer.Option(
    "--type", help="Effective call type: " + "|".join(_CALL_TYPES) + ".")]


def _console() -> Any:
    from rich.console import Console

    # Piped output is not cut at 80 columns: one call stays one line.
    return Console(width=None if is_tty() else 200, highlight=False)


def _engine(config: Any, db: str | None, **overrides: Any) -> tuple[Any, Any]:
    from auditor import store

    settings = build_settings(config, db=db, **overrides)
    return settings, store.make_engine(settings.db)


def _call_filter(manager: str | None, date_from: datetime | None, date_to: datetime | None,
                 verdict: str | None, call_type: str | None, **kw: Any) -> Any:
    from auditor.calls import CallFilter

    if verdict is not None:
        check_choice(verdict, (*_VERDICTS, "failed"), "--verdict")
    if call_type is not None:
        check_choice(call_type, _CALL_TYPES, "--type")
    if date_from and date_to and date_from > date_to:
        raise typer.BadParameter("--from is after --to")
    return CallFilter(manager=manager, date_from=date_from.date() if date_from else None,
                      date_to=date_to.date() if date_to else None, verdict=verdict,
                      call_type=call_type, **kw)


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else "-"


def _verdict(v: str | None) -> str:
    from rich.markup import escape

    if not v:
        return "-"
    color = _COLORS.get(v, "white")
    return f"[{color}]{escape(v)}[/{color}]"


def _review_cell(row: Any) -> str:
    if not row.reviewed:
        return ""
    who = row.reviewer or "?"
    if row.overridden:
        return f"{who} (auto: {row.auto_verdict or '-'})"
    return f"{who} (confirmed)"


# --- calls -----------------------------------------------------------------------


@app.command()
def calls(
    db: DbOpt = None,
    config: ConfigOpt = None,
    manager: ManagerOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    verdict: VerdictOpt = None,
    call_type: TypeOpt = None,
    short: Annotated[bool, typer.Option(
        "--short", help="Only calls under the short-call threshold (short_call_s).")] = False,
    missing: Annotated[str | None, typer.Option(
        "--missing", help="Only sales calls missing this stage: " + "|".join(_STAGES) + ".")
    ] = None,
    unreviewed: Annotated[bool, typer.Option(
        "--unreviewed", help="Only calls no one has reviewed yet.")] = False,
    status: Annotated[str | None, typer.Option(
        "--status", help="Audit status: " + "|".join(_STATUSES) + ".")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most N calls.")
                     ] = None,
    output: FormatOpt = "table",
    redact: RedactOpt = False,
) -> None:
    """List calls, worst first, with their effective verdict (a review wins).

    Every line starts with the call id that 'show' and 'review' take. A CSV
    (UTF-8 with BOM, safe for spreadsheets) makes a review queue a team can split.

    Example: auditor calls --unreviewed --verdict missed_opportunity --format csv > queue.csv
    """
    check_choice(output, ("table", "json", "csv"), "--format")
    if missing is not None:
        check_choice(missing, _STAGES, "--missing")
    if status is not None:
        check_choice(status, _STATUSES, "--status")
    with guarded():
        from auditor.calls import query_calls
        from auditor.reports.csv_out import calls_csv

        settings, engine = _engine(config, db, redact=redact or None)
        f = _call_filter(manager, date_from, date_to, verdict, call_type, missing=missing,
                         unreviewed=unreviewed, status=status,
                         short_below_s=settings.short_call_s if short else None)
        rows = query_calls(engine, f, redact=settings.redact)
    total = len(rows)
    if limit is not None:
        rows = rows[:limit]
    if output == "json":
        typer.echo(json.dumps([r.to_dict() for r in rows], ensure_ascii=False, indent=2))
        return
    if output == "csv":
        # Bytes, so the BOM and the Cyrillic survive whatever the terminal's locale is.
        out = typer.get_binary_stream("stdout")
        out.write(calls_csv(rows).encode("utf-8"))
        out.flush()
        return
    _calls_table(rows, settings.short_call_s, total)


def _calls_table(rows: list[Any], short_s: float, total: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    if not rows:
        console.print("no calls match")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("id", "started", "manager", "dur", "type", "verdict", "missing", "review"):
        table.add_column(name, no_wrap=True, overflow="ellipsis",
                         justify="right" if name in ("id", "dur") else "left")
    for r in rows:
        dur = _dur(r.duration_s)
        if r.duration_s is not None and r.duration_s < short_s:
            dur = f"[yellow]{dur}[/yellow]"
        verdict = _verdict(r.verdict) + (" [bold]✎[/bold]" if r.reviewed else "")
        table.add_row(str(r.id), _when(r.started_at), escape(r.manager or "-"), dur,
                      r.call_type or "-", verdict,
                      " ".join(r.stages_missing) if r.is_sales else "",
                      escape(_review_cell(r)) if r.reviewed else (escape(r.error or "")
                                                                   if r.status == "failed" else ""))
    console.print(table)
    reviewed = sum(1 for r in rows if r.reviewed)
    shown = f"showing {len(rows)} of {total} calls" if total > len(rows) else f"{total} calls"
    console.print(f"{shown}, {reviewed} reviewed (✎ = verdict set by a reviewer)")


# --- show ------------------------------------------------------------------------


@app.command()
def show(
    call_id: Annotated[int, typer.Argument(metavar="ID", help="Call id from 'auditor calls'.")],
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: FormatOpt = "text",
    redact: RedactOpt = False,
) -> None:
    """Show one call: verdict and why, review history, and the transcript with the evidence marked.

    Example: auditor show 12
    """
    check_choice(output, ("text", "json"), "--format")
    with guarded():
        from auditor.review import call_detail

        settings, engine = _engine(config, db, redact=redact or None)
        detail = call_detail(engine, call_id, redact=settings.redact)
    if output == "json":
        typer.echo(json.dumps(detail.to_dict(), ensure_ascii=False, indent=2))
        return
    _print_detail(detail, settings.short_call_s)


def _print_detail(d: Any, short_s: float) -> None:
    from rich.markup import escape

    con = _console()
    c = d.call
    con.print(f"[bold]Call {c.id}[/bold]  {escape(c.path)}")
    short = " [yellow](short)[/yellow]" if c.duration_s is not None and c.duration_s < short_s else ""
    con.print(f"manager: {escape(c.manager or '-')}   client: {escape(c.client or '-')}   "
              f"started: {_when(c.started_at)}   duration: {_dur(c.duration_s)}{short}   "
              f"language: {escape(c.language or '-')}")
    if c.status != "done":
        con.print(f"status: [red]{escape(c.status)}[/red] {escape(c.error or '')}")
    if c.reviewed:
        last = d.reviews[-1]
        con.print(f"verdict: {_verdict(c.verdict)} [bold]✎ reviewed[/bold] by "
                  f"{escape(last.reviewer)} on {_when(last.created_at)}: {escape(last.note)}")
        con.print(f"automatic verdict: {_verdict(c.auto_verdict)} "
                  f"({escape(c.auto_call_type or '-')})")
    else:
        con.print(f"verdict: {_verdict(c.verdict)} (automatic)")
    con.print(f"call type: {escape(c.call_type or '-')}"
              + (f"  (automatic: {escape(c.auto_call_type)})"
                 if c.reviewed and c.auto_call_type and c.auto_call_type != c.call_type else ""))
    a = d.analysis
    if a is not None:
        if a.reason:
            con.print(f"why: {escape(a.reason)}")
        if a.call_type_reason:
            con.print(f"call type because: {escape(a.call_type_reason)}")
        by_review = d.reviews[-1].stages if d.reviews else {}
        marks = []
        for stage in _STAGES:
            ok = stage in c.stages_found
            style = _STAGE_STYLE[stage]
            flag = " ✎" if stage in by_review else ""
            marks.append(f"[{style}] {stage} [/] {'✓' if ok else '[red]✗[/red]'}{flag}")
        con.print("stages: " + "  ".join(marks))
        con.print(f"[bright_black]ruleset {escape(a.ruleset_version)}[/bright_black]")
    if d.reviews:
        con.print("\n[bold]review history[/bold] (latest is in force)")
        for rv in d.reviews:
            extra = []
            if rv.call_type:
                extra.append(f"type {rv.call_type}")
            if rv.stages:
                extra.append(" ".join(f"{k}={'yes' if v else 'no'}" for k, v in rv.stages.items()))
            extra.append(f"automatic was {rv.auto_verdict or '-'}")
            con.print(f"  {_when(rv.created_at)}  {escape(rv.reviewer)}  {_verdict(rv.verdict)}  "
                      f"{escape('; '.join(extra))}  — {escape(rv.note)}")
    con.print("\n[bold]transcript[/bold]")
    if d.transcript is None:
        con.print("  (no stored transcript)")
        return
    for v in d.segments:
        seg = v.segment
        sp = _SPEAKER_STYLE.get(seg.speaker, "white")
        line = (f"[bright_black]\\[{_dur(seg.start)}][/bright_black] "
                f"[{sp}]{escape(seg.speaker)}:[/{sp}] "
                f"{_highlight(seg.text, v.marks, plain=con.no_color or not con.is_terminal)}")
        tags = []
        for m in v.marks:
            tag = m.label + (f": {m.cue}" if m.cue else "")
            tags.append(f"[{_STAGE_STYLE.get(m.label, 'bold')}] {escape(tag)} [/]")
        if tags:
            line += "  ◀ " + " ".join(tags)
        con.print(line)


def _highlight(text: str, marks: list[Any], plain: bool = False) -> str:
    """Escaped segment text with the evidence quotes wrapped in their stage's style.

    Without colours (a pipe, a file) the quotes are bracketed ⟦like this⟧ instead.
    """
    from rich.markup import escape

    spans = sorted((m.start, m.end, m.label) for m in marks if m.start >= 0)
    out, pos = [], 0
    for start, end, label in spans:
        if start < pos:  # overlapping quotes: the first one keeps the colour
            continue
        out.append(escape(text[pos:start]))
        if plain:
            out.append(f"⟦{escape(text[start:end])}⟧")
        else:
            out.append(f"[{_STAGE_STYLE.get(label, 'bold')}]{escape(text[start:end])}[/]")
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


# --- review ------------------------------------------------------------------------


@app.command()
def review(
    call_id: Annotated[int, typer.Argument(metavar="ID", help="Call id from 'auditor calls'.")],
    verdict: Annotated[str, typer.Option(
        "--verdict", help="Your verdict: " + "|".join(_VERDICTS) + ".")],
    note: Annotated[str, typer.Option("--note", help="Why (kept with the decision).")],
    call_type: Annotated[str | None, typer.Option(
        "--type", help="Correct the call type: " + "|".join(_CALL_TYPES) + ".")] = None,
    stage: Annotated[list[str] | None, typer.Option(
        "--stage", help="Correct a stage: STAGE=yes|no (repeatable).")] = None,
    reviewer: Annotated[str | None, typer.Option(
        "--reviewer", help="Who decides [default: $USER].")] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    output: FormatOpt = "text",
    redact: RedactOpt = False,
) -> None:
    """Record a human decision on a call; it becomes the effective verdict.

    Earlier reviews stay in the history; the latest one counts in calls, show
    and reports. A rescore never overrides it.

    Example: auditor review 12 --verdict ok --type post_sale --note "delivery call" --reviewer anna
    """
    check_choice(output, ("text", "json"), "--format")
    check_choice(verdict, _VERDICTS, "--verdict")
    if call_type is not None:
        check_choice(call_type, _CALL_TYPES, "--type")
    who = reviewer or os.environ.get("USER") or os.environ.get("USERNAME") or _login()
    with guarded():
        from auditor.review import add_review, parse_stage_flags

        stages = parse_stage_flags(stage)
        settings, engine = _engine(config, db, redact=redact or None)
        outcome = add_review(engine, call_id, verdict=verdict, note=note, reviewer=who,
                             call_type=call_type, stages=stages)
        if settings.redact:
            outcome = outcome.redacted()
    for w in outcome.warnings:
        typer.secho(f"warning: {w}", fg=typer.colors.YELLOW, err=True)
    if output == "json":
        typer.echo(json.dumps({"review": outcome.review.to_dict(), "call": outcome.call.to_dict(),
                               "warnings": outcome.warnings}, ensure_ascii=False, indent=2))
        return
    c = outcome.call
    typer.echo(f"call {c.id}: verdict {c.verdict} (reviewed by {outcome.review.reviewer}; "
               f"automatic: {c.auto_verdict or '-'}); review #{c.review_count} of this call")


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in a container
        return "unknown"


# --- search ------------------------------------------------------------------------


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to find, in any form (all must match).")],
    db: DbOpt = None,
    config: ConfigOpt = None,
    manager: ManagerOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    verdict: VerdictOpt = None,
    call_type: TypeOpt = None,
    speaker: Annotated[str | None, typer.Option(
        "--speaker", help="Only what this side said: manager|client|unknown.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most N matches.")
                     ] = 50,
    any_word: Annotated[bool, typer.Option(
        "--any", help="Match segments with any of the words, not all of them.")] = False,
    output: FormatOpt = "text",
    redact: RedactOpt = False,
) -> None:
    """Search every transcript; word forms are folded ("отгрузка" finds "отгрузку").

    Newest calls first; each match shows the call id, speaker and time. The
    index is brought up to date before each search (SQLite FTS5).

    Example: auditor search "отгрузка" --manager "Ирина Соколова" --from 2026-11-01
    """
    check_choice(output, ("text", "json"), "--format")
    if speaker is not None:
        check_choice(speaker, ("manager", "client", "unknown"), "--speaker")
    with guarded():
        from auditor.search import search as run_search

        settings, engine = _engine(config, db, redact=redact or None)
        f = _call_filter(manager, date_from, date_to, verdict, call_type)
        result = run_search(engine, query, f, limit=limit, speaker=speaker, any_word=any_word,
                            redact=settings.redact)
    if output == "json":
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    _print_hits(result)


def _print_hits(result: Any) -> None:
    from rich.markup import escape

    from auditor.search import snippet

    con = _console()
    plain = con.no_color or not con.is_terminal
    if result.index.indexed:
        con.print(f"[bright_black]indexed {result.index.indexed} new transcripts in "
                  f"{result.index.seconds:.1f} s[/bright_black]")
    if not result.hits:
        con.print(f"no matches for {escape(result.query)} "
                  f"(searched: {escape(' '.join(result.terms))})")
        return
    for h in result.hits:
        c = h.call
        mark = " ✎" if c.reviewed else ""
        con.print(f"[bold]#{c.id}[/bold]  {_when(c.started_at)}  {escape(c.manager or '-')}  "
                  f"{_verdict(c.verdict)}{mark}  "
                  f"[bright_black]\\[{_dur(h.start)}][/bright_black] "
                  f"[{_SPEAKER_STYLE.get(h.speaker, 'white')}]{escape(h.speaker)}[/]")
        text, spans = snippet(h)
        out, pos = [], 0
        for a, b in spans:
            out.append(escape(text[pos:a]))
            out.append(f"⟦{escape(text[a:b])}⟧" if plain
                       else f"[bold reverse]{escape(text[a:b])}[/]")
            pos = b
        out.append(escape(text[pos:]))
        con.print("    " + "".join(out))
    shown = len(result.hits)
    more = f", showing {shown}" if shown < result.total_segments else ""
    con.print(f"{result.total_segments} matching segments in {result.total_calls} calls{more}")


# --- rescore -------------------------------------------------------------------------


@app.command()
def rescore(
    db: DbOpt = None,
    config: ConfigOpt = None,
    short_call_s: Annotated[float | None, typer.Option(
        "--short-call-s", help="Short-call threshold in seconds for this run.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would change; store nothing.")] = False,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, help="Worker processes for the analysis [default: all cores].")
    ] = None,
    output: FormatOpt = "text",
) -> None:
    """Re-run the analysis on every stored transcript with the current rules.

    No audio is decoded and nothing is transcribed. Reviews are never changed:
    calls where the new automatic verdict disagrees with a review are listed.
    Exit code 3 if some transcripts could not be analysed.

    Example: auditor rescore --db audit.db --short-call-s 240
    """
    check_choice(output, ("text", "json"), "--format")
    with guarded():
        from auditor.rescore import rescore as run_rescore

        settings, engine = _engine(config, db, short_call_s=short_call_s)
        bar = _Bar() if output != "json" and is_tty() else None
        try:
            summary = run_rescore(engine, settings, dry_run=dry_run, jobs=jobs,
                                  progress=bar.update if bar else None)
        finally:
            if bar is not None:
                bar.stop()
    if output == "json":
        typer.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_rescore(summary)
    if summary.failed:
        raise typer.Exit(EXIT_SOME_FAILED)


class _Bar:
    """A transient progress bar for a long rescore in a terminal."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.progress = Progress("[bold]rescore", BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), transient=True)
        self.task: Any = None

    def update(self, done: int, total: int) -> None:
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task("rescore", total=total)
        self.progress.update(self.task, completed=done)

    def stop(self) -> None:
        if self.task is not None:
            self.progress.stop()


def _print_rescore(s: Any, max_lines: int = 50) -> None:
    from rich.markup import escape

    con = _console()
    rules = ", ".join(sorted(s.rulesets)) or "-"
    verb = "would change" if s.dry_run else "changed"
    con.print(f"rescored {s.rescored} of {s.total} calls (ruleset {escape(rules)}) in "
              f"{s.seconds:.1f} s; {len(s.changes)} verdicts {verb}"
              + (" [yellow](dry run: nothing stored)[/yellow]" if s.dry_run else ""))
    for (old, new), n in s.transitions.most_common():
        con.print(f"  {_verdict(old)} → {_verdict(new)}: {n}")
    if s.changes:
        con.print("\n[bold]changed calls[/bold]")
        for c in s.changes[:max_lines]:
            note = "  (reviewed: the review stays in force)" if c.reviewed else ""
            con.print(f"  #{c.recording_id}  {escape(c.manager or '-')}  {_verdict(c.old)} → "
                      f"{_verdict(c.new)}{note}")
        if len(s.changes) > max_lines:
            con.print(f"  … and {len(s.changes) - max_lines} more (--format json lists all)")
    if s.disagreements:
        con.print(f"\n[bold]{len(s.disagreements)} reviewed calls disagree with the new "
                  f"automatic verdict[/bold] (reviews are kept; look again if needed)")
        for d in s.disagreements[:max_lines]:
            new = " [yellow]new[/yellow]" if d.is_new else ""
            con.print(f"  #{d.recording_id}  {escape(d.manager or '-')}  reviewed "
                      f"{_verdict(d.review_verdict)} by {escape(d.reviewer)}; automatic now "
                      f"{_verdict(d.auto_after)} (was {_verdict(d.auto_before)}){new}")
        if len(s.disagreements) > max_lines:
            con.print(f"  … and {len(s.disagreements) - max_lines} more (--format json lists all)")
    for rid, why in s.skipped:
        con.print(f"[yellow]skipped #{rid}: {escape(why)}[/yellow]")
    for rid, err in s.failed:
        con.print(f"[red]failed #{rid}: {escape(err)}[/red]")

