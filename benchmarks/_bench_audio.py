"""Helpers for benchmarks/audit_speed.py: the benchmark set and the accuracy metrics.

- :func:`load_fixture_set` reads fixtures/recordings/manifest.json (recordings
  with their known scripts; the deliberately bad files are left out).
- :func:`build_long_call` makes a deterministic 10-minute two-channel call from
  the committed Russian fixture audio: the fixture turns are cut out of their
  calls and laid on a new timeline (manager left, client right) with short
  gaps, a ringback at the start and hold music (a quiet two-note tone) so that
  about 30% of the call is non-speech. Its known script comes from the
  manifest turns. Only numpy and the standard library are used.
- :func:`build_phone_set` synthesizes labelled corpus calls into 8 kHz phone
  recordings with ../shared/tools/synth_calls.py (festival voices, stereo or
  mono, u-law/mp3/wav/opus, each turn at its labelled time: the pauses and
  silences of a real call): the set the product's speed was first measured
  on. Needs festival and sox; built once and cached.
- :class:`Normalizer` folds words to lemmas (Russian: pymorphy3 normal_form,
  ё→е; English: spaCy's lookup lemmatizer, or lowercase when that is missing)
  and spells digits as words, since Whisper writes "80" where the script says
  "восемьдесят".
- :func:`score` gives, for one recording, the whole-call WER (words in time
  order), the per-channel WER (manager words vs the manager's script, client vs
  client; only for channel-split transcripts) and an order-insensitive
  bag-of-lemmas recall/precision.
"""

from __future__ import annotations

import json
import random
import re
import wave
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

RATE = 8000  # the fixtures' sample rate; the long call is written at the same rate


@dataclass
class Turn:
    speaker: str  # manager | client
    start: float
    end: float
    text: str


@dataclass
class BenchRecording:
    """One recording of the benchmark set and its known script."""

    id: str
    rel: str  # path relative to the recordings root: <manager>/<file>.wav
    path: Path  # where the audio is
    language: str
    layout: str  # stereo | mono
    duration_s: float
    turns: list[Turn]
    channel_map: dict[str, str] | None = None  # {"left": "manager", "right": "client"}
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "rel": self.rel, "path": str(self.path), "language": self.language,
                "layout": self.layout, "duration_s": self.duration_s,
                "channel_map": self.channel_map, "extra": self.extra,
                "turns": [t.__dict__ for t in self.turns]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BenchRecording:
        return cls(id=d["id"], rel=d["rel"], path=Path(d["path"]), language=d["language"],
                   layout=d["layout"], duration_s=d["duration_s"],
                   channel_map=d.get("channel_map"), extra=d.get("extra", {}),
                   turns=[Turn(**t) for t in d["turns"]])


def load_fixture_set(recordings_dir: Path) -> list[BenchRecording]:
    """The manifest's recordings (known scripts), sorted by id; bad files excluded."""
    manifest = json.loads((recordings_dir / "manifest.json").read_text(encoding="utf-8"))
    out = []
    for r in manifest["recordings"]:
        out.append(BenchRecording(
            id=r["id"], rel=r["path"], path=recordings_dir / r["path"], language=r["language"],
            layout=r["layout"], duration_s=float(r["duration_s"]),
            turns=[Turn(t["speaker"], float(t["start"]), float(t["end"]), t["text"])
                   for t in r["turns"]],
            channel_map=r.get("channel_map"),
        ))
    return sorted(out, key=lambda r: r.id)


# The labelled calls of fixtures/corpus synthesized for the phone set: four
# Russian calls of the four shapes (a full sales call, an existing customer,
# a mono recording, a post-sale call), about 18 minutes in all.
PHONE_CALLS = ("dev-ru-001", "dev-ru-009", "dev-ru-020", "dev-ru-003")


