"""Settings: thresholds, model, language and paths.

Built once (defaults < auditor.toml < AUDITOR_* environment < command-line
flags) and passed down; core modules never read the environment themselves.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError

CONFIG_FILE = "auditor.toml"
CHECKLIST_FILE = "checklist.toml"  # the user's checklist, next to auditor.toml


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "auditor"


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know; see auditor.toml.example for the keys."""

    # Method targets (from the sales method the product implements).
    short_call_s: float = 300.0
    band_min_s: float = 300.0
    band_max_s: float = 420.0
    daily_target_min: float = 120.0
    # A channel whose sound reached the recogniser less than this (the speech
    # coverage of ChannelStats) is flagged in `show` and the report: the
    # transcript may be missing what was said there.
    min_speech_coverage: float = 0.8
    # Speech recognition.
    model: str = "base"
    model_cache: Path = field(default_factory=default_cache_dir)
    language: str = "ru"
    # Per-manager language, for the managers who call in another language:
    # [languages] "John Smith" = "en"  (a call log's language column wins).
    languages: dict[str, str] = field(default_factory=dict)
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0  # 0 = all available cores
    # Transcriptions run at once (files, and the two channels of a stereo call),
    # each on cpu_threads // workers cores; 0 = one per core on the CPU, one on
    # a GPU (on 2 cores: 2 x 1 thread beats 1 x 2 threads, benchmarks/).
    workers: int = 0
    # Beam 3 takes 7% less CPU than 5 but 0.5-0.8 points of word F1 on the
    # phone set, beam 1 20% less and 1.3 points (benchmarks/audit_speed.py).
    beam_size: int = 5
    # VAD chunks decoded together (faster-whisper's BatchedInferencePipeline);
    # 1 = the sequential decoder. 4: 6% less CPU than 2 on the phone set, same
    # words; the encoder takes them one 30 s window at a time
    # (auditor/speech/transcriber.py), so 4 costs no more memory than 2.
    batch_size: int = 4
    vad: bool = True
    # Speech detection (auditor/vad.py; chosen on benchmarks/recall.py's
    # phone-like calls): Silero's speech threshold, the silence that ends a
    # stretch and the padding around it.
    vad_threshold: float = 0.5
    vad_min_silence_ms: int = 160
    vad_speech_pad_ms: int = 400
    vad_detector: str = "auto"  # auto | silero-8k | silero-16k (see auditor/vad.py)
    vad_adaptive: bool = True  # a lower threshold on a channel the detector scores low
    # Drop what Whisper writes that nobody said (auditor/guards.py).
    guards: bool = True
    # Timestamp tokens in the batched decoder: off, each piece is decoded as
    # text only (on: 8 points less word recall on the fixtures, no gain on
    # the phone-like calls; benchmarks/recall.py, benchmarks/audit_speed.py).
    decode_timestamps: bool = False
    manager_channel: str = "left"
    # The checklist score: a copy of models/<lang>/checklist.toml to use
    # instead ("{lang}" in the path is the call's language). Unset, a
    # checklist.toml next to auditor.toml is used when there is one.
    checklist: str = ""
    # Storage.
    db: str = "auditor.db"
    redact: bool = False  # mask phones, cards and e-mails in what is stored and shown
    # Web accounts kept in the config instead of the database (auditor serve):
    # [accounts] anna = "reviewer:scrypt$..." (the line 'auditor users hash' prints).
    accounts: dict[str, str] = field(default_factory=dict)

    def language_for(self, manager: str | None, explicit: str | None = None) -> str:
        """The language to transcribe a manager's call in."""
        return explicit or (self.languages.get(manager, "") if manager else "") or self.language

    def with_overrides(self, **kw: Any) -> Settings:
        """A copy with the given non-None values replaced (flags override config)."""
        clean = {k: v for k, v in kw.items() if v is not None}
        return _validated(replace(self, **clean))

    @property
    def asr_workers(self) -> int:
        """Transcriptions run at once: on the CPU at most one per core, on a GPU one."""
        if self.device != "cpu":
            return max(1, self.workers or 1)
        return max(1, min(self.workers or self.threads, self.threads))

    @property
    def threads(self) -> int:
        if self.cpu_threads > 0:
            return self.cpu_threads
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            return os.cpu_count() or 1


