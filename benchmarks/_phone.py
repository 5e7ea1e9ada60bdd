"""Phone-like two-channel calls built from real speech, for benchmarks/recall.py.

Real recordings with references (``../shared/real/``: Russian and English
speech, a real English telephone conversation) are cut into utterances and laid
on a call timeline the way a PBX records a call: the manager (near end) on the
left channel, loud; the client (far end) on the right, after a mobile codec
(AMR-NB), 10-20 dB quieter, with line noise; ringback at the start, short gaps
between turns, a hold with music and a long silent stretch where somebody is
typing. The whole file then gets the PBX's codec (G.711 u-law WAV, a 16-32
kbps MP3 or Opus). Every region of the timeline is known (speech with its
reference text, hold music, silence), so a transcript can be scored for the
words it recognised and for text it put where nobody spoke.

Where a source has no human reference (two Russian recordings), its reference
is what Whisper base decodes from the clean wideband original without any VAD
("pseudo" in the tables): recall against it measures what the phone line and
the speech detector lose, which is the question here.

Only numpy and PyAV (installed with the project) are needed: no sox, no
festival.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RATE = 8000
SR16 = 16000

REAL = Path(__file__).resolve().parents[2] / "shared" / "real"


@dataclass
class Utterance:
    """A piece of real speech with what was said."""

    source: str
    language: str
    audio: np.ndarray  # 16 kHz float32, clean
    text: str
    reference: str  # "human" or "pseudo"


@dataclass
class Region:
    """A stretch of one channel of a built call."""

    channel: str  # manager | client
    kind: str  # speech | hold | silence | ring
    start: float
    end: float
    text: str = ""
    reference: str = ""


@dataclass
class PhoneCall:
    id: str
    language: str
    codec: str
    path: Path
    duration_s: float
    regions: list[Region] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PhoneCall:
        return cls(id=d["id"], language=d["language"], codec=d["codec"], path=Path(d["path"]),
                   duration_s=d["duration_s"], regions=[Region(**r) for r in d["regions"]])

    def speech(self, channel: str) -> list[Region]:
        return [r for r in self.regions if r.channel == channel and r.kind == "speech"]

    def reference_text(self, channel: str) -> str:
        return " ".join(r.text for r in self.speech(channel))

    def quiet(self, channel: str, margin: float = 1.0) -> list[tuple[float, float]]:
        """Stretches of a channel with no speech on it (minus a margin around speech)."""
        spans = sorted((r.start - margin, r.end + margin) for r in self.speech(channel))
        out, t = [], 0.0
        for a, b in spans:
            if a > t:
                out.append((t, a))
            t = max(t, b)
        if t < self.duration_s:
            out.append((t, self.duration_s))
        return [(a, b) for a, b in out if b - a > 0.2]


# --- audio in and out ---------------------------------------------------------------


def load(path: Path, rate: int = SR16) -> np.ndarray:
    """A recording as mono float32 at ``rate``."""
    import av

    chunks = []
    with av.open(str(path)) as c:
        rs = av.AudioResampler(format="s16", layout="mono", rate=rate)
        for frame in c.decode(audio=0):
            chunks += [f.to_ndarray().reshape(-1) for f in rs.resample(frame)]
        chunks += [f.to_ndarray().reshape(-1) for f in rs.resample(None)]
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Resample with FFmpeg's resampler (the one a PBX or FFmpeg would use)."""
    import av

    pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
    frame.sample_rate = src
    rs = av.AudioResampler(format="s16", layout="mono", rate=dst)
    out = [f.to_ndarray().reshape(-1) for f in rs.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in rs.resample(None)]
    return np.concatenate(out).astype(np.float32) / 32768.0


