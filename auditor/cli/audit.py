"""Commands that touch audio: audit, transcribe."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from auditor.cli.common import (
    CallLogOpt,
    ConfigOpt,
    DbOpt,
    FormatOpt,
    LayoutOpt,
    LogColumnsOpt,
    QuietOpt,
    app,
    build_settings,
    check_choice,
    guarded,
)
from auditor.errors import ExitCode
from auditor.records import fmt_duration

ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="'base' (bundled, offline), a converted model folder, "
                 "or a faster-whisper model name (needs internet)."),
]
LanguageOpt = Annotated[
    str | None, typer.Option("--language", "-l", help="Spoken language: ru, en, ... or 'auto'.")
]
ChannelOpt = Annotated[
    str | None,
    typer.Option("--manager-channel", help="Stereo channel that carries the manager: left|right."),
]
CacheOpt = Annotated[
    Path | None, typer.Option("--model-cache", help="Where the bundled model is assembled.")
]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="cpu or cuda.")]
ComputeOpt = Annotated[
    str | None, typer.Option("--compute-type", help="int8 (CPU default), float16 (GPU), ...")
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", min=0, help="Transcriptions at once (files, stereo channels), "
                 "each on cores/workers threads; 0 = one per core (CPU), one on a GPU."),
]
BeamOpt = Annotated[int | None, typer.Option("--beam-size", min=1, help="Beam search width.")]
BatchOpt = Annotated[
    int | None,
    typer.Option("--batch-size", min=1, help="Speech chunks decoded together; 1 = the sequential "
                 "decoder. Raise it on a GPU (16 or more)."),
]


class _Progress:
    """A rich progress bar fed by the audit's events."""

    def __init__(self, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]audit"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[audio]}"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[current]}"),
            console=console,
            transient=True,
        )
        self.task: Any = None
        self.audio_done = 0.0
        self.audio_total = 0.0
        self.current: list[str] = []  # files in flight (several with --workers)
        self.lock = threading.Lock()  # events come from the audit's worker threads

    def started(self, total: int, audio_s: float) -> None:
        self.audio_total = audio_s
        self.progress.start()
        self.task = self.progress.add_task("audit", total=total, current="",
                                           audio=self._audio())

    def _audio(self) -> str:
        return f"{self.audio_done / 60:.1f}/{self.audio_total / 60:.1f} audio min"

    def file_started(self, path: Path) -> None:
        with self.lock:
            self.current.append(path.name)
            self.progress.update(self.task, current=", ".join(self.current))

    def file_done(self, item: Any) -> None:
        with self.lock:
            if item.status == "done" and item.duration_s:
                self.audio_done += item.duration_s
            if item.path.name in self.current:
                self.current.remove(item.path.name)
            self.progress.update(self.task, advance=1, audio=self._audio(),
                                 current=", ".join(self.current))

    def stop(self) -> None:
        self.progress.stop()


def summary_table(summary: Any, root: Path, redact: bool = False) -> Any:
    """The end-of-audit table, one line per recording at any terminal width.

    File names are relative to the audited folder and, where the terminal is
    narrow, elided in the middle (their start and end both tell which call).
    """
    from auditor.redact import redact_path
    from auditor.views.reports.table import Fit, FittedTable

    base = root if root.is_dir() else root.parent
    # The file is cut last, and the verdict never: they say which call and what of it.
    cols = [Fit("file", min_width=20, elide="middle", shrink=0), Fit("manager"),
            Fit("length", numeric=True, flexible=False), Fit("call type"),
            Fit("verdict", flexible=False), Fit("missing stages or error", min_width=10)]
    colors = {"ok": "green", "missed_opportunity": "red", "incomplete": "yellow",
              "exempt": "cyan", "no_contact": "dim", "failed": "red"}
    rows = []
    for item in summary.items:
        try:
            name = str(item.path.relative_to(base))
        except ValueError:
            name = str(item.path)
        if redact:
            name = redact_path(name)
        verdict = item.verdict if item.status == "done" else item.status
        last = (", ".join(item.missing) if item.status == "done" else
                redact_path(item.error or "") if redact else (item.error or ""))
        rows.append([(name, ""), (item.manager or "-", ""), (fmt_duration(item.duration_s), ""),
                     (item.call_type or "-", ""), (verdict or "-", colors.get(verdict or "", "")),
                     (last, "")])
    return FittedTable("Audit", cols, rows)


