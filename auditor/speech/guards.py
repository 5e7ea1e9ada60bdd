"""Hallucination guards: what Whisper writes that nobody said, dropped before the analysis.

Whisper base, on phone audio, sometimes loops ("да да да да да ...", a
300-character run of one syllable), writes subtitles credits learnt from
video ("Продолжение следует...", "Thank you for watching") or decodes text on
a stretch that holds no sound at all. Each guard below names what it removed,
so the transcript keeps the dropped text (``Transcript.dropped``) and counts it
per channel, and the analysis never sees it.

- ``repeat``: a word or a phrase of up to four words repeated at least
  ``_MIN_REPEATS`` times in a row (at least ``_MIN_RUN_WORDS`` words in all), or
  one token made of a syllable repeated; the run is cut to one copy.
- ``compression``: text that compresses better than ``COMPRESSION_LIMIT``
  (Whisper's own 2.4) is a loop the repeat guard did not catch.
- ``no_energy``: the channel's loudest frame under the segment is within
  ``_NO_ENERGY_DB`` of its noise floor: nothing was there to hear.
- ``phrase``: a segment that is only one of the known video-subtitle phrases
  or a caption of music ("ДИНАМИЧНАЯ МУЗЫКА", "[Music]"), which is what
  Whisper writes on hold music.
- ``no_speech``: Whisper's own rule, which its batched decoder does not apply:
  no-speech probability above 0.6 with average log-probability below -1.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import replace

from auditor.records import Segment

COMPRESSION_LIMIT = 2.4
_COMPRESSION_MIN_CHARS = 40
_MIN_REPEATS = 4
_MIN_RUN_WORDS = 6
_MIN_REPEATS_ONE_WORD = 6
_NO_ENERGY_DB = 6.0
_NO_SPEECH_PROB = 0.6
_NO_SPEECH_LOGPROB = -1.0
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
# One syllable looping inside a token: "аааааа", "лалалала", "А-а-а-а-а".
_SYLLABLE_LOOP = re.compile(r"([^\W\d_]{1,4}?)(?:-?\1){4,}", re.UNICODE | re.IGNORECASE)
# Credits and sign-offs of the video subtitles Whisper was trained on.
_PHRASES = tuple(re.compile(p, re.IGNORECASE) for p in (
    r"продолжение следует",
    r"субтитр\w*",
    r"редактор субтитров.*",
    r"спасибо за просмотр\w*",
    r"подписывайтесь на (наш )?канал.*",
    r"ставьте лайки.*",
    r"amara\.org.*",
    r"dimatorzok",
    # captions of music and noise: "ДИНАМИЧНАЯ МУЗЫКА", "[Music]"
    r"\[?(\w+ )?(музыка|music|аплодисменты|applause|смех|laughter)\]?",
    r"thanks? (you )?for watching.*",
    r"please subscribe.*",
    r"subtitles? by.*",
))


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def cut_repeats(text: str) -> tuple[str, int]:
    """The text with looping runs cut to one copy, and how many words were cut."""
    cut = 0

    def one_copy(m: re.Match[str]) -> str:
        nonlocal cut
        cut += len(m.group(0).replace("-", "")) // len(m.group(1)) - 1  # syllables cut
        return m.group(1)

    text = _SYLLABLE_LOOP.sub(one_copy, text)
    tokens = list(_WORD.finditer(text))
    lowered = [t.group(0).lower() for t in tokens]
    remove: list[tuple[int, int]] = []  # token index ranges to delete
    i = 0
    while i < len(tokens):
        best = (0, 0)  # (unit length, repeats)
        for unit in range(1, 5):
            if i + 2 * unit > len(tokens):
                break
            reps = 1
            while (i + (reps + 1) * unit <= len(tokens)
                   and lowered[i + reps * unit: i + (reps + 1) * unit] == lowered[i: i + unit]):
                reps += 1
            need = _MIN_REPEATS_ONE_WORD if unit == 1 else _MIN_REPEATS
            if reps >= need and reps * unit >= _MIN_RUN_WORDS and reps * unit > best[0] * best[1]:
                best = (unit, reps)
        unit, reps = best
        if unit:
            remove.append((i + unit, i + unit * reps))
            cut += unit * (reps - 1)
            i += unit * reps
        else:
            i += 1
    if not remove:
        return text, cut
    out, last = [], 0
    for a, b in remove:
        out.append(text[last: tokens[a - 1].end()])
        last = tokens[b - 1].end()
    out.append(text[last:])
    return re.sub(r"\s{2,}", " ", "".join(out)).strip(), cut


def _only_phrase(text: str) -> bool:
    rest = text.strip(" .,!?…-—\"'«»")
    return any(p.fullmatch(rest) for p in _PHRASES)


def apply(pieces: list[Segment], peak_above_floor: Callable[[float, float], float] | None
          ) -> tuple[list[Segment], list[tuple[Segment, str, int]]]:
    """(kept segments, [(dropped segment, guard, words dropped)]) of one decoded channel.

    ``peak_above_floor(start_s, end_s)`` gives the loudest frame under a
    stretch in dB above the channel's noise floor (None: no energy check).
    """
    kept: list[Segment] = []
    dropped: list[tuple[Segment, str, int]] = []
    for piece in pieces:
        n_words = len(words(piece.text))
        if not n_words:
            continue
        if (peak_above_floor is not None
                and peak_above_floor(piece.start - 0.2, piece.end + 0.2) < _NO_ENERGY_DB):
            dropped.append((piece, "no_energy", n_words))
            continue
        if _only_phrase(piece.text):
            dropped.append((piece, "phrase", n_words))
            continue
        if (piece.no_speech_prob is not None and piece.avg_logprob is not None
                and piece.no_speech_prob > _NO_SPEECH_PROB
                and piece.avg_logprob < _NO_SPEECH_LOGPROB):
            dropped.append((piece, "no_speech", n_words))
            continue
        text, cut = cut_repeats(piece.text)
        if cut:
            dropped.append((piece, "repeat", cut))
            piece = replace(piece, text=text, compression_ratio=compression_ratio(text))
        if len(text) >= _COMPRESSION_MIN_CHARS and compression_ratio(text) > COMPRESSION_LIMIT:
            dropped.append((piece, "compression", len(words(text))))
            continue
        if words(text):
            kept.append(piece)
    return kept, dropped
