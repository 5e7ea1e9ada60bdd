"""Who/whom/when: folder layouts, file-name patterns, PBX presets and call-log CSVs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.errors import ConfigError, InputError
from auditor.ingest.calllog import parse_columns, parse_started, read_call_log
from auditor.ingest.discovery import discover
from auditor.ingest.layouts import compile_layout

from .conftest_reports import write_wav


def _touch(root: Path, rel: str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"RIFF")
    return p


def _by_name(found):  # type: ignore[no-untyped-def]
    return {r.path.name: r for r in found.recordings}


def test_default_layout_manager_folder_and_name(tmp_path: Path) -> None:
    _touch(tmp_path, "Ирина Соколова/2026-11-02_10-15-00_+79125550123.wav")
    _touch(tmp_path, "Ирина Соколова/archive/2026-11-03_09-00-00.mp3")
    _touch(tmp_path, "loose.wav")
    _touch(tmp_path, "Ирина Соколова/notes.txt")
    found = discover(tmp_path)
    recs = _by_name(found)
    a = recs["2026-11-02_10-15-00_+79125550123.wav"]
    assert (a.manager, a.client, a.started_at) == (
        "Ирина Соколова", "+79125550123", datetime(2026, 11, 2, 10, 15))
    b = recs["2026-11-03_09-00-00.mp3"]
    assert b.manager == "Ирина Соколова" and b.client is None
    assert b.started_at == datetime(2026, 11, 3, 9, 0)
    assert recs["loose.wav"].manager is None
    assert [p.name for p in found.skipped] == ["notes.txt"]
    assert found.unmatched == []
    # the explicit preset name gives the same result
    assert _by_name(discover(tmp_path, layout="default")) == recs


def test_template_with_folders_and_literal_text(tmp_path: Path) -> None:
    _touch(tmp_path, "2026-11-02/Иван Петров/call_10.15_8 (912) 555-01-23.ogg")
    _touch(tmp_path, "2026-11-02/Иван Петров/garbage.ogg")
    found = discover(tmp_path, layout="{date}/{manager}/call_{time}_{client}")
    recs = _by_name(found)
    r = recs["call_10.15_8 (912) 555-01-23.ogg"]
    assert r.manager == "Иван Петров"
    assert r.client == "89125550123"
    assert r.started_at == datetime(2026, 11, 2, 10, 15)
    assert [p.name for p in found.unmatched] == ["garbage.ogg"]
    assert recs["garbage.ogg"].manager is None  # not matched: nothing is guessed


def test_double_star_anchors_levels_above_the_file(tmp_path: Path) -> None:
    _touch(tmp_path, "sales/2026/11/Anna/20261102-101500_+79120000001.wav")
    found = discover(tmp_path, layout="**/{manager}/{date}-{time}_{client}")
    r = found.recordings[0]
    assert (r.manager, r.client, r.started_at) == (
        "Anna", "+79120000001", datetime(2026, 11, 2, 10, 15))


def test_asterisk_preset(tmp_path: Path) -> None:
    _touch(tmp_path, "monitor/out-79125550123-101-20261102-101500-1730540100.123.wav")
    r = discover(tmp_path, layout="asterisk").recordings[0]
    assert (r.manager, r.client, r.direction) == ("101", "79125550123", "out")
    assert r.started_at == datetime(2026, 11, 2, 10, 15)


def test_freepbx_preset_follows_direction(tmp_path: Path) -> None:
    _touch(tmp_path, "2026/11/02/out-79125550123-101-20261102-101500-1730540100.1.wav")
    _touch(tmp_path, "2026/11/02/external-102-79125550199-20261102-111500-1730540100.2.wav")
    recs = _by_name(discover(tmp_path, layout="freepbx"))
    out = recs["out-79125550123-101-20261102-101500-1730540100.1.wav"]
    inc = recs["external-102-79125550199-20261102-111500-1730540100.2.wav"]
    assert (out.manager, out.client, out.direction) == ("101", "79125550123", "out")
    assert (inc.manager, inc.client, inc.direction) == ("102", "79125550199", "in")
    assert inc.started_at == datetime(2026, 11, 2, 11, 15)


def test_3cx_preset_guesses_the_extension(tmp_path: Path) -> None:
    _touch(tmp_path, "101/[Ivan Petrov]_101-79125550123_20261102101500(42).wav")
    r = discover(tmp_path, layout="3cx").recordings[0]
    assert (r.manager, r.client, r.direction) == ("101", "79125550123", "out")
    assert r.started_at == datetime(2026, 11, 2, 10, 15)


@pytest.mark.parametrize("bad", ["nonsense", "{manager}/**", "{date}{date}", "{manager"])
def test_bad_layouts_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError):
        compile_layout(bad)


RU_LOG = (
    "Дата и время;Менеджер;Номер клиента;Файл записи;Направление\r\n"
    "02.11.2026 10:15:00;Ирина Соколова;+7 (912) 555-01-23;rec-0001.wav;Исходящий\r\n"
    "02.11.2026 11:00:30;Павел Орлов;8 912 555 01 24;;Входящий\r\n"
    "02.11.2026 12:00:00;Павел Орлов;+79125550125;lost-file.mp3;Входящий\r\n"
)


def test_call_log_russian_headers_cp1251(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    _touch(rec, "101/rec-0001.wav")  # no name pattern: only the log knows
    _touch(rec, "Неизвестно/2026-11-02_11-01-10_+79125550124.wav")  # joined by client+time
    _touch(rec, "Неизвестно/2026-11-02_15-00-00_+79990000000.wav")  # no row
    log = tmp_path / "log.csv"
    log.write_bytes(RU_LOG.encode("cp1251"))
    found = discover(rec, call_log=log)
    assert found.call_log is not None
    assert found.call_log.encoding == "cp1251" and found.call_log.delimiter == ";"
    recs = _by_name(found)
    a = recs["rec-0001.wav"]
    assert (a.manager, a.client, a.direction) == ("Ирина Соколова", "+79125550123", "out")
    assert a.started_at == datetime(2026, 11, 2, 10, 15)
    b = recs["2026-11-02_11-01-10_+79125550124.wav"]
    assert b.manager == "Павел Орлов"  # the log wins over the folder name
    assert b.started_at == datetime(2026, 11, 2, 11, 0, 30) and b.direction == "in"
    assert [r.file for r in found.rows_without_recording] == ["lost-file.mp3"]
    assert [p.name for p in found.recordings_without_row] == [
        "2026-11-02_15-00-00_+79990000000.wav"]


def test_call_log_bom_english_with_mapping(tmp_path: Path) -> None:
    _touch(tmp_path / "rec", "a/2026-11-02_10-15-00_+79125550123.wav")
    log = tmp_path / "export.csv"
    log.write_text("\ufeffAgent,Phone,When,Recording URL\n"
                   "Anna,+79125550123,2026-11-02T10:16:00,https://pbx/rec/2026-11-02_10-15-00_"
                   "%2B79125550123.mp3?token=1\n"
                   "Boris,+79125550999,2026-11-02T10:16:00,\n", encoding="utf-8")
    lg = read_call_log(log, "manager=Agent,started_at=When,file=Recording URL")
    assert lg.encoding == "utf-8-sig" and lg.columns["client"] == "Phone"
    found = discover(tmp_path / "rec", call_log=lg)
    # joined by file name: URL, query string, percent-encoding and extension ignored
    assert found.recordings[0].manager == "Anna"
    assert found.recordings[0].started_at == datetime(2026, 11, 2, 10, 16)
    assert [r.manager for r in found.rows_without_recording] == ["Boris"]


def test_call_log_errors(tmp_path: Path) -> None:
    log = tmp_path / "x.csv"
    log.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="file column"):
        read_call_log(log)
    with pytest.raises(InputError, match="no column"):
        read_call_log(log, "file=Файл")
    with pytest.raises(ConfigError):
        parse_columns("colour=a")


def test_parse_started_formats() -> None:
    assert parse_started("02.11.2026 10:15") == datetime(2026, 11, 2, 10, 15)
    assert parse_started("2026-11-02 10:15:05") == datetime(2026, 11, 2, 10, 15, 5)
    assert parse_started("02/11/2026 10:15:05") == datetime(2026, 11, 2, 10, 15, 5)
    assert parse_started("yesterday") is None


def test_stats_cli_with_call_log_reports_mismatches(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    write_wav(rec / "101" / "rec-0001.wav", 2.0)
    write_wav(rec / "x" / "2026-11-02_15-00-00_+79990000000.wav", 1.0)
    log = tmp_path / "log.csv"
    log.write_bytes(RU_LOG.encode("cp1251"))
    res = CliRunner().invoke(app, ["stats", str(rec), "--call-log", str(log),
                                   "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "call-log rows with no recording: 2" in res.stderr
    assert "recordings with no call-log row: 1" in res.stderr
    assert "Ирина Соколова" in res.stdout


LANG_LOG = (
    "Файл записи;Менеджер;Язык\r\n"
    "a.wav;Anna;en\r\n"
    "b.wav;Anna;\r\n"
    "c.wav;Boris;English\r\n"
    "d.wav;Boris;ru-RU\r\n"
    "e.wav;Boris;клингонский\r\n"
)


def test_call_log_language_column_sets_the_recording_language(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    for name in "abcde":
        _touch(rec, f"x/{name}.wav")
    log = tmp_path / "log.csv"
    log.write_bytes(LANG_LOG.encode("cp1251"))
    found = discover(rec, call_log=log)
    assert found.call_log is not None and found.call_log.columns["language"] == "Язык"
    langs = {name: r.language for name, r in _by_name(found).items()}
    assert langs == {"a.wav": "en", "b.wav": None, "c.wav": "en", "d.wav": "ru", "e.wav": None}
    assert found.call_log.problems == [(6, "cannot read language 'клингонский'")]
    # any header, mapped
    other = tmp_path / "other.csv"
    other.write_text("file,Spoken in\na.wav,EN\n", encoding="utf-8")
    mapped = discover(rec, call_log=other, columns="language=Spoken in")
    assert _by_name(mapped)["a.wav"].language == "en"


def test_the_call_log_language_is_the_one_transcribed_and_analysed(tmp_path: Path) -> None:
    from sqlmodel import select

    from auditor import store
    from auditor.audit.runner import Auditor
    from auditor.config import Settings
    from auditor.records import AudioInfo, Transcript

    class RecordingTranscriber:
        """A fake recogniser that notes the language it is asked for."""

        model_id = "fake"

        def __init__(self) -> None:
            self.asked: dict[str, str | None] = {}

        def transcribe(self, path: Path, info: AudioInfo, language: str | None = None
                       ) -> tuple[Transcript, str]:
            self.asked[path.name] = language
            return Transcript(segments=[], language=language or "?", duration_s=info.duration_s,
                              model=self.model_id), "mono"

    rec = tmp_path / "rec"
    for n, name in enumerate("abcde"):  # different lengths: no transcript is shared
        write_wav(rec / "x" / f"{name}.wav", 1.0 + n / 10)
    log = tmp_path / "log.csv"
    log.write_bytes(LANG_LOG.encode("cp1251"))
    # Boris speaks English by the config; the log's language for his call wins.
    settings = Settings(db=str(tmp_path / "a.db"), languages={"Boris": "en"})
    engine = store.make_engine(settings.db)
    fake = RecordingTranscriber()
    summary = Auditor(settings, engine, transcriber=fake).run(
        rec, found=discover(rec, call_log=log))
    assert [i.status for i in summary.items] == ["done"] * 5
    assert fake.asked == {"a.wav": "en", "b.wav": "ru", "c.wav": "en", "d.wav": "ru",
                          "e.wav": "en"}
    with store.session(engine) as s:
        by_id = {r.id: r.path for r in s.exec(select(store.Recording))}
        stored = {Path(by_id[t.recording_id]).name: t.language
                  for t in s.exec(select(store.Transcript))}
        analysed = {Path(by_id[a.recording_id]).name: a.details.language
                    for a in s.exec(select(store.Analysis))}
    assert stored == analysed == fake.asked
