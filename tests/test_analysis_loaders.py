"""Transcript files: corpus JSON, product JSON, plain text, and every kind of bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.analysis.loaders import load_transcript
from auditor.errors import InputError

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"


def test_corpus_file_with_labels():
    transcript, labels = load_transcript(CORPUS / "dev-ru-001.json")
    assert transcript.language == "ru"
    assert transcript.duration == pytest.approx(368.9)
    assert transcript.source == "dev-ru-001"
    assert transcript.segments[0].speaker == "manager"
    assert labels == {"call_type": "new_client",
                      "stages": ["profile", "needs", "presentation", "next_step"],
                      "verdict": "ok"}


def test_product_transcript_json_without_labels(tmp_path):
    path = tmp_path / "call.json"
    path.write_text(json.dumps({
        "language": "en", "duration_s": 42.0, "model": "base",
        "segments": [{"speaker": "manager", "start": 0.0, "end": 2.0, "text": "Hi there."},
                     {"speaker": "unknown", "start": 2.5, "end": 4.0, "text": "Hello."}],
    }), encoding="utf-8")
    transcript, labels = load_transcript(path)
    assert labels is None
    assert transcript.model == "base"
    assert transcript.duration_s == 42.0
    assert [s.speaker for s in transcript.segments] == ["manager", "unknown"]


def test_json_without_language_is_detected(tmp_path):
    path = tmp_path / "call.json"
    path.write_text(json.dumps({"segments": [
        {"speaker": "client", "start": 0, "end": 1, "text": "Здравствуйте, нужна доставка."}]}),
        encoding="utf-8")
    transcript, _ = load_transcript(path)
    assert transcript.language == "ru"
    assert transcript.duration == 1


def test_text_with_russian_prefixes_and_fake_times(tmp_path):
    path = tmp_path / "call.txt"
    path.write_text("Менеджер: Добрый день, компания «ТехСнаб».\n\n"
                    "Клиент: Здравствуйте, нужны перчатки.\n"
                    "Менеджер: Какой размер нужен?\n", encoding="utf-8")
    transcript, labels = load_transcript(path)
    assert labels is None
    assert transcript.language == "ru"
    assert [s.speaker for s in transcript.segments] == ["manager", "client", "manager"]
    assert transcript.segments[1].text == "Здравствуйте, нужны перчатки."
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts) and len(set(starts)) == 3
    assert all(s.end > s.start for s in transcript.segments)


def test_text_with_english_prefixes_and_timestamps(tmp_path):
    path = tmp_path / "call.txt"
    path.write_text("[00:05] Manager: Hi, Brightline Print.\n"
                    "[01:10] Client: Hi, I need some banners: about ten.\n", encoding="utf-8")
    transcript, _ = load_transcript(path)
    assert transcript.language == "en"
    assert [(s.speaker, s.start) for s in transcript.segments] == [("manager", 5.0),
                                                                    ("client", 70.0)]
    assert transcript.segments[1].text == "Hi, I need some banners: about ten."


def test_text_without_prefixes_is_unknown_speaker(tmp_path):
    path = tmp_path / "mono.txt"
    path.write_text("алло\nдобрый день это ирина строй ресурс\nцена: пятьсот рублей\n",
                    encoding="utf-8")
    transcript, _ = load_transcript(path)
    assert {s.speaker for s in transcript.segments} == {"unknown"}
    assert transcript.segments[2].text == "цена: пятьсот рублей"
    assert transcript.language == "ru"


def test_utf8_bom_is_fine(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffManager: Hello.\nClient: Hi.\n".encode())
    transcript, _ = load_transcript(path)
    assert transcript.segments[0].speaker == "manager"


@pytest.mark.parametrize("name,content,message", [
    ("empty.json", b"", "file is empty"),
    ("blank.txt", b"  \n\n ", "file is empty"),
    ("bad.json", b'{"segments": [\n  {"speaker": "manager",,}\n]}', "not valid JSON (line 2"),
    ("list.json", b"[1, 2]", "expected a JSON object"),
    ("nosegs.json", b'{"language": "ru"}', "no 'segments' list"),
    ("speaker.json", json.dumps({"segments": [{"speaker": "boss", "start": 0, "end": 1,
                                                "text": "hi"}]}).encode(),
     "unknown speaker label 'boss'"),
    ("times.json", json.dumps({"segments": [{"speaker": "client", "start": "x", "text": "hi"}]})
     .encode(), "must be numbers"),
    ("silent.json", json.dumps({"segments": [{"speaker": "client", "text": " "}]}).encode(),
     "no speech"),
    ("label.txt", "Менеджер: Добрый день.\nБухгалтер: Здравствуйте.\n".encode(),
     "unknown speaker label 'Бухгалтер'"),
    ("cp1251.txt", "Менеджер: Добрый день, компания.\n".encode("cp1251"),
     "not UTF-8 text at byte 0 (it looks like Windows-1251/cp1251"),
])
def test_bad_files_give_one_line_errors_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        load_transcript(path)
    text = str(err.value)
    assert str(path) in text
    assert message in text
    assert "\n" not in text


def test_unknown_label_error_names_the_line(tmp_path):
    path = tmp_path / "call.txt"
    path.write_text("Manager: Hello.\nClient: Hi.\nBoss: What?\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"call\.txt:3: unknown speaker label 'Boss'"):
        load_transcript(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_transcript(tmp_path / "nope.json")
    with pytest.raises(InputError, match="is a directory"):
        load_transcript(tmp_path)
