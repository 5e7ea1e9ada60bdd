"""Inline SVG charts of the checklist score and the talk share for the HTML report.

Like :mod:`auditor.views.reports.charts`: no scripts, every label escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from auditor.views.kpi import ManagerRow
from auditor.views.reports.charts import _nice_max, _svg, percent_grid

_IN, _OUT, _BAND = "#59a14f", "#e15759", "#e8f3e6"


def talk_share_chart(managers: Sequence[ManagerRow], lo: float, hi: float) -> Markup:
    """Per manager, the average talk share of the sales calls, against the norm's band."""
    rows = [m for m in managers if m.scores.talk_share is not None]
    if not rows:
        return Markup('<p class="empty">No measured sales calls to chart.</p>')
    bar, left, plot_w = 18, 170, 360
    height = 40 + (bar + 8) * len(rows) + 30
    width = left + plot_w + 60
    x = lambda pct: left + plot_w * pct / 100.0  # noqa: E731
    body = [f'<rect class="band" x="{x(lo):.1f}" y="24" width="{x(hi) - x(lo):.1f}" '
            f'height="{height - 50}" fill="{_BAND}"><title>norm {lo:g}-{hi:g}%</title></rect>']
    body += percent_grid(x, height)
    for i, r in enumerate(rows):
        share = r.scores.talk_share or 0.0
        y = 30 + i * (bar + 8)
        color = _IN if lo <= share <= hi else _OUT
        est = f", {r.scores.estimated_calls} estimated" if r.scores.estimated_calls else ""
        body.append(f'<text x="{left - 8}" y="{y + bar - 5}" text-anchor="end">'
                    f'{escape(r.manager)} ({r.scores.measured_calls})</text>')
        body.append(f'<rect class="bar" x="{left}" y="{y}" width="{max(1.0, x(share) - left):.1f}" '
                    f'height="{bar}" fill="{color}"><title>{escape(r.manager)}: {share:.0f}% '
                    f'of the talk time over {r.scores.measured_calls} calls{est}</title></rect>')
        body.append(f'<text x="{x(share) + 4:.1f}" y="{y + bar - 5}" font-size="10" '
                    f'fill="#444">{share:.0f}%</text>')
    body.append(f'<text x="{left}" y="14" fill="#444">manager talk share of sales calls; '
                f'band {lo:g}-{hi:g}% shaded</text>')
    return _svg(width, height, "Manager talk share against the norm", body)


def score_distribution_chart(buckets: Sequence[dict[str, int]], score_min: float | None
                             ) -> Markup:
    """How many scored calls fall in each ten points of the checklist score."""
    if not any(b["calls"] for b in buckets):
        return Markup('<p class="empty">No scored calls to chart.</p>')
    left, top_pad, plot_h, col = 40, 24, 180, 44
    width = left + col * len(buckets) + 20
    height = top_pad + plot_h + 40
    top = _nice_max(max(b["calls"] for b in buckets) * 1.1) if max(
        b["calls"] for b in buckets) > 10 else 10
    y = lambda v: top_pad + plot_h - plot_h * v / top  # noqa: E731
    body: list[str] = []
    for tick in range(0, int(top) + 1, max(1, int(top / 5))):
        body.append(f'<line x1="{left}" x2="{width - 20}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                    f'stroke="#e5e5e5"/>')
        body.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                    f'fill="#666">{tick}</text>')
    for i, b in enumerate(buckets):
        bx = left + i * col + 4
        good = score_min is None or b["from"] >= score_min
        body.append(f'<rect class="bar" x="{bx}" y="{y(b["calls"]):.1f}" width="{col - 8}" '
                    f'height="{top_pad + plot_h - y(b["calls"]):.1f}" '
                    f'fill="{_IN if good else _OUT}"><title>score {b["from"]}-{b["to"]}: '
                    f'{b["calls"]} calls</title></rect>')
        body.append(f'<text x="{bx + (col - 8) / 2:.1f}" y="{top_pad + plot_h + 16}" '
                    f'text-anchor="middle" fill="#444" font-size="10">{b["from"]}</text>')
    body.append(f'<text x="{left}" y="14" fill="#444">scored calls by checklist score'
                + ("" if score_min is None else f" (norm ≥ {score_min:g})") + "</text>")
    return _svg(width, height, "Checklist score distribution", body)
