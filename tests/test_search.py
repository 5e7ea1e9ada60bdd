"""Search through the CLI: lemmas fold word forms, the index follows the store lazily."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from auditor import store
from auditor.cli import app
from auditor.store import search_index as search_mod
from auditor.store.search_index import backend_for, ensure_index
from auditor.store.search_terms import Lemmatizer
from auditor.views.callrow import CallFilter
from auditor.views.search import SearchHit, search, snippet

from .helpers_review import (
    EN_SALE,
    RU_POST_SALE,
    RU_SHORT_SALE,
    add_call,
    make_engine,
    standard_db,
)

runner = CliRunner()

# Every test on SQLite and again on PostgreSQL (tests/dbs.py).
pytestmark = pytest.mark.usefixtures("db_backend")


@pytest.fixture(scope="module")
def lemmatizer() -> Lemmatizer:
    return Lemmatizer()


@pytest.fixture()
def db(tmp_path: Path) -> tuple[str, dict]:
    return standard_db(tmp_path)


def search_json(path: str, *args: str) -> dict:
    r = runner.invoke(app, ["search", *args, "--db", path, "--format", "json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_russian_query_finds_other_cases(db: tuple[str, dict]) -> None:
    path, c = db
    r = runner.invoke(app, ["search", "отгрузка", "--db", path])
    assert r.exit_code == 0, r.output
    out = r.stdout
    # the transcript says "отгрузку" and "отгрузки", never "отгрузка"
    assert f"#{c['post'].id}" in out
    assert "⟦отгрузку⟧" in out and "⟦отгрузки⟧" in out
    assert "[0:07] manager" in out and "[0:14] client" in out
    assert "Павел Орлов" in out
    assert "2 matching segments in 1 calls" in out
    for other in ("short", "full", "en"):
        assert f"#{c[other].id} " not in out

    d = search_json(path, "Отгрузкой")
    assert d["terms"] == ["отгрузка"]
    assert [(h["call_id"], h["speaker"], h["start"]) for h in d["hits"]] == [
        (c["post"].id, "manager", 6.8), (c["post"].id, "client", 14.0)]
    h = d["hits"][0]
    a, b = h["matches"][0]
    assert h["text"][a:b] == "отгрузку"


def test_english_query_folds_forms(db: tuple[str, dict]) -> None:
    path, c = db
    d = search_json(path, "invoice")
    assert [h["call_id"] for h in d["hits"]] == [c["en"].id]
    h = d["hits"][0]
    assert h["text"][slice(*h["matches"][0])] == "invoices"
    # "shipped" and "ship" share a lemma; "delivering" finds "delivered"
    assert [h["text"][slice(*h["matches"][0])] for h in search_json(path, "shipped")["hits"]] == [
        "ship"]
    assert search_json(path, "delivering")["hits"][0]["speaker"] == "client"
    assert search_json(path, "Shipment")["hits"][0]["text"].startswith("Hi John")


def test_yo_and_case_are_folded(db: tuple[str, dict]) -> None:
    path, c = db
    assert [h["call_id"] for h in search_json(path, "ЕЩЕ")["hits"]] == [c["post"].id]
    assert [h["call_id"] for h in search_json(path, "привёз")["hits"]] == [c["post"].id]
    assert search_json(path, "объем")["total_calls"] == 1  # text has "объёмы", "объём"


def test_all_words_must_match_unless_any(db: tuple[str, dict]) -> None:
    path, _ = db
    assert search_json(path, "документы отгрузка")["total_segments"] == 1
    assert search_json(path, "отгрузка газоблок")["total_segments"] == 0
    assert search_json(path, "отгрузка газоблок", "--any")["total_calls"] == 3


def test_filters_use_effective_verdict(db: tuple[str, dict]) -> None:
    path, c = db
    # "доставка" is said in the short call ("с доставкой") and the full one ("доставка")
    assert {h["call_id"] for h in search_json(path, "доставка")["hits"]} == {c["short"].id,
                                                                            c["full"].id}
    assert [h["call_id"] for h in search_json(path, "доставка", "--verdict",
                                              "missed_opportunity")["hits"]] == [c["short"].id]
    assert [h["call_id"] for h in search_json(path, "доставка", "--from", "2026-11-04")["hits"]
            ] == [c["full"].id]
    assert search_json(path, "доставка", "--manager", "Павел Орлов")["hits"] == []
    assert search_json(path, "доставка", "--type", "post_sale")["hits"] == []
    r = runner.invoke(app, ["review", str(c["short"].id), "--db", path, "--verdict", "exempt",
                            "--type", "post_sale", "--note", "доставка"])
    assert r.exit_code == 0, r.output
    hits = search_json(path, "доставка", "--verdict", "exempt")["hits"]
    assert [(h["call_id"], h["reviewed"]) for h in hits] == [(c["short"].id, True)]
    assert [h["call_id"] for h in search_json(path, "доставка", "--type", "post_sale")["hits"]
            ] == [c["short"].id]
    assert [h["speaker"] for h in search_json(path, "газоблок", "--speaker", "client")["hits"]
            ] == ["client", "client"]


def test_newest_calls_first_and_limit(db: tuple[str, dict]) -> None:
    path, c = db
    d = search_json(path, "добрый")
    ids = [h["call_id"] for h in d["hits"]]
    assert ids == sorted(ids, key=lambda i: [c["full"].id, c["post"].id, c["short"].id].index(i))
    limited = search_json(path, "добрый", "--limit", "1")
    assert len(limited["hits"]) == 1 and limited["total_segments"] == d["total_segments"]


def _tables(engine: Engine) -> tuple[str, str]:
    """(segment table, tracking table) of the database's own index backend."""
    be = search_mod.BACKENDS[backend_for(engine)]
    return be.segments, be.done