def _summary_table(summary: Any, root: Path, console: Any, redact: bool = False) -> None:
    from rich.markup import escape

    from auditor.redact import redact_path

    console.print(summary_table(summary, root, redact))
    counts: dict[str, int] = {}
    for item in summary.items:
        key = item.verdict if item.status == "done" else item.status
        counts[key or "?"] = counts.get(key or "?", 0) + 1
    totals = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    console.print(
        f"{len(summary.items)} recordings ({totals}); {summary.transcribed} transcribed, "
        f"{len(summary.items) - summary.transcribed - len(summary.failed)} from cache; "
        f"{summary.audio_s / 60:.1f} audio min in {summary.wall_s:.1f} s"
    )
    if summary.skipped:
        console.print(f"{len(summary.skipped)} non-audio files skipped")
    for path, why in summary.problems:
        shown = redact_path(str(path)) if redact else str(path)
        console.print(f"[yellow]skipped {escape(shown)}: {escape(why)}[/yellow]")


@app.command()
def audit(
    recordings: Annotated[Path, typer.Argument(help="Folder of call recordings (or one file).")],
    db: DbOpt = None,
    config: ConfigOpt = None,
    model: ModelOpt = None,
    model_cache: CacheOpt = None,
    language: LanguageOpt = None,
    manager_channel: ChannelOpt = None,
    device: DeviceOpt = None,
    compute_type: ComputeOpt = None,
    workers: WorkersOpt = None,
    beam_size: BeamOpt = None,
    batch_size: BatchOpt = None,
    only_short: Annotated[
        bool, typer.Option("--only-short", help="Transcribe only calls under the short-call "
                           "threshold (the head of sales' triage).")
    ] = False,
    short_call_s: Annotated[
        float | None, typer.Option("--short-call-s", help="Short-call threshold in seconds.")
    ] = None,
    redact: Annotated[
        bool, typer.Option("--redact", help="Mask phone numbers, card numbers and e-mails in "
                           "stored transcripts and client numbers, and in what is shown.")
    ] = False,
    quiet: QuietOpt = False,
    output: FormatOpt = "table",
    layout: LayoutOpt = None,
    call_log: CallLogOpt = None,
    call_log_columns: LogColumnsOpt = None,
    cluster: Annotated[
        str | None, typer.Option("--cluster", help="Transcribe on a Dask cluster: 'local' (one "
                                 "worker process per core on 127.0.0.1) or a scheduler's "
                                 "tcp://HOST:8786; needs auditor[cluster].")
    ] = None,
) -> None:
    """Transcribe, analyse and store every recording under a folder.

    Recordings already transcribed (same audio, model and language) are not
    transcribed again; a failed file is recorded with its reason and the batch
    goes on. Exit code 0: all done; 1: the audit could not run (e.g. the model
    cannot be loaded); 3: some recordings failed; 130: interrupted.

    Example: auditor audit fixtures/recordings --db audit.db

    Several machines: --db postgresql://auditor@dbhost/calls --cluster tcp://dbhost:8786
    """
    from rich.console import Console

    check_choice(output, ("table", "json"), "--format")
    console = Console(stderr=False)
    with guarded():
        from auditor import store
        from auditor.audit.runner import Auditor

        settings = build_settings(
            config, db=db, model=model, model_cache=model_cache, language=language,
            manager_channel=manager_channel, device=device, compute_type=compute_type,
            workers=workers, beam_size=beam_size, batch_size=batch_size,
            short_call_s=short_call_s, redact=redact or None,
        )
        from auditor.cli.common import discover_for_cli, print_discovery_notes

        found = discover_for_cli(recordings, layout, call_log, call_log_columns)
        if not quiet and output != "json":
            print_discovery_notes(found, Console(stderr=True), redact=settings.redact)
        engine = store.make_engine(settings.db)
        stack = contextlib.ExitStack()
        if cluster:
            from auditor.audit.cluster import ClusterTranscriber, cluster_client

            client = stack.enter_context(cluster_client(cluster, settings))
            try:
                transcriber = ClusterTranscriber(client, settings, local=cluster == "local")
            except BaseException:
                stack.close()
                raise
            auditor = Auditor(settings, engine, transcriber=transcriber)
        else:
            auditor = Auditor(settings, engine)
        stop = threading.Event()

        def _on_sigint(_sig: int, _frame: Any) -> None:
            if stop.is_set():
                # A second Ctrl-C: leave now, without waiting for the files in
                # flight. Committed work is safe; those files are redone on resume.
                typer.echo("aborted: the files in flight are redone on the next run", err=True)
                os._exit(ExitCode.INTERRUPTED)
            stop.set()
            typer.echo("stopping after the files in flight (Ctrl-C again to abort now)", err=True)

        previous = signal.signal(signal.SIGINT, _on_sigint)
        progress = _Progress(console) if not quiet and console.is_terminal else None
        try:
            with stack:
                summary = auditor.run(recordings, events=progress, stop=stop,
                                      only_short=only_short, found=found)
        finally:
            signal.signal(signal.SIGINT, previous)
            if progress is not None:
                progress.stop()
    if output == "json":
        typer.echo(json.dumps(_summary_json(summary, settings.redact), ensure_ascii=False,
                              indent=2))
    elif not quiet:
        _summary_table(summary, recordings, console, redact=settings.redact)
        if only_short:
            console.print(f"{summary.not_short} calls at or over the short-call threshold skipped")
    if summary.interrupted:
        typer.echo("interrupted: finished work is saved; run the same command again to resume",
                   err=True)
        raise typer.Exit(ExitCode.INTERRUPTED)
    if summary.failed:
        typer.echo(f"{len(summary.failed)} recording(s) failed; see the table or "
                   f"'auditor calls --status failed'", err=True)
        raise typer.Exit(ExitCode.SOME_FAILED)
    raise typer.Exit(ExitCode.OK)


