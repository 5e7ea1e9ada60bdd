"""The command line: help with examples everywhere, instant --help, one-line errors."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from auditor.cli import app

runner = CliRunner()
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]


def test_the_main_commands_exist() -> None:
    assert {"audit", "transcribe", "analyze", "eval", "rescore", "stats", "report", "calls",
            "show", "review", "search"} <= set(COMMANDS)


def test_root_help_has_an_example() -> None:
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0
    assert "Example:" in r.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_an_example(command: str) -> None:
    r = runner.invoke(app, [command, "--help"])
    assert r.exit_code == 0, r.output
    assert "Example:" in r.stdout
    assert f"auditor {command}" in r.stdout


def test_help_is_instant_because_heavy_imports_are_lazy() -> None:
    code = (
        "import sys, time; t = time.perf_counter();"
        "from auditor.cli import app;"
        "heavy = [m for m in ('faster_whisper', 'ctranslate2', 'spacy', 'av', 'sqlalchemy',"
        " 'numpy') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "auditor", "--help"], capture_output=True, check=False)
    elapsed = time.perf_counter() - t0
    assert r.returncode == 0
    # generous bound: the point is that no model or NLP library loads for --help
    assert elapsed < 1.0, f"auditor --help took {elapsed:.2f}s"


def test_missing_folder_is_a_one_line_error(tmp_path: Path) -> None:
    r = runner.invoke(app, ["audit", str(tmp_path / "nope"), "--db", str(tmp_path / "a.db")])
    assert r.exit_code == 2
    assert r.stderr.strip().count("\n") == 0
    assert "no such folder" in r.stderr


def test_broken_config_is_a_one_line_error_naming_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "auditor.toml"
    cfg.write_text("short_call_s = 'five minutes'\n", encoding="utf-8")
    r = runner.invoke(app, ["audit", str(tmp_path), "--config", str(cfg)])
    assert r.exit_code == 2
    assert "short_call_s" in r.stderr and r.stderr.strip().count("\n") == 0


def _speech_wav(path: Path) -> Path:
    """Three seconds of real speech: silence would never get as far as the model."""
    from .audio_gen import speech, write_wav

    left, right = speech(3)
    return write_wav(path, [left, right], 8000)


def test_transcribe_with_a_model_that_cannot_be_loaded_exits_1(tmp_path: Path) -> None:
    wav = _speech_wav(tmp_path / "call.wav")
    r = runner.invoke(app, ["transcribe", str(wav), "--model", str(tmp_path / "no-such-model")])
    assert r.exit_code == 1, r.output  # the command failed as a whole, not "some recordings"
    assert r.stderr.strip().count("\n") == 0
    assert "no model.bin" in r.stderr


def test_audit_with_a_model_that_cannot_be_loaded_exits_1_and_fails_no_recording(
    tmp_path: Path,
) -> None:
    import sqlite3

    root = tmp_path / "calls"
    for name in ("a.wav", "b.wav"):
        _speech_wav(root / "Anna" / name)
    empty = tmp_path / "model"
    empty.mkdir()
    db = tmp_path / "a.db"
    r = runner.invoke(app, ["audit", str(root), "--db", str(db), "--model", str(empty)])
    assert r.exit_code == 1, r.output
    assert r.stderr.strip().count("\n") == 0
    assert "no model.bin" in r.stderr
    # The recordings are not to blame: none is stored as failed or left claimed.
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT status, error, claimed_by FROM recording").fetchall()
    assert rows and all(row == ("pending", None, None) for row in rows), rows
