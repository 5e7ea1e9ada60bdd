"""Messy archives, killed runs and concurrent runs lose nothing and duplicate nothing.

Here: bad recordings of every kind, SIGKILL and SIGINT, concurrent runs,
hours-long recordings. Elsewhere, next to the code they exercise: bad
transcripts for `analyze` (test_analysis_loaders.py, test_analysis_cli.py),
a broken auditor.toml (test_config.py, test_cli.py), schema versions and
migrations (test_store.py), HTML escaping and CSV formula neutralising
(test_report.py, test_review.py), redaction (test_redact*.py).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.records import VERDICTS

from .audio_gen import silence, speech, write_encoded, write_wav
from .conftest import RECORDINGS
from .dbs import new_db, row_counts

runner = CliRunner()
# Runs real speech recognition (the messy folder is audited with Whisper once).
slow = pytest.mark.slow
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def audit_json(root: Path, db: Path, model_cache: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    r = runner.invoke(app, ["audit", str(root), "--db", str(db), "--model-cache", str(model_cache),
                            "--format", "json", *extra])
    assert r.stdout.lstrip().startswith("{"), r.output
    return r.exit_code, json.loads(r.stdout)


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> dict[str, Any]:
    """A folder with every kind of bad and odd recording, audited once."""
    root = tmp_path_factory.mktemp("messy") / "calls"
    m = root / "Ирина"
    left, right = speech(10)
    good = write_wav(m / "2026-11-02_10-00-00_+79120000001.wav", [left, right], 8000)
    (m / "zero.wav").parent.mkdir(parents=True, exist_ok=True)
    (m / "zero.wav").write_bytes(b"")
    data = good.read_bytes()
    (m / "truncated.wav").write_bytes(data[: len(data) // 2])
    mp3 = write_encoded(m / "full.mp3", [left, right], "mp3", rate=22050)
    (m / "truncated.mp3").write_bytes(mp3.read_bytes()[: mp3.stat().st_size // 2])
    (m / "text.mp3").write_text("это не звук, а текст\n" * 20, encoding="utf-8")
    (m / "image.wav").write_bytes(PNG)
    write_wav(m / "tiny.wav", [left[:4800]], 16000)  # 0.3 s
    write_wav(m / "silence.wav", [silence(8), silence(8)], 8000)
    for rate in (8000, 11025, 16000, 44100, 48000):
        write_wav(root / "Павел" / f"rate_{rate}.wav", [left, right], rate)
    write_wav(root / "Павел" / "mono.wav", [left + right], 8000)
    write_wav(root / "Павел" / "six.wav", [left, right, left, right, left, right], 48000)
    odd = root / "Павел" / "Звонок \"клиенту\" 'срочно'\nвторая строка.wav"
    write_wav(odd, [left, right], 8000)
    os.symlink("../Павел", root / "Павел" / "loop")  # a symlink loop
    os.symlink("/nonexistent/recording.wav", root / "Павел" / "dangling.wav")
    db = root.parent / "audit.db"
    code, summary = audit_json(root, db, model_cache)
    items = {Path(i["path"]).name: i for i in summary["items"]}
    return {"root": root, "db": db, "code": code, "summary": summary, "items": items}


@slow
def test_batch_finishes_and_exit_code_says_some_failed(messy: dict[str, Any]) -> None:
    assert messy["code"] == 3
    assert messy["items"]["2026-11-02_10-00-00_+79120000001.wav"]["status"] == "done"


@slow
@pytest.mark.parametrize("name", ["zero.wav", "text.mp3", "image.wav", "dangling.wav"])
def test_unusable_files_are_failed_with_a_one_line_reason(messy: dict[str, Any], name: str) -> None:
    item = messy["items"][name]
    assert item["status"] == "failed"
    assert item["error"] and "\n" not in item["error"]
    with sqlite3.connect(messy["db"]) as con:
        status, error = con.execute(
            "SELECT status, error FROM recording WHERE path LIKE ?", (f"%{name}",)
        ).fetchone()
    assert status == "failed" and error == item["error"]


@slow
def test_a_wav_cut_in_half_is_failed_as_truncated(messy: dict[str, Any]) -> None:
    item = messy["items"]["truncated.wav"]
    assert (item["status"], item["error"]) == ("failed",
                                               "truncated: header says 0:10, file holds 0:05")


def _heard(db: Path, name: str) -> str:
    with sqlite3.connect(db) as con:
        (segments,) = con.execute(
            "SELECT t.segments_json FROM transcript t JOIN recording r ON r.sha256 = t.sha256 "
            "WHERE r.path LIKE ?", (f"%{name}",)
        ).fetchone()
    return " ".join(s["text"].lower() for s in json.loads(segments))


@slow
def test_an_intact_mp3_is_audited_like_the_wav_it_came_from(messy: dict[str, Any]) -> None:
    item = messy["items"]["full.mp3"]
    assert item["status"] == "done" and item["verdict"] in VERDICTS, item
    assert item["duration_s"] == pytest.approx(10.0, abs=0.1)
    assert "директор" in _heard(messy["db"], "full.mp3")


@slow
def test_a_cut_mp3_is_audited_for_what_is_there(messy: dict[str, Any]) -> None:
    # Audited for the frames that are there (the length in its Xing header is not checked).
    item = messy["items"]["truncated.mp3"]
    assert item["status"] == "done" and item["verdict"] in VERDICTS, item


def _truncated_wav(path: Path, header_s: float, holds_s: float, rate: int = 8000) -> Path:
    """A real recording whose header promises header_s seconds, cut to holds_s of data."""
    import numpy as np

    left, _ = speech(10)
    reps = int(np.ceil(header_s / 10))
    write_wav(path, [np.tile(left, reps)[: int(header_s * 16000)]], rate)
    with path.open("r+b") as f:
        f.truncate(44 + int(holds_s * rate) * 2)  # 44-byte header, 16-bit mono
    return path


def test_a_truncated_wav_is_failed_with_what_its_header_promised(
    tmp_path: Path, model_cache: Path
) -> None:
    root = tmp_path / "calls"
    _truncated_wav(root / "Ирина" / "cut.wav", header_s=180.0, holds_s=0.1)
    _truncated_wav(root / "Ирина" / "half.wav", header_s=125.0, holds_s=70.0)
    code, summary = audit_json(root, tmp_path / "a.db", model_cache)
    assert code == 3
    items = {Path(i["path"]).name: i for i in summary["items"]}
    expected = {"cut.wav": "truncated: header says 3:00, file holds 0:00",
                "half.wav": "truncated: header says 2:05, file holds 1:10"}
    for name, error in expected.items():
        assert (items[name]["status"], items[name]["verdict"], items[name]["error"]) == (
            "failed", None, error)
    with sqlite3.connect(tmp_path / "a.db") as con:
        rows = dict(con.execute("SELECT path, status || ': ' || error FROM recording"))
        assert con.execute("SELECT COUNT(*) FROM analysis").fetchone()[0] == 0
        assert con.execute("SELECT COUNT(*) FROM transcript").fetchone()[0] == 0
    assert {Path(p).name: v for p, v in rows.items()} == {
        name: f"failed: {error}" for name, error in expected.items()}


def test_a_wav_missing_under_a_second_or_never_finalised_is_not_truncated(tmp_path: Path) -> None:
    from auditor.errors import AudioError
    from auditor.speech.audio import probe

    nearly = _truncated_wav(tmp_path / "nearly.wav", header_s=20.0, holds_s=19.5)
    assert probe(nearly).duration_s == pytest.approx(19.5, abs=0.01)
    # A streaming writer that never filled in the data size: the file is what there is.
    live = _truncated_wav(tmp_path / "live.wav", header_s=10.0, holds_s=10.0)
    with live.open("r+b") as f:
        f.seek(40)
        f.write(b"\xff\xff\xff\xff")
    assert probe(live).duration_s == pytest.approx(10.0, abs=0.01)
    with pytest.raises(AudioError, match=r"^truncated: header says 0:20, file holds 0:18$"):
        probe(_truncated_wav(tmp_path / "cut.wav", header_s=20.0, holds_s=18.4))


@slow
@pytest.mark.parametrize("name", ["tiny.wav", "silence.wav"])
def test_silence_and_very_short_calls_are_no_contact(messy: dict[str, Any], name: str) -> None:
    item = messy["items"][name]
    assert (item["status"], item["call_type"], item["verdict"]) == ("done", "no_contact",
                                                                      "no_contact")


@slow
@pytest.mark.parametrize("rate", [8000, 11025, 16000, 44100, 48000])
def test_every_sample_rate_is_transcribed(messy: dict[str, Any], rate: int) -> None:
    item = messy["items"][f"rate_{rate}.wav"]
    assert item["status"] == "done"
    with sqlite3.connect(messy["db"]) as con:
        (segments,) = con.execute(
            "SELECT t.segments_json FROM transcript t JOIN recording r ON r.sha256 = t.sha256 "
            "WHERE r.path LIKE ?", (f"%rate_{rate}.wav",)
        ).fetchone()
    segs = json.loads(segments)
    assert {s["speaker"] for s in segs} == {"manager", "client"}
    assert "директор" in " ".join(s["text"].lower() for s in segs)


@slow
@pytest.mark.parametrize("name", ["mono.wav", "six.wav"])
def test_mono_and_surround_are_one_unknown_speaker(messy: dict[str, Any], name: str) -> None:
    assert messy["items"][name]["status"] == "done"
    with sqlite3.connect(messy["db"]) as con:
        (segments,) = con.execute(
            "SELECT t.segments_json FROM transcript t JOIN recording r ON r.sha256 = t.sha256 "
            "WHERE r.path LIKE ?", (f"%{name}",)
        ).fetchone()
    assert {s["speaker"] for s in json.loads(segments)} == {"unknown"}


@slow
def test_odd_file_names_survive(messy: dict[str, Any]) -> None:
    name = "Звонок \"клиенту\" 'срочно'\nвторая строка.wav"
    assert messy["items"][name]["status"] == "done"


@slow
def test_symlink_loop_is_reported_not_followed_forever(messy: dict[str, Any]) -> None:
    reasons = [p["reason"] for p in messy["summary"]["problems"]]
    assert any("symlink loop" in r for r in reasons)
    # files under the loop are not audited twice
    names = [Path(i["path"]).name for i in messy["summary"]["items"]]
    assert names.count("mono.wav") == 1


@slow
def test_database_has_one_row_per_file_and_is_intact(messy: dict[str, Any]) -> None:
    with sqlite3.connect(messy["db"]) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        paths = [p for (p,) in con.execute("SELECT path FROM recording")]
    assert len(paths) == len(set(paths)) == len(messy["summary"]["items"])


@slow
def test_unreadable_file_is_failed(tmp_path: Path, model_cache: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads any file, so the permission error is injected where the file is opened."""
    left, right = speech(4)
    root = tmp_path / "calls"
    ok = write_wav(root / "a" / "ok.wav", [left, right], 8000)
    locked = write_wav(root / "a" / "locked.wav", [left, right], 8000)
    from auditor.audit import file as pipeline

    real = pipeline.file_sha256

    def deny(path: Path) -> str:
        if path.name == locked.name:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(pipeline, "file_sha256", deny)
    code, summary = audit_json(root, tmp_path / "a.db", model_cache)
    items = {Path(i["path"]).name: i for i in summary["items"]}
    assert code == 3
    assert items["locked.wav"]["status"] == "failed"
    assert "Permission denied" in items["locked.wav"]["error"]
    assert items[ok.name]["status"] == "done"