def build_phone_set(corpus: Path, synth_tool: Path, cache: Path,
                    ids: Sequence[str] = PHONE_CALLS) -> list[BenchRecording]:
    """The labelled calls ``ids`` as phone recordings (cached under ``cache``), with their scripts."""
    import hashlib
    import subprocess
    import sys

    files = [corpus / f"{i}.json" for i in ids]
    h = hashlib.sha256(synth_tool.read_bytes())
    for f in files:
        h.update(f.read_bytes())
    out = cache / h.hexdigest()[:16]
    index_path = out / "index.json"
    if not index_path.exists():
        tmp = out.with_name(out.name + ".tmp")
        subprocess.run([sys.executable, str(synth_tool), str(tmp), *map(str, files)], check=True,
                       stdout=subprocess.DEVNULL)
        tmp.rename(out)
    index = json.loads(index_path.read_text(encoding="utf-8"))
    by_id = {v["id"]: k for k, v in index.items()}
    recs = []
    for f in files:
        call = json.loads(f.read_text(encoding="utf-8"))
        rel = by_id[call["id"]]
        mono = all(s["speaker"] == "unknown" for s in call["segments"])
        recs.append(BenchRecording(
            id=call["id"], rel=rel, path=out / rel, language=call["language"],
            layout="mono" if mono else "stereo", duration_s=float(index[rel]["duration_s"]),
            turns=[Turn(s["speaker"], float(s["start"]), float(s["end"]), s["text"])
                   for s in call["segments"]],
            channel_map=None if mono else {"left": "manager", "right": "client"},
        ))
    return recs


# --- audio -----------------------------------------------------------------------------


