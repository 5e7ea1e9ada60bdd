"""Model resolution: the bundled model is assembled once, verified and put in place atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.config import Settings
from auditor.errors import ModelError
from auditor.speech import model as asr
from auditor.speech import transcriber


def test_bundled_model_is_assembled_and_verified(model_cache: Path) -> None:
    folder = asr.bundled_model_dir(model_cache)
    assert (folder / asr._READY_MARK).is_file()
    assert asr._sha256(folder / "model.bin") == asr.BUNDLED_FILES["model.bin"]
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        assert (folder / name).is_file()
    # A second call reuses the folder and leaves no temp folders behind.
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert asr.bundled_model_dir(model_cache) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == mtime
    assert not list(model_cache.glob(".assemble-*"))


def test_interrupted_assembly_is_redone(tmp_path: Path) -> None:
    target = tmp_path / f"whisper-base-{asr.BUNDLED_FILES['model.bin'][:12]}"
    target.mkdir()
    (target / "model.bin").write_bytes(b"half a model")  # no .verified mark
    (tmp_path / ".assemble-dead").mkdir()  # a temp folder left by a killed run
    folder = asr.bundled_model_dir(tmp_path)
    assert folder == target
    assert asr._sha256(folder / "model.bin") == asr.BUNDLED_FILES["model.bin"]


def test_tampered_part_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(asr.BUNDLED_FILES, "model.bin", "0" * 64)
    with pytest.raises(ModelError, match="sha256"):
        asr.bundled_model_dir(tmp_path)
    assert not any(p.name.startswith("whisper-base") for p in tmp_path.iterdir())
    assert not list(tmp_path.glob(".assemble-*"))


def test_local_folder_without_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no model.bin"):
        asr.resolve_model(str(tmp_path), tmp_path)


def test_model_ids() -> None:
    assert asr.model_id("base") == "base"
    assert asr.model_id("/opt/models/whisper-small-ct2") == "dir:whisper-small-ct2"
    assert asr.model_id("large-v3") == "large-v3"


def test_hub_model_offline_fails_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t = transcriber.WhisperTranscriber(Settings(model="tiny", model_cache=tmp_path))
    with pytest.raises(ModelError, match="--model base"):
        _ = t.model


def test_the_encoder_takes_a_batch_one_window_at_a_time(model_cache: Path) -> None:
    """Batched decoding encodes its windows one by one (the memory of one), same output."""
    import ctranslate2
    import numpy as np

    from .audio_gen import speech

    model = transcriber.WhisperTranscriber(Settings(model_cache=model_cache, cpu_threads=1)).model
    left, right = speech()
    feats = np.stack([model.feature_extractor(x)[:, :3000] for x in (left, right)])
    feats = np.pad(feats, ((0, 0), (0, 0), (0, 3000 - feats.shape[2])))
    seen: list[int] = []
    real = model.model

    class Spy:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def encode(self, features: ctranslate2.StorageView, **kw: object) -> object:
            seen.append(features.shape[0])
            return real.encode(features, **kw)

    model.model = Spy()
    try:
        got = np.asarray(model.encode(feats))
    finally:
        model.model = real
    assert seen == [1, 1]
    together = np.asarray(real.encode(ctranslate2.StorageView.from_array(feats)))
    assert got.shape == together.shape == (2, 1500, 512)
    assert np.allclose(got, together, atol=1e-3)
