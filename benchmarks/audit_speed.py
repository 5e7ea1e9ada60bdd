#!/usr/bin/env python3
"""Audit throughput and accuracy: the auditor's pipeline vs plain faster-whisper.

Usage (from the repository root, with the project's virtualenv):

    python benchmarks/audit_speed.py              # fixtures + a 10-minute stereo call
    python benchmarks/audit_speed.py --quick      # fixtures only
    python benchmarks/audit_speed.py --json       # one JSON document on stdout
    python benchmarks/audit_speed.py --repeat 3   # best-of-3 wall time per side
    python benchmarks/audit_speed.py --experiment all          # tuning experiments
    python benchmarks/audit_speed.py --experiment beam,vad     # some of them

The benchmark set is every recording of fixtures/recordings/manifest.json (the
known script of each call is in the manifest; the two deliberately bad files
are left out) and, unless --quick, a 10-minute two-channel call with ~30%
silence, ringback and hold music, built deterministically from the fixture
audio (benchmarks/_bench_audio.py).

Each side runs in its own subprocess (so CPU time and peak RSS are its own),
one after the other, on the same files:

- baseline: faster-whisper as a typical user calls it: WhisperModel(<bundled
  base folder>) with its defaults, model.transcribe(path) with its defaults
  (language detection, beam 5, no VAD, the mono mix);
- pipeline: auditor.audit.runner.Auditor(settings, store.make_engine(fresh db))
  .run(root), in one run, with the default Settings except the languages
  (a department configures its language once, with per-manager exceptions:
  Settings.language = "ru", Settings.languages = {"John Smith": "en"}, taken
  from the manifest). ``--pipeline-language auto`` uses detection instead.

Wall time of a side = model load + transcription of every file (imports and
process start are excluded on both sides). WER is lemma-folded
(_bench_audio.Normalizer) and summed over recordings (total errors / total
reference words). Definitions used in the report:

- whole   : hypothesis words in time order vs the script in time order;
- channel : manager words vs the manager's script + client vs client, for
            channel-split transcripts of stereo calls;
- bag     : order-insensitive overlap of lemma multisets (recall, precision).

The baseline has no channels: its figure is whole-call WER. The pipeline's
headline figure is per-channel WER for stereo calls and whole-call WER for mono
calls; its whole-call WER is printed beside it.

CPU is shared with whatever else runs on the machine: compare figures of the
same run only, and check ``uptime`` before trusting absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _bench_audio import (  # noqa: E402
    BenchRecording,
    add_counts,
    build_long_call,
    build_phone_set,
    load_fixture_set,
    rates,
    score,
)

FIXTURES = ROOT / "fixtures" / "recordings"


# --- measurement helpers (used in the child processes) ---------------------------------


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _model_dir(cache: Path) -> str:
    from auditor.speech.model import bundled_model_dir

    return str(bundled_model_dir(cache))


# --- the two sides -----------------------------------------------------------------------


def side_baseline(spec: dict[str, Any]) -> dict[str, Any]:
    """Plain faster-whisper, defaults everywhere, mono mix, one file after another."""
    from faster_whisper import WhisperModel

    recs = [BenchRecording.from_json(r) for r in spec["recordings"]]
    model_dir = _model_dir(Path(spec["model_cache"]))
    cpu0, t0 = _cpu_s(), time.perf_counter()
    model = WhisperModel(model_dir)
    load_s = time.perf_counter() - t0
    files = []
    for rec in recs:
        t = time.perf_counter()
        segments, info = model.transcribe(str(rec.path))
        segs = [("mix", s.start, s.end, s.text) for s in segments]
        files.append({"id": rec.id, "wall_s": time.perf_counter() - t, "language": info.language,
                      "segments": segs})
    return {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu_s() - cpu0, "load_s": load_s,
            "peak_rss_mb": _peak_rss_mb(), "files": files}


def _stub_analyzer(doc: Any, settings: Any) -> Any:
    from auditor.records import CallAnalysis

    return CallAnalysis(call_type="no_contact", verdict="no_contact", stages={},
                        duration_s=doc.duration, ruleset_version="bench-stub",
                        language=doc.language)


def side_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    """The auditor's audit of the whole set into a fresh database, in one Auditor.run."""
    from sqlmodel import Session, select

    from auditor import store
    from auditor.audit.runner import Auditor, default_analyzer
    from auditor.config import Settings
    from auditor.speech.model import bundled_model_dir
    from auditor.speech.transcriber import WhisperTranscriber

    recs = [BenchRecording.from_json(r) for r in spec["recordings"]]
    work = Path(spec["workdir"])
    root = Path(spec["root"])
    # The first assembly of the bundled model (a fresh cache), outside the timed run.
    fresh = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    t = time.perf_counter()
    bundled_model_dir(fresh)
    assembly_s = time.perf_counter() - t
    shutil.rmtree(fresh, ignore_errors=True)

    analyzer = default_analyzer
    analysis_note = "auditor.analysis"
    try:
        from auditor.analysis import analyze  # noqa: F401
    except Exception as e:  # the analysis package is not there yet: time the rest anyway
        analyzer = _stub_analyzer
        analysis_note = f"STUB (auditor.analysis not importable: {type(e).__name__}: {e})"

    db = work / f"audit-{os.getpid()}.db"
    # As a department would configure it: one language, per-manager exceptions
    # (Settings.languages), or detection with --pipeline-language auto.
    settings = Settings(model_cache=Path(spec["model_cache"]), db=str(db),
                        language=spec["language"], languages=spec["languages"])
    overrides: dict[str, Any] = {}
    for item in spec.get("set", []):  # --set key=value, typed like the default
        key, _, value = item.partition("=")
        default = getattr(settings, key)
        overrides[key] = (value.lower() in ("1", "true", "yes", "on")
                          if isinstance(default, bool) else type(default)(value))
    settings = settings.with_overrides(**overrides)
    engine = store.make_engine(str(db))
    cpu0, t0 = _cpu_s(), time.perf_counter()
    tr = WhisperTranscriber(settings)
    tr.model  # noqa: B018 - load now, to time it apart from the first file
    load_s = time.perf_counter() - t0
    summary = Auditor(settings, engine, transcriber=tr, analyzer=analyzer).run(root)
    wall_s = time.perf_counter() - t0
    cpu_s = _cpu_s() - cpu0
    peak = _peak_rss_mb()

    timings = dict(summary.timings)
    timings["run_wall"] = summary.wall_s
    timings.setdefault("workers", 1.0)  # files audited at once (Settings.asr_workers)
    timings["decode"] = tr.timings.decode_s
    timings["asr_model"] = tr.timings.asr_s
    items = [{"path": str(i.path), "status": i.status, "error": i.error,
              "call_type": i.call_type, "verdict": i.verdict} for i in summary.items]

    # Transcripts back from the database, by recording path.
    by_path: dict[str, list[tuple[str, float, float, str]]] = {}
    with Session(engine) as s:
        for row in s.exec(select(store.Recording)).all():
            tr_row = s.exec(select(store.Transcript).where(
                store.Transcript.recording_id == row.id)).first()
            if tr_row is not None:
                by_path[row.path] = [(g.speaker, g.start, g.end, g.text) for g in tr_row.segments]
    files = [{"id": rec.id, "segments": by_path.get(str(rec.path.resolve()), [])}
             for rec in recs]

    # The speech detector runs inside the transcriber (auditor/vad.py), timed there;
    # what it keeps is the stored per-channel figure.
    timings["vad"] = tr.timings.vad_s
    speech_s = channel_s = 0.0
    with Session(engine) as s:
        for tr_row in s.exec(select(store.Transcript)).all():
            for ch in tr_row.channels:
                speech_s += ch.sent_s
                channel_s += ch.seconds
    return {"wall_s": wall_s, "cpu_s": cpu_s, "load_s": load_s, "assembly_s": assembly_s,
            "peak_rss_mb": peak, "timings": timings, "items": items, "files": files,
            "analysis": analysis_note, "vad_kept_share": speech_s / max(channel_s, 1e-9),
            "auditor": str(Path(sys.modules["auditor"].__file__ or "").parent),
            "settings": {
                "workers": int(timings["workers"]), "beam_size": settings.beam_size,
                "batch_size": settings.batch_size, "vad": settings.vad,
                "compute_type": settings.compute_type, "cpu_threads": settings.threads,
                "language": settings.language, "languages": settings.languages}}


