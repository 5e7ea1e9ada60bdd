"""Read transcripts from files: corpus JSON, the product's transcript JSON, plain text.

- JSON (corpus and product): ``{"language", "duration_s", "segments": [{"speaker",
  "start", "end", "text"}], "labels"?}``. The corpus adds ``id``, ``labels`` and
  notes; the product's own transcripts have the same keys, so one reader serves
  both. ``labels`` (when present) is returned alongside for evaluation.
- Plain text: one turn per line, ``Менеджер:`` / ``Клиент:`` or ``Manager:`` /
  ``Client:`` in front (an optional ``[mm:ss]`` time before it). A line with no
  label is speaker ``unknown``; without times, each line gets an increasing
  made-up span so evidence still points somewhere; the language is detected from
  the share of Cyrillic letters.

Every problem is an InputError with a one-line message naming the file. Text
must be UTF-8 (a BOM is fine): a file in a legacy code page (cp1251 from an old
Windows tool) is refused with a hint rather than guessed, because a wrong guess
produces mojibake that the rules would silently find nothing in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from auditor.analysis.nlp import detect_language
from auditor.errors import InputError
from auditor.records import SPEAKERS, ChannelStats, Segment, Transcript

SPEAKER_LABELS = {
    "менеджер": "manager", "продавец": "manager", "manager": "manager", "agent": "manager",
    "клиент": "client", "покупатель": "client", "client": "client", "customer": "client",
    "unknown": "unknown", "неизвестно": "unknown",
}
_LABEL_LINE = re.compile(
    r"^\s*(?:\[?(?P<ts>(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d+)?)\]?\s*)?"
    r"(?:(?P<label>[^\W\d_][\w .-]{0,23}?)\s*:\s*)?(?P<text>.*)$"
)
_WORDS_PER_SECOND = 2.5


def load_transcript(path: Path) -> tuple[Transcript, dict[str, Any] | None]:
    """A transcript and the corpus labels it carries (None when it has none)."""
    path = Path(path)
    text = _read_text(path)
    if not text.strip():
        raise InputError(f"{path}: file is empty")
    if path.suffix.lower() == ".json" or (path.suffix.lower() not in (".txt", ".text")
                                          and text.lstrip().startswith("{")):
        return _from_json(path, text)
    return _from_text(path, text), None


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a transcript file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read file: {e.strerror or e}") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{path}: broken UTF-16 text") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        hint = ""
        try:
            sample = raw.decode("cp1251")
            if re.search(r"[А-Яа-яЁё]{3}", sample):
                hint = " (it looks like Windows-1251/cp1251; re-save it as UTF-8)"
        except UnicodeDecodeError:
            pass
        raise InputError(f"{path}: not UTF-8 text at byte {e.start}{hint}") from None


def _from_json(path: Path, text: str) -> tuple[Transcript, dict[str, Any] | None]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            f"{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object with 'segments', got "
                         f"{type(data).__name__}")
    raw_segments = data.get("segments")
    if not isinstance(raw_segments, list):
        raise InputError(f"{path}: no 'segments' list")
    segments = [_segment(path, i, s) for i, s in enumerate(raw_segments)]
    # Speech-recognition output says what the recogniser heard per channel; a
    # call with nothing recognised in it is still a call (no contact).
    source: dict[str, Any] = data["source"] if isinstance(data.get("source"), dict) else {}
    raw_channels = data.get("channels", source.get("channels")) or []
    raw_dropped = data.get("dropped", source.get("dropped")) or []
    try:
        channels = [ChannelStats.from_dict(c) for c in raw_channels]
        dropped = [Segment.from_dict(d) for d in raw_dropped]
    except (TypeError, ValueError, AttributeError):
        raise InputError(f"{path}: 'channels' and 'dropped' must be lists of objects") from None
    if not any(s.text.strip() for s in segments) and not channels:
        raise InputError(f"{path}: no speech in 'segments'")
    duration = data.get("duration_s")
    if duration is not None:
        try:
            duration = float(duration)
        except (TypeError, ValueError):
            raise InputError(f"{path}: 'duration_s' must be a number, got {duration!r}") from None
        if duration < 0:
            raise InputError(f"{path}: 'duration_s' must not be negative")
    language = data.get("language")
    if language is not None and not isinstance(language, str):
        raise InputError(f"{path}: 'language' must be a string like 'ru' or 'en'")
    if not language:
        language = detect_language(" ".join(s.text for s in segments))
    labels = data.get("labels")
    if labels is not None and not isinstance(labels, dict):
        raise InputError(f"{path}: 'labels' must be an object")
    transcript = Transcript(
        segments=segments, language=language, duration_s=duration,
        source=str(data.get("id") or path.name), model=str(data.get("model", "")),
        channels=channels, dropped=dropped,
    )
    return transcript, labels


def _segment(path: Path, i: int, raw: Any) -> Segment:
    where = f"{path}: segment {i + 1}"
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected an object with speaker, start, end, text")
    speaker = raw.get("speaker", "unknown")
    if not isinstance(speaker, str) or speaker.strip().lower() not in SPEAKER_LABELS:
        raise InputError(f"{where}: unknown speaker label {speaker!r} "
                         f"(use {', '.join(SPEAKERS)})")
    text = raw.get("text", "")
    if not isinstance(text, str):
        raise InputError(f"{where}: 'text' must be a string")
    try:
        start = float(raw.get("start", 0.0))
        end = float(raw.get("end", start))
    except (TypeError, ValueError):
        raise InputError(f"{where}: 'start' and 'end' must be numbers") from None
    if end < start:
        raise InputError(f"{where}: ends ({end}) before it starts ({start})")
    try:
        conf = [None if raw.get(k) is None else float(raw[k])
                for k in ("avg_logprob", "no_speech_prob", "compression_ratio")]
    except (TypeError, ValueError):
        raise InputError(f"{where}: confidence figures must be numbers") from None
    return Segment(SPEAKER_LABELS[speaker.strip().lower()], start, end, text, conf[0], conf[1],
                   conf[2])


def _from_text(path: Path, text: str) -> Transcript:
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    parsed = []
    for n, line in lines:
        m = _LABEL_LINE.match(line)
        assert m is not None  # the pattern matches any line
        parsed.append((n, m.group("ts"), m.group("label"), m.group("text").strip()))
    # Only treat "Word:" as a speaker label when the file uses known labels: in an
    # unlabelled text "Цена: 500 рублей" is just speech.
    labelled = any(lb and lb.strip().lower() in SPEAKER_LABELS for _, _, lb, _ in parsed)
    segments: list[Segment] = []
    clock = 0.0
    for n, ts, label, body in parsed:
        if label is None or not labelled:
            speaker = "unknown"
            body = body if label is None else f"{label}: {body}"
        else:
            key = label.strip().lower()
            if key not in SPEAKER_LABELS:
                raise InputError(f"{path}:{n}: unknown speaker label {label.strip()!r} "
                                 "(use Менеджер/Клиент or Manager/Client)")
            speaker = SPEAKER_LABELS[key]
        if not body:
            continue
        length = max(1.0, len(body.split()) / _WORDS_PER_SECOND)
        start = _seconds(ts) if ts else clock
        start = max(start, clock if not ts else start)
        segments.append(Segment(speaker, round(start, 2), round(start + length, 2), body))
        clock = start + length + 0.5
    if not segments:
        raise InputError(f"{path}: no speech found")
    language = detect_language(" ".join(s.text for s in segments))
    return Transcript(segments=segments, language=language, duration_s=None, source=path.name)


def _seconds(ts: str) -> float:
    parts = [float(p.replace(",", ".")) for p in ts.split(":")]
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total