def test_each_database_uses_its_own_full_text_search(db_backend: str, tmp_path: Path) -> None:
    _, engine = make_engine(tmp_path)
    assert backend_for(engine) == {"sqlite": "fts", "postgresql": "pgfts"}[db_backend]


def test_index_follows_new_transcripts_lazily(tmp_path: Path) -> None:
    path, engine = make_engine(tmp_path)
    segs, done = _tables(engine)
    add_call(engine, "first", RU_SHORT_SALE)
    assert search_json(path, "отгрузка")["hits"] == []
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {done}")).scalar() == 1
    later = add_call(engine, "later", RU_POST_SALE, started_at=datetime(2026, 11, 9, 9, 0))
    assert [h["call_id"] for h in search_json(path, "отгрузка")["hits"]] == [later.id] * 2
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {done}")).scalar() == 2
        assert conn.execute(text(f"SELECT count(*) FROM {segs}")).scalar() == len(
            RU_SHORT_SALE) + len(RU_POST_SALE)
    # nothing new: nothing indexed again
    assert ensure_index(engine).indexed == 0


def test_index_version_bump_reindexes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      lemmatizer: Lemmatizer) -> None:
    _, engine = make_engine(tmp_path)
    add_call(engine, "post", RU_POST_SALE)
    assert ensure_index(engine, lemmatizer).indexed == 1
    monkeypatch.setattr(search_mod, "INDEX_VERSION", search_mod.INDEX_VERSION + 1)
    stats = ensure_index(engine, lemmatizer)
    assert (stats.removed, stats.indexed) == (1, 1)
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {_tables(engine)[0]}")).scalar() == len(
            RU_POST_SALE)


QUERIES = (("отгрузка", None), ("invoice", None), ("добрый", None),
           ("доставка", CallFilter(manager="Ирина Соколова")), ("100% _скидка_", None),
           ("отгрузка документ", None), ("скидка склад", None), ("счёт-фактура", None),
           ("D500", None), ("\"газоблок\" OR & | ! :*", None))


def _hits(engine: Engine, query: str, flt: CallFilter | None, lemmatizer: Lemmatizer,
          backend: str | None = None, any_word: bool = False) -> list[tuple[int, int, object]]:
    found = search(engine, query, flt, lemmatizer=lemmatizer, backend=backend, any_word=any_word)
    return [(h.call.id, h.seg_index, h.spans) for h in found.hits]


def test_like_fallback_gives_the_same_answers(db: tuple[str, dict], lemmatizer: Lemmatizer
                                              ) -> None:
    path, c = db
    engine = store.make_engine(path)
    native = backend_for(engine)
    for query, flt in QUERIES:
        fts = search(engine, query, flt, lemmatizer=lemmatizer, backend=native)
        like = search(engine, query, flt, lemmatizer=lemmatizer, backend="like")
        assert like.backend == "like"
        assert [(h.call.id, h.seg_index, h.spans) for h in like.hits] == [
            (h.call.id, h.seg_index, h.spans) for h in fts.hits], query
    assert search(engine, "скидка", lemmatizer=lemmatizer, backend="like").total_calls == 1


