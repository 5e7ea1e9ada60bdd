"""The pages: the review queue, one call, the managers' KPIs, search.

Each handler asks one view for its data (the same the CLI prints) and
renders a template; redaction is the app's ``--redact`` on every page.
They run in Starlette's thread pool (plain ``def``), the database is sync.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from auditor.records import CALL_TYPES, STAGES, VERDICTS, fmt_duration
from auditor.web.forms import BadRequest, call_filter, queue_params, queue_qs


def _state(request: Any) -> Any:
    return request.app.state


def queue_rows(request: Any, params: dict[str, str]) -> list[Any]:
    """The calls of the queue, worst first (the order of ``auditor calls``)."""
    from auditor.views.calls import query_calls

    st = _state(request)
    f = call_filter(params, st.settings.short_call_s)
    return query_calls(st.engine, f, redact=st.redact)


QUEUE_PAGE = 200  # rows shown at once; the counts cover the whole queue


def queue(request: Any) -> dict[str, Any]:
    params = queue_params(request.query_params)
    rows = queue_rows(request, params)
    raw = request.query_params.get("limit") or str(QUEUE_PAGE)
    if not raw.isdigit() or int(raw) < 1:
        raise BadRequest(f"limit must be a positive number of calls; got {raw!r}")
    limit = int(raw)
    per: dict[str, Counter[str]] = {}
    for r in rows:
        c = per.setdefault(r.manager or "(unknown)", Counter())
        c["calls"] += 1
        c["unreviewed"] += 0 if r.reviewed else 1
        c["missed"] += r.verdict == "missed_opportunity"
        c["incomplete"] += r.verdict == "incomplete"
    return {"template": "queue.html.j2", "rows": rows[:limit], "total": len(rows),
            "more": queue_qs({**params, "limit": str(limit + QUEUE_PAGE)}),
            "params": params, "qs": queue_qs(params),
            "managers": sorted(per.items(), key=lambda kv: (-kv[1]["missed"], kv[0].lower())),
            "all_managers": _manager_names(request), "verdicts": (*VERDICTS, "failed"),
            "call_types": CALL_TYPES, "stages": STAGES,
            "short_s": _state(request).settings.short_call_s, "fmt_duration": fmt_duration}


def _manager_names(request: Any) -> list[str]:
    from auditor import store

    with store.session(_state(request).engine) as s:
        return store.manager_names(s)


def neighbours(request: Any, params: dict[str, str], call_id: int) -> tuple[int | None, int | None]:
    """The calls before and after this one in its queue (None at either end or outside it)."""
    ids = [r.id for r in queue_rows(request, params)]
    if call_id not in ids:
        return None, ids[0] if ids else None
    i = ids.index(call_id)
    return (ids[i - 1] if i > 0 else None), (ids[i + 1] if i + 1 < len(ids) else None)


def audio_file(request: Any, call_id: int) -> Path | None:
    """The recording of a call as stored in the database; None if there is none on disk."""
    from auditor import store

    with store.session(_state(request).engine) as s:
        rec = s.get(store.Recording, call_id)
        path = Path(rec.path) if rec is not None else None
    return path if path is not None and path.is_file() else None


def call(request: Any, call_id: int) -> dict[str, Any]:
    from auditor.views.reports.details import load_details
    from auditor.views.reports.html import call_view
    from auditor.views.review import call_detail

    st = _state(request)
    detail = call_detail(st.engine, call_id, redact=st.redact)
    params = queue_params(request.query_params)
    prev_id, next_id = neighbours(request, params, call_id)
    has_audio = audio_file(request, call_id) is not None
    rendered = load_details(st.engine, [detail.call], redact=st.redact)[0]
    view = call_view(rendered, f"/calls/{call_id}/audio" if has_audio else None,
                     None if has_audio else "the recording is not on this machine's disk")
    by_review = detail.reviews[-1].stages if detail.reviews else {}
    t = request.query_params.get("t")
    try:
        start_at = max(0.0, float(t)) if t else None
    except ValueError:
        raise BadRequest(f"t must be a time in seconds; got {t!r}") from None
    return {"template": "call.html.j2", "d": detail, "c": view, "row": detail.call,
            "params": params, "qs": queue_qs(params), "prev_id": prev_id, "next_id": next_id,
            "verdicts": VERDICTS, "call_types": CALL_TYPES, "stages": STAGES,
            "by_review": by_review, "start_at": start_at,
            "short": detail.call.duration_s is not None
            and detail.call.duration_s < st.settings.short_call_s,
            "low_coverage": st.settings.min_speech_coverage, "fmt_duration": fmt_duration}


def managers(request: Any) -> dict[str, Any]:
    from auditor.views.kpi import Targets
    from auditor.views.reports import charts, load_report
    from auditor.views.reports.columns import agreement_columns, summary_columns, used_verdicts
    from auditor.views.reports.html import table_data

    st = _state(request)
    params = queue_params(request.query_params)
    f = call_filter(params, st.settings.short_call_s)
    rep = load_report(st.engine, Targets.from_settings(st.settings), date_from=f.date_from,
                      date_to=f.date_to, redact=st.redact)
    t = rep.targets
    verdicts = used_verdicts([*rep.managers, rep.total])
    period = {k: v for k, v in params.items() if k in ("from", "to")}

    def link(column: Any, row: Any) -> str | None:
        if column.key != "manager" or row is rep.total:
            return None
        return "/?" + queue_qs({"manager": row.manager, **period})

    agree = next((a for a in rep.agreement if a.auto_verdict == "all"), None)
    return {"template": "managers.html.j2", "report": rep, "t": t, "params": params,
            "talk_chart": charts.talk_per_day_chart(rep.days, t.daily_target_min),
            "coverage_chart": charts.coverage_chart(rep.managers),
            "managers": table_data(summary_columns(t, False, verdicts), rep.managers, rep.total,
                                   link=link),
            "agreement": table_data(agreement_columns(), rep.agreement), "agree_all": agree,
            "fmt_duration": fmt_duration}


def search(request: Any) -> dict[str, Any]:
    from auditor.views.search import search as run_search
    from auditor.views.search import snippet

    st = _state(request)
    q = str(request.query_params.get("q") or "").strip()
    params = queue_params(request.query_params)
    speaker = request.query_params.get("speaker") or None
    if speaker is not None and speaker not in ("manager", "client", "unknown"):
        raise BadRequest(f"speaker must be manager, client or unknown; got {speaker!r}")
    hits: list[dict[str, Any]] = []
    result = None
    if q:
        f = call_filter(params, st.settings.short_call_s)
        result = run_search(st.engine, q, f, limit=100, speaker=speaker, redact=st.redact)
        for h in result.hits:
            text, spans = snippet(h)
            parts, pos = [], 0
            for a, b in spans:
                parts += [(text[pos:a], False), (text[a:b], True)]
                pos = b
            parts.append((text[pos:], False))
            hits.append({"hit": h, "parts": parts, "start_label": fmt_duration(h.start),
                         "href": f"/calls/{h.call.id}?t={h.start:.2f}#seg-{h.call.id}-"
                                 f"{h.seg_index}"})
    return {"template": "search.html.j2", "q": q, "speaker": speaker or "", "hits": hits,
            "result": result, "params": params, "all_managers": _manager_names(request),
            "verdicts": (*VERDICTS, "failed"), "call_types": CALL_TYPES}
