from auditor.redact import mask_phone, redact_text


def test_phones_cards_and_emails_are_masked() -> None:
    text = ("Пишите на ivan.petrov@stroy-resurs.ru, звоните +7 912 555-01-23 или 8 (343) 210-45-67; "
            "карта 4276 3800 1234 5679, заказ номер 2024.")
    out = redact_text(text)
    assert "ivan.petrov" not in out and "[email]" in out
    assert "555-01-23" not in out and "210-45-67" not in out
    assert "4276 3800 1234 5679" not in out and "[card]" in out
    assert "2024" in out  # an order number is not a phone


def test_non_luhn_long_number_is_treated_as_phone_or_kept_readable() -> None:
    out = redact_text("артикул 1234567890123")
    assert "1234567890123" not in out


def test_mask_phone_keeps_the_last_two_digits() -> None:
    assert mask_phone("+79125550123") == "+*********23"
    assert mask_phone(None) is None
    assert mask_phone("112") == "112"


def test_audit_with_redact_stores_no_contacts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The stored transcript and client number are masked (a fake ASR, real store and analysis)."""
    from pathlib import Path

    from sqlmodel import Session, select

    from auditor import store
    from auditor.config import Settings
    from auditor.pipeline import Auditor
    from auditor.records import Segment, Transcript

    from .audio_gen import speech, write_wav

    class FakeAsr:
        model_id = "fake"

        def transcribe(self, path: Path, info: object, language: str | None = None
                       ) -> tuple[Transcript, str]:
            text = "Запишите мой номер +7 912 555-01-23 и почту ivan@example.com, карта 4276 3800 1234 5679"
            return Transcript([Segment("client", 0.0, 3.0, text)], language="ru", model="fake"), "mono"

    left, _ = speech(2)
    root = tmp_path / "calls"
    write_wav(root / "Ирина" / "2026-11-02_10-15-00_+79125550123.wav", [left])
    settings = Settings(redact=True, db=str(tmp_path / "a.db"))
    engine = store.make_engine(settings.db)
    summary = Auditor(settings, engine, transcriber=FakeAsr()).run(root)
    assert summary.items[0].status == "done"
    with Session(engine) as s:
        rec = s.exec(select(store.Recording)).one()
        stored = s.exec(select(store.Transcript)).one().segments_json
    assert rec.client == "+*********23"
    for secret in ("555-01-23", "ivan@example.com", "4276 3800 1234 5679"):
        assert secret not in stored
