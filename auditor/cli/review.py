"""The review loop: calls, show, review.

Find the calls worth a look, read one with its evidence in place, and record a
human decision (which every list and report then uses).
"""

from __future__ import annotations

import getpass
import json
import os
from typing import Annotated, Any

import typer

from auditor.cli.calls_table import calls_table
from auditor.cli.common import (
    SPEAKER_STYLE,
    ConfigOpt,
    DbOpt,
    FormatOpt,
    FromOpt,
    ManagerOpt,
    RedactOpt,
    ToOpt,
    TypeOpt,
    VerdictOpt,
    app,
    call_filter,
    check_choice,
    fmt_when,
    guarded,
    make_console,
    open_engine,
    verdict_markup,
)
from auditor.cli.scorecard import print_scorecard
from auditor.records import CALL_TYPES, STAGES, VERDICTS, fmt_duration

_STATUSES = ("done", "failed", "pending", "running")
_STAGE_STYLE = {"profile": "bold black on cyan", "needs": "bold black on yellow",
                "presentation": "bold black on green", "next_step": "bold black on magenta",
                "call_type": "bold black on white"}

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
        "--missing", help="Only sales calls missing this stage: " + "|".join(STAGES) + ".")
    ] = None,
    unreviewed: Annotated[bool, typer.Option(
        "--unreviewed", help="Only calls no one has reviewed yet.")] = False,
    needs_review: Annotated[bool, typer.Option(
        "--needs-review", help="Unreviewed sales-call and inconclusive verdicts, the least "
                               "confident analysis first.")] = False,
    status: Annotated[str | None, typer.Option(
        "--status", help="Audit status: " + "|".join(_STATUSES) + ".")] = None,
    sort: Annotated[str, typer.Option(
        "--sort", help="worst (verdict, then missing stages), score (lowest checklist score "
                       "first) or date.")] = "worst",
    min_score: Annotated[float | None, typer.Option(
        "--min-score", help="Only scored calls with a checklist score of at least this.")] = None,
    max_score: Annotated[float | None, typer.Option(
        "--max-score", help="Only scored calls with a checklist score of at most this.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most N calls.")
                     ] = None,
    output: FormatOpt = "table",
    redact: RedactOpt = False,
) -> None:
    """List calls, worst first, with their effective verdict (a review wins).

    Every line starts with the call id that 'show' and 'review' take. A CSV
    (UTF-8 with BOM, safe for spreadsheets) makes a review queue a team can split.

    Example: auditor calls --unreviewed --verdict missed_opportunity --format csv > queue.csv

    Example: auditor calls --needs-review --limit 20

    Example: auditor calls --sort score --max-score 50
    """
    check_choice(output, ("table", "json", "csv"), "--format")
    check_choice(sort, ("worst", "score", "date"), "--sort")
    if missing is not None:
        check_choice(missing, STAGES, "--missing")
    if status is not None:
        check_choice(status, _STATUSES, "--status")
    with guarded():
        from auditor.views.calls import query_calls
        from auditor.views.reports.csv_out import calls_csv

        settings, engine = open_engine(config, db, redact=redact or None)
        f = call_filter(manager, date_from, date_to, verdict, call_type, missing=missing,
                         unreviewed=unreviewed, status=status, needs_review=needs_review,
                         short_below_s=settings.short_call_s if short else None,
                         min_score=min_score, max_score=max_score)
        rows = query_calls(engine, f, redact=settings.redact, worst_first=sort != "date",
                           by_score=sort == "score")
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
    calls_table(rows, settings.short_call_s, total)


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
        from auditor.views.review import call_detail

        settings, engine = open_engine(config, db, redact=redact or None)
        detail = call_detail(engine, call_id, redact=settings.redact)
    if output == "json":
        typer.echo(json.dumps(detail.to_dict(), ensure_ascii=False, indent=2))
        return
    _print_detail(detail, settings.short_call_s, settings.min_speech_coverage)


def _print_hearing(con: Any, channels: list[Any], dropped: list[Any], low: float) -> None:
    """How much of each channel the recogniser heard, and what the guards dropped."""
    from rich.markup import escape

    if not channels:
        return
    parts = []
    for ch in channels:
        cov, wpm = ch.coverage, ch.words_per_min
        text = (f"{escape(ch.speaker)}: {'-' if cov is None else f'{100 * cov:.0f}%'} of its sound "
                f"decoded, {ch.words} words" + ("" if wpm is None else f" ({wpm:.0f}/min)"))
        if ch.dropped:
            text += ", dropped " + ", ".join(f"{n} {why}" for why, n in sorted(ch.dropped.items()))
        parts.append(f"[red]{text}[/red]" if cov is not None and cov < low else text)
    con.print("speech: " + "; ".join(parts))
    for ch in channels:
        if ch.coverage is not None and ch.coverage < low:
            con.print(f"[yellow]low speech coverage on the {escape(ch.speaker)} channel "
                      f"({100 * ch.coverage:.0f}% under {100 * low:.0f}%): the transcript may miss "
                      "what was said there; listen before acting on the verdict[/yellow]")
    if dropped:
        con.print(f"[bright_black]{len(dropped)} segment(s) dropped as recognition artefacts "
                  "(not analysed): " + "; ".join(
                      f"{fmt_duration(s.start)} {escape(s.speaker)} {escape(s.dropped)}: "
                      f"«{escape(s.text[:60])}»" for s in dropped[:5]) + "[/bright_black]")


