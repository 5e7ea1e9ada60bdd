"""The typer app: parse, build settings, call the core, map errors to exit codes.

Each area has its own module that registers its commands on ``app``; business
logic lives in the core modules, never here.
"""

from __future__ import annotations

from auditor.cli import analyze as _analyze  # noqa: E402,F401

# Registration order is the order of commands in --help.
from auditor.cli import audit as _audit  # noqa: E402,F401
from auditor.cli import report as _report  # noqa: E402,F401
from auditor.cli import review as _review  # noqa: E402,F401
from auditor.cli import search as _search  # noqa: E402,F401
from auditor.cli.common import app


def main() -> None:
    app()
