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