def _print_detail(d: Any, short_s: float, low_coverage: float = 0.8) -> None:
    from rich.markup import escape

    con = make_console()
    c = d.call
    con.print(f"[bold]Call {c.id}[/bold]  {escape(c.path)}")
    short = " [yellow](short)[/yellow]" if c.duration_s is not None and c.duration_s < short_s else ""
    con.print(f"manager: {escape(c.manager or '-')}   client: {escape(c.client or '-')}   "
              f"started: {fmt_when(c.started_at)}   duration: {fmt_duration(c.duration_s)}{short}   "
              f"language: {escape(c.language or '-')}")
    if c.status != "done":
        con.print(f"status: [red]{escape(c.status)}[/red] {escape(c.error or '')}")
    if c.reviewed:
        last = d.reviews[-1]
        con.print(f"verdict: {verdict_markup(c.verdict)} [bold]✎ reviewed[/bold] by "
                  f"{escape(last.reviewer)} on {fmt_when(last.created_at)}: {escape(last.note)}")
        con.print(f"automatic verdict: {verdict_markup(c.auto_verdict)} "
                  f"({escape(c.auto_call_type or '-')})")
    else:
        con.print(f"verdict: {verdict_markup(c.verdict)} (automatic)")
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
        for stage in STAGES:
            ok = stage in c.stages_found
            style = _STAGE_STYLE[stage]
            flag = " ✎" if stage in by_review else ""
            marks.append(f"[{style}] {stage} [/] {'✓' if ok else '[red]✗[/red]'}{flag}")
        con.print("stages: " + "  ".join(marks))
        con.print(f"[bright_black]ruleset {escape(a.ruleset_version)}[/bright_black]")
        print_scorecard(con, d)
    if d.reviews:
        con.print("\n[bold]review history[/bold] (latest is in force)")
        for rv in d.reviews:
            extra = []
            if rv.call_type:
                extra.append(f"type {rv.call_type}")
            for answers in (rv.stages, rv.items):
                if answers:
                    extra.append(" ".join(f"{k}={'yes' if v else 'no'}" for k, v in answers.items()))
            extra.append(f"automatic was {rv.auto_verdict or '-'}")
            con.print(f"  {fmt_when(rv.created_at)}  {escape(rv.reviewer)}  {verdict_markup(rv.verdict)}  "
                      f"{escape('; '.join(extra))}  — {escape(rv.note)}")
    con.print("\n[bold]transcript[/bold]")
    if d.transcript is None:
        con.print("  (no stored transcript)")
        return
    _print_hearing(con, d.transcript.channels, d.transcript.dropped, low_coverage)
    for v in d.segments:
        seg = v.segment
        sp = SPEAKER_STYLE.get(seg.speaker, "white")
        line = (f"[bright_black]\\[{fmt_duration(seg.start)}][/bright_black] "
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
    verdict: Annotated[str | None, typer.Option(
        "--verdict", help="Your verdict: " + "|".join(VERDICTS) + " [default: the call's "
                          "current verdict].")] = None,
    note: Annotated[str, typer.Option("--note", help="Why (kept with the decision).")] = "",
    call_type: Annotated[str | None, typer.Option(
        "--type", help="Correct the call type: " + "|".join(CALL_TYPES) + ".")] = None,
    stage: Annotated[list[str] | None, typer.Option(
        "--stage", help="Correct a stage: STAGE=yes|no (repeatable).")] = None,
    item: Annotated[list[str] | None, typer.Option(
        "--item", help="Correct a checklist item: KEY=yes|no (repeatable; keys in 'show'); "
                       "the score follows.")] = None,
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

    Example: auditor review 12 --item greeting=no --note "no company name"
    """
    check_choice(output, ("text", "json"), "--format")
    if verdict is not None:
        check_choice(verdict, VERDICTS, "--verdict")
    if call_type is not None:
        check_choice(call_type, CALL_TYPES, "--type")
    who = reviewer or os.environ.get("USER") or os.environ.get("USERNAME") or _login()
    with guarded():
        from auditor.views.calls import get_call
        from auditor.views.review import add_review, parse_stage_flags

        stages = parse_stage_flags(stage)
        items = parse_stage_flags(item, "--item", None)
        settings, engine = open_engine(config, db, redact=redact or None)
        if verdict is None:
            current = get_call(engine, call_id)
            verdict = current.verdict if current is not None and current.verdict else ""
        outcome = add_review(engine, call_id, verdict=verdict, note=note, reviewer=who,
                             call_type=call_type, stages=stages, items=items)
        if settings.redact:
            outcome = outcome.redacted()
    for w in outcome.warnings:
        typer.secho(f"warning: {w}", fg=typer.colors.YELLOW, err=True)
    if output == "json":
        typer.echo(json.dumps({"review": outcome.review.to_dict(), "call": outcome.call.to_dict(),
                               "warnings": outcome.warnings}, ensure_ascii=False, indent=2))
        return
    c = outcome.call
    score = "" if c.score is None else f"; score {c.score:.0f}"
    typer.echo(f"call {c.id}: verdict {c.verdict} (reviewed by {outcome.review.reviewer}; "
               f"automatic: {c.auto_verdict or '-'}{score}); review #{c.review_count} of this call")


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in a container
        return "unknown"
