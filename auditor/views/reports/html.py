"""One self-contained HTML file: charts, tables and every call with its transcript.

Nothing is fetched when the page opens: CSS, JS and SVG charts are inline;
the only outside references are the recordings, by a path relative to the
report's folder (or copies next to the report with ``with_audio``), so the
report and its recordings can be moved together. Jinja2 autoescaping is on:
transcripts, file names and managers are data and always shown as text.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from auditor import __version__
from auditor.records import SALES_TYPES, STAGES, CallAnalysis, Evidence, Segment, fmt_duration
from auditor.views.evidence import place
from auditor.views.kpi import Report
from auditor.views.reports import charts, score_charts
from auditor.views.reports.columns import (
    Column,
    agreement_columns,
    fmt_cell,
    problem_columns,
    ranking_columns,
    summary_columns,
    used_verdicts,
)
from auditor.views.reports.details import CallDetail

log = logging.getLogger(__name__)

_VERDICT_CLASS = {"ok": "v-ok", "missed_opportunity": "v-missed", "incomplete": "v-incomplete",
                  "exempt": "v-exempt", "no_contact": "v-nocontact", "failed": "v-failed"}


@dataclass
class Chunk:
    text: str
    stage: str | None = None


@dataclass
class SegmentView:
    index: int
    speaker: str
    start: float
    start_label: str
    chunks: list[Chunk]
    stages: list[str] = field(default_factory=list)


@dataclass
class QuoteView:
    stage: str
    quote: str
    speaker: str
    start: float
    start_label: str
    segment: int | None
    label: str = ""  # what the chip says; the stage name by default


@dataclass
class CallView:
    id: int
    title: str
    manager: str
    client: str
    when: str
    duration: str
    verdict: str
    verdict_class: str
    auto_verdict: str
    call_type: str
    reason: str
    reviewed: bool
    review_note: str
    file_name: str
    audio_src: str | None
    audio_note: str | None
    stages_found: list[str]
    stages_missing: list[str]
    is_sales: bool
    quotes: list[QuoteView]
    segments: list[SegmentView]


def _segment_of(segments: Sequence[Segment], ev: Evidence) -> int | None:
    at = place(segments, ev)
    return at.segment if at is not None else None


def _chunks(text: str, marks: list[tuple[int, int, str]]) -> list[Chunk]:
    out: list[Chunk] = []
    pos = 0
    for start, end, stage in sorted(marks):
        if start < pos:
            continue  # overlapping quotes: the first one wins
        if start > pos:
            out.append(Chunk(text[pos:start]))
        out.append(Chunk(text[start:end], stage))
        pos = end
    if pos < len(text):
        out.append(Chunk(text[pos:]))
    return out


def call_view(detail: CallDetail, audio_src: str | None, audio_note: str | None) -> CallView:
    row = detail.row
    an: CallAnalysis | None = detail.analysis
    segs = detail.segments
    marks: dict[int, list[tuple[int, int, str]]] = {}
    seg_stages: dict[int, list[str]] = {}
    quotes: list[QuoteView] = []
    found = set(row.stages_found)
    if an is not None:
        for st in STAGES:
            res = an.stages.get(st)
            if res is None:
                continue
            for ev in res.evidence:
                at = place(segs, ev)
                i = at.segment if at is not None else None
                quotes.append(QuoteView(stage=st, quote=ev.quote, speaker=ev.speaker,
                                        start=ev.start, start_label=fmt_duration(ev.start),
                                        segment=i))
                if i is None or st not in found:
                    continue
                seg_stages.setdefault(i, [])
                if st not in seg_stages[i]:
                    seg_stages[i].append(st)
                if at is not None and at.exact:
                    marks.setdefault(i, []).append((at.start, at.end, st))
    if an is not None:
        for ev in an.call_type_evidence:
            quotes.append(QuoteView(stage="calltype", quote=ev.quote, speaker=ev.speaker,
                                    start=ev.start, start_label=fmt_duration(ev.start),
                                    segment=_segment_of(segs, ev), label=an.call_type))
    segments = [
        SegmentView(index=i, speaker=s.speaker, start=s.start, start_label=fmt_duration(s.start),
                    chunks=_chunks(s.text, marks.get(i, [])), stages=seg_stages.get(i, []))
        for i, s in enumerate(segs)
    ]
    verdict = row.verdict or row.status
    name = Path(row.path).name
    return CallView(
        id=row.id, title=name, manager=row.manager or "(unknown)", client=row.client or "-",
        when=row.started_at.strftime("%Y-%m-%d %H:%M") if row.started_at else "-",
        duration=fmt_duration(row.duration_s), verdict=verdict,
        verdict_class=_VERDICT_CLASS.get(verdict, ""), auto_verdict=row.auto_verdict or "-",
        call_type=row.call_type or "-",
        reason=(an.reason if an is not None and an.reason else row.reason) or (row.error or ""),
        reviewed=row.reviewed,
        review_note=row.review_note or "", file_name=name, audio_src=audio_src,
        audio_note=audio_note, stages_found=[s for s in STAGES if s in found],
        stages_missing=list(row.stages_missing), is_sales=row.call_type in SALES_TYPES,
        quotes=quotes, segments=segments,
    )


def _url(rel: str) -> str:
    return quote(rel.replace(os.sep, "/"), safe="/")


def audio_source(path: str, out_dir: Path, copy_dir: Path | None, call_id: int,
                 shown: str | None = None) -> tuple[str | None, str | None]:
    """The <audio> src for a recording, relative to the report; copies it if asked.

    ``shown`` is the path as the report shows it (redacted, maybe): it names
    the copy and the note, so neither gives away what redaction hid. The src
    of an uncopied recording is its real relative path, or it would not play.
    """
    src = Path(path)
    shown = shown or path
    if not src.is_file():
        return None, f"recording not found: {shown}"
    if copy_dir is not None:
        copy_dir.mkdir(parents=True, exist_ok=True)
        dest = copy_dir / f"{call_id}_{Path(shown).name.replace('*', 'x')}"
        st = src.stat()
        if not (dest.exists() and dest.stat().st_size == st.st_size):
            shutil.copy2(src, dest)
        src = dest
    try:
        rel = os.path.relpath(src.resolve(), out_dir.resolve())
    except ValueError:  # another drive on Windows
        return src.resolve().as_uri(), None
    return _url(rel), None


def table_data(columns: Sequence[Column], rows: Sequence[Any], total: Any = None,
               link_calls: bool = False,
               link: Callable[[Column, Any], str | None] | None = None) -> dict[str, Any]:
    """Headers and formatted cells of a table; ``link`` gives a cell's href (or None)."""
    body = []
    for r in [*rows, *([total] if total is not None else [])]:
        cells = []
        for c in columns:
            v = c.get(r)
            cls = "num" if c.kind in ("int", "min", "sec", "pct", "num") else ""
            if c.key == "target_pct" and v is not None:
                cls += " good" if v >= 100 else " bad"
            elif c.key == "band":
                cls += {"in": " good", "below": " bad", "above": " warn"}.get(v, "")
            elif c.key == "verdict":
                cls += " " + _VERDICT_CLASS.get(v, "")
            href = f"#call-{r.id}" if link_calls and c.key == "id" else None
            if link is not None:
                href = link(c, r) or href
            cells.append({"text": fmt_cell(v, c.kind), "cls": cls.strip(), "href": href})
        body.append({"cells": cells, "total": r is total})
    return {"headers": [{"title": c.title, "long": c.header} for c in columns], "rows": body}


