"""Reports over the audit database: one module per output format.

``load_report`` builds the :class:`auditor.views.kpi.Report` from the calls with
their effective (reviewed) verdicts; ``table``, ``csv_out``, ``json_out`` and
``html`` render it. Renderers return text or renderables; they never print. The
package imports no database code until ``load_report`` runs, so the CLI
can format durations without loading SQLAlchemy.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from auditor.views.callrow import CallFilter
from auditor.views.kpi import Report, Targets, build_report

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Engine

FORMATS = ("table", "csv", "json", "html")
BY = ("manager", "day")


def load_report(engine: Engine, targets: Targets, by: str = "manager",
                date_from: date | None = None, date_to: date | None = None,
                manager: str | None = None, redact: bool = False) -> Report:
    """The report for the calls in the period (and of one manager, if given).

    With ``redact`` every call is :meth:`auditor.views.calls.CallRow.redacted`, so
    no format shows a client's number, and the problem list built from the
    calls shows none either.
    """
    from auditor.views.calls import query_calls  # SQLAlchemy: not for ``auditor --help``

    calls = query_calls(engine, CallFilter(manager=manager, date_from=date_from,
                                           date_to=date_to), redact=redact)
    return build_report(calls, targets, by=by, date_from=date_from, date_to=date_to,
                        manager=manager)
