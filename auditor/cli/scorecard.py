"""The metrics block and the checklist of `auditor show`: figures against the norms, ticks and quotes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditor.records import CallMetrics, fmt_duration


def _s(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} s"


def _flag(text: str, bad: bool, under: bool = False) -> str:
    """A figure outside its norm in red, ▲ over it, ▼ under it."""
    return f"[red]{text} {'▼' if under else '▲'}[/red]" if bad else text


def _normed(text: str, value: float, norm: float | None, fmt: Callable[[float], str],
            under: bool = False) -> tuple[str, str]:
    """A figure flagged against its norm (a maximum, or a minimum when under) and the norm's text."""
    if norm is None:
        return text, ""
    bad = value < norm if under else value > norm
    return _flag(text, bad, under), f" (norm {'≥' if under else '≤'} {fmt(norm)})"


def metrics_lines(m: CallMetrics, norms: dict[str, float]) -> list[str]:
    """The conversation metrics as lines of rich markup, over/under the norms in red."""
    from rich.markup import escape

    lo, hi = norms.get("talk_share_min", 0.0), norms.get("talk_share_max", 100.0)
    head = "estimates from inferred speakers (mono)" if m.estimate else "by channel (stereo)"
    out = [f"[bold]metrics[/bold] [bright_black]{head}[/bright_black]"]
    if m.note and m.manager_talk_pct is None:
        out.append(f"  [yellow]{escape(m.note)}[/yellow]")
    if m.manager_talk_pct is not None:
        share = f"{m.manager_talk_pct:.0f}%"
        off = not lo <= m.manager_talk_pct <= hi
        out.append(f"  talk share: manager {_flag(share, off, m.manager_talk_pct < lo)} / client "
                   f"{m.client_talk_pct or 0:.0f}% (norm {lo:.0f}-{hi:.0f}%)"
                   + ("" if m.overtalk_pct is None else f"; overtalk {m.overtalk_pct:.1f}%"))
    if m.manager_monologue_s is not None:
        mono, norm = _normed(fmt_duration(m.manager_monologue_s), m.manager_monologue_s,
                             norms.get("monologue_max_s"), fmt_duration)
        out.append(f"  longest monologue: manager {mono}{norm}, client "
                   f"{fmt_duration(m.client_monologue_s)}")
    if m.questions is not None:
        asked, norm = _normed(str(m.questions), m.questions, norms.get("questions_min"),
                              lambda v: f"{v:.0f}", under=True)
        out.append(f"  questions by the manager: {asked}"
                   f" ({m.questions_per_10min or 0:.1f} per 10 min), {m.questions_answered} "
                   f"answered{norm}")
    if m.manager_interruptions is not None:
        cut, norm = _normed(str(m.manager_interruptions), m.manager_interruptions,
                            norms.get("interruptions_max"), lambda v: f"{v:.0f}")
        out.append(f"  interruptions: manager {cut}, client {m.client_interruptions}{norm}")
    out.append(f"  silence over 5 s: {m.silences or 0}"
               + ("" if not m.silences else
                  f", {m.silence_pct or 0:.1f}% of the call, longest {_s(m.longest_silence_s)}"))
    extra = []
    if m.response_latency_s is not None:
        extra.append(f"response latency (median) {_s(m.response_latency_s)}")
    if m.manager_wpm is not None:
        extra.append(f"manager {m.manager_wpm:.0f} words/min")
    if extra:
        out.append("  " + "; ".join(extra))
    return out


def checklist_lines(items: list[Any], score: float | None, corrected: dict[str, bool]
                    ) -> list[str]:
    """The checklist with ticks, weights and quotes; ✎ marks a reviewer's correction."""
    from rich.markup import escape

    if not items:
        return []
    out = [f"[bold]checklist score[/bold] {'-' if score is None else f'{score:.0f}/100'}"]
    for i in items:
        met = corrected.get(i.key, i.met)
        stop = i.weight < 0
        if stop:  # a stop phrase: ! said, ✓ avoided
            tick = "[red]![/red]" if met else "[green]✓[/green]"
        else:
            tick = "[green]✓[/green]" if met else "[red]✗[/red]"
        pen = "✎ " if i.key in corrected else ""
        line = (f"  {tick} {pen}{escape(i.label)} "
                f"[bright_black]({i.weight:+.0f}, {escape(i.key)})[/bright_black]")
        if i.evidence and met:
            e = i.evidence[0]
            line += (f"  [bright_black]{fmt_duration(e.start)} {escape(e.speaker)}:[/bright_black] "
                     f"«{escape(e.quote[:80])}»")
        elif i.reason and not stop:
            line += f"  [bright_black]{escape(i.reason[:80])}[/bright_black]"
        out.append(line)
    return out


def print_scorecard(con: Any, d: Any) -> None:
    """The metrics and the checklist of a call detail (views.review.CallDetail)."""
    from auditor.analysis.metrics import norms

    a = d.analysis
    corrected = {**d.reviews[-1].stages, **d.reviews[-1].items} if d.reviews else {}
    lines = (metrics_lines(a.metrics, norms()) if a.metrics is not None else []) + \
        checklist_lines(a.checklist, d.call.score, corrected)
    if lines:
        con.print("")
    for line in lines:
        con.print(line)


def talk_cell(r: Any) -> str:
    """The manager's talk share in the call list: ~ when estimated (mono)."""
    if r.talk_share is None:
        return "-"
    return f"{'~' if r.mono else ''}{r.talk_share:.0f}%"
