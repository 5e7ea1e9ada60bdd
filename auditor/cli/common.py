"""Shared pieces of the CLI: the app, common options, settings and error mapping."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from auditor import __version__
from auditor.errors import AuditorError

# Named exit codes (documented in the README).
EXIT_OK = 0
EXIT_ERROR = 1  # a command failed as a whole
EXIT_USAGE = 2  # bad arguments, config or input file
EXIT_SOME_FAILED = 3  # a batch finished but some recordings failed
EXIT_INTERRUPTED = 130

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
                 "start time); wins over the file name.", exists=True, dir_okay=False),
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


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
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
        raise typer.Exit(EXIT_INTERRUPTED) from None


F = TypeVar("F", bound=Callable[..., Any])


def check_choice(value: str, choices: tuple[str, ...] | list[str], name: str) -> str:
    if value not in choices:
        raise typer.BadParameter(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def is_tty() -> bool:
    return sys.stdout.isatty()
