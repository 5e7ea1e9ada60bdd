"""A stereo call with known turn timing, made from the fixture speech, and its true metrics.

The turns of fixtures/recordings' full_sales_ru call (manifest.json knows where
each one's speech starts and ends) are cut out and laid on a new timeline at
planned times: one turn starts while the other side is still speaking (an
interruption each way) and nobody speaks for 10 s (a hold). The true figures
follow from the plan by the definitions of auditor.analysis.metrics.
"""

from __future__ import annotations

import json
import statistics
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .conftest import RECORDINGS

RATE = 8000
_MARGIN = 0.05  # cut this much around each turn's speech


@dataclass(frozen=True)
class Placed:
    speaker: str
    start: float
    end: float
    text: str


# (turn of full_sales_ru, where its speech starts on the new timeline)
PLAN: tuple[tuple[int, float], ...] = (
    (0, 0.5), (1, 8.0), (2, 14.5), (3, 21.2),
    (4, 23.4),  # the manager starts 1.5 s before the client ends
    (5, 29.3), (8, 34.2),
    (9, 46.9),  # 10 s after the manager's last word: a hold
    (18, 52.0), (19, 60.5),  # one monologue of two turns
    (22, 67.2), (23, 72.4),
    (27, 78.0),  # the client starts 0.9 s before the manager ends
    (30, 81.5), (31, 87.2),
)
LENGTH_S = 91.0


def _source() -> tuple[dict[str, object], np.ndarray]:
    manifest = json.loads((RECORDINGS / "manifest.json").read_text(encoding="utf-8"))
    rec = next(r for r in manifest["recordings"] if r["id"] == "full_sales_ru")
    with wave.open(str(RECORDINGS / rec["path"]), "rb") as w:
        assert w.getframerate() == RATE and w.getnchannels() == 2
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    return rec, audio


def timed_call(path: Path, mono: bool = False) -> list[Placed]:
    """Write the planned call (stereo: manager left; or the mono mix); return its turns."""
    rec, audio = _source()
    turns = rec["turns"]
    assert isinstance(turns, list)
    out = np.zeros((int(LENGTH_S * RATE), 2), dtype=np.float64)
    placed = []
    for index, at in PLAN:
        t = turns[index]
        ch = 0 if t["speaker"] == "manager" else 1
        a, b = int((t["start"] - _MARGIN) * RATE), int((t["end"] + _MARGIN) * RATE)
        clip = audio[a:b, ch].astype(np.float64)
        o = int((at - _MARGIN) * RATE)
        out[o:o + len(clip), ch] += clip
        placed.append(Placed(t["speaker"], at, at + t["end"] - t["start"], t["text"]))
    data = out.mean(axis=1, keepdims=True) if mono else out
    pcm = np.clip(data, -32768, 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return placed


def true_metrics(turns: list[Placed]) -> dict[str, float]:
    """The figures of the plan, worked out from the turn times alone.

    No two turns of one side overlap, so a side's talk time is the sum of its
    turns; consecutive turns of one side less than 2 s apart are one monologue.
    """
    def talk(side: str) -> float:
        return sum(t.end - t.start for t in turns if t.speaker == side)

    overlaps = [(p, n, min(p.end, n.end) - n.start) for p, n in zip(turns, turns[1:], strict=False)
                if n.speaker != p.speaker and n.start < p.end]
    both = sum(o for _, _, o in overlaps)
    heard = talk("manager") + talk("client") - both
    runs: list[tuple[str, float, float]] = []
    for t in turns:
        if runs and runs[-1][0] == t.speaker and t.start - runs[-1][2] < 2.0:
            runs[-1] = (t.speaker, runs[-1][1], t.end)
        else:
            runs.append((t.speaker, t.start, t.end))
    ends = sorted(turns, key=lambda t: t.start)
    gaps = [n.start - max(x.end for x in ends[:i + 1]) for i, n in enumerate(ends[1:])]
    holds = [g for g in gaps if g > 5.0]
    switches = [n.start - p.end for p, n in zip(turns, turns[1:], strict=False)
                if p.speaker == "client" and n.speaker == "manager" and n.start >= p.end]
    return {
        "manager_talk_pct": 100 * talk("manager") / (talk("manager") + talk("client")),
        "client_talk_pct": 100 * talk("client") / (talk("manager") + talk("client")),
        "manager_monologue_s": max(b - a for s, a, b in runs if s == "manager"),
        "client_monologue_s": max(b - a for s, a, b in runs if s == "client"),
        "manager_interruptions": sum(1 for _, n, o in overlaps if n.speaker == "manager" and o > 0.5),
        "client_interruptions": sum(1 for _, n, o in overlaps if n.speaker == "client" and o > 0.5),
        "overtalk_pct": 100 * both / heard,
        "silences": len(holds),
        "longest_silence_s": max(holds),
        "silence_pct": 100 * sum(holds) / LENGTH_S,
        "response_latency_s": statistics.median(switches),
    }
