from pathlib import Path

import pytest

from auditor.config import Settings, load_settings
from auditor.errors import ConfigError


def test_defaults_follow_the_method() -> None:
    s = load_settings(env={})
    assert s.short_call_s == 300
    assert (s.band_min_s, s.band_max_s) == (300, 420)
    assert s.daily_target_min == 120
    assert s.language == "ru" and s.compute_type == "int8" and s.vad


def test_toml_env_and_flags_layer(tmp_path: Path) -> None:
    cfg = tmp_path / "auditor.toml"
    cfg.write_text('short_call_s = 240\nlanguage = "en"\n', encoding="utf-8")
    s = load_settings(cfg, env={"AUDITOR_LANGUAGE": "ru"})
    assert s.short_call_s == 240
    assert s.language == "ru"  # env beats the file
    assert s.with_overrides(short_call_s=200, language=None).short_call_s == 200


def test_auditor_table_is_accepted(tmp_path: Path) -> None:
    cfg = tmp_path / "auditor.toml"
    cfg.write_text("[auditor]\ndaily_target_min = 90\n", encoding="utf-8")
    assert load_settings(cfg, env={}).daily_target_min == 90


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("short_call_s = 'long'\n", "short_call_s"),
        ("no_such_key = 1\n", "no_such_key"),
        ("short_call_s = \n", "not valid TOML"),
        ("manager_channel = 'middle'\n", "manager_channel"),
        ("band_min_s = 500\nband_max_s = 400\n", "band_min_s"),
    ],
)
def test_broken_config_names_the_key(tmp_path: Path, text: str, needle: str) -> None:
    cfg = tmp_path / "auditor.toml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=needle) as exc:
        load_settings(cfg, env={})
    assert "\n" not in str(exc.value)


def test_threads_default_to_available_cores() -> None:
    assert Settings().threads >= 1
    assert Settings(cpu_threads=3).threads == 3


def test_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parent.parent / "auditor.toml.example"
    assert load_settings(example, env={}) == Settings(model_cache=load_settings(env={}).model_cache)


def test_per_manager_languages(tmp_path: Path) -> None:
    cfg = tmp_path / "auditor.toml"
    cfg.write_text('language = "ru"\n[languages]\n"John Smith" = "en"\n', encoding="utf-8")
    s = load_settings(cfg, env={})
    assert s.language_for("John Smith") == "en"
    assert s.language_for("Ирина") == "ru"
    assert s.language_for(None) == "ru"
    assert s.language_for("John Smith", explicit="de") == "de"  # a call log's column wins
    cfg.write_text('languages = "en"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="languages"):
        load_settings(cfg, env={})


def test_workers_default_to_one_per_core_on_cpu_and_one_on_gpu() -> None:
    assert Settings(cpu_threads=4).asr_workers == 4
    assert Settings(cpu_threads=4, workers=2).asr_workers == 2
    assert Settings(cpu_threads=2, workers=8).asr_workers == 2  # never more than the cores
    assert Settings(cpu_threads=4, device="cuda").asr_workers == 1
    assert Settings(cpu_threads=4, device="cuda", workers=2).asr_workers == 2


@pytest.mark.parametrize("key,value", [("workers", -1), ("batch_size", 0), ("beam_size", 0)])
def test_bad_decoder_settings_are_refused(key: str, value: int) -> None:
    with pytest.raises(ConfigError, match=key):
        Settings().with_overrides(**{key: value})
