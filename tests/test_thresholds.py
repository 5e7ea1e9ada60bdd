"""The analysis's numeric thresholds live in models/decision.toml and version the rules.

Editing one must change every analysis's ruleset version (so that ``rescore``
re-runs the stored calls), and the code must not fall back to a number of its
own when one is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.analysis import engine, model, rules
from auditor.errors import ConfigError

MODELS = Path(__file__).resolve().parent.parent / "models"


def _clear() -> None:
    rules.decision_settings.cache_clear()
    model.models_version.cache_clear()


@pytest.fixture()
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    copy = tmp_path / "models"
    shutil.copytree(MODELS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(rules, "_models_root", lambda: copy)
    _clear()
    yield copy
    _clear()


def test_thresholds_are_read_from_decision_toml(models: Path) -> None:
    assert rules.threshold("stages", "mono_confidence") == 0.65
    assert rules.threshold("calltype", "model_sure") == 0.75
    assert rules.threshold("calltype", "voicemail_reply_words") == 15


def test_editing_a_threshold_changes_the_ruleset_version(models: Path) -> None:
    before = engine.ruleset_version("ru")
    toml = models / "decision.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "mono_confidence = 0.65", "mono_confidence = 0.6"), encoding="utf-8")
    _clear()
    assert rules.threshold("stages", "mono_confidence") == 0.6
    after = engine.ruleset_version("ru")
    assert after != before and after.split("+")[0] == before.split("+")[0]


def test_a_missing_threshold_is_a_config_error(models: Path) -> None:
    toml = models / "decision.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("model_sure = 0.75\n", ""),
                    encoding="utf-8")
    _clear()
    with pytest.raises(ConfigError, match=r"\[calltype\] model_sure"):
        rules.threshold("calltype", "model_sure")
