"""A distributed audit on Dask: the transcriptions run on a cluster's workers, the rest here.

``audit DIR --cluster tcp://HOST:8786`` uses a running Dask scheduler;
``--cluster local`` starts a ``LocalCluster`` on this machine (one worker
process per core, one thread each, bound to 127.0.0.1, no dashboard). The
driver (this process) discovers, probes, hashes and claims the recordings
and stores the results exactly as a local audit does: the only difference is
the :class:`ClusterTranscriber` the batch runner is given, whose
``transcribe`` sends the recording's bytes to a worker (each channel of a
stereo call to its own, as a local audit runs a lone file's channels side by
side) and merges what comes back into the transcript. Its ``workers`` is the
cluster's task slots, so the runner keeps every worker busy, longest file
first.

Faults: a worker that dies mid-file loses that file only; the scheduler
gives it to another worker (up to ``distributed.scheduler.allowed-failures``
deaths, then the file is recorded as failed), and an error raised while
transcribing is retried ``RETRIES`` times. A driver that dies leaves claims
the next run takes over (:mod:`auditor.store.recordings`). ``distributed``
(the extra ``auditor[cluster]``) is imported only here, inside functions,
and in :mod:`auditor.audit.cluster_worker`.
"""

from __future__ import annotations

import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from auditor.config import Settings
from auditor.errors import AudioError, AuditorError, ConfigError, ModelError
from auditor.records import AudioInfo, Transcript
from auditor.speech.model import model_id
from auditor.speech.transcriber import merge_runs

RETRIES = 1  # an error raised on a worker (not a dead worker: that is always redone)
CONNECT_TIMEOUT_S = 10


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError("--cluster needs Dask: pip install 'auditor[cluster]'") from None
    return distributed


class ClusterTranscriber:
    """A Transcriber whose transcriptions run on the workers of a Dask cluster."""

    def __init__(self, client: Any, settings: Settings, local: bool = False) -> None:
        """local: the cluster's workers are this machine's, started by cluster_client."""
        from auditor.audit.cluster_worker import ModelPlugin

        self.client = client
        self.settings = settings
        self.model_id = model_id(settings.model)
        # Only the workers with a GPU take the files when the driver asks for CUDA.
        self._resources = {"GPU": 1} if settings.device == "cuda" else None
        try:
            client.register_plugin(ModelPlugin(settings, ignore_sigint=local))
        except ModelError:
            raise
        except Exception as e:  # the plugin's own error, raised on a worker
            raise ModelError(f"a Dask worker cannot load the model: {e}") from None
        self.workers = max(1, self.slots())

    def slots(self) -> int:
        """Task slots of the cluster's workers (with a GPU only, under --device cuda)."""
        workers = self.client.scheduler_info(n_workers=-1)["workers"].values()
        if self._resources:
            return sum(1 for w in workers if w.get("resources", {}).get("GPU", 0) > 0)
        return sum(int(w.get("nthreads", 1)) for w in workers)

    def transcribe(self, path: Path, info: AudioInfo, language: str | None = None
                   ) -> tuple[Transcript, str]:
        from auditor.audit.cluster_worker import transcribe_bytes

        distributed = _distributed()
        language = language or self.settings.language
        data = path.read_bytes()
        # The two sides of a stereo call are two tasks: two workers take them
        # side by side when they are free (a lone long call at the end of a
        # batch is not left to one core), and the merge here is that of one pass.
        channels: list[int | None] = [0, 1] if info.channels == 2 else [None]
        futures = [self.client.submit(
            transcribe_bytes, data, path.suffix, info, language, channel,
            key=f"transcribe-{path.stem[:40]}-{'' if channel is None else f'ch{channel}-'}"
                f"{uuid.uuid4().hex[:8]}",
            pure=False, retries=RETRIES, resources=self._resources) for channel in channels]
        try:
            results = self.client.gather(futures)
        except distributed.KilledWorker as e:
            raise AudioError(f"transcription killed the Dask workers it ran on: {e}") from None
        finally:
            for future in futures:
                future.release()
        for _, worker_model in results:
            if worker_model != self.model_id:
                raise ModelError(f"a Dask worker has model {worker_model!r}, this run "
                                 f"{self.model_id!r}: install the same auditor on every machine")
        return merge_runs([runs for runs, _ in results], path, info, language,
                          self.settings.manager_channel, self.model_id)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored meanwhile, in the main thread: processes started now inherit that."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def cluster_client(address: str, settings: Settings) -> Iterator[Any]:
    """A Dask client of the scheduler at address, or of a new LocalCluster for 'local'."""
    distributed = _distributed()
    import dask

    # Recordings travel inside the tasks (so a dead worker's file can be
    # given to another): a long call is a few MB, which is expected here.
    with dask.config.set({"distributed.admin.large-graph-warning-threshold": "1GB"}):
        cluster = None
        try:
            if address == "local":
                gpu = settings.device == "cuda"
                with _sigint_ignored():  # the workers leave the terminal's Ctrl-C to us
                    cluster = distributed.LocalCluster(
                        n_workers=1 if gpu else settings.threads, threads_per_worker=1,
                        processes=True, host="127.0.0.1", dashboard_address=None,
                        resources={"GPU": 1} if gpu else None)
                client = distributed.Client(cluster)
            elif address.startswith(("tcp://", "tls://")):
                client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S)
            else:
                raise ConfigError(f"--cluster: 'local' or a scheduler address like "
                                  f"tcp://HOST:8786, not {address!r}")
        except (ConfigError, ModelError):
            raise
        except Exception as e:  # no scheduler there, a port in use
            if cluster is not None:
                cluster.close()
            raise AuditorError(f"--cluster {address}: cannot reach the Dask scheduler: "
                               f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
                               ) from None
        try:
            yield client
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
