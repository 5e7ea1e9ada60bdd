"""Query strings and forms into the views' inputs: the call filter, a review decision.

The filters are those of ``auditor calls``; a bad value is a one-line message
(shown as a 400 page), never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from auditor.errors import InvalidReview
from auditor.records import CALL_TYPES, STAGES, VERDICTS
from auditor.views.callrow import CallFilter

FILTER_KEYS = ("manager", "from", "to", "verdict", "type", "short", "missing", "unreviewed",
               "needs_review")


class BadRequest(Exception):
    """A query or form value that cannot be used; the message is shown."""


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be a day as YYYY-MM-DD; got {value!r}") from None


def _choice(value: str, choices: tuple[str, ...], name: str) -> str | None:
    if not value:
        return None
    if value not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def queue_params(query: Any, prefix: str = "") -> dict[str, str]:
    """The filter keys present in a query string (to carry from the queue to a call).

    A review form carries them as ``q_<key>``: its own verdict and type are the decision.
    """
    return {k: str(query.get(prefix + k)) for k in FILTER_KEYS if query.get(prefix + k)}


def queue_qs(params: dict[str, str]) -> str:
    return urlencode(params)


def call_filter(params: dict[str, str], short_call_s: float) -> CallFilter:
    """The CallFilter of ``auditor calls`` from the queue's query parameters."""
    d0, d1 = _day(params.get("from", ""), "from"), _day(params.get("to", ""), "to")
    if d0 and d1 and d0 > d1:
        raise BadRequest("'from' is after 'to'")
    return CallFilter(
        manager=params.get("manager") or None, date_from=d0, date_to=d1,
        verdict=_choice(params.get("verdict", ""), (*VERDICTS, "failed"), "verdict"),
        call_type=_choice(params.get("type", ""), CALL_TYPES, "type"),
        missing=_choice(params.get("missing", ""), STAGES, "missing"),
        unreviewed=params.get("unreviewed") == "1",
        needs_review=params.get("needs_review") == "1",
        short_below_s=short_call_s if params.get("short") == "1" else None,
    )


@dataclass(frozen=True)
class Decision:
    """A review as the call page's form sends it."""

    verdict: str
    note: str
    call_type: str | None
    stages: dict[str, bool]


def decision(form: Any, effective_verdict: str | None) -> Decision:
    """Agree (keep the verdict shown) or set verdict, type and stages, with a note."""
    note = str(form.get("note") or "").strip()
    if form.get("action") == "agree":
        if not effective_verdict or effective_verdict not in VERDICTS:
            raise InvalidReview("this call has no verdict to agree with; set one")
        seen = form.get("seen")
        if seen is not None and seen != effective_verdict:  # someone decided in the meantime
            raise InvalidReview(f"the verdict changed from {seen} to {effective_verdict} since "
                                "the page was opened; read it again before agreeing")
        return Decision(effective_verdict, note or "agreed", None, {})
    stages: dict[str, bool] = {}
    for st in STAGES:
        answer = str(form.get(f"stage_{st}") or "")
        if answer in ("yes", "no"):
            stages[st] = answer == "yes"
        elif answer not in ("", "keep"):
            raise InvalidReview(f"stage {st} must be yes, no or keep; got {answer!r}")
    call_type = str(form.get("type") or "") or None
    return Decision(str(form.get("verdict") or ""), note, call_type, stages)
