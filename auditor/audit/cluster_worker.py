"""The worker side of a distributed audit: one loaded model per Dask worker, recordings as bytes.

Imported by :mod:`auditor.audit.cluster` only when ``--cluster`` is given,
and by the Dask workers when the first task arrives: ``distributed`` is a
dependency of the extra ``auditor[cluster]`` only.

:class:`ModelPlugin` loads the model once when a worker joins (or is
restarted after a crash). The device is the worker's: one started with
``--resources GPU=1`` runs on CUDA, any other on its CPU, one core per task
slot (``--nthreads``). :func:`transcribe_bytes` writes the recording's bytes
to a temp file (the workers need no shared folder) and transcribes it, or
one channel of it: the driver merges the two channels of a stereo call.

The plugin also undoes a Dask default that costs the recogniser half again
its CPU time: a nanny starts its worker with ``MALLOC_TRIM_THRESHOLD_=65536``,
which fixes glibc's mmap threshold at 128 KB, so every large temporary buffer
of a decode is a fresh mmap and a round of page faults (measured on a 66 s
stereo call, one thread: 1.76 M page faults and 6.2 s system time against
0.44 M and 1.4 s in a plain process, 24 s wall against 16 s).
:func:`malloc_like_a_plain_process` sets the thresholds glibc's own dynamic
rule ends up at (mmap 32 MB, trim 64 MB): 0.48 M faults, 1.5 s system time.
"""

from __future__ import annotations

import ctypes
import os
import signal
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin, get_worker

from auditor.config import Settings
from auditor.records import AudioInfo
from auditor.speech.transcriber import ChannelRuns

PLUGIN = "auditor-model"

# glibc's mallopt parameters and the values its dynamic threshold rule reaches
# on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX, and twice that for the trim threshold)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 * 1024 * 1024
_TRIM_THRESHOLD = 2 * _MMAP_THRESHOLD


def malloc_like_a_plain_process() -> bool:
    """Large buffers from the heap again, as outside Dask (see the module doc); False off glibc."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return False  # glibc's dynamic thresholds are in force: nothing to undo
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): no such knob
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


def worker_settings(settings: Settings, nthreads: int, gpus: float) -> Settings:
    """The driver's settings as this worker runs them: its device, its cores, its model cache."""
    cache = os.environ.get("AUDITOR_MODEL_CACHE")
    if cache:
        settings = replace(settings, model_cache=Path(cache))
    if gpus > 0:
        compute = settings.compute_type if settings.device == "cuda" else "float16"
        return replace(settings, device="cuda", compute_type=compute, workers=1)
    # One CTranslate2 worker on one core per task slot: the cluster, not the
    # model, runs files side by side.
    return replace(settings, device="cpu", cpu_threads=max(1, nthreads), workers=max(1, nthreads))


class ModelPlugin(WorkerPlugin):
    """Loads the model once per worker process; the tasks use it."""

    name = PLUGIN

    def __init__(self, settings: Settings, ignore_sigint: bool = False) -> None:
        self.settings = settings
        self.ignore_sigint = ignore_sigint
        self.transcriber: Any = None

    def setup(self, worker: Any) -> None:
        from auditor.speech.transcriber import WhisperTranscriber

        if self.ignore_sigint and threading.current_thread() is threading.main_thread():
            # A LocalCluster's workers share the terminal of the audit: its
            # Ctrl-C is the driver's to handle (finish the files in flight).
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        malloc_like_a_plain_process()

        gpus = float(worker.state.total_resources.get("GPU", 0))
        settings = worker_settings(self.settings, worker.state.nthreads, gpus)
        transcriber = WhisperTranscriber(settings)
        _ = transcriber.model  # load now, not on the first file
        self.transcriber = transcriber

    def teardown(self, worker: Any) -> None:
        self.transcriber = None


def transcribe_bytes(data: bytes, suffix: str, info: AudioInfo, language: str,
                     channel: int | None = None) -> tuple[ChannelRuns, str]:
    """(channel runs, model id) of one recording sent as bytes; runs on a worker.

    channel: one side of a stereo call (0 left, 1 right), None for all of them.
    """
    plugin: Any = get_worker().plugins[PLUGIN]
    transcriber = plugin.transcriber
    fd, name = tempfile.mkstemp(prefix="auditor-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        runs = transcriber.channel_runs(Path(name), info, language, channel)
    finally:
        os.unlink(name)
    return runs, transcriber.model_id
