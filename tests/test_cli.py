"""The command line: help with examples everywhere, instant --help, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from auditor.cli import app

runner = CliRunner()
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]


def test_the_main_commands_exist() -> None:
    assert {"audit", "transcribe", "analyze", "eval", "rescore", "stats", "report", "calls",
            "show", "review", "search", "serve", "users"} <= set(COMMANDS)


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


HEAVY = ("faster_whisper", "ctranslate2", "onnxruntime", "spacy", "thinc", "pymorphy3", "av",
         "numpy", "sqlalchemy", "sqlmodel", "jinja2", "starlette", "uvicorn", "multipart")


def test_help_loads_no_model_or_nlp_library() -> None:
    """--help stays instant: the heavy libraries are imported inside the commands.

    Checked in a fresh interpreter after the help of the app and of its two
    heaviest commands has really been printed.
    """
    code = (
        "import sys\n"
        "from auditor.cli import main\n"
        "for argv in (['--help'], ['audit', '--help'], ['report', '--help'], ['serve', '--help']):\n"
        "    sys.argv = ['auditor', *argv]\n"
        "    try:\n        main()\n    except SystemExit as e:\n        print('EXIT', e.code)\n"
        f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert out.stdout.count("Example:") >= 4 and lines.count("EXIT 0") == 4, out.stdout
    assert lines[-1] == "HEAVY []"


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


def _audit_table(width: int, root: Path) -> list[str]:
    """The audit summary of three calls under long names, printed at a width: its data rows."""
    import io

    from rich.console import Console

    from auditor.audit.runner import AuditItem, AuditSummary
    from auditor.cli.audit import _summary_table

    folder = root / "Ирина Соколова"
    items = [
        AuditItem(folder / "2026-11-02_10-15-00_+79125550123.wav", 1, "Ирина Соколова", "done",
                  368.0, "existing_client", "incomplete", ["needs", "presentation"]),
        AuditItem(folder / "2026-11-02_11-40-12_+79034447788.wav", 2, "Ирина Соколова", "done",
                  95.0, "new_client", "missed_opportunity",
                  ["profile", "needs", "presentation", "next_step"]),
        AuditItem(folder / "2026-11-02_12-00-00_+79501112233.wav", 3, "Ирина Соколова", "failed",
                  None, error="truncated: header says 3:00, file holds 0:00"),
    ]
    console = Console(file=io.StringIO(), width=width, color_system=None)
    _summary_table(AuditSummary(items=items), root, console)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert max(len(line) for line in out.splitlines()) <= width
    lines = out.splitlines()
    rule = next(i for i, line in enumerate(lines) if "━" in line)
    return [line for line in lines[rule + 1:] if "│" in line]


def test_audit_summary_keeps_each_recording_on_one_line_at_80_columns(tmp_path: Path) -> None:
    rows = _audit_table(80, tmp_path)
    assert len(rows) == 3  # one line per recording, none wrapped
    assert [r.split("│")[4].strip() for r in rows] == ["incomplete", "missed_opportunity",
                                                      "failed"]
    first = rows[0].split("│")
    # relative to the audited folder, elided in the middle: both ends still tell
    assert first[0].startswith("Ирина Со") and first[0].rstrip().endswith("0123.wav")
    assert "…" in first[0] and str(tmp_path) not in rows[0]
    assert first[2] == "  6:08 "  # right-aligned


def test_audit_summary_shows_whole_names_on_a_wide_terminal(tmp_path: Path) -> None:
    rows = _audit_table(160, tmp_path)
    assert len(rows) == 3
    assert rows[0].startswith("Ирина Соколова/2026-11-02_10-15-00_+79125550123.wav ")
    assert "truncated: header says 3:00, file holds 0:00" in rows[2]
    assert "profile, needs, presentation, next_step" in rows[1]