def test_search_escapes_markup_and_rejects_empty_query(tmp_path: Path) -> None:
    path, engine = make_engine(tmp_path)
    add_call(engine, "markup", [("client", 1.0, 3.0, "[bold]отгрузки[/bold] не было [red]")])
    r = runner.invoke(app, ["search", "отгрузка", "--db", path])
    assert r.exit_code == 0, r.output
    assert "[bold]⟦отгрузки⟧[/bold] не было [red]" in r.stdout
    r = runner.invoke(app, ["search", "?!", "--db", path])
    assert r.exit_code == 2 and "nothing to search for" in r.stderr


def test_english_words_in_a_russian_call_fold_too(tmp_path: Path) -> None:
    path, engine = make_engine(tmp_path)
    call = add_call(engine, "mixed", [("manager", 0.0, 4.0, "Пришлю вам invoices и прайс.")])
    add_call(engine, "en", EN_SALE, language="en", manager="John Smith")
    hits = search_json(path, "invoice")["hits"]
    assert call.id in {h["call_id"] for h in hits} and len(hits) == 2


def test_lemmatizer_spans_and_snippet(lemmatizer: Lemmatizer) -> None:
    toks = next(lemmatizer.tokens(["Отгрузки ещё не будет, ёлки!"], "ru"))
    assert [t.lemma for t in toks] == ["отгрузка", "еще", "не", "быть", "елка"]
    assert (toks[0].start, toks[0].end) == (0, 8)
    assert lemmatizer.query_terms("Счёт-фактуру, пожалуйста") == ["счет", "фактура", "пожалуйста"]
    long_text = "слово " * 60 + "отгрузку ждём " + "ещё " * 60
    start = long_text.index("отгрузку")
    hit = SearchHit(call=None, transcript_id=1, seg_index=0, speaker="client",  # type: ignore[arg-type]
                    start=0.0, text=long_text, spans=[(start, start + 8)])
    text_, spans = snippet(hit, width=80)
    assert len(text_) < 100 and text_.startswith("…") and text_.endswith("…")
    assert text_[spans[0][0]:spans[0][1]] == "отгрузку"


def test_ambiguous_forms_fold_under_every_reading(tmp_path: Path) -> None:
    # spaCy's lookup mode keeps "накладными" as is (накладная? накладной?);
    # the index keeps every dictionary reading so the noun still folds.
    path, engine = make_engine(tmp_path)
    call = add_call(engine, "docs", [
        ("manager", 0.0, 3.0, "Накладную и акт передаст водитель."),
        ("client", 3.5, 6.0, "С накладными в прошлый раз была путаница."),
        ("manager", 6.5, 9.0, "Счёт отправлю сегодня."),
    ])
    d = search_json(path, "накладная")
    assert [(h["call_id"], h["segment"]) for h in d["hits"]] == [(call.id, 0), (call.id, 1)]
    assert [h["text"][slice(*h["matches"][0])] for h in d["hits"]] == ["Накладную", "накладными"]
    assert search_json(path, "быть")["total_segments"] == 1  # "была"
    assert search_json(path, "путаница накладная")["total_segments"] == 1


def test_concurrent_indexer_does_not_duplicate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               lemmatizer: Lemmatizer) -> None:
    _, engine = make_engine(tmp_path)
    ids = [add_call(engine, f"c{i}", RU_POST_SALE).transcript_id for i in range(3)]
    native = backend_for(engine)
    real = search_mod._index_rows

    def racing(*args: object, **kw: object) -> object:
        batch = real(*args, **kw)  # type: ignore[arg-type]
        # another search process indexes the second transcript meanwhile
        search_mod._store(engine, native, {ids[1]: batch[ids[1]]})  # type: ignore[index]
        return batch

    monkeypatch.setattr(search_mod, "_index_rows", racing)
    stats = ensure_index(engine, lemmatizer)
    assert stats.indexed == 2
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {_tables(engine)[0]}")).scalar() == 3 * len(
            RU_POST_SALE)
    monkeypatch.undo()
    assert search(engine, "отгрузка", lemmatizer=lemmatizer).total_segments == 6

