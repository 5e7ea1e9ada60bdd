"""`audit --cluster`: what needs no running cluster (the real cluster is in test_cluster.py)."""

from __future__ import annotations

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
