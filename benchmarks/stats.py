#!/usr/bin/env python3
"""How fast `auditor stats` reads durations: files per second, WAV fast path vs PyAV.

Usage:
    python benchmarks/stats.py                 # 5,000 generated WAVs in a temp folder
    python benchmarks/stats.py --files 20000
    python benchmarks/stats.py --dir RECORDINGS  # a real folder instead

Generated recordings are short silent 8 kHz WAVs (the header is what is
read, so their length does not matter), under one folder per manager, named
like the default layout. Prints discovery, the full scan (fast path + threads)
and, for comparison, PyAV's probe on a sample.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import wave
from pathlib import Path

from auditor.config import Settings
from auditor.ingest.discovery import discover
from auditor.speech.audio import probe
from auditor.views.kpi import Targets, talk_time
from auditor.views.stats import scan_durations

MANAGERS = ("Ирина Соколова", "Павел Орлов", "John Smith", "Анна Ким", "Олег Белов")


def generate(root: Path, n: int) -> None:
    silence = b"\x00\x00" * 8000  # one second
    for i in range(n):
        folder = root / MANAGERS[i % len(MANAGERS)]
        folder.mkdir(parents=True, exist_ok=True)
        name = f"2026-11-{1 + i % 20:02d}_{9 + i % 9:02d}-{i // 60 % 60:02d}-{i % 60:02d}_+7912{i:07d}"
        with wave.open(str(folder / f"{name}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(silence * (1 + i % 3))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--pyav-sample", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
        root = args.dir or Path(tmp)
        if args.dir is None:
            t0 = time.perf_counter()
            generate(root, args.files)
            print(f"generated {args.files} WAVs in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        found = discover(root)
        t_discover = time.perf_counter() - t0
        scan = scan_durations(found, threads=args.threads)
        t0 = time.perf_counter()
        summary = talk_time(scan.calls, Targets.from_settings(Settings()))
        t_kpi = time.perf_counter() - t0
        n = len(found.recordings)
        total = t_discover + scan.seconds + t_kpi
        print(f"files:            {n} ({len(scan.problems)} unreadable)")
        print(f"discover:         {t_discover:.2f} s ({n / t_discover:,.0f} files/s)")
        print(f"durations:        {scan.seconds:.2f} s ({scan.files_per_s:,.0f} files/s)")
        print(f"KPIs:             {t_kpi:.3f} s ({len(summary.managers)} managers, "
              f"{len(summary.days)} manager-days)")
        print(f"stats end to end: {total:.2f} s = {n / total:,.0f} files/s")
        sample = [r.path for r in found.recordings[: args.pyav_sample]]
        if sample:
            t0 = time.perf_counter()
            for p in sample:
                probe(p)
            dt = time.perf_counter() - t0
            print(f"PyAV probe alone: {len(sample) / dt:,.0f} files/s (sample of {len(sample)}, "
                  f"one thread) - what the WAV fast path avoids")
    return 0


if __name__ == "__main__":
    sys.exit(main())