_FIELD_TYPES = {f.name: f.type for f in fields(Settings)}
_ENV_PREFIX = "AUDITOR_"


def _coerce(key: str, value: Any, origin: str) -> Any:
    typ = _FIELD_TYPES[key]
    try:
        if typ == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if typ == "int":
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if typ == "bool":
            if isinstance(value, bool):
                return value
            s = str(value).strip().lower()
            if s in ("1", "true", "yes", "on"):
                return True
            if s in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ == "dict[str, str]":
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise ValueError
            return dict(value)
        if typ == "Path":
            return Path(str(value)).expanduser()
        if not isinstance(value, str):
            raise ValueError
        return value
    except (TypeError, ValueError):
        raise ConfigError(f"{origin}: key '{key}' must be a {typ}, got {value!r}") from None


def _validated(s: Settings) -> Settings:
    if s.short_call_s <= 0:
        raise ConfigError(f"short_call_s must be positive, got {s.short_call_s}")
    if not 0 < s.band_min_s <= s.band_max_s:
        raise ConfigError(f"band_min_s/band_max_s must satisfy 0 < min <= max, got "
                          f"{s.band_min_s}/{s.band_max_s}")
    if s.daily_target_min <= 0:
        raise ConfigError(f"daily_target_min must be positive, got {s.daily_target_min}")
    if not 0.0 <= s.min_speech_coverage <= 1.0:
        raise ConfigError(f"min_speech_coverage must be between 0 and 1, got {s.min_speech_coverage}")
    if s.manager_channel not in ("left", "right"):
        raise ConfigError(f"manager_channel must be 'left' or 'right', got {s.manager_channel!r}")
    if s.workers < 0:
        raise ConfigError(f"workers must be 0 (one per core) or more, got {s.workers}")
    if s.batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {s.batch_size}")
    if not 0.0 < s.vad_threshold < 1.0:
        raise ConfigError(f"vad_threshold must be between 0 and 1, got {s.vad_threshold}")
    if s.vad_detector not in ("auto", "silero-8k", "silero-16k"):
        raise ConfigError(f"vad_detector must be auto, silero-8k or silero-16k, got {s.vad_detector!r}")
    if s.vad_min_silence_ms < 0 or s.vad_speech_pad_ms < 0:
        raise ConfigError("vad_min_silence_ms and vad_speech_pad_ms must not be negative")
    if s.beam_size < 1:
        raise ConfigError(f"beam_size must be at least 1, got {s.beam_size}")
    return s


def load_settings(config_path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Defaults, then auditor.toml (explicit path or ./auditor.toml), then AUDITOR_* env."""
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    path = config_path or (Path(env["AUDITOR_CONFIG"]) if env.get("AUDITOR_CONFIG") else None)
    if path is None and Path(CONFIG_FILE).is_file():
        path = Path(CONFIG_FILE)
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
        # Accept both a flat file and one with an [auditor] table.
        table = raw.get("auditor", raw)
        for key, value in table.items():
            if key not in _FIELD_TYPES:
                raise ConfigError(f"{path}: unknown key '{key}'")
            values[key] = _coerce(key, value, str(path))
        if values.get("checklist") and not Path(values["checklist"]).expanduser().is_absolute():
            values["checklist"] = str(path.parent / values["checklist"])
        elif "checklist" not in values and (path.parent / CHECKLIST_FILE).is_file():
            values["checklist"] = str(path.parent / CHECKLIST_FILE)
    for key in _FIELD_TYPES:
        env_key = _ENV_PREFIX + key.upper()
        if env_key in env and env[env_key] != "":
            values[key] = _coerce(key, env[env_key], env_key)
    return _validated(Settings(**values))
