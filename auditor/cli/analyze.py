"""Commands on transcripts: analyze (files), eval (a labelled corpus), rescore (the database)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from auditor.cli.common import (
    ConfigOpt,
    DbOpt,
    FormatOpt,
    app,
    build_settings,
    check_choice,
    fail,
    guarded,
    is_tty,
    make_console,
    open_engine,
    verdict_markup,
)
from auditor.config import Settings
from auditor.errors import ExitCode

if TYPE_CHECKING:  # pragma: no cover
    from auditor.analysis.evaluate import EvalReport
    from auditor.records import CallAnalysis, Evidence

ShortCallOpt = Annotated[
    float | None,
    typer.Option("--short-call-s", help="Short-call threshold in seconds "
                 f"(default {Settings.short_call_s:g})."),
]


def _clock(seconds: float) -> str:
    total = int(max(seconds, 0.0))
    return f"{total // 60}:{total % 60:02d}"


def _quote(ev: Evidence, limit: int = 110) -> str:
    text = " ".join(ev.quote.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"«{text}» ({ev.speaker} {_clock(ev.start)})"


def _render_text(name: str, a: CallAnalysis) -> str:
    lines = [f"{name}  [{a.language}, {_clock(a.duration_s)}, rules {a.ruleset_version}]",
             f"  call type: {a.call_type} — {a.call_type_reason}"]
    for ev in a.call_type_evidence[:3]:
        lines.append(f"      cue: {_quote(ev)}")
    lines.append("  stages:")
    for stage, sr in a.stages.items():
        mark = "found  " if sr.found else "missing"
        lines.append(f"    {stage:<13} {mark} {sr.reason}")
        for ev in sr.evidence:
            cue = f" [{ev.cue}]" if ev.cue else ""
            lines.append(f"        {_quote(ev)}{cue}")
    lines.append(f"  verdict: {a.verdict} — {a.reason}")
    return "\n".join(lines)


@app.command()
def analyze(
    files: Annotated[list[Path], typer.Argument(
        help="Transcript files: corpus or product JSON, or text with 'Менеджер:'/'Клиент:' "
             "(or 'Manager:'/'Client:') line prefixes.")],
    output: FormatOpt = "text",
    config: ConfigOpt = None,
    short_call_s: ShortCallOpt = None,
) -> None:
    """Analyse transcripts: call type, the four stages with quotes, and the verdict.

    A file that cannot be read is reported on one line and skipped; the exit
    code is then 2 after the others are done.

    Example: auditor analyze call.json notes.txt --format json
    """
    check_choice(output, ("text", "json"), "--format")
    with guarded():
        from auditor.analysis import analyze as run_analysis
        from auditor.analysis.loaders import load_transcript
        from auditor.errors import InputError

        settings = build_settings(config, short_call_s=short_call_s)
    results: list[dict[str, Any]] = []
    failed = printed = 0
    # A file that cannot be read is reported and skipped; any other error (a
    # broken rule model, say) stops the command through guarded().
    with guarded():
        for path in files:
            try:
                transcript, _labels = load_transcript(path)
                result = run_analysis(transcript, settings)
            except InputError as e:
                failed += 1
                typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
                continue
            if output == "json":
                results.append({"file": str(path), **result.to_dict()})
            else:
                if printed:
                    typer.echo("")
                typer.echo(_render_text(str(path), result))
                printed += 1
    if output == "json" and results:
        payload: Any = results[0] if len(files) == 1 else results
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    if failed:
        raise typer.Exit(ExitCode.USAGE)


def _render_report(report: EvalReport, misses: int) -> str:
    lines = [f"calls: {report.n}   call type accuracy: {report.call_type_accuracy:.3f}   "
             f"verdict accuracy: {report.verdict_accuracy:.3f}   macro F1: "
             f"{report.macro_f1:.3f}   wrongly accused: {report.false_accusations} "
             f"({100 * report.false_accusation_rate:.1f}%)   inconclusive: {report.inconclusive}"]
    for lang, sub in sorted(report.by_language.items()):
        lines.append(f"  {lang}: {sub.n} calls, call type {sub.call_type_accuracy:.3f}, "
                     f"verdict {sub.verdict_accuracy:.3f}, macro F1 {sub.macro_f1:.3f}, "
                     f"wrongly accused {sub.false_accusations}")
    lines.append("")
    lines.append(f"{'stage':<14}{'precision':>10}{'recall':>8}{'F1':>7}   "
                 f"(sales calls only: P / R / F1)")
    for stage, m in report.stages.items():
        s = report.stages_sales_only[stage]
        lines.append(f"{stage:<14}{m.precision:>10.3f}{m.recall:>8.3f}{m.f1:>7.3f}   "
                     f"{s.precision:.3f} / {s.recall:.3f} / {s.f1:.3f}")
    for title, table in (("call type", report.call_type_confusion),
                         ("verdict", report.verdict_confusion)):
        labels = list(table)
        width = max(len(x) for x in labels) + 2
        lines += ["", f"{title} confusion (rows: labelled, columns: predicted)",
                  " " * width + "".join(f"{x[:10]:>11}" for x in labels)]
        for row in labels:
            lines.append(f"{row:<{width}}" + "".join(f"{table[row][c]:>11}" for c in labels))
    if report.misses:
        lines += ["", f"misses ({len(report.misses)}):"]
        for miss in report.misses[:misses]:
            lines.append(f"  {miss.call_id}  {miss.kind}: labelled {miss.expected}, got "
                         f"{miss.predicted} — {miss.reason}")
            for ev in miss.evidence[:2]:
                lines.append(f"      {_quote(ev)}")
        if len(report.misses) > misses:
            lines.append(f"  ... {len(report.misses) - misses} more (--format json lists all)")
    for err in report.errors:
        lines.append(f"error: {err}")
    if report.skipped:
        lines.append(f"skipped {len(report.skipped)} file(s) without labels")
    return "\n".join(lines)


@app.command(name="eval")
def eval_corpus(
    corpus: Annotated[Path, typer.Argument(
        help="Folder of labelled calls (corpus JSON, see LABELING.md) or one such file.")],
    output: FormatOpt = "text",
    config: ConfigOpt = None,
    short_call_s: ShortCallOpt = None,
    misses: Annotated[int, typer.Option("--misses", min=0,
                                        help="How many misses to list in text output.")] = 30,
) -> None:
    """Measure the analysis against labelled calls: accuracy, stage P/R/F1, confusions.

    Stage figures count every labelled call (post-sale and no-contact calls are
    labelled with no stages); the sales-only figures are shown beside them.

    Example: auditor eval fixtures/corpus --format json
    """
    check_choice(output, ("text", "json"), "--format")
    with guarded():
        from auditor.analysis.evaluate import evaluate

        settings = build_settings(config, short_call_s=short_call_s)
        if not corpus.exists():
            raise fail(f"{corpus}: no such file or folder", ExitCode.USAGE)
        report = evaluate([corpus], settings)
    if output == "json":
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(_render_report(report, misses))


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
        from auditor.audit.rescore import rescore as run_rescore

        settings, engine = open_engine(config, db, short_call_s=short_call_s)
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
        raise typer.Exit(ExitCode.SOME_FAILED)


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

    con = make_console()
    rules = ", ".join(sorted(s.rulesets)) or "-"
    verb = "would change" if s.dry_run else "changed"
    con.print(f"rescored {s.rescored} of {s.total} calls (ruleset {escape(rules)}) in "
              f"{s.seconds:.1f} s; {len(s.changes)} verdicts {verb}"
              + (" [yellow](dry run: nothing stored)[/yellow]" if s.dry_run else ""))
    for (old, new), n in s.transitions.most_common():
        con.print(f"  {verdict_markup(old)} → {verdict_markup(new)}: {n}")
    if s.changes:
        con.print("\n[bold]changed calls[/bold]")
        for c in s.changes[:max_lines]:
            note = "  (reviewed: the review stays in force)" if c.reviewed else ""
            con.print(f"  #{c.recording_id}  {escape(c.manager or '-')}  {verdict_markup(c.old)} → "
                      f"{verdict_markup(c.new)}{note}")
        if len(s.changes) > max_lines:
            con.print(f"  … and {len(s.changes) - max_lines} more (--format json lists all)")
    if s.disagreements:
        con.print(f"\n[bold]{len(s.disagreements)} reviewed calls disagree with the new "
                  f"automatic verdict[/bold] (reviews are kept; look again if needed)")
        for d in s.disagreements[:max_lines]:
            new = " [yellow]new[/yellow]" if d.is_new else ""
            con.print(f"  #{d.recording_id}  {escape(d.manager or '-')}  reviewed "
                      f"{verdict_markup(d.review_verdict)} by {escape(d.reviewer)}; automatic now "
                      f"{verdict_markup(d.auto_after)} (was {verdict_markup(d.auto_before)}){new}")
        if len(s.disagreements) > max_lines:
            con.print(f"  … and {len(s.disagreements) - max_lines} more (--format json lists all)")
    for rid, why in s.skipped:
        con.print(f"[yellow]skipped #{rid}: {escape(why)}[/yellow]")
    for rid, err in s.failed:
        con.print(f"[red]failed #{rid}: {escape(err)}[/red]")