# --- the experiment worker ---------------------------------------------------------------


def side_exp(spec: dict[str, Any]) -> dict[str, Any]:
    """One configuration of faster-whisper on a list of files (see EXPERIMENTS)."""
    from concurrent.futures import ThreadPoolExecutor

    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from auditor.speech.audio import channels_are_duplicate, decode

    recs = [BenchRecording.from_json(r) for r in spec["recordings"]]
    model_dir = _model_dir(Path(spec["model_cache"]))
    cpu0, t0 = _cpu_s(), time.perf_counter()
    model = WhisperModel(model_dir, **spec.get("model", {}))
    load_s = time.perf_counter() - t0
    batched = BatchedInferencePipeline(model) if spec.get("batch_size") else None
    mode = spec.get("mode", "split")
    kwargs = dict(spec.get("transcribe", {}))
    parallel = spec.get("parallel")  # None | "channels" | "files"

    gap = spec.get("split_gap")  # split segments where words are this far apart
    if gap:
        kwargs["word_timestamps"] = True

    def run(audio: Any, language: str) -> list[tuple[float, float, str]]:
        if batched is not None:
            segments, _ = batched.transcribe(audio, language=language,
                                             batch_size=spec["batch_size"], **kwargs)
        else:
            segments, _ = model.transcribe(audio, language=language, **kwargs)
        if not gap:
            return [(s.start, s.end, s.text) for s in segments]
        out: list[tuple[float, float, str]] = []
        for seg in segments:
            cur: list[Any] = []
            for w in seg.words or []:
                if cur and w.start - cur[-1].end >= gap:
                    out.append((cur[0].start, cur[-1].end, "".join(x.word for x in cur)))
                    cur = []
                cur.append(w)
            if cur:
                out.append((cur[0].start, cur[-1].end, "".join(x.word for x in cur)))
        return out

    def one_file(rec: BenchRecording, pool: Any = None) -> dict[str, Any]:
        t = time.perf_counter()
        split = mode == "split" and rec.layout == "stereo"
        arrays = decode(rec.path, split_channels=split)
        if split and channels_are_duplicate(arrays[0], arrays[1]):
            arrays, split = [(arrays[0] + arrays[1]) / 2], False
        speakers = ["manager", "client"] if split else ["mix"]
        if pool is not None and len(arrays) == 2:
            outs = list(pool.map(lambda a: run(a, rec.language), arrays))
        else:
            outs = [run(a, rec.language) for a in arrays]
        segs = [(who, a, b, text) for who, out in zip(speakers, outs) for a, b, text in out]
        return {"id": rec.id, "wall_s": time.perf_counter() - t, "segments": segs}

    start = time.time()
    t1 = time.perf_counter()
    if parallel == "channels":
        with ThreadPoolExecutor(2) as pool:
            files = [one_file(r, pool) for r in recs]
    elif parallel == "files":  # longest first, as a parallel audit should schedule
        with ThreadPoolExecutor(2) as pool:
            files = list(pool.map(one_file, sorted(recs, key=lambda r: -r.duration_s)))
    else:
        files = [one_file(r) for r in recs]
    end = time.time()
    return {"wall_s": time.perf_counter() - t0, "run_s": time.perf_counter() - t1,
            "cpu_s": _cpu_s() - cpu0, "load_s": load_s, "peak_rss_mb": _peak_rss_mb(),
            "start": start, "end": end, "files": files}


