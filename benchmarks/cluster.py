"""A distributed audit on one machine: what Dask costs against the local audit.

The fixtures plus the generated 10-minute call (benchmarks/_bench_audio.py)
are audited twice into fresh SQLite databases, each by its own `auditor
audit` process: locally (one CTranslate2 worker per core) and through
`--cluster local` (a LocalCluster of one worker process per core, one thread
each, on 127.0.0.1). Printed: audio seconds per wall second for both, end to
end (the process: start, model loading, cluster start, audit) and for the
audit alone (the runner's wall time), and the cluster's overhead; the two
runs' verdicts are compared.

    python benchmarks/cluster.py              # fixtures + the 10-minute call
    python benchmarks/cluster.py --quick      # fixtures only
    python benchmarks/cluster.py --repeat 2   # best of 2 per side, alternating order
    python benchmarks/cluster.py --json       # one JSON document on stdout
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _bench_audio import build_long_call, load_fixture_set  # noqa: E402

FIXTURES = ROOT / "fixtures" / "recordings"


def prepare(workdir: Path, quick: bool) -> tuple[Path, float]:
    """The benchmark set under workdir/recordings; (folder, seconds of audio)."""
    recs = load_fixture_set(FIXTURES)
    if not quick:
        recs.append(build_long_call([r for r in recs if r.language == "ru"], workdir / "long"))
    for rec in recs:
        dest = workdir / "recordings" / rec.rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(rec.path, dest)
    return workdir / "recordings", sum(r.duration_s for r in recs)


def audit(root: Path, db: Path, cache: Path, cluster: bool) -> dict[str, Any]:
    """One `auditor audit` process; its summary, process wall time and verdicts."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "auditor", "audit", str(root), "--db", str(db),
           "--model-cache", str(cache), "--format", "json", "--quiet"]
    if cluster:
        cmd += ["--cluster", "local"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = _PeakRss(proc.pid)
    peak.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    peak.stop.set()
    peak.join()
    if proc.returncode != 0:
        raise SystemExit(f"audit failed ({proc.returncode}): {stderr.strip()[-2000:]}")
    summary = json.loads(stdout)
    verdicts = {Path(i["path"]).name: i["verdict"] for i in summary["items"]}
    return {"process_s": wall, "run_s": summary["wall_s"], "audio_s": summary["audio_s"],
            "transcribed": summary["transcribed"], "peak_rss_gb": peak.total / 1e9,
            "peak_worker_rss_gb": peak.largest_child / 1e9, "verdicts": verdicts}


class _PeakRss(threading.Thread):
    """The peak memory of a process and its children (the Dask workers), sampled."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.total = 0
        self.largest_child = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil  # a dependency of distributed

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.stop.wait(0.25):
            try:
                kids = root.children(recursive=True)
                sizes = [k.memory_info().rss for k in kids if k.is_running()]
                self.total = max(self.total, root.memory_info().rss + sum(sizes))
                self.largest_child = max([self.largest_child, *sizes])
            except psutil.Error:
                continue


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fixtures only, no 10-minute call")
    ap.add_argument("--repeat", type=int, default=1, help="runs per side (best is kept)")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    ap.add_argument("--model-cache", type=Path,
                    default=Path(os.environ.get("AUDITOR_MODEL_CACHE",
                                                Path.home() / ".cache" / "auditor")))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        work = Path(tmp)
        root, audio_s = prepare(work, args.quick)
        best: dict[str, dict[str, Any]] = {}
        for n in range(args.repeat):
            order = ("local", "cluster") if n % 2 == 0 else ("cluster", "local")
            for side in order:
                r = audit(root, work / f"{side}.db", args.model_cache, side == "cluster")
                if side not in best or r["process_s"] < best[side]["process_s"]:
                    best[side] = r
    local, cluster = best["local"], best["cluster"]
    out = {
        "audio_s": audio_s, "cores": len(os.sched_getaffinity(0)),
        "local": {k: v for k, v in local.items() if k != "verdicts"},
        "cluster": {k: v for k, v in cluster.items() if k != "verdicts"},
        "speed_local": audio_s / local["process_s"],
        "speed_cluster": audio_s / cluster["process_s"],
        "speed_local_run": local["audio_s"] / local["run_s"],
        "speed_cluster_run": cluster["audio_s"] / cluster["run_s"],
        "overhead": cluster["process_s"] / local["process_s"] - 1.0,
        "overhead_run": cluster["run_s"] / local["run_s"] - 1.0,
        "same_verdicts": local["verdicts"] == cluster["verdicts"],
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{audio_s:.0f} s of audio, {out['cores']} cores; best of {args.repeat}")
    print(f"{'':28}{'local':>10}{'cluster':>10}")
    print(f"{'process wall s':28}{local['process_s']:>10.1f}{cluster['process_s']:>10.1f}")
    print(f"{'audio s / wall s (process)':28}{out['speed_local']:>10.2f}{out['speed_cluster']:>10.2f}")
    print(f"{'audit wall s (runner)':28}{local['run_s']:>10.1f}{cluster['run_s']:>10.1f}")
    print(f"{'audio s / wall s (runner)':28}{out['speed_local_run']:>10.2f}"
          f"{out['speed_cluster_run']:>10.2f}")
    print(f"{'peak RSS GB (all processes)':28}{local['peak_rss_gb']:>10.2f}"
          f"{cluster['peak_rss_gb']:>10.2f}")
    print(f"{'peak RSS GB (one worker)':28}{'':>10}{cluster['peak_worker_rss_gb']:>10.2f}")
    print(f"cluster overhead: {out['overhead']:+.1%} end to end, {out['overhead_run']:+.1%} "
          f"for the audit alone; same verdicts: {out['same_verdicts']}")


if __name__ == "__main__":
    main()
