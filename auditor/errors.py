"""The AuditorError family and the exit codes: each error carries a one-line message and its code.

The exit codes live here, on the errors, and nowhere else: the CLI maps an
error to ``e.exit_code`` and uses :class:`ExitCode` for the outcomes that
are not errors (some recordings failed, interrupted).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a command's exit status means (documented in the README)."""

    OK = 0
    ERROR = 1  # a command failed as a whole
    USAGE = 2  # bad arguments, config or input file
    SOME_FAILED = 3  # a batch finished but some recordings failed
    STORE = 4  # the database cannot be opened or is of an unknown schema
    INTERRUPTED = 130  # Ctrl-C


class AuditorError(Exception):
    """Base of every error the CLI turns into a one-line message and an exit code."""

    exit_code: int = ExitCode.ERROR


class ConfigError(AuditorError):
    """auditor.toml or a flag holds a value that cannot be used."""

    exit_code = ExitCode.USAGE


class InputError(AuditorError):
    """A transcript, call log or other input file cannot be read."""

    exit_code = ExitCode.USAGE


class AudioError(AuditorError):
    """A recording cannot be probed or decoded."""


class ModelError(AuditorError):
    """The speech-recognition model cannot be found, verified or loaded.

    No recording is to blame, so the command fails as a whole (exit 1), and the
    audit stops instead of storing every recording as failed.
    """


class StoreError(AuditorError):
    """The database cannot be opened or is of an unknown schema version."""

    exit_code = ExitCode.STORE


class NotFoundError(AuditorError):
    """A call id or other referenced object does not exist."""

    exit_code = ExitCode.USAGE


class InvalidReview(AuditorError):
    """A review value (verdict, call type, stage) that the auditor does not know."""

    exit_code = ExitCode.USAGE


class SearchError(AuditorError):
    """A query that cannot be searched (no words in it)."""

    exit_code = ExitCode.USAGE