def _summary_json(summary: Any, redact: bool = False) -> dict[str, Any]:
    from auditor.redact import redact_path

    def shown(p: Any) -> str:
        return redact_path(str(p)) if redact else str(p)

    return {
        "items": [
            {"path": shown(i.path), "recording_id": i.recording_id, "manager": i.manager,
             "status": i.status, "duration_s": i.duration_s, "call_type": i.call_type,
             "verdict": i.verdict, "missing": i.missing, "error": i.error,
             "transcribed": i.transcribed}
            for i in summary.items
        ],
        "skipped": [shown(p) for p in summary.skipped],
        "problems": [{"path": shown(p), "reason": shown(r)} for p, r in summary.problems],
        "failed": len(summary.failed),
        "not_short": summary.not_short,
        "interrupted": summary.interrupted,
        "transcribed": summary.transcribed,
        "audio_s": summary.audio_s,
        "wall_s": summary.wall_s,
        "timings": summary.timings,
    }


def _srt_time(t: float, sep: str) -> str:
    ms = int(round(t * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def format_transcript(doc: Any, fmt: str) -> str:
    """Render a transcript as txt, json, srt or vtt."""
    segs = doc.segments
    if fmt == "json":
        return json.dumps(
            {"language": doc.language, "duration_s": doc.duration_s, "model": doc.model,
             "channels": [c.to_dict() for c in doc.channels],
             "dropped": [s.to_dict() for s in doc.dropped],
             "segments": [s.to_dict() for s in segs]},
            ensure_ascii=False, indent=2,
        )
    if fmt in ("srt", "vtt"):
        sep = "," if fmt == "srt" else "."
        lines = ["WEBVTT", ""] if fmt == "vtt" else []
        for n, s in enumerate(segs, 1):
            if fmt == "srt":
                lines.append(str(n))
            lines.append(f"{_srt_time(s.start, sep)} --> {_srt_time(s.end, sep)}")
            lines.append(f"{s.speaker}: {s.text}" if fmt == "srt" else
                         f"<v {s.speaker}>{s.text}")
            lines.append("")
        return "\n".join(lines)
    return "\n".join(f"[{fmt_duration(s.start)}-{fmt_duration(s.end)}] {s.speaker}: {s.text}"
                     for s in segs)


@app.command()
def transcribe(
    file: Annotated[Path, typer.Argument(help="One recording.", exists=True, dir_okay=False)],
    config: ConfigOpt = None,
    model: ModelOpt = None,
    model_cache: CacheOpt = None,
    language: LanguageOpt = None,
    manager_channel: ChannelOpt = None,
    device: DeviceOpt = None,
    compute_type: ComputeOpt = None,
    workers: WorkersOpt = None,
    beam_size: BeamOpt = None,
    batch_size: BatchOpt = None,
    output: FormatOpt = "txt",
) -> None:
    """Print the transcript of one recording by speaker with timestamps.

    Stereo recordings give the speaker by channel (manager on the left by
    default); mono recordings give speaker 'unknown'.

    Example: auditor transcribe call.wav --format srt
    """
    check_choice(output, ("txt", "json", "srt", "vtt"), "--format")
    with guarded():
        from auditor.speech.audio import probe
        from auditor.speech.transcriber import WhisperTranscriber

        settings = build_settings(
            config, model=model, model_cache=model_cache, language=language,
            manager_channel=manager_channel, device=device, compute_type=compute_type,
            workers=workers, beam_size=beam_size, batch_size=batch_size,
        )
        info = probe(file)
        doc, _mode = WhisperTranscriber(settings).transcribe(file, info)
    typer.echo(format_transcript(doc, output))