def _auditor_cmd(root: Path, db: Path | str, model_cache: Path) -> list[str]:
    return [sys.executable, "-m", "auditor", "audit", str(root), "--db", str(db),
            "--model-cache", str(model_cache), "--quiet"]


def _small_set(dest: Path, n: int = 4) -> Path:
    """A few short real calls under their manager folders."""
    manifest = json.loads((RECORDINGS / "manifest.json").read_text(encoding="utf-8"))
    recs = sorted(manifest["recordings"], key=lambda r: r["duration_s"])[:n]
    for r in recs:
        target = dest / r["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(RECORDINGS / r["path"], target)
    return dest


def _counts(db: Path | str) -> dict[str, int]:
    return row_counts(str(db))


@slow
def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    tmp_path: Path, model_cache: Path
) -> None:
    root = _small_set(tmp_path / "calls")
    n = sum(1 for _ in root.rglob("*.wav"))
    db = tmp_path / "a.db"
    rng = random.Random(7)
    transcripts_seen = 0
    for _ in range(3):
        proc = subprocess.Popen(_auditor_cmd(root, db, model_cache),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(2.0, 9.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if db.exists():
            counts = _counts(db)
            assert counts["recordings"] == counts["distinct_paths"] <= n
            assert counts["transcripts"] >= transcripts_seen  # finished work is kept
            transcripts_seen = counts["transcripts"]
    done = subprocess.run(_auditor_cmd(root, db, model_cache) + ["--format", "json"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    counts = _counts(db)
    assert counts == {"recordings": n, "distinct_paths": n, "transcripts": n, "analyses": n,
                      "done": n}
    # only what the killed runs had not finished was transcribed in the last run
    assert summary["transcribed"] == n - transcripts_seen


def _started_audit(root: Path, db: Path, model_cache: Path) -> subprocess.Popen[str]:
    """An audit subprocess, returned once it is working on its first recordings."""
    proc = subprocess.Popen(_auditor_cmd(root, db, model_cache), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        if db.exists() and _recordings(db):
            break
        time.sleep(0.2)
    return proc


def _recordings(db: Path) -> int:
    """Recordings stored so far; 0 while the audit has made the file but not yet its tables."""
    con = sqlite3.connect(db)
    try:
        return int(con.execute("SELECT COUNT(*) FROM recording").fetchone()[0])
    except sqlite3.OperationalError:  # no such table: the schema is being created
        return 0
    finally:
        con.close()


@slow
def test_a_second_sigint_leaves_at_once_and_the_next_run_redoes_the_files_in_flight(
    tmp_path: Path, model_cache: Path
) -> None:
    root = _small_set(tmp_path / "calls")
    n = sum(1 for _ in root.rglob("*.wav"))
    db = tmp_path / "a.db"
    proc = _started_audit(root, db, model_cache)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "aborted" in err
    assert _counts(db)["done"] < n  # it did not wait for the files in flight
    again = subprocess.run(_auditor_cmd(root, db, model_cache) + ["--format", "json"],
                           capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    counts = _counts(db)
    assert counts["done"] == counts["transcripts"] == counts["distinct_paths"] == n


class _SignalledAsr:
    """A fake recogniser, two files at a time, that sends the audit a real SIGINT.

    Once both files in flight have started, the first sends SIGINT to this
    process; both finish only after the audit's handler has set its stop
    event, so exactly the two files in flight are done, whatever the timing.
    """

    model_id = "fake"
    workers = 2
    stop: threading.Event | None = None  # the audit's, caught on its way into Auditor.run
    signal_once = True
    asked: list[str] = []

    def __init__(self, settings: object) -> None:
        self.both_started = threading.Barrier(2)
        self.lock = threading.Lock()

    def transcribe(self, path: Path, info: Any, language: str | None = None) -> tuple[Any, str]:
        from auditor.records import Transcript

        cls = type(self)
        if cls.signal_once:
            self.both_started.wait(timeout=30)
            with self.lock:
                first, cls.signal_once = cls.signal_once, False
            if first:
                os.kill(os.getpid(), signal.SIGINT)
            assert cls.stop is not None and cls.stop.wait(timeout=30), "SIGINT not handled"
        cls.asked.append(path.name)
        return Transcript([], language=language or "ru", duration_s=info.duration_s,
                          model="fake"), "mono"


def test_sigint_finishes_the_files_in_flight_starts_no_other_and_says_how_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.audit import runner as pipeline
    from auditor.speech import transcriber as asr

    from .conftest_reports import write_wav as silent_wav

    root = tmp_path / "calls"
    for n in range(5):  # lengths differ, so no two share a transcript
        silent_wav(root / "Ирина" / f"call-{n}.wav", 1.0 + n / 10)
    real_run = pipeline.Auditor.run

    def run(self: Any, *args: Any, **kw: Any) -> Any:
        _SignalledAsr.stop = kw["stop"]
        return real_run(self, *args, **kw)

    monkeypatch.setattr(pipeline.Auditor, "run", run)
    monkeypatch.setattr(asr, "WhisperTranscriber", _SignalledAsr)
    monkeypatch.setattr(_SignalledAsr, "asked", [])
    db = tmp_path / "a.db"
    r = runner.invoke(app, ["audit", str(root), "--db", str(db), "--quiet"])
    assert r.exit_code == 130, r.output
    assert "stopping after the files in flight" in r.stderr
    assert "run the same command again to resume" in r.stderr
    # The two longest (started first) were in flight and are finished; none other began.
    assert sorted(_SignalledAsr.asked) == ["call-3.wav", "call-4.wav"]
    counts = _counts(db)
    assert counts == {"recordings": 2, "distinct_paths": 2, "transcripts": 2, "analyses": 2,
                      "done": 2}
    again = runner.invoke(app, ["audit", str(root), "--db", str(db), "--format", "json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["transcribed"] == 3  # only the rest
    assert sorted(_SignalledAsr.asked) == [f"call-{n}.wav" for n in range(5)]
    assert _counts(db)["done"] == 5


@slow
@pytest.mark.usefixtures("db_backend")  # SQLite, and PostgreSQL's row locks
def test_two_concurrent_runs_on_overlapping_folders_transcribe_each_file_once(
    tmp_path: Path, model_cache: Path
) -> None:
    root = _small_set(tmp_path / "calls")
    n = sum(1 for _ in root.rglob("*.wav"))
    db = new_db(tmp_path, "shared.db")
    managers = sorted(p for p in root.iterdir() if p.is_dir())
    cmd_a = _auditor_cmd(root, db, model_cache) + ["--format", "json"]  # everything
    cmd_b = _auditor_cmd(managers[0], db, model_cache) + ["--format", "json"]  # a subset
    a = subprocess.Popen(cmd_a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    b = subprocess.Popen(cmd_b, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_a, err_a = a.communicate(timeout=600)
    out_b, err_b = b.communicate(timeout=600)
    assert a.returncode == 0, err_a
    assert b.returncode == 0, err_b
    transcribed = json.loads(out_a)["transcribed"] + json.loads(out_b)["transcribed"]
    counts = _counts(db)
    assert counts["transcripts"] == n
    assert transcribed == n  # nobody transcribed a file twice
    # the subset run may leave files to the other run; a re-run finds nothing to do
    again = subprocess.run(_auditor_cmd(root, db, model_cache) + ["--format", "json"],
                           capture_output=True, text=True, check=False)
    assert json.loads(again.stdout)["transcribed"] == 0
    assert _counts(db)["done"] == n


@slow
def test_hours_long_recording_is_streamed_in_bounded_memory(
    tmp_path: Path, model_cache: Path
) -> None:
    left, right = speech(10)
    root = tmp_path / "calls"
    # 2 h 05 min, mostly silence (a line left open), speech at the start and the end.
    parts = [left, silence(2 * 3600 + 300 - 20), left]
    import numpy as np

    write_wav(root / "m" / "long.wav", [np.concatenate(parts)], 8000)
    code = (
        "import resource, subprocess, sys, json;"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "print(json.dumps({'rc': p.returncode, 'out': p.stdout, 'err': p.stderr,"
        " 'rss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))"
    )
    cmd = [sys.executable, "-c", code, *_auditor_cmd(root, tmp_path / "l.db", model_cache),
           "--format", "json"]
    res = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    assert res["rc"] == 0, res["err"]
    item = json.loads(res["out"])["items"][0]
    assert item["status"] == "done" and item["duration_s"] > 7200
    # A whole-file decode of 2 h would hold > 1 GB of samples; windows keep it small.
    assert res["rss_kb"] < 1_000_000, f"peak RSS {res['rss_kb'] / 1024:.0f} MB"
    with sqlite3.connect(tmp_path / "l.db") as con:
        (segments,) = con.execute("SELECT segments_json FROM transcript").fetchone()
    starts = [s["start"] for s in json.loads(segments)]
    assert min(starts) < 10 and max(starts) > 7200  # both ends heard, at their true times