# --- the parent: set up, run the children, score, print ------------------------------------


def prepare(workdir: Path, quick: bool, only: list[str] | None = None, phone: bool = False
            ) -> list[BenchRecording]:
    """Copy the benchmark set under workdir/recordings/<manager>/<file>.wav."""
    if phone:
        tool = ROOT.parent / "shared" / "tools" / "synth_calls.py"
        if not tool.exists():
            raise SystemExit(f"--phone needs the synthesizer {tool}")
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "auditor-bench-phone"
        recs = build_phone_set(ROOT / "fixtures" / "corpus", tool, cache)
    else:
        recs = load_fixture_set(FIXTURES)
    if not quick and not phone:
        recs.append(build_long_call([r for r in recs if r.language == "ru"],
                                    workdir / "long"))
    if only:
        unknown = set(only) - {r.id for r in recs}
        if unknown:
            raise SystemExit(f"unknown recording id(s): {', '.join(sorted(unknown))}")
        recs = [r for r in recs if r.id in only]
    for rec in recs:
        dest = workdir / "recordings" / rec.rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(rec.path, dest)
        rec.path = dest
    return recs


def pipeline_languages(recs: list[BenchRecording], mode: str) -> tuple[str, dict[str, str]]:
    """Settings.language and Settings.languages for the set: the majority language,
    and the managers who speak another one (from the manifest)."""
    if mode == "auto":
        return "auto", {}
    counts: dict[str, float] = {}
    for r in recs:
        counts[r.language] = counts.get(r.language, 0.0) + r.duration_s
    main = max(counts, key=lambda k: counts[k])
    others = {r.rel.split("/")[0]: r.language for r in recs if r.language != main}
    return main, others


def start_child(side: str, spec: dict[str, Any], workdir: Path) -> tuple[Any, Path]:
    """Run one side (baseline, pipeline or an experiment) in a subprocess of its own."""
    spec_path = Path(tempfile.mkstemp(prefix=f"{side}-", suffix=".json", dir=workdir)[1])
    out_path = spec_path.with_suffix(".out.json")
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--side", side, "--spec", str(spec_path),
         "--out", str(out_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=str(workdir),
    )
    return proc, out_path


