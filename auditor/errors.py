"""The AuditorError family: each carries a one-line message fit for a terminal."""

from __future__ import annotations


class AuditorError(Exception):
    """Base of every error the CLI turns into a one-line message and an exit code."""

    exit_code = 1


class ConfigError(AuditorError):
    """auditor.toml or a flag holds a value that cannot be used."""

    exit_code = 2


class InputError(AuditorError):
    """A transcript, call log or other input file cannot be read."""

    exit_code = 2


class AudioError(AuditorError):
    """A recording cannot be probed or decoded."""


class ModelError(AuditorError):
    """The speech-recognition model cannot be found, verified or loaded.

    No recording is to blame, so the command fails as a whole (exit 1), and the
    audit stops instead of storing every recording as failed.
    """


class StoreError(AuditorError):
    """The database cannot be opened or is of an unknown schema version."""

    exit_code = 4


class NotFoundError(AuditorError):
    """A call id or other referenced object does not exist."""

    exit_code = 2


class InvalidReview(AuditorError):
    """A review value (verdict, call type, stage) that the auditor does not know."""

    exit_code = 2


class SearchError(AuditorError):
    """A query that cannot be searched (no words in it)."""

    exit_code = 2
