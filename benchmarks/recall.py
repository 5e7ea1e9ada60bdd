"""How much of a phone call's speech reaches the transcript, per speech-detection setting.

Real speech from ../shared/real/ made phone-like the way a PBX records it
(benchmarks/_phone.py: the client's far end through AMR-NB, 10-20 dB quieter,
line noise; ringback, gaps, hold music and a long silence; the file in G.711
u-law, MP3 or Opus) is transcribed by the product's own transcriber with each
setting. Printed per setting and channel (manager: near end, loud; client:
far end, quiet):

- ref F1 / recall / WER: order-insensitive lemma-folded word F1 and recall
  against the reference, and WER in time order;
- vs no-VAD: the share of the words a decode of that channel without any VAD
  finds (on its speech stretches) that the setting also finds, as a bag of
  lemmas; "count" the ratio of the two word counts (the product's promise:
  at least 90% on real calls). Two decodes of the same audio never agree
  word for word: the loud manager channel sets the ceiling of the bag figure;
- silence sent: the share of the channel's stretches with no speech that went
  to the recogniser (speed: hold and silence should be skipped);
- halluc.: words left in the transcript on those stretches (the target is 0);
  dropped: words the hallucination guards removed;
- audio s/s: call seconds transcribed per wall second (both channels).

    python benchmarks/recall.py                 # the grid of settings (~10 min on 2 cores)
    python benchmarks/recall.py --quick         # a few settings
    python benchmarks/recall.py --set vad_threshold=0.3 --set vad_min_silence_ms=500
    python benchmarks/recall.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _phone  # noqa: E402
from _bench_audio import edit_distance, normalizer  # noqa: E402

from auditor.config import Settings  # noqa: E402
from auditor.speech.audio import decode, probe  # noqa: E402

NO_VAD = {"vad": False}
GRID: list[tuple[str, dict[str, Any]]] = [
    ("no VAD (reference decode)", NO_VAD),
    ("16k th0.5 sil160 (old main)", {"vad_detector": "silero-16k", "vad_threshold": 0.5,
                                     "vad_min_silence_ms": 160, "vad_adaptive": False}),
    ("16k th0.2 sil300 adaptive", {"vad_detector": "silero-16k", "vad_threshold": 0.2,
                                   "vad_min_silence_ms": 300}),
    ("8k th0.5 sil160 (default)", {}),
    ("8k th0.5 sil160, not adaptive", {"vad_adaptive": False}),
    ("8k th0.5 sil300", {"vad_min_silence_ms": 300}),
    ("8k th0.35 sil300", {"vad_threshold": 0.35, "vad_min_silence_ms": 300}),
    ("8k th0.25 sil300", {"vad_threshold": 0.25, "vad_min_silence_ms": 300}),
    ("8k th0.5 sil160 pad200", {"vad_speech_pad_ms": 200}),
    ("8k th0.5 sil160 pad600", {"vad_speech_pad_ms": 600}),
    ("8k th0.5 sil160, timestamp tokens", {"decode_timestamps": True}),
    ("8k th0.5 sil160, no guards", {"guards": False}),
]
QUICK = ["no VAD (reference decode)", "16k th0.5 sil160 (old main)", "8k th0.5 sil160 (default)"]


def _in(t: float, spans: list[tuple[float, float]]) -> bool:
    return any(a <= t < b for a, b in spans)


def run_setting(calls: list[_phone.PhoneCall], overrides: dict[str, Any],
                model: Any = None) -> dict[str, Any]:
    """Transcribe every call with one setting; the transcripts and the wall time."""
    from auditor.speech.transcriber import WhisperTranscriber

    settings = Settings().with_overrides(**overrides)
    tr = WhisperTranscriber(settings)
    if model is not None:
        tr._model = model
    else:
        tr.model  # noqa: B018 - load before timing
    out: dict[str, Any] = {"calls": {}, "wall_s": 0.0, "audio_s": 0.0}
    for call in calls:
        info = probe(call.path)
        t0 = time.perf_counter()
        doc, _mode = tr.transcribe(call.path, info, call.language)
        out["wall_s"] += time.perf_counter() - t0
        out["audio_s"] += info.duration_s
        out["calls"][call.id] = doc
    out["model"] = tr._model
    out["settings"] = settings
    return out


def sent_chunks(call: _phone.PhoneCall, settings: Settings) -> dict[str, list[tuple[float, float]]]:
    """The stretches the setting's speech detector sends, per channel, in seconds."""
    from auditor.speech import vad

    if not settings.vad:
        return {"manager": [(0.0, call.duration_s)], "client": [(0.0, call.duration_s)]}
    opts = vad.VadOptions.from_settings(settings)
    chans = decode(call.path, split_channels=True)
    return {side: [(a / 16000, b / 16000) for a, b in vad.detect(chans[i], opts).chunks]
            for i, side in enumerate(("manager", "client"))}


def _overlap(spans: list[tuple[float, float]], quiet: list[tuple[float, float]]) -> float:
    total = 0.0
    for a, b in spans:
        for c, d in quiet:
            total += max(0.0, min(b, d) - max(a, c))
    return total


