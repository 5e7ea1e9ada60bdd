"""The typer app: parse, build settings, call the core, map errors to exit codes.

Each area has its own module that registers its commands on ``app``; business
logic lives in the core modules, never here.
"""

from __future__ import annotations

from importlib import import_module

from auditor.cli.common import app

# Registration order is the order of commands in --help: the audit first,
# then the analysis, the reports and the review loop.
for _area in ("audit", "analyze", "report", "review", "search", "web"):
    import_module(f"auditor.cli.{_area}")


def main() -> None:
    app()


__all__ = ["app", "main"]
