"""`audit --cluster`: what needs no running cluster (the real cluster is in test_cluster.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.audit.cluster_worker import worker_settings
from auditor.cli import app
from auditor.config import Settings

from .conftest import RECORDINGS

runner = CliRunner()


def test_a_malformed_cluster_address_is_a_one_line_usage_error(tmp_path: Path) -> None:
    r = runner.invoke(app, ["audit", str(RECORDINGS), "--db", str(tmp_path / "a.db"),
                            "--cluster", "10.0.0.5:8786", "--quiet"])
    assert r.exit_code == 2
    assert "'local' or a scheduler address like tcp://HOST:8786" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_no_scheduler_at_the_address_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = runner.invoke(app, ["audit", str(RECORDINGS), "--db", str(tmp_path / "a.db"),
                            "--cluster", f"tcp://127.0.0.1:{port}", "--quiet"])
    assert r.exit_code == 1, r.output
    assert "cannot reach the Dask scheduler" in r.stderr


def test_distributed_is_imported_only_for_a_cluster_audit() -> None:
    code = ("import sys, auditor.cli, auditor.audit.runner, auditor.audit.cluster; "
            "assert 'distributed' not in sys.modules, 'imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("nthreads", "gpus", "device", "threads", "workers"), [
    (1, 0, "cpu", 1, 1),  # dask worker --nthreads 1: one file on one core
    (4, 0, "cpu", 4, 4),  # --nthreads 4: four files, one core each
    (1, 1, "cuda", 0, 1),  # --resources GPU=1: CUDA, one file at a time
])
def test_a_worker_runs_on_its_own_device_and_cores(nthreads: int, gpus: float, device: str,
                                                   threads: int, workers: int) -> None:
    s = worker_settings(Settings(beam_size=3, cpu_threads=0), nthreads, gpus)
    assert (s.device, s.cpu_threads, s.asr_workers) == (device, threads, workers)
    assert s.beam_size == 3  # the driver's decoder settings
    assert s.compute_type == ("float16" if gpus else "int8")


_FAULTS = """
import resource, sys
import numpy as np
from auditor.audit.cluster_worker import malloc_like_a_plain_process
undone = malloc_like_a_plain_process() if sys.argv[1] == "fix" else None
np.ones(1 << 18).sum()  # a 2 MB buffer, freed: glibc's dynamic threshold grows past it
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):  # a decode's temporaries: 2 MB buffers made and freed
    np.ones(1 << 18).sum()
print(undone, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_a_worker_allocates_like_a_plain_process_not_like_a_dask_nanny_s_child() -> None:
    """Dask's MALLOC_TRIM_THRESHOLD_ makes every large buffer fresh pages; the plugin undoes it."""
    import dask

    def faults(env: dict[str, str], how: str) -> tuple[str, int]:
        out = subprocess.run([sys.executable, "-c", _FAULTS, how], capture_output=True,
                             text=True, env=env, check=True).stdout.split()
        return out[0], int(out[1])

    plain = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    nanny = {**plain, **{k: str(v) for k, v in
                         dask.config.get("distributed.nanny.pre-spawn-environ").items()}}
    assert "MALLOC_TRIM_THRESHOLD_" in nanny  # else Dask changed its default: drop the fix
    assert faults(plain, "fix")[0] == "False"  # nothing to undo
    (_, in_plain), (_, in_nanny), (undone, fixed) = (
        faults(plain, "as-is"), faults(nanny, "as-is"), faults(nanny, "fix"))
    assert undone == "True"
    assert in_nanny > 50 * 200  # ~512 fresh pages per 2 MB buffer
    assert fixed < in_nanny / 10 and fixed < in_plain + 2000