def score(calls: list[_phone.PhoneCall], result: dict[str, Any],
          reference: dict[str, Any] | None) -> dict[str, Any]:
    settings: Settings = result["settings"]
    per: dict[str, Counter[str]] = {"manager": Counter(), "client": Counter()}
    for call in calls:
        doc = result["calls"][call.id]
        norm = normalizer(call.language)
        chunks = sent_chunks(call, settings)
        for side in ("manager", "client"):
            c = per[side]
            segs = sorted((s for s in doc.segments if s.speaker == side), key=lambda s: s.start)
            quiet = call.quiet(side)
            hyp = [w for s in segs for w in norm.words(s.text)]
            ref = [w for r in sorted(call.speech(side), key=lambda r: r.start)
                   for w in norm.words(r.text)]
            c["ref"] += len(ref)
            c["hyp"] += len(hyp)
            c["common"] += sum((Counter(ref) & Counter(hyp)).values())
            c["errors"] += edit_distance(ref, hyp)
            c["halluc"] += sum(len(norm.words(s.text)) for s in segs
                               if _in((s.start + s.end) / 2, quiet))
            c["quiet_ms"] += int(1000 * sum(b - a for a, b in quiet))
            c["quiet_sent_ms"] += int(1000 * _overlap(chunks[side], quiet))
            stats = next((ch for ch in doc.channels if ch.speaker == side), None)
            if stats is not None:
                c["dropped"] += stats.dropped_words
            if reference is not None:
                base = reference["calls"][call.id]
                bwords = [w for s in base.segments if s.speaker == side for w in norm.words(s.text)
                          if not _in((s.start + s.end) / 2, quiet)]
                c["novad"] += len(bwords)
                c["hyp_speech"] += sum(len(norm.words(s.text)) for s in segs
                                       if not _in((s.start + s.end) / 2, quiet))
                c["novad_common"] += sum((Counter(bwords) & Counter(hyp)).values())
    out: dict[str, Any] = {"audio_per_wall": result["audio_s"] / max(1e-9, result["wall_s"])}
    for side, c in per.items():
        rec = c["common"] / max(1, c["ref"])
        prec = c["common"] / max(1, c["hyp"])
        out[side] = {
            "ref_f1": 2 * rec * prec / max(1e-9, rec + prec), "ref_recall": rec,
            "wer": c["errors"] / max(1, c["ref"]),
            "vs_novad": c["novad_common"] / c["novad"] if c["novad"] else None,
            "count_vs_novad": c["hyp_speech"] / c["novad"] if c["novad"] else None,
            "silence_sent": c["quiet_sent_ms"] / max(1, c["quiet_ms"]),
            "halluc": c["halluc"], "dropped": c["dropped"], "ref_words": c["ref"],
        }
    return out


def print_table(rows: list[tuple[str, dict[str, Any]]]) -> None:
    head = (f"{'setting':<36}{'side':<8}{'ref F1':>7}{'recall':>7}{'WER':>6}{'vs noVAD':>9}{'count':>7}"
            f"{'silence':>8}{'halluc':>7}{'dropped':>8}{'audio s/s':>10}")
    print(head)
    print("-" * len(head))
    for name, r in rows:
        for side in ("client", "manager"):
            m = r[side]
            nv = "-" if m["vs_novad"] is None else f"{100 * m['vs_novad']:.1f}"
            cnt = "-" if m["count_vs_novad"] is None else f"{100 * m['count_vs_novad']:.0f}%"
            speed = f"{r['audio_per_wall']:.1f}" if side == "client" else ""
            print(f"{name if side == 'client' else '':<36}{side:<8}{100 * m['ref_f1']:>7.1f}"
                  f"{100 * m['ref_recall']:>7.1f}{100 * m['wer']:>6.1f}{nv:>9}{cnt:>7}"
                  f"{100 * m['silence_sent']:>7.1f}%{m['halluc']:>7}{m['dropped']:>8}{speed:>10}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only " + ", ".join(QUICK))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="measure one extra setting (Settings keys), besides the no-VAD reference")
    ap.add_argument("--workdir", default="/tmp/auditor-recall", help="where the calls are built")
    ap.add_argument("--real", default=str(_phone.REAL), help="the folder of real recordings")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    real = Path(args.real)
    if not (real / "speech-ru-silero.wav").is_file():
        print(f"error: real recordings not found in {real} (pass --real)", file=sys.stderr)
        return 2
    grid = GRID
    if args.set:
        extra: dict[str, Any] = {}
        for item in args.set:
            key, _, value = item.partition("=")
            extra[key] = json.loads(value) if value[:1] in "0123456789-[{tf" else value
        grid = [GRID[0], ("--set " + " ".join(args.set), extra)]
    elif args.quick:
        grid = [g for g in GRID if g[0] in QUICK]

    from faster_whisper import WhisperModel

    from auditor.speech.model import bundled_model_dir

    settings = Settings()
    model = WhisperModel(str(bundled_model_dir(settings.model_cache)), device="cpu",
                         compute_type="int8", cpu_threads=1, num_workers=2)
    calls = _phone.build_calls(Path(args.workdir), model)
    total = sum(c.duration_s for c in calls)
    print(f"{len(calls)} phone-like calls, {total / 60:.1f} min, both channels "
          f"({', '.join(f'{c.id}: {c.codec}' for c in calls)})")
    reference = None
    rows = []
    for name, overrides in grid:
        result = run_setting(calls, overrides, model)
        if overrides == NO_VAD:
            reference = result
        rows.append((name, score(calls, result, reference)))
        print(f"  measured: {name}", file=sys.stderr, flush=True)
    print()
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(dict(rows), indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
