"""auditor search: everything that was said, with word forms folded."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

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
from auditor.records import fmt_duration


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
        from auditor.views.search import search as run_search

        settings, engine = open_engine(config, db, redact=redact or None)
        f = call_filter(manager, date_from, date_to, verdict, call_type)
        result = run_search(engine, query, f, limit=limit, speaker=speaker, any_word=any_word,
                            redact=settings.redact)
    if output == "json":
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    _print_hits(result)


def _print_hits(result: Any) -> None:
    from rich.markup import escape

    from auditor.views.search import snippet

    con = make_console()
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
        con.print(f"[bold]#{c.id}[/bold]  {fmt_when(c.started_at)}  {escape(c.manager or '-')}  "
                  f"{verdict_markup(c.verdict)}{mark}  "
                  f"[bright_black]\\[{fmt_duration(h.start)}][/bright_black] "
                  f"[{SPEAKER_STYLE.get(h.speaker, 'white')}]{escape(h.speaker)}[/]")
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
