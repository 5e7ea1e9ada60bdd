"""The checklist score: items with evidence, stop phrases, the user's copy, rescore, no score for exempt."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from auditor import store
from auditor.analysis import analyze, ruleset_version
from auditor.analysis.loaders import load_transcript
from auditor.cli import app
from auditor.config import Settings, load_settings
from auditor.errors import ConfigError
from auditor.records import ChecklistItem, Segment, Transcript, checklist_score

from .conftest import CORPUS, ROOT
from .helpers_review import RU_FULL_SALE, RU_POST_SALE, add_call, make_engine

runner = CliRunner()
SHIPPED = ROOT / "models" / "ru" / "checklist.toml"


def _doc(segments: list[tuple[str, float, float, str]], duration: float = 368.0) -> Transcript:
    return Transcript([Segment(*s) for s in segments], language="ru", duration_s=duration)


def test_a_full_sale_is_scored_with_evidence_per_item() -> None:
    a = analyze(_doc(RU_FULL_SALE))
    assert a.verdict == "ok" and a.score is not None
    items = {i.key: i for i in a.checklist}
    assert set(items) >= {"profile", "needs", "presentation", "next_step", "greeting",
                          "client_name", "talk_share", "open_questions", "next_step_time",
                          "stop_dont_know"}
    for stage in ("profile", "needs", "presentation", "next_step"):
        assert items[stage].met and items[stage].evidence
    ns = items["next_step_time"]
    assert ns.met and "в четверг в десять" in ns.evidence[0].quote
    assert ns.evidence[0].speaker == "manager" and ns.evidence[0].start == 75.5
    assert a.score == checklist_score(a.checklist)
    assert a.to_dict()["score"] == a.score and a.to_dict()["checklist"]


def test_a_stop_phrase_lowers_the_score() -> None:
    before = analyze(_doc(RU_FULL_SALE))
    said = RU_FULL_SALE[:7] + [("manager", 70.2, 70.4, "Честно говоря, не знаю, уточню.")] \
        + RU_FULL_SALE[7:]
    after = analyze(_doc(said))
    assert before.score is not None and after.score is not None
    assert after.score == pytest.approx(before.score - 10)
    stop = next(i for i in after.checklist if i.key == "stop_dont_know")
    assert stop.met and stop.weight < 0
    assert stop.evidence[0].quote.startswith("Честно говоря, не знаю")
    assert (stop.evidence[0].speaker, stop.evidence[0].start) == ("manager", 70.2)
    # the client saying it is no stop phrase of the manager
    client = RU_FULL_SALE[:8] + [("client", 75.1, 75.4, "Не знаю, посмотрим.")] + RU_FULL_SALE[8:]
    assert analyze(_doc(client)).score == before.score


def test_exempt_and_no_contact_calls_have_no_score() -> None:
    post = analyze(_doc(RU_POST_SALE, 29.0))
    assert post.verdict == "exempt" and post.score is None and post.checklist == []
    assert post.metrics is not None and post.metrics.manager_talk_pct is not None
    doc, _ = load_transcript(CORPUS / "dev-en-010.json")
    nc = analyze(doc)
    assert nc.verdict == "no_contact" and nc.score is None and nc.checklist == []
    silent = analyze(Transcript([], language="ru", duration_s=20.0))
    assert silent.score is None and silent.metrics is None


def test_the_score_formula() -> None:
    items = [ChecklistItem("a", "a", 30, True), ChecklistItem("b", "b", 10, False),
             ChecklistItem("s", "s", -10, True)]
    assert checklist_score(items) == 65.0  # 30 of 40, less 10
    assert checklist_score(items, {"b": True}) == 90.0
    assert checklist_score(items, {"s": False, "a": False}) == 0.0
    assert checklist_score([ChecklistItem("s", "s", -10, True)]) is None


def _copy(tmp_path: Path, old: str = "", new: str = "") -> Path:
    cfg = tmp_path / "auditor.toml"
    cfg.write_text('language = "ru"\n', encoding="utf-8")
    mine = tmp_path / "checklist.toml"
    shutil.copy(SHIPPED, mine)
    if old:
        text = mine.read_text(encoding="utf-8")
        assert old in text
        mine.write_text(text.replace(old, new, 1), encoding="utf-8")
    return cfg


def test_a_checklist_next_to_auditor_toml_is_used(tmp_path: Path) -> None:
    cfg = _copy(tmp_path)
    settings = load_settings(cfg)
    assert settings.checklist == str(tmp_path / "checklist.toml")
    # the same content: the same version; an edit: another one
    assert ruleset_version("ru", settings) == ruleset_version("ru")
    _copy(tmp_path, "weight = 10\nwithin_s", "weight = 40\nwithin_s")
    assert ruleset_version("ru", settings) != ruleset_version("ru")
    # an English call keeps the shipped English checklist
    assert ruleset_version("en", settings) == ruleset_version("en")


def test_a_broken_checklist_is_a_clear_error(tmp_path: Path) -> None:
    _copy(tmp_path, 'kind = "greeting"', 'kind = "smile"')
    settings = Settings(checklist=str(tmp_path / "checklist.toml"))
    with pytest.raises(ConfigError, match="item greeting needs a key and a kind"):
        analyze(_doc(RU_FULL_SALE), settings)
    (tmp_path / "checklist.toml").write_text("[[item]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        analyze(_doc(RU_FULL_SALE), Settings(checklist=str(tmp_path / "checklist.toml")))


def _scores(db: str) -> dict[int, float | None]:
    _, engine = make_engine(Path(db).parent)
    with store.session(engine) as s:
        return {a.recording_id: a.score for a in s.exec(select(store.Analysis))}


def test_editing_a_weight_changes_the_score_after_rescore(tmp_path: Path) -> None:
    """A sale without a greeting: the greeting's weight moves its score, through rescore."""
    db, engine = make_engine(tmp_path)
    no_greeting = [("manager", 1.2, 4.7, "Алло, слушаю.")] + RU_FULL_SALE[1:]
    call = add_call(engine, "sale", no_greeting, duration_s=368.0)
    post = add_call(engine, "post", RU_POST_SALE, duration_s=29.0, verdict="exempt",
                    call_type="post_sale")
    engine.dispose()
    cfg = _copy(tmp_path)
    r = runner.invoke(app,
                      ["rescore", "--db", db, "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    first = _scores(db)
    assert first[post.id] is None and first[call.id] is not None
    greeting = next(i for i in analyze(_doc(no_greeting)).checklist if i.key == "greeting")
    assert not greeting.met
    _copy(tmp_path, "weight = 10\nwithin_s", "weight = 50\nwithin_s")  # the greeting weighs more
    r = runner.invoke(app,
                      ["rescore", "--db", db, "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    second = _scores(db)
    assert second[call.id] is not None and first[call.id] is not None
    assert second[call.id] < first[call.id]  # a bigger share of the score is missed
    assert second[post.id] is None