def read_wav(path: Path) -> np.ndarray:
    """16-bit PCM WAV as an int16 array of shape (frames, channels)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getframerate() != RATE:
            raise ValueError(f"{path}: expected 16-bit {RATE} Hz PCM")
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return frames.reshape(-1, w.getnchannels()).astype(np.int16)


def write_wav(path: Path, stereo: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(stereo.shape[1])
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(stereo.astype("<i2").tobytes())


def _tone(seconds: float, freqs: Sequence[float], note_s: float, level: float,
          on_s: float | None = None, off_s: float = 0.0) -> np.ndarray:
    """A quiet tone cycling through freqs (hold music) or on/off (ringback), int16."""
    n = int(round(seconds * RATE))
    t = np.arange(n) / RATE
    note = (t // note_s).astype(int) % len(freqs)
    f = np.asarray(freqs)[note]
    x = np.sin(2 * np.pi * f * t)
    if on_s is not None:
        x = x * ((t % (on_s + off_s)) < on_s)
    return (x * level * 32767).astype(np.int16)


def _turn_audio(rec: BenchRecording, audio: np.ndarray, turn: Turn) -> np.ndarray:
    if audio.shape[1] == 1:
        ch = 0
    else:
        cmap = rec.channel_map or {"left": "manager", "right": "client"}
        ch = 0 if cmap.get("left") == turn.speaker else 1
    a = int(round(turn.start * RATE))
    b = int(round(turn.end * RATE))
    return audio[a:b, ch]


def build_long_call(
    sources: Iterable[BenchRecording],
    out_root: Path,
    total_s: float = 600.0,
    nonspeech: float = 0.30,
    seed: int = 7,
    manager: str = "Длинный Звонок",
    stem: str = "2026-11-05_10-00-00_+79001112233",
) -> BenchRecording:
    """Write a deterministic two-channel call of total_s seconds, ~nonspeech silent/hold.

    Turns of the (Russian) fixture calls are taken in order, cycling, until the
    speech reaches (1 - nonspeech) of the length; then the rest is split into a
    ringback at the start, short gaps between turns, three holds with a quiet
    tone on the manager's channel (the PBX side), and a short tail.
    """
    rng = random.Random(seed)
    srcs = [s for s in sources if s.turns]
    if not srcs:
        raise ValueError("no source recordings with turns")
    audio = {s.id: read_wav(s.path) for s in srcs}
    want_speech = (1.0 - nonspeech) * total_s
    clips: list[tuple[Turn, np.ndarray]] = []
    speech = 0.0
    while speech < want_speech:
        for s in srcs:
            for t in s.turns:
                if speech >= want_speech:
                    break
                x = _turn_audio(s, audio[s.id], t)
                clips.append((t, x))
                speech += len(x) / RATE
            if speech >= want_speech:
                break
    n = len(clips)
    speech_frames = sum(len(x) for _, x in clips)
    total = int(round(total_s * RATE))
    budget = total - speech_frames  # non-speech frames to place
    ring = int(6.0 * RATE)
    tail = int(1.0 * RATE)
    # gaps between turns 0.3-1.0 s (a turn change on the phone)
    gaps = [int(rng.uniform(0.3, 1.0) * RATE) for _ in range(n - 1)]
    hold_total = budget - ring - tail - sum(gaps)
    if hold_total < 3 * RATE:
        raise ValueError("not enough non-speech for the holds; lower the speech share")
    hold_at = {n // 4, n // 2, (3 * n) // 4}  # a hold before these turns
    holds = [hold_total // 3, hold_total // 3, hold_total - 2 * (hold_total // 3)]
    left = np.zeros(total, dtype=np.int16)
    right = np.zeros(total, dtype=np.int16)
    # ringback: 425 Hz, 1 s on / 3 s off, on the manager side (the caller hears it)
    left[:ring] = _tone(ring / RATE, [425.0], 1.0, 0.05, on_s=1.0, off_s=3.0)
    pos = ring
    turns: list[Turn] = []
    h = 0
    for i, (t, x) in enumerate(clips):
        if i in hold_at:
            # "Минуту, посмотрю..." then music: 1 s silence, tone, 1 s silence
            length = holds[h]
            h += 1
            tone_len = length - 2 * RATE
            left[pos + RATE: pos + RATE + tone_len] = _tone(tone_len / RATE, [440.0, 554.4, 659.3],
                                                            0.5, 0.03)
            pos += length
        track = left if t.speaker == "manager" else right
        track[pos: pos + len(x)] = x
        turns.append(Turn(t.speaker, round(pos / RATE, 3), round((pos + len(x)) / RATE, 3), t.text))
        pos += len(x)
        if i < n - 1:
            pos += gaps[i]
    assert pos + tail == total, (pos, tail, total)
    rel = f"{manager}/{stem}.wav"
    path = out_root / rel
    write_wav(path, np.stack([left, right], axis=1))
    return BenchRecording(
        id="long_call_ru", rel=rel, path=path, language="ru", layout="stereo",
        duration_s=round(total / RATE, 3), turns=turns,
        channel_map={"left": "manager", "right": "client"},
        extra={"speech_s": round(speech_frames / RATE, 1),
               "nonspeech_share": round(1 - speech_frames / total, 3),
               "hold_s": round(sum(holds) / RATE, 1), "turns": n,
               "sources": [s.id for s in srcs]},
    )


# --- text normalisation ---------------------------------------------------------------

_RU_UNITS = ["ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять",
             "десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать",
             "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать"]
_RU_TENS = ["", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят",
            "восемьдесят", "девяносто"]
_RU_HUNDREDS = ["", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот",
                "восемьсот", "девятьсот"]
_EN_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
             "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
             "eighteen", "nineteen"]
_EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _below_1000(n: int, lang: str) -> list[str]:
    out: list[str] = []
    h, r = divmod(n, 100)
    if lang == "ru":
        if h:
            out.append(_RU_HUNDREDS[h])
        if r >= 20:
            out.append(_RU_TENS[r // 10])
            if r % 10:
                out.append(_RU_UNITS[r % 10])
        elif r or not out:
            out.append(_RU_UNITS[r])
    else:
        if h:
            out += [_EN_UNITS[h], "hundred"]
        if r >= 20:
            out.append(_EN_TENS[r // 10])
            if r % 10:
                out.append(_EN_UNITS[r % 10])
        elif r or not out:
            out.append(_EN_UNITS[r])
    return out


def number_words(n: int, lang: str) -> list[str]:
    """Cardinal words for 0..999999 (lemmas are taken afterwards, so gender is moot)."""
    if n >= 1_000_000:
        return [str(n)]
    th, r = divmod(n, 1000)
    out: list[str] = []
    if th:
        out += _below_1000(th, lang) if th > 1 or lang == "en" else []
        out.append("тысяча" if lang == "ru" else "thousand")
    if r or not out:
        out += _below_1000(r, lang)
    return out


_TOKEN = re.compile(r"\d+|[^\W\d_]+|%", re.UNICODE)


class Normalizer:
    """Words of a text as lemmas, for WER that ignores case, punctuation and inflection."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._ru: Any = None
        self._en: Any = None
        if language == "ru":
            import pymorphy3

            self._ru = pymorphy3.MorphAnalyzer()
        elif language == "en":
            try:
                import spacy

                nlp = spacy.blank("en")
                nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
                nlp.initialize()
                self._en = nlp
            except Exception:  # no spacy-lookups-data: lowercase is the fallback
                self._en = None
        self.lemma = lru_cache(maxsize=None)(self._lemma)

    def _lemma(self, word: str) -> str:
        if self._ru is not None:
            return self._ru.parse(word)[0].normal_form.replace("ё", "е")
        if self._en is not None:
            doc = self._en(word)
            return (doc[0].lemma_ or word).lower() if len(doc) else word
        return word

    def words(self, text: str) -> list[str]:
        out: list[str] = []
        for tok in _TOKEN.findall(text.lower().replace("ё", "е")):
            if tok.isdigit():
                out += [self.lemma(w) for w in number_words(int(tok), self.language)]
            elif tok == "%":
                out.append("процент" if self.language == "ru" else "percent")
            else:
                out.append(self.lemma(tok))
        return out