def _asset(name: str) -> str:
    return resources.files("auditor.views.reports").joinpath("templates", name).read_text("utf-8")


def render_html(report: Report, details: Sequence[CallDetail], output: Path,
                with_audio: bool = False) -> str:
    """The report page as a string; recordings referenced relative to output's folder."""
    from jinja2 import Environment, StrictUndefined

    out_dir = output.parent if str(output.parent) else Path(".")
    copy_dir = out_dir / f"{output.stem}_audio" if with_audio else None
    calls = []
    for d in details:
        src, note = audio_source(d.audio_path or d.row.path, out_dir, copy_dir, d.row.id,
                                 shown=d.row.path)
        calls.append(call_view(d, src, note))
    t = report.targets
    verdicts = used_verdicts([*report.managers, report.total])
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True)
    template = env.from_string(_asset("report.html.j2"))
    agree = next((a for a in report.agreement if a.auto_verdict == "all"), None)
    return template.render(
        version=__version__,
        report=report,
        t=t,
        css=Markup(_asset("report.css")),
        js=Markup(_asset("report.js")),
        talk_chart=charts.talk_per_day_chart(report.days, t.daily_target_min),
        coverage_chart=charts.coverage_chart(report.managers),
        talk_share_chart=score_charts.talk_share_chart(
            report.managers, t.norms.get("talk_share_min", 0.0), t.norms.get("talk_share_max", 100.0)),
        score_chart=score_charts.score_distribution_chart(report.score_distribution,
                                                          t.norms.get("score_min")),
        ranking=table_data(ranking_columns(), report.ranking),
        managers=table_data(summary_columns(t, False, verdicts), report.managers, report.total),
        days=table_data(summary_columns(t, True, verdicts), report.days),
        problems=table_data([c for c in problem_columns() if c.key != "path"], report.problems,
                        link_calls=True),
        agreement=table_data(agreement_columns(), report.agreement),
        agree_all=agree,
        calls=calls,
        stages=STAGES,
        stage_colors=charts.STAGE_COLORS,
        fmt_duration=fmt_duration,
    )


def write_html(report: Report, details: Sequence[CallDetail], output: Path,
               with_audio: bool = False) -> Path:
    """Write the report (and, with_audio, copies of the recordings next to it)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_html(report, details, output, with_audio), encoding="utf-8")
    return output
