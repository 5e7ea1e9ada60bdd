"""auditor stats: durations from headers, talk-time KPIs, thousands of files."""

from __future__ import annotations

import json
import random
from datetime import date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.config import Settings
from auditor.errors import AudioError
from auditor.speech.audio import probe
from auditor.views.kpi import Targets, talk_time
from auditor.views.stats import CallDuration, probe_fast, wav_info

from .conftest_reports import riff_wav, write_wav


def test_wav_header_matches_pyav(tmp_path: Path) -> None:
    p = write_wav(tmp_path / "a.wav", 12.5, rate=8000, channels=2)
    fast = wav_info(p)
    assert fast is not None
    slow = probe(p)
    assert fast.duration_s == pytest.approx(slow.duration_s, abs=0.01)
    assert (fast.channels, fast.sample_rate) == (2, 8000)


def test_wav_header_odd_files(tmp_path: Path) -> None:
    # a LIST chunk before the data
    info = wav_info(riff_wav(tmp_path / "list.wav", 3.0))
    assert info is not None and info.duration_s == pytest.approx(3.0)
    # a streaming writer that never filled in the data size
    info = wav_info(riff_wav(tmp_path / "stream.wav", 2.0, data_size=0xFFFFFFFF))
    assert info is not None and info.duration_s == pytest.approx(2.0)
    # not a WAV at all: the fast path declines and PyAV reports the error
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    assert wav_info(bad) is None
    with pytest.raises(AudioError):
        probe_fast(bad)


def test_talk_time_figures() -> None:
    t = Targets.from_settings(Settings())
    d1, d2 = datetime(2026, 11, 2, 10), datetime(2026, 11, 3, 10)
    calls = [CallDuration(Path("a"), "Anna", None, d1, 360.0),
             CallDuration(Path("b"), "Anna", None, d1, 120.0),
             CallDuration(Path("c"), "Anna", None, d2, 600.0),
             CallDuration(Path("d"), None, None, None, 60.0)]
    s = talk_time(calls, t)
    anna = next(r for r in s.managers if r.manager == "Anna")
    assert (anna.calls, anna.days, anna.talk_min) == (3, 2, 18.0)
    assert anna.talk_min_per_day == 9.0 and anna.target_pct == 7.5
    assert anna.avg_duration_s == 360.0 and anna.band == "in"
    assert anna.short_calls == 1 and anna.short_pct == 33.3
    day1 = next(r for r in s.days if r.manager == "Anna" and r.day == date(2026, 11, 2))
    assert (day1.calls, day1.talk_min, day1.avg_duration_s, day1.band) == (2, 8.0, 240.0, "below")
    unknown = next(r for r in s.managers if r.manager == "(unknown)")
    assert unknown.calls == 1 and unknown.days == 1
    assert s.total.calls == 4 and s.total.days == 3


def test_stats_on_2000_recordings(tmp_path: Path) -> None:
    rng = random.Random(4)
    managers = ["Ирина Соколова", "Павел Орлов", "John Smith", "Анна Ким"]
    expected: dict[str, float] = {}
    for i in range(2000):
        m = managers[i % 4]
        secs = rng.choice([0.5, 1.0, 1.5, 2.0])
        day = 2 + i % 5
        write_wav(tmp_path / m / f"2026-11-{day:02d}_10-{i // 60 % 60:02d}-{i % 60:02d}_+7912{i:07d}.wav",
                  secs, rate=8000)
        expected[m] = expected.get(m, 0.0) + secs
    (tmp_path / "Анна Ким" / "broken.wav").write_bytes(b"RIFF....WAVEfmt ")
    res = CliRunner().invoke(app, ["stats", str(tmp_path), "--format", "json", "--by", "day",
                                   "--short-call-s", "1.2"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["files"] == 2001
    assert [u["path"].endswith("broken.wav") for u in data["unreadable"]] == [True]
    got = {r["manager"]: r for r in data["managers"]}
    assert set(got) == set(managers)
    for m in managers:
        assert got[m]["calls"] == 500
        assert got[m]["days"] == 5
        assert got[m]["talk_min"] == pytest.approx(expected[m] / 60, abs=0.06)
    assert data["total"]["calls"] == 2000
    assert data["targets"]["short_call_s"] == 1.2
    assert len(data["days"]) == 20
    # the CSV per day carries the same figures
    res = CliRunner().invoke(app, ["stats", str(tmp_path), "--format", "csv", "--by", "day",
                                   "-q", "--manager", "Павел Орлов", "--from", "2026-11-03"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("Manager,Day,Calls")
    assert len(lines) == 1 + 4 and all(ln.startswith("Павел Орлов,2026-11-0") for ln in lines[1:])


def test_stats_table_and_help(tmp_path: Path) -> None:
    write_wav(tmp_path / "Anna" / "2026-11-02_10-00-00_+79120000001.wav", 1.0)
    res = CliRunner().invoke(app, ["stats", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "Anna" in res.stdout and "Targets: 120 talk min/day" in res.stdout
    res = CliRunner().invoke(app, ["stats", str(tmp_path / "missing")])
    assert res.exit_code == 2