_NORMALIZERS: dict[str, Normalizer] = {}


def normalizer(language: str) -> Normalizer:
    if language not in _NORMALIZERS:
        _NORMALIZERS[language] = Normalizer(language)
    return _NORMALIZERS[language]


# --- metrics --------------------------------------------------------------------------


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    if not ref:
        return len(hyp)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def _counts(ref: list[str], hyp: list[str]) -> dict[str, int]:
    common = sum((Counter(ref) & Counter(hyp)).values())
    return {"errors": edit_distance(ref, hyp), "ref": len(ref), "hyp": len(hyp), "common": common}


def score(rec: BenchRecording, segments: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """Word counts for one recording; segments are (speaker, start, end, text).

    whole: the hypothesis sorted by start time vs the script in time order;
    channel: manager words vs manager script + client vs client script, only
    when every segment has a manager/client speaker (a channel-split transcript);
    the bag figures (common words) are order-insensitive.
    """
    norm = normalizer(rec.language)
    ref_turns = sorted(rec.turns, key=lambda t: t.start)
    ref_all = [w for t in ref_turns for w in norm.words(t.text)]
    segs = sorted(segments, key=lambda s: (float(s[1]), float(s[2])))
    hyp_all = [w for s in segs for w in norm.words(str(s[3]))]
    out: dict[str, Any] = {"whole": _counts(ref_all, hyp_all)}
    speakers = {str(s[0]) for s in segs}
    if rec.layout == "stereo" and segs and speakers <= {"manager", "client"}:
        total = {"errors": 0, "ref": 0, "hyp": 0, "common": 0}
        for who in ("manager", "client"):
            ref = [w for t in ref_turns if t.speaker == who for w in norm.words(t.text)]
            hyp = [w for s in segs if s[0] == who for w in norm.words(str(s[3]))]
            c = _counts(ref, hyp)
            for k in total:
                total[k] += c[k]
        out["channel"] = total
    return out


def rates(c: dict[str, int]) -> dict[str, float]:
    """WER and bag recall/precision (in %) from summed counts."""
    return {
        "wer": 100.0 * c["errors"] / max(1, c["ref"]),
        "bag_recall": 100.0 * c["common"] / max(1, c["ref"]),
        "bag_precision": 100.0 * c["common"] / max(1, c["hyp"]),
        "ref_words": c["ref"],
    }


def add_counts(items: Iterable[dict[str, int]]) -> dict[str, int]:
    total = {"errors": 0, "ref": 0, "hyp": 0, "common": 0}
    for c in items:
        for k in total:
            total[k] += c[k]
    return total
