"""Shared pieces of the CLI: the app, common options, settings and error mapping."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from auditor import __version__
from auditor.errors import AuditorError, ExitCode
from auditor.records import CALL_TYPES, VERDICTS

app = typer.Typer(
    name="auditor",
    help=(
        "Offline call-quality auditor for sales departments.\n\n"
        "Example: auditor audit recordings/ --db audit.db"
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"auditor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Offline call-quality auditor for sales departments.

    Example: auditor audit recordings/ --db audit.db
    """


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="auditor.toml to read (default: ./auditor.toml if present).",
                 envvar="AUDITOR_CONFIG", show_envvar=False),
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="Database: a file path or any SQLAlchemy URL [default: auditor.db]."),
]
# Who/whom/when for each recording: on `audit` and `stats`.
LayoutOpt = Annotated[
    str | None,
    typer.Option("--layout", help="Where manager/client/time are in the path: a preset "
                 "(default, asterisk, freepbx, 3cx, crm) or a template like "
                 "'{manager}/{date}_{time}_{client}'. See docs/layouts.md."),
]
CallLogOpt = Annotated[
    Path | None,
    typer.Option("--call-log", help="CSV exported from the PBX/CRM (file, manager, client, "
                 "start time, language); wins over the file name.", exists=True, dir_okay=False),
]
LogColumnsOpt = Annotated[
    str | None,
    typer.Option("--call-log-columns", help="Map call-log headers to fields, e.g. "
                 "'file=Файл записи,manager=Менеджер,client=Номер клиента,"
                 "started_at=Дата и время'."),
]
# On every command that shows calls; `redact = true` in auditor.toml (or
# AUDITOR_REDACT=1) turns it on for all of them.
RedactOpt = Annotated[
    bool,
    typer.Option("--redact", help="Mask phone numbers, card numbers and e-mail addresses in "
                 "what is shown (client numbers, file names, transcripts, quotes, notes)."),
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="Output format.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or tables; for scripts.")]


def build_settings(config: Path | None, **overrides: Any) -> Any:
    """Settings from config file and environment, with flags on top."""
    from auditor.config import load_settings

    return load_settings(config).with_overrides(**overrides)


def fail(message: str, code: int = ExitCode.ERROR) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


@contextmanager
def guarded() -> Iterator[None]:
    """Turn AuditorError into a one-line message and its exit code."""
    try:
        yield
    except AuditorError as e:
        raise fail(str(e), e.exit_code) from None
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        raise typer.Exit(ExitCode.INTERRUPTED) from None


F = TypeVar("F", bound=Callable[..., Any])


def check_choice(value: str, choices: tuple[str, ...] | list[str], name: str) -> str:
    if value not in choices:
        raise typer.BadParameter(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def is_tty() -> bool:
    return sys.stdout.isatty()


# --- shared by the commands that list and show calls -------------------------

VERDICT_COLORS = {"ok": "green", "missed_opportunity": "red", "incomplete": "yellow",
                  "exempt": "cyan", "no_contact": "bright_black", "failed": "red"}
SPEAKER_STYLE = {"manager": "cyan", "client": "magenta", "unknown": "white"}

ManagerOpt = Annotated[str | None, typer.Option("--manager", "-m", help="Only this manager.")]
FromOpt = Annotated[datetime | None, typer.Option(
    "--from", formats=["%Y-%m-%d"], help="Calls on or after this day (YYYY-MM-DD).")]
ToOpt = Annotated[datetime | None, typer.Option(
    "--to", formats=["%Y-%m-%d"], help="Calls on or before this day (YYYY-MM-DD).")]
VerdictOpt = Annotated[str | None, typer.Option(
    "--verdict", help="Effective verdict: " + "|".join(VERDICTS) + "|failed.")]
TypeOpt = Annotated[str | None, typer.Option(
    "--type", help="Effective call type: " + "|".join(CALL_TYPES) + ".")]


def make_console() -> Any:
    from rich.console import Console

    # Piped output is not cut at 80 columns: one call stays one line.
    return Console(width=None if is_tty() else 200, highlight=False)


def open_engine(config: Any, db: str | None, **overrides: Any) -> tuple[Any, Any]:
    from auditor import store

    settings = build_settings(config, db=db, **overrides)
    return settings, store.make_engine(settings.db)


def call_filter(manager: str | None, date_from: datetime | None, date_to: datetime | None,
                 verdict: str | None, call_type: str | None, **kw: Any) -> Any:
    from auditor.views.callrow import CallFilter

    if verdict is not None:
        check_choice(verdict, (*VERDICTS, "failed"), "--verdict")
    if call_type is not None:
        check_choice(call_type, CALL_TYPES, "--type")
    if date_from and date_to and date_from > date_to:
        raise typer.BadParameter("--from is after --to")
    return CallFilter(manager=manager, date_from=date_from.date() if date_from else None,
                      date_to=date_to.date() if date_to else None, verdict=verdict,
                      call_type=call_type, **kw)


def fmt_when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else "-"


def verdict_markup(v: str | None) -> str:
    from rich.markup import escape

    if not v:
        return "-"
    color = VERDICT_COLORS.get(v, "white")
    return f"[{color}]{escape(v)}[/{color}]"


def print_discovery_notes(found: Any, console: Any, limit: int = 20, redact: bool = False
                          ) -> None:
    """Warn about files the layout could not read and call-log rows/recordings left unjoined.

    With ``redact`` phone numbers in file names and call-log rows are masked.
    """
    from rich.markup import escape

    shown = shown_path(redact)

    def listing(title: str, items: list[str]) -> None:
        if not items:
            return
        console.print(f"[yellow]{escape(title)}: {len(items)}[/yellow]")
        for it in items[:limit]:
            console.print(f"  {escape(it)}")
        if len(items) > limit:
            console.print(f"  ... and {len(items) - limit} more")

    listing("recordings not matching the layout (manager/client/time left empty)",
            [shown(p) for p in found.unmatched])
    if found.call_log is not None:
        lg = found.call_log
        console.print(f"call log {escape(str(lg.path))}: {len(lg.rows)} rows ({lg.encoding}, "
                      f"delimiter {lg.delimiter!r}; columns: "
                      f"{escape(', '.join(f'{k}={v}' for k, v in lg.columns.items()))})")
        listing("call-log rows with no recording",
                [shown(f"line {r.line}: {r.file or ''} {r.manager or ''} {r.client or ''} "
                       f"{r.started_at or ''}".strip()) for r in found.rows_without_recording])
        listing("recordings with no call-log row",
                [shown(p) for p in found.recordings_without_row])
        listing("call-log lines not understood",
                [shown(f"line {n}: {why}") for n, why in lg.problems])


def shown_path(redact: bool) -> Callable[[Any], str]:
    """How a path or a message quoting one is shown: as is, or with phone numbers masked."""
    if not redact:
        return str
    from auditor.redact import redact_path

    return lambda v: redact_path(str(v))


def discover_for_cli(recordings: Path, layout: str | None, call_log: Path | None,
                     columns: str | None) -> Any:
    from auditor.ingest.discovery import discover

    return discover(recordings, layout=layout, call_log=call_log, columns=columns)