_CODECS = {  # name -> (encoder, container, bit rate)
    "amr": ("libopencore_amrnb", "amr", 7950),
    "amr-low": ("libopencore_amrnb", "amr", 4750),
    "ulaw": ("pcm_mulaw", "wav", None),
    "mp3": ("libmp3lame", "mp3", 32000),
    "mp3-16k": ("libmp3lame", "mp3", 16000),
    "opus": ("libopus", "ogg", 16000),
}
EXTENSIONS = {"ulaw": ".wav", "mp3": ".mp3", "mp3-16k": ".mp3", "opus": ".ogg", "amr": ".amr",
              "amr-low": ".amr"}


def encode(channels: np.ndarray, codec: str) -> bytes:
    """8 kHz samples (n x channels, float) encoded with a named codec."""
    import av

    encoder, fmt, bit_rate = _CODECS[codec]
    layout = "stereo" if channels.shape[1] == 2 else "mono"
    buf = io.BytesIO()
    out = av.open(buf, "w", format=fmt)
    stream = out.add_stream(encoder, rate=RATE, layout=layout)
    if bit_rate:
        stream.bit_rate = bit_rate * channels.shape[1] if layout == "stereo" else bit_rate
    pcm = (np.clip(channels, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout=layout)
    frame.sample_rate = RATE
    for packet in stream.encode(frame):
        out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()
    return buf.getvalue()


def codec_roundtrip(x: np.ndarray, codec: str) -> np.ndarray:
    """One 8 kHz channel through a codec and back (same length)."""
    import av

    data = encode(x.reshape(-1, 1), codec)
    chunks = []
    with av.open(io.BytesIO(data)) as c:
        rs = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        for frame in c.decode(audio=0):
            chunks += [f.to_ndarray().reshape(-1) for f in rs.resample(frame)]
        chunks += [f.to_ndarray().reshape(-1) for f in rs.resample(None)]
    y = np.concatenate(chunks).astype(np.float32) / 32768.0
    return np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)]


def db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-9))


def set_level(x: np.ndarray, target_db: float) -> np.ndarray:
    """Scale speech so that its active part has the given RMS level (dBFS)."""
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    rms = np.sqrt((frames.astype(np.float64) ** 2).mean(1))
    active = rms[rms > 0.1 * rms.max()] if rms.size and rms.max() > 0 else rms
    level = 20 * np.log10(np.sqrt(np.mean(active ** 2)) + 1e-9) if active.size else -99.0
    return (x * 10 ** ((target_db - level) / 20)).astype(np.float32)


def line_noise(n: int, level_db: float, rng: np.random.Generator) -> np.ndarray:
    """Brownish hiss with a faint 50 Hz hum, at an RMS level in dBFS."""
    white = rng.standard_normal(n)
    brown = np.cumsum(white)
    brown -= np.convolve(brown, np.ones(400) / 400, mode="same")  # keep it from drifting
    hiss = 0.6 * brown / (np.std(brown) + 1e-9) + 0.4 * white
    hum = 0.3 * np.sin(2 * np.pi * 50 * np.arange(n) / RATE)
    noise = hiss + hum
    return (noise / np.sqrt(np.mean(noise ** 2)) * 10 ** (level_db / 20)).astype(np.float32)


def hold_music(seconds: float, level_db: float) -> np.ndarray:
    """A looping tune with harmonics, the way on-hold music sounds on a phone line."""
    notes = [523.3, 659.3, 784.0, 659.3, 587.3, 698.5, 880.0, 698.5]
    n_note = int(0.35 * RATE)
    t = np.arange(n_note) / RATE
    env = np.minimum(1.0, np.minimum(t / 0.02, (t[-1] - t) / 0.05 + 0.2))
    tune = []
    for i in range(int(seconds / 0.35) + 1):
        f = notes[i % len(notes)]
        tone = sum(a * np.sin(2 * np.pi * f * k * t) for k, a in ((1, 1.0), (2, 0.5), (3, 0.25)))
        bass = 0.6 * np.sin(2 * np.pi * f / 4 * t)
        tune.append((tone + bass) * env)
    x = np.concatenate(tune)[: int(seconds * RATE)]
    return (x / np.sqrt(np.mean(x ** 2)) * 10 ** (level_db / 20)).astype(np.float32)