def finish_child(proc: Any, out_path: Path, side: str = "exp") -> dict[str, Any]:
    _, err = proc.communicate()
    if proc.returncode != 0 or not out_path.exists():
        sys.stderr.write((err or "")[-4000:])
        raise SystemExit(f"the {side} subprocess failed (exit {proc.returncode})")
    return json.loads(out_path.read_text(encoding="utf-8"))


def run_child(side: str, spec: dict[str, Any], workdir: Path) -> dict[str, Any]:
    return finish_child(*start_child(side, spec, workdir), side=side)


def score_side(recs: list[BenchRecording], files: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-recording and summed word counts; 'headline' = channel if present, else whole."""
    by_id = {f["id"]: f for f in files}
    per: dict[str, Any] = {}
    for rec in recs:
        per[rec.id] = score(rec, by_id.get(rec.id, {}).get("segments", []))
    whole = add_counts(p["whole"] for p in per.values())
    headline = add_counts(p.get("channel", p["whole"]) for p in per.values())
    chan_ids = [k for k, p in per.items() if "channel" in p]
    return {"per": per, "whole": rates(whole), "headline": rates(headline),
            "channel_recordings": chan_ids}


def _fmt_f1(r: dict[str, float]) -> str:
    return f"{_f1(r):.1f}%"


def _fmt_rates(r: dict[str, float]) -> str:
    return (f"WER {r['wer']:5.1f}%  bag recall {r['bag_recall']:5.1f}%  "
            f"precision {r['bag_precision']:5.1f}%  ({r['ref_words']} ref words)")


def report(recs: list[BenchRecording], base: dict[str, Any], pipe: dict[str, Any],
           uptime: str) -> dict[str, Any]:
    audio_s = sum(r.duration_s for r in recs)
    out: dict[str, Any] = {"audio_s": audio_s, "recordings": [r.id for r in recs],
                           "load": uptime}
    for name, side in (("baseline", base), ("pipeline", pipe)):
        side["audio_per_wall"] = audio_s / side["wall_s"]
        side["cpu_per_audio"] = side["cpu_s"] / audio_s
        side["scores"] = score_side(recs, side["files"])
        out[name] = side
    t = pipe["timings"]
    # Thread-seconds: with N files audited at once, N x wall are available. Busy:
    # the one-thread phases (discovery, probing) plus the time of each file;
    # the rest is a worker waiting for the others to finish the batch.
    run_wall = t["run_wall"] * t.get("workers", 1.0)
    busy = (t["run_wall"] - t.get("files_wall", 0.0)) + t.get("files", t["run_wall"])
    shares = {
        "decode": t["decode"],
        "vad": t["vad"],
        "asr (whisper, without VAD)": max(0.0, t["asr_model"] - t["vad"]),
        "analysis": t["analysis"],
        "storage": t["store"],
        "hash+probe": t["hash"] + t["probe"],
    }
    shares["other (discovery, claims, commits)"] = max(0.0, busy - sum(shares.values()))
    shares["idle (a worker waiting at the end)"] = max(0.0, run_wall - busy)
    outside = busy - t["asr_model"]
    out["shares_s"] = shares
    out["outside_asr_s"] = outside
    out["outside_asr_pct"] = 100.0 * outside / run_wall
    out["thread_s"] = run_wall
    ratio = pipe["audio_per_wall"] / base["audio_per_wall"]
    out["throughput_ratio"] = ratio
    # less sensitive to other load on the machine than wall time
    out["cpu_ratio"] = base["cpu_s"] / pipe["cpu_s"]
    b_wer = base["scores"]["whole"]["wer"]
    p_head = pipe["scores"]["headline"]["wer"]
    p_whole = pipe["scores"]["whole"]["wer"]
    out["targets"] = {
        "throughput_ratio>=3": ratio >= 3.0,
        "pipeline_word_f1>=baseline (headline)": _f1(pipe["scores"]["headline"])
        >= _f1(base["scores"]["whole"]),
        "pipeline_wer<=baseline+1 (headline)": p_head <= b_wer + 1.0,
        "pipeline_wer<=baseline+1 (whole-call)": p_whole <= b_wer + 1.0,
        "outside_asr<5%": out["outside_asr_pct"] < 5.0,
        "peak_rss<1.5GB": pipe["peak_rss_mb"] < 1536,
    }
    return out


def _f1(r: dict[str, float]) -> float:
    """Order-insensitive word F1 (%) from bag recall and precision."""
    rec, prec = r["bag_recall"], r["bag_precision"]
    return 2 * rec * prec / (rec + prec) if rec + prec else 0.0


def print_report(r: dict[str, Any], recs: list[BenchRecording]) -> None:
    b, p = r["baseline"], r["pipeline"]
    if b.get("reused_from"):
        print(f"NOTE: baseline figures reused from {b['reused_from']} (not this run)")
    print(f"benchmark set: {len(recs)} recordings, {r['audio_s']:.1f} s audio "
          f"({r['audio_s'] / 60:.1f} min); machine load at start: {r['load']}")
    for rec in recs:
        if rec.extra:
            print(f"  {rec.id}: {rec.duration_s:.0f} s stereo, speech {rec.extra['speech_s']} s, "
                  f"non-speech {100 * rec.extra['nonspeech_share']:.1f}% (hold "
                  f"{rec.extra['hold_s']} s), {rec.extra['turns']} turns")
    print()
    hdr = f"{'':10} {'audio s/wall s':>14} {'wall s':>8} {'load s':>7} {'CPU s':>8} " \
          f"{'CPU s/audio s':>13} {'peak RSS MB':>11}"
    print(hdr)
    for name, s in (("baseline", b), ("pipeline", p)):
        print(f"{name:10} {s['audio_per_wall']:14.2f} {s['wall_s']:8.1f} {s['load_s']:7.2f} "
              f"{s['cpu_s']:8.1f} {s['cpu_per_audio']:13.3f} {s['peak_rss_mb']:11.0f}")
    print()
    print("accuracy (lemma-folded, summed over recordings):")
    print(f"  baseline  whole-call            {_fmt_rates(b['scores']['whole'])}")
    print(f"  pipeline  per-channel (stereo) + whole-call (mono)  "
          f"{_fmt_rates(p['scores']['headline'])}")
    print(f"  pipeline  whole-call            {_fmt_rates(p['scores']['whole'])}")
    print()
    print(f"{'recording':20} {'audio s':>7} {'base whole':>10} {'pipe whole':>10} "
          f"{'pipe chan':>9} {'base bag R/P':>13} {'pipe bag R/P':>13}  baseline lang")
    blang = {f["id"]: f.get("language", "") for f in b["files"]}
    for rec in recs:
        bw = b["scores"]["per"][rec.id]
        pw = p["scores"]["per"][rec.id]
        br, pr = rates(bw["whole"]), rates(pw["whole"])
        pc = f"{rates(pw['channel'])['wer']:8.1f}%" if "channel" in pw else f"{'-':>9}"
        bag_p = rates(pw.get("channel", pw["whole"]))
        print(f"{rec.id:20} {rec.duration_s:7.0f} {br['wer']:9.1f}% {pr['wer']:9.1f}% {pc} "
              f"{br['bag_recall']:6.0f}/{br['bag_precision']:<6.0f} "
              f"{bag_p['bag_recall']:6.0f}/{bag_p['bag_precision']:<6.0f}  {blang.get(rec.id)}")
    print()
    print(f"word F1 (order-insensitive): baseline {_fmt_f1(b['scores']['whole'])}, "
          f"pipeline {_fmt_f1(p['scores']['headline'])}")
    print(f"throughput ratio pipeline/baseline: {r['throughput_ratio']:.2f}x (target >= 3.0); "
          f"CPU-time ratio baseline/pipeline: {r['cpu_ratio']:.2f}x")
    print(f"pipeline: {p['settings']}, analysis: {p['analysis']}, auditor from {p['auditor']}")
    workers = int(p["timings"].get("workers", 1))
    of = (f"{p['timings']['run_wall']:.1f} s audit wall" if workers == 1 else
          f"{r['thread_s']:.1f} thread-s = {p['timings']['run_wall']:.1f} s audit wall x "
          f"{workers} workers")
    print(f"pipeline wall split (of {of}; model load {p['load_s']:.2f} s apart; first assembly "
          f"of the bundled model {p['assembly_s']:.2f} s):")
    for k, v in r["shares_s"].items():
        print(f"  {k:36} {v:8.2f} s {100 * v / r['thread_s']:6.1f}%")
    print(f"  VAD keeps {100 * p['vad_kept_share']:.0f}% of the channel audio")
    print(f"time outside ASR (busy thread-s - WhisperTranscriber.asr_s, of wall x workers): "
          f"{r['outside_asr_s']:.2f} s = {r['outside_asr_pct']:.1f}% (target < 5%)")
    failed = [i for i in p["items"] if i["status"] != "done"]
    if failed:
        print(f"WARNING: {len(failed)} pipeline item(s) not done: "
              + "; ".join(f"{Path(i['path']).name}: {i['error']}" for i in failed))
    print()
    for k, ok in r["targets"].items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {k}")


# --- experiments ------------------------------------------------------------------------

# The tuning experiments vary one thing at a time from START, the pipeline
# before tuning (one file at a time on all cores, sequential decoder, beam 1,
# VAD, one pass per channel); "proposed" and "batched2" try combinations. What
# won and is now the auditor's default: 2 workers x 1 thread, files side by
# side, BatchedInferencePipeline batch 2, beam 5, segments split at 1 s word gaps.
START_MODEL = {"compute_type": "int8", "cpu_threads": 2}
START_ASR = {"beam_size": 1, "vad_filter": True, "condition_on_previous_text": False}


def _variant(label: str, *specs: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    return label, list(specs)


def _cfg(model: dict[str, Any] | None = None, asr: dict[str, Any] | None = None,
         **kw: Any) -> dict[str, Any]:
    return {"model": {**START_MODEL, **(model or {})}, "transcribe": {**START_ASR, **(asr or {})},
            **kw}


def _halves(recs: list[BenchRecording]) -> tuple[list[BenchRecording], list[BenchRecording]]:
    """Split files into two sets of about equal audio (longest first)."""
    a: list[BenchRecording] = []
    b: list[BenchRecording] = []
    for r in sorted(recs, key=lambda r: -r.duration_s):
        (a if sum(x.duration_s for x in a) <= sum(x.duration_s for x in b) else b).append(r)
    return a, b


def experiments(names: list[str], recs: list[BenchRecording]) -> dict[str, list[Any]]:
    one, two = _halves(recs)
    one_t = {"model": {"cpu_threads": 1}}
    two_workers = {"cpu_threads": 1, "num_workers": 2}
    table: dict[str, list[Any]] = {
        "threads": [
            _variant("1 proc, cpu_threads=2 (start)", _cfg()),
            _variant("1 proc, cpu_threads=1", _cfg(**one_t)),
            _variant("2 procs x cpu_threads=1, files split",
                     _cfg(**one_t, files=[r.id for r in one]),
                     _cfg(**one_t, files=[r.id for r in two])),
            _variant("1 proc, num_workers=2 cpu_threads=1, channels in 2 threads",
                     _cfg({"cpu_threads": 1, "num_workers": 2}, parallel="channels")),
            _variant("1 proc, num_workers=2 cpu_threads=1, files in 2 threads",
                     _cfg({"cpu_threads": 1, "num_workers": 2}, parallel="files")),
        ],
        "beam": [
            _variant("beam 1 (start)", _cfg()),
            _variant("beam 2", _cfg(asr={"beam_size": 2})),
            _variant("beam 3", _cfg(asr={"beam_size": 3})),
            _variant("beam 5", _cfg(asr={"beam_size": 5})),
        ],
        "vad": [
            _variant("VAD defaults: min_silence 2000 ms, pad 400 ms (start)", _cfg()),
            _variant("min_silence 1000, pad 200",
                     _cfg(asr={"vad_parameters": {"min_silence_duration_ms": 1000,
                                                  "speech_pad_ms": 200}})),
            _variant("min_silence 500, pad 200",
                     _cfg(asr={"vad_parameters": {"min_silence_duration_ms": 500,
                                                  "speech_pad_ms": 200}})),
            _variant("min_silence 300, pad 100",
                     _cfg(asr={"vad_parameters": {"min_silence_duration_ms": 300,
                                                  "speech_pad_ms": 100}})),
            _variant("no VAD", _cfg(asr={"vad_filter": False})),
        ],
        "batched": [
            _variant("sequential (start)", _cfg()),
            _variant("BatchedInferencePipeline batch 4",
                     _cfg(asr={"beam_size": 1}, batch_size=4)),
            _variant("BatchedInferencePipeline batch 8",
                     _cfg(asr={"beam_size": 1}, batch_size=8)),
        ],
        "split": [
            _variant("channel split (start)", _cfg()),
            _variant("mono mix", _cfg(mode="mono")),
        ],
        "wordts": [
            _variant("segment timestamps (start)", _cfg()),
            _variant("word_timestamps, segments split at 1.0 s word gaps", _cfg(split_gap=1.0)),
        ],
        "context": [
            _variant("condition_on_previous_text=False (start)", _cfg()),
            _variant("condition_on_previous_text=True",
                     _cfg(asr={"condition_on_previous_text": True})),
        ],
        "proposed": [
            _variant("start", _cfg()),
            _variant("2 workers x 1 thread, files in 2 threads, word-gap split, beam 1",
                     _cfg(two_workers, parallel="files", split_gap=1.0)),
            _variant("2 workers x 1 thread, files in 2 threads, word-gap split, beam 3",
                     _cfg(two_workers, {"beam_size": 3}, parallel="files", split_gap=1.0)),
            _variant("2 workers x 1 thread, files in 2 threads, word-gap split, beam 5",
                     _cfg(two_workers, {"beam_size": 5}, parallel="files", split_gap=1.0)),
            _variant("  same, beam 3 + condition_on_previous_text",
                     _cfg(two_workers, {"beam_size": 3, "condition_on_previous_text": True},
                          parallel="files", split_gap=1.0)),
            _variant("  same, beam 5 + condition_on_previous_text",
                     _cfg(two_workers, {"beam_size": 5, "condition_on_previous_text": True},
                          parallel="files", split_gap=1.0)),
            _variant("batched 8, word-gap split, beam 1", _cfg(batch_size=8, split_gap=1.0)),
            _variant("batched 8, word-gap split, beam 5",
                     _cfg(asr={"beam_size": 5}, batch_size=8, split_gap=1.0)),
        ],
        "batched2": [
            _variant("batched 2, beam 5, split, 2 workers x 1 thread, files in 2 threads (now)",
                     _cfg(two_workers, {"beam_size": 5}, batch_size=2, split_gap=1.0,
                          parallel="files")),
            _variant("batched 8, word-gap split, beam 5",
                     _cfg(asr={"beam_size": 5}, batch_size=8, split_gap=1.0)),
            _variant("batched 8, beam 5, split, 2 workers x 1 thread, files in 2 threads",
                     _cfg(two_workers, {"beam_size": 5}, batch_size=8, split_gap=1.0,
                          parallel="files")),
            _variant("batched 4, beam 5, split, 2 workers x 1 thread, files in 2 threads",
                     _cfg(two_workers, {"beam_size": 5}, batch_size=4, split_gap=1.0,
                          parallel="files")),
            _variant("batched 4, beam 3, split, 2 workers x 1 thread, files in 2 threads",
                     _cfg(two_workers, {"beam_size": 3}, batch_size=4, split_gap=1.0,
                          parallel="files")),
            _variant("batched 8, beam 1, split, 2 workers x 1 thread, files in 2 threads",
                     _cfg(two_workers, {"beam_size": 1}, batch_size=8, split_gap=1.0,
                          parallel="files")),
        ],
        "compute": [
            _variant("int8 (start)", _cfg()),
            _variant("default compute type (float32 here)", _cfg({"compute_type": "default"})),
        ],
    }
    for name in names:
        if name not in table:
            raise SystemExit(f"unknown experiment {name!r}; choose from {', '.join(table)}")
    return {n: table[n] for n in names}


def run_experiments(names: list[str], recs: list[BenchRecording], workdir: Path,
                    cache: Path) -> dict[str, Any]:
    audio_s = sum(r.duration_s for r in recs)
    rec_json = {r.id: r.to_json() for r in recs}
    done: dict[str, Any] = {}  # the pipeline config runs once, shared across experiments
    results: dict[str, Any] = {}
    for name, variants in experiments(names, recs).items():
        rows = []
        for label, specs in variants:
            key = json.dumps(specs, sort_keys=True)
            if key not in done:
                children = []
                for spec in specs:
                    ids = spec.pop("files", None) or list(rec_json)
                    spec["recordings"] = [rec_json[i] for i in ids]
                    spec["model_cache"] = str(cache)
                    children.append(start_child("exp", spec, workdir))
                outs = [finish_child(p, o) for p, o in children]
                run_s = max(o["end"] for o in outs) - min(o["start"] for o in outs)
                print(f"  [{name}] {label}: {run_s:.1f} s", file=sys.stderr, flush=True)
                files = [f for o in outs for f in o["files"]]
                sc = score_side(recs, files)
                done[key] = {
                    "run_s": run_s, "audio_per_run_s": audio_s / run_s,
                    "cpu_s": sum(o["cpu_s"] for o in outs),
                    "load_s": max(o["load_s"] for o in outs),
                    "peak_rss_mb": sum(o["peak_rss_mb"] for o in outs),
                    "wer_headline": sc["headline"]["wer"], "wer_whole": sc["whole"]["wer"],
                    "bag_recall": sc["headline"]["bag_recall"],
                    "bag_precision": sc["headline"]["bag_precision"],
                }
            rows.append({"variant": label, **done[key]})
        results[name] = rows
    return results


def print_experiments(results: dict[str, Any], recs: list[BenchRecording], load: str) -> None:
    audio_s = sum(r.duration_s for r in recs)
    print(f"experiments on {len(recs)} recordings, {audio_s:.0f} s audio; load at start: {load}")
    print("start = the pipeline before tuning: int8, cpu_threads=2, beam 1, sequential decoder, "
          "Silero VAD, channel split, condition_on_previous_text=False, language given")
    print("run s = transcription wall after model load (decode included); WER = per-channel for "
          "stereo when channel-split, else whole-call; RSS summed over processes")
    for name, rows in results.items():
        print(f"\n[{name}]")
        print(f"  {'variant':62} {'audio/s':>7} {'run s':>7} {'CPU s':>7} {'RSS MB':>7} "
              f"{'WER':>6} {'whole':>6} {'bagR':>5} {'bagP':>5}")
        for row in rows:
            print(f"  {row['variant']:62} {row['audio_per_run_s']:7.2f} {row['run_s']:7.1f} "
                  f"{row['cpu_s']:7.1f} {row['peak_rss_mb']:7.0f} {row['wer_headline']:5.1f}% "
                  f"{row['wer_whole']:5.1f}% {row['bag_recall']:5.1f} {row['bag_precision']:5.1f}")


# --- main -------------------------------------------------------------------------------


def _uptime() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3]) + " (1/5/15 min)"
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fixtures only, no 10-minute call")
    ap.add_argument("--phone", action="store_true",
                    help="the phone set instead: four labelled corpus calls synthesized as 8 kHz "
                    "phone recordings by ../shared/tools/synth_calls.py (needs festival, sox)")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each side N times (alternating order), keep the fastest")
    ap.add_argument("--pipeline-language", choices=("fixed", "auto"), default="fixed",
                    help="fixed: the set's main language + per-manager languages from the "
                    "manifest (default); auto: language detection")
    ap.add_argument("--experiment", default=None,
                    help="comma list of threads,beam,vad,batched,split,wordts,context,compute,"
                    "proposed,batched2 or 'all'")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a pipeline Setting, e.g. --set beam_size=3 (repeatable)")
    ap.add_argument("--save", type=Path, default=None, metavar="JSON",
                    help="also write the --json document to this file")
    ap.add_argument("--baseline-from", type=Path, default=None, metavar="JSON",
                    help="reuse the baseline of an earlier --json run (same set) instead of "
                    "running it again; for tuning iterations only")
    ap.add_argument("--only", default=None,
                    help="comma list of recording ids to keep (e.g. no_contact_ru,long_call_ru)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="keep the benchmark files here (default: a temp folder, removed)")
    ap.add_argument("--side", choices=("baseline", "pipeline", "exp"), help=argparse.SUPPRESS)
    ap.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.side:
        spec = json.loads(args.spec.read_text(encoding="utf-8"))
        fn = {"baseline": side_baseline, "pipeline": side_pipeline, "exp": side_exp}[args.side]
        args.out.write_text(json.dumps(fn(spec), ensure_ascii=False), encoding="utf-8")
        return 0

    from auditor.config import Settings

    cache = Settings().model_cache
    _model_dir(cache)  # assemble once, before anything is timed
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="audit-speed-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        recs = prepare(workdir, args.quick, args.only.split(",") if args.only else None,
                       phone=args.phone)
        if args.experiment:
            names = (["threads", "beam", "vad", "batched", "split", "wordts", "context",
                      "compute", "proposed", "batched2"]
                     if args.experiment == "all" else args.experiment.split(","))
            load = _uptime()
            results = run_experiments(names, recs, workdir, cache)
            if args.json:
                print(json.dumps({"audio_s": sum(r.duration_s for r in recs), "load": load,
                                  "experiments": results}, ensure_ascii=False, indent=2))
            else:
                print_experiments(results, recs, load)
            return 0
        load = _uptime()
        language, languages = pipeline_languages(recs, args.pipeline_language)
        spec = {"recordings": [r.to_json() for r in recs], "model_cache": str(cache),
                "workdir": str(workdir), "root": str(workdir / "recordings"),
                "language": language, "languages": languages, "set": args.set}
        best: dict[str, dict[str, Any]] = {}
        sides: tuple[str, ...] = ("baseline", "pipeline")
        if args.baseline_from:
            # tuning iterations: reuse the baseline of an earlier --json run of the same set
            old = json.loads(args.baseline_from.read_text(encoding="utf-8"))
            if sorted(old["recordings"]) != sorted(r.id for r in recs):
                raise SystemExit(f"{args.baseline_from}: not the same recordings")
            best["baseline"] = {k: v for k, v in old["baseline"].items() if k != "scores"}
            best["baseline"]["reused_from"] = str(args.baseline_from)
            sides = ("pipeline",)
        for i in range(max(1, args.repeat)):
            order = sides if i % 2 == 0 else sides[::-1]
            for side in order:
                res = run_child(side, spec, workdir)
                if side not in best or res["wall_s"] < best[side]["wall_s"]:
                    best[side] = res
                if not args.json:
                    print(f"  run {i + 1} {side}: wall {res['wall_s']:.1f} s", file=sys.stderr,
                          flush=True)
        r = report(recs, best["baseline"], best["pipeline"], load)
        if args.save:
            args.save.write_text(json.dumps({**r, "set": [rec.to_json() for rec in recs]},
                                            ensure_ascii=False, indent=2), encoding="utf-8")
        if args.json:
            r["set"] = [rec.to_json() for rec in recs]
            print(json.dumps(r, ensure_ascii=False, indent=2))
        else:
            print_report(r, recs)
        return 0
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