def ringback(seconds: float, level_db: float = -22.0) -> np.ndarray:
    """425 Hz, 1 s on and 4 s off (the Russian and European ringback)."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    on = (t % 5.0) < 1.0
    x = np.sin(2 * np.pi * 425 * t) * on
    return (x * 10 ** (level_db / 20) * np.sqrt(2)).astype(np.float32)


def bandpass(x: np.ndarray, low: float = 300.0, high: float = 3400.0) -> np.ndarray:
    """The telephone band, by FFT masking with soft edges."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    mask = np.clip((f - low * 0.7) / (low * 0.3), 0, 1) * np.clip((high * 1.1 - f) / (high * 0.1), 0, 1)
    return np.fft.irfft(spec * mask, n=len(x)).astype(np.float32)


# --- sources ------------------------------------------------------------------------


def _split(x: np.ndarray, min_pause: float = 0.5, max_len: float = 9.0) -> list[tuple[int, int]]:
    """Utterances of a clean recording, cut at pauses (16 kHz samples)."""
    hop = SR16 // 50
    frames = x[: len(x) // hop * hop].reshape(-1, hop)
    e = 20 * np.log10(np.sqrt((frames.astype(np.float64) ** 2).mean(1)) + 1e-9)
    voiced = e > max(np.percentile(e, 95) - 30, np.percentile(e, 10) + 8)
    spans: list[list[int]] = []
    gap = int(min_pause * 50)
    for i, v in enumerate(voiced):
        if not v:
            continue
        if spans and i - spans[-1][1] <= gap and (i - spans[-1][0]) < max_len * 50:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    out = []
    for a, b in spans:
        if b - a >= 25:  # half a second of speech at least
            out.append((max(0, (a - 8) * hop), min(len(x), (b + 8) * hop)))
    return out


def _pseudo_reference(audio: np.ndarray, language: str, model: Any) -> str:
    """What Whisper base hears in clean wideband audio without VAD (beam 5)."""
    segments, _ = model.transcribe(audio, language=language, beam_size=5, vad_filter=False,
                                   condition_on_previous_text=False)
    return " ".join(s.text.strip() for s in segments).strip()


def load_sources(real: Path, model: Any, cache: Path | None = None) -> dict[str, list[Utterance]]:
    """Utterances per language from the real recordings, with references.

    ``model`` (a faster-whisper WhisperModel) makes the pseudo-references of the
    Russian recordings that have no human one; they are cached in ``cache``.
    """
    saved: dict[str, str] = {}
    if cache is not None and cache.is_file():
        saved = json.loads(cache.read_text(encoding="utf-8"))
    out: dict[str, list[Utterance]] = {"ru": [], "en": []}

    def pseudo(key: str, audio: np.ndarray, language: str) -> str:
        if key not in saved:
            saved[key] = _pseudo_reference(audio, language, model)
        return saved[key]

    # Russian without a human reference: cut into utterances, pseudo-reference each.
    for name in ("speech-ru-silero.wav", "voice-message-ru.ogg"):
        x = load(real / name)
        for k, (a, b) in enumerate(_split(x)):
            text = pseudo(f"{name}#{k}", x[a:b], "ru")
            if len(text.split()) >= 2:
                out["ru"].append(Utterance(f"{name}#{k}", "ru", x[a:b], text, "pseudo"))
    x = load(real / "speech-ru-short.wav")
    out["ru"].append(Utterance("speech-ru-short.wav", "ru", x,
                               (real / "speech-ru-short.txt").read_text(encoding="utf-8").strip(),
                               "human"))
    # English with human references.
    for wav in sorted(real.glob("hifitts_*.wav")) + [real / "jfk-en.wav"]:
        text = wav.with_suffix(".txt").read_text(encoding="utf-8").strip()
        out["en"].append(Utterance(wav.name, "en", load(wav), text, "human"))
    stereo = real / "librispeech-stereo-en.wav"
    refs = dict(line.split(":", 1) for line in
                stereo.with_suffix(".txt").read_text(encoding="utf-8").splitlines() if ":" in line)
    both = _load_channels(stereo)
    for idx, side in enumerate(("LEFT", "RIGHT")):
        out["en"].append(Utterance(f"{stereo.name}#{side}", "en", both[idx], refs[side].strip(),
                                   "human"))
    # The real telephone conversation: its STM turns grouped into utterances.
    conv = load(real / "phone-conversation-en.wav")
    turns = []
    for line in (real / "phone-conversation-en.stm").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split(maxsplit=5)
        turns.append((float(parts[3]), float(parts[4]), parts[5]))
    group: list[tuple[float, float, str]] = []
    for turn in turns + [(1e9, 1e9, "")]:
        if group and (turn[0] - group[0][0] > 7.0 or turn[0] >= 1e9):
            a, b = group[0][0], group[-1][1]
            out["en"].append(Utterance(f"phone-conversation-en.wav@{a:.1f}", "en",
                                       conv[int(a * SR16): int(b * SR16) + SR16 // 5],
                                       " ".join(t[2] for t in group), "human"))
            group = []
        group.append(turn)
    if cache is not None:
        cache.write_text(json.dumps(saved, ensure_ascii=False, indent=1), encoding="utf-8")
    return out


def _load_channels(path: Path) -> list[np.ndarray]:
    import av

    chunks = []
    with av.open(str(path)) as c:
        rs = av.AudioResampler(format="s16", layout="stereo", rate=SR16)
        for frame in c.decode(audio=0):
            chunks += [f.to_ndarray().reshape(-1, 2) for f in rs.resample(frame)]
    data = np.concatenate(chunks).astype(np.float32) / 32768.0
    return [np.ascontiguousarray(data[:, 0]), np.ascontiguousarray(data[:, 1])]


# --- calls --------------------------------------------------------------------------


@dataclass
class CallPlan:
    id: str
    language: str
    codec: str  # the PBX file codec
    client_db: float  # the far end's speech level
    noise_db: float = -62.0
    far_codec: str = "amr"  # the mobile leg of the far end
    hold_on: str = "client"  # the channel the hold music is heard on
    seed: int = 0


PLANS = [
    CallPlan("ru-ulaw", "ru", "ulaw", client_db=-30.0, hold_on="client", seed=1),
    CallPlan("ru-mp3", "ru", "mp3-16k", client_db=-36.0, hold_on="manager", seed=2),
    CallPlan("en-opus", "en", "opus", client_db=-32.0, hold_on="client", seed=3),
    CallPlan("en-mp3", "en", "mp3", client_db=-36.0, noise_db=-58.0, hold_on="manager", seed=4),
    # A bad mobile line: the lowest AMR rate, the far end 22 dB below the near
    # end and only ~15 dB above the line noise.
    CallPlan("ru-hard", "ru", "mp3-16k", client_db=-42.0, noise_db=-57.0, far_codec="amr-low",
             hold_on="client", seed=5),
    CallPlan("en-hard", "en", "ulaw", client_db=-42.0, noise_db=-57.0, far_codec="amr-low",
             hold_on="manager", seed=6),
]


def build_call(plan: CallPlan, utterances: list[Utterance], out_dir: Path,
               shuffle: bool = True) -> PhoneCall:
    """Lay utterances on a two-channel timeline, alternating sides, and encode it."""
    rng = np.random.default_rng(plan.seed)
    order = list(range(len(utterances)))
    if shuffle:
        rng.shuffle(order)
    pieces = [utterances[i] for i in order]
    near_db = -20.0
    timeline: list[tuple[str, str, float, np.ndarray, Utterance | None]] = []
    t = 0.0
    ring = ringback(6.0)
    timeline.append(("manager", "ring", t, ring, None))
    t += 6.5
    hold_at = len(pieces) // 2
    silence_at = max(1, len(pieces) // 4)
    for k, utt in enumerate(pieces):
        side = "manager" if k % 2 == 0 else "client"
        audio8 = resample(utt.audio, SR16, RATE)
        if side == "client":
            audio8 = codec_roundtrip(bandpass(set_level(audio8, plan.client_db + 6)), plan.far_codec)
            audio8 = set_level(audio8, plan.client_db)
        else:
            audio8 = set_level(audio8, near_db)
        timeline.append((side, "speech", t, audio8, utt))
        t += len(audio8) / RATE + float(rng.uniform(0.4, 1.4))
        if k == hold_at:
            music = hold_music(18.0, -30.0)
            timeline.append((plan.hold_on, "hold", t, music, None))
            t += 18.0 + 0.8
        if k == silence_at:
            t += 22.0  # typing, looking something up: only the line's noise
    duration = t + 1.5
    n = int(duration * RATE)
    chans = {"manager": line_noise(n, plan.noise_db - 6, rng),
             "client": line_noise(n, plan.noise_db, rng)}
    regions = []
    for side, kind, start, audio8, utt in timeline:
        a = int(start * RATE)
        chans[side][a: a + len(audio8)] += audio8[: n - a]
        regions.append(Region(side, kind, round(start, 3), round(start + len(audio8) / RATE, 3),
                              utt.text if utt else "", utt.reference if utt else ""))
    stereo = np.stack([chans["manager"], chans["client"]], axis=1)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{plan.id}{EXTENSIONS[plan.codec]}"
    path.write_bytes(encode(stereo, plan.codec))
    # Silent stretches of each channel, for the record (speech regions define the rest).
    for side in ("manager", "client"):
        busy = sorted((r.start, r.end) for r in regions if r.channel == side)
        cursor = 0.0
        for a, b in busy + [(duration, duration)]:
            if a - cursor > 3.0:
                regions.append(Region(side, "silence", round(cursor, 3), round(a, 3)))
            cursor = max(cursor, b)
    return PhoneCall(plan.id, plan.language, plan.codec, path, round(duration, 3), regions)


def build_calls(out_dir: Path, model: Any, real: Path = REAL) -> list[PhoneCall]:
    """The benchmark's calls (cached in out_dir/calls.json)."""
    index = out_dir / "calls.json"
    if index.is_file():
        calls = [PhoneCall.from_json(d) for d in json.loads(index.read_text(encoding="utf-8"))]
        if all(c.path.is_file() for c in calls):
            return calls
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = load_sources(real, model, out_dir / "pseudo_references.json")
    calls = []
    for plan in PLANS:
        calls.append(build_call(plan, sources[plan.language], out_dir))
    index.write_text(json.dumps([c.to_json() for c in calls], ensure_ascii=False, indent=1),
                     encoding="utf-8")
    return calls


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower().replace("ё", "е"))


# The committed test fixture (fixtures/real/phone-call-ru.wav): four Russian
# utterances, the client's two through a mobile line 14 dB below the manager.
FIXTURE_PLAN = CallPlan("phone-call-ru", "ru", "ulaw", client_db=-34.0, noise_db=-60.0,
                        far_codec="amr", hold_on="client", seed=7)
FIXTURE_UTTERANCES = ("speech-ru-silero.wav#9", "voice-message-ru.ogg#0",
                      "speech-ru-silero.wav#7", "voice-message-ru.ogg#3")


def build_fixture(out_dir: Path, model: Any, real: Path = REAL) -> PhoneCall:
    sources = {u.source: u for u in load_sources(real, model, None)["ru"]}
    picked = [sources[k] for k in FIXTURE_UTTERANCES]
    return build_call(FIXTURE_PLAN, picked, out_dir, shuffle=False)
