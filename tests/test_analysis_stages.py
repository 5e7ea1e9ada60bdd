"""The hard cases of LABELING.md, in both languages, on small inline calls (real spaCy)."""

from __future__ import annotations

import pytest

from auditor.analysis import analyze
from auditor.records import Segment, Transcript


def call(turns: list[tuple[str, str]], language: str, duration: float = 120.0,
         mono: bool = False) -> Transcript:
    """A transcript from (speaker, text) pairs: 'm' manager, 'c' client."""
    segments, t = [], 0.0
    for who, text in turns:
        length = max(1.5, len(text.split()) * 0.4)
        speaker = "unknown" if mono else {"m": "manager", "c": "client"}[who]
        segments.append(Segment(speaker, t, t + length, text))
        t += length + 0.5
    return Transcript(segments, language=language, duration_s=duration)


# A complete sales call in each language: the control that every stage can be found.
FULL_RU = [
    ("m", "Компания «ТехСнаб», Марина, добрый день."),
    ("c", "Здравствуйте, нас интересуют перчатки для клиники."),
    ("m", "А вы клиника какого профиля, сколько у вас врачей?"),
    ("c", "Стоматология, восемь врачей."),
    ("m", "А перчатки сейчас у кого берёте?"),
    ("c", "У местного оптовика, но они часто рвутся."),
    ("m", "Какой размер и сколько коробок в месяц уходит?"),
    ("c", "Размер М, коробок двадцать."),
    ("m", "Мы официальный дистрибьютор, у нас свой склад в городе, доставка бесплатно, "
          "и на нитриловые перчатки гарантия качества."),
    ("c", "Звучит хорошо."),
    ("m", "Давайте я в четверг в десять привезу образцы, и вы попробуете."),
    ("c", "Давайте, в четверг в десять."),
]
FULL_EN = [
    ("m", "MedLine Supplies, this is Kate."),
    ("c", "Hi, we're looking for exam gloves for our clinic."),
    ("m", "Sure. What kind of practice are you, and how many staff do you have?"),
    ("c", "A dental practice, twelve staff."),
    ("m", "And who do you buy your gloves from today?"),
    ("c", "A wholesaler, but the gloves keep tearing."),
    ("m", "What size do you need, and how many boxes do you go through a month?"),
    ("c", "Medium, about twenty boxes."),
    ("m", "We're an authorised distributor with our own warehouse in town, delivery is free "
          "and we offer a quality guarantee on every box."),
    ("c", "Sounds good."),
    ("m", "How about I bring samples on Thursday at ten so you can try them?"),
    ("c", "Thursday at ten works."),
]


@pytest.mark.parametrize("turns,lang", [(FULL_RU, "ru"), (FULL_EN, "en")])
def test_complete_call_finds_all_four_stages_with_evidence(turns, lang):
    result = analyze(call(turns, lang, duration=200))
    assert result.call_type == "new_client"
    assert result.stages_found == ["profile", "needs", "presentation", "next_step"]
    assert result.verdict == "ok"
    for stage in result.stages.values():
        assert stage.evidence, stage.stage
        assert all(ev.speaker == "manager" for ev in stage.evidence
                   if stage.stage in ("profile", "needs", "presentation"))
        # Every quote is taken verbatim from a segment at its time.
        seg_texts = {s.start: s.text for s in call(turns, lang).segments}
        assert all(ev.quote in seg_texts[ev.start] for ev in stage.evidence)


@pytest.mark.parametrize("lang,turns", [
    ("ru", [("m", "«Формат Офис», Алексей, слушаю."),
            ("c", "Здравствуйте, сколько стоит кресло «Метта»?"),
            ("m", "Двенадцать девятьсот."),
            ("c", "А в наличии есть?"),
            ("m", "Есть."),
            ("c", "Спасибо.")]),
    ("en", [("m", "Coolflow supply, this is Tom."),
            ("c", "Hi, how much is the three ton condenser?"),
            ("m", "That's sixteen forty-nine."),
            ("c", "Okay, thanks."),
            ("m", "Bye.")]),
])
def test_bare_price_is_not_a_presentation(lang, turns):
    result = analyze(call(turns, lang, duration=40))
    pres = result.stages["presentation"]
    assert not pres.found
    assert "price" in pres.reason
    assert result.verdict == "missed_opportunity"


@pytest.mark.parametrize("lang,turns", [
    ("ru", FULL_RU[:10] + [("m", "Ну вы подумайте, посоветуйтесь. Если что — звоните."),
                           ("c", "Хорошо, спасибо.")]),
    ("en", FULL_EN[:10] + [("m", "Think it over and give us a call if you have any questions."),
                           ("c", "Will do.")]),
])
def test_vague_ending_is_not_a_next_step(lang, turns):
    result = analyze(call(turns, lang, duration=400))
    nxt = result.stages["next_step"]
    assert not nxt.found
    assert "vague" in nxt.reason
    # The rest of the call is fine, so a long call is incomplete, not missed.
    assert result.stages_found == ["profile", "needs", "presentation"]
    assert result.verdict == "incomplete"


@pytest.mark.parametrize("lang,turns", [
    ("ru", [("m", "«ТрансЛайн», Наталья, здравствуйте."),
            ("c", "Мне нужно перевезти две фуры из Казани в Екатеринбург, по двадцать шесть "
                  "паллет, отгрузка в четверг утром. Сколько будет стоить?"),
            ("m", "Где-то девяносто пять за машину."),
            ("c", "Понятно, спасибо.")]),
    ("en", [("m", "Brightline Print, Sarah speaking."),
            ("c", "Hi, I need five hundred A5 flyers, double sided, on silk, by Friday. "
                  "What would that cost?"),
            ("m", "That's one hundred and twenty pounds."),
            ("c", "Okay, thanks.")]),
])
def test_need_stated_by_the_client_alone_is_not_needs(lang, turns):
    result = analyze(call(turns, lang, duration=60))
    needs = result.stages["needs"]
    assert not needs.found
    assert "client" in needs.reason


@pytest.mark.parametrize("lang,turns", [
    ("ru", [("c", "Добрый день, мне нужен стол руководителя, сколько стоит?"),
            ("m", "Давайте я коротко расскажу: мы производитель, у нас своё производство в "
                  "Подольске, поэтому..."),
            ("c", "Нет-нет, про компанию рассказывать не надо, просто цену скажите."),
            ("m", "Хорошо. Сорок семь девятьсот."),
            ("c", "Понял, спасибо.")]),
    ("en", [("c", "Hi, what's the price of the executive desk?"),
            ("m", "Let me tell you a bit about us: we're a manufacturer with our own factory "
                  "in Leeds, so..."),
            ("c", "I don't need the pitch, just the price please."),
            ("m", "Sure. Eight hundred and forty."),
            ("c", "Thanks.")]),
])
def test_presentation_cut_off_by_the_client_does_not_count(lang, turns):
    result = analyze(call(turns, lang, duration=50))
    pres = result.stages["presentation"]
    assert not pres.found
    assert "declined" in pres.reason


def test_refused_demo_is_not_a_next_step():
    turns = [
        ("m", "Hi, is this Jordan? It's Mia from BrightPay payroll software."),
        ("c", "Yes, what's it about?"),
        ("m", "How many employees do you have now?"),
        ("c", "About a hundred and twenty."),
        ("m", "We run payroll in under an hour with automatic tax filings, and migration is "
              "free."),
        ("m", "Can I book you in for a demo on Thursday at two?"),
        ("c", "No, not interested in a demo. Just email me the pricing."),
        ("m", "Sure, I'll email it over."),
    ]
    result = analyze(call(turns, "en", duration=90))
    assert result.stages["presentation"].found
    nxt = result.stages["next_step"]
    assert not nxt.found
    assert "turned the proposal down" in nxt.reason


def test_negated_claim_is_not_a_presentation_cue():
    turns = [("c", "Вы сами производите коробки?"),
             ("m", "Нет, мы не производим, мы не дилер."),
             ("c", "Понятно.")]
    result = analyze(call(turns, "ru", duration=30))
    assert not result.stages["presentation"].found


@pytest.mark.parametrize("lang,turns", [
    ("ru", [("c", "Да."),
            ("m", "Добрый день! Компания «ПакСервис», Дмитрий. Как я могу к вам обращаться?"),
            ("c", "Виктор."),
            ("m", "Виктор, очень приятно. Мы производим гофрокороба, производство своё, "
                  "доставка бесплатно."),
            ("c", "Понятно, пока не актуально.")]),
    ("en", [("m", "Good morning, Comfort Furniture, can I take your name?"),
            ("c", "It's Mark."),
            ("m", "Thanks Mark. We're a UK manufacturer with a ten-year warranty and free "
                  "delivery."),
            ("c", "Okay.")]),
])
def test_greeting_and_name_only_is_not_profile(lang, turns):
    result = analyze(call(turns, lang, duration=70))
    profile = result.stages["profile"]
    assert not profile.found
    assert "name" in profile.reason
    assert result.stages["presentation"].found


@pytest.mark.parametrize("lang,turns", [
    ("ru", [("m", "Елена Викторовна, добрый день, это Дмитрий, «ПакСервис». Я по вашей "
                  "отгрузке: машина будет завтра с девяти до одиннадцати."),
            ("c", "Хорошо, пусть заезжает на задний двор."),
            ("m", "Документы — УПД в двух экземплярах, как обычно. Пока вы на связи — что у "
                  "вас поменялось, вы же в сети заходили?"),
            ("c", "Да, зашли в «Спар», объёмы выросли, вторую смену запустили."),
            ("m", "А плёнку для паллет у кого берёте, всё устраивает?"),
            ("c", "Где придётся, паллеты разваливаются, сеть возвращает."),
            ("m", "Смотрите, у нас с этого месяца новая машинная плёнка, и мы даём в аренду "
                  "паллетообмотчик, обмотка всегда одинаковая."),
            ("c", "Интересно."),
            ("m", "Давайте я в четверг в час подъеду с техником и посмотрю ваш склад."),
            ("c", "Давайте в четверг в час.")]),
    ("en", [("m", "Hi Amir, it's Sarah from Brightline Print, calling about your banners: "
                  "they're packed, delivery is Monday morning."),
            ("c", "Great, the site manager will sign for them."),
            ("m", "I'll put that in the delivery notes. While I have you — what's new with "
                  "you, are you running more events next year?"),
            ("c", "Yes, we've got three new markets in spring."),
            ("m", "What signage will you need for those, and how many banners per site?"),
            ("c", "Probably ten banners each, and we want something more eco-friendly."),
            ("m", "We've just launched a new recyclable banner range, and as a regular "
                  "customer you'd get ten percent off."),
            ("c", "Sounds good."),
            ("m", "Let's book a call next Tuesday at ten to go through the designs."),
            ("c", "Tuesday at ten works.")]),
])
def test_post_sale_call_that_turns_into_selling_is_existing_client(lang, turns):
    result = analyze(call(turns, lang, duration=260))
    assert result.call_type == "existing_client"
    assert result.verdict == "ok"
    assert set(result.stages_found) == {"profile", "needs", "presentation", "next_step"}


@pytest.mark.parametrize("lang,turns", [
    ("ru", [("m", "Олег, «ШефПоставка», слушаю."),
            ("c", "Олег, где машина? У нас приёмка до одиннадцати."),
            ("m", "Водитель в пробке, будет минут через двадцать, накладные оставит у бара."),
            ("c", "Ладно. И сливки из УПД уберите, счёт скорректируйте."),
            ("m", "Хорошо, сливки из УПД убираем, счёт поправлю, привезём завтра первым рейсом.")]),
    ("en", [("c", "Hi Mark, it's Patricia from accounts payable. Your invoice was kicked back, "
                  "there's no PO number on it."),
            ("m", "Sorry about that, I'll have billing reissue the invoice with the PO today."),
            ("c", "And I need a W-9 for our vendor setup."),
            ("m", "I'll attach the W-9 to the same email. The invoice is net thirty, so the "
                  "due date moves, no late fee."),
            ("c", "Great, do you take ACH?"),
            ("m", "Yes, the ACH details are on the invoice.")]),
])
def test_organizational_call_is_post_sale_and_exempt(lang, turns):
    result = analyze(call(turns, lang, duration=100))
    assert result.call_type == "post_sale"
    assert result.verdict == "exempt"
    assert result.stages_found == []
    assert all("not assessed" in s.reason for s in result.stages.values())
    assert result.call_type_evidence


@pytest.mark.parametrize("turns,lang", [(FULL_RU, "ru"), (FULL_EN, "en")])
def test_mono_recording_still_finds_the_stages_with_lower_confidence(turns, lang):
    attributed = analyze(call(turns, lang, duration=200))
    mono = analyze(call(turns, lang, duration=200, mono=True))
    assert mono.call_type == "new_client"
    assert mono.stages_found == ["profile", "needs", "presentation", "next_step"]
    for stage in mono.stages.values():
        assert stage.confidence < attributed.stages[stage.stage].confidence
        assert all(ev.speaker == "unknown" for ev in stage.evidence)
        assert all("speaker inferred" in ev.cue for ev in stage.evidence)


@pytest.mark.parametrize("lang,turns", [
    ("ru", [("m", "пак сервис дмитрий здравствуйте"),
            ("c", "здравствуйте нам коробки нужны для отправки"),
            ("m", "угу а вы откуда сами чем занимаетесь"),
            ("c", "интернет магазин косметики в кстово"),
            ("m", "понятно а какой размер коробки нужен и сколько в месяц"),
            ("c", "двадцать на пятнадцать штук восемьсот"),
            ("m", "ну смотрите без печати рублей тридцать восемь выйдет"),
            ("c", "дороговато"),
            ("m", "ну вы думайте"),
            ("c", "ладно спасибо")]),
    ("en", [("m", "brightline print sarah speaking"),
            ("c", "hi um we need some banners for a trade show"),
            ("m", "lovely so what does your company do"),
            ("c", "we make kitchens two showrooms"),
            ("m", "okay and what size is the stand and when do you need everything"),
            ("c", "six by four by mid february"),
            ("m", "okay that'd be about four hundred"),
            ("c", "okay thanks"),
            ("m", "no worries have a think and let us know")]),
])
def test_asr_text_without_punctuation_questions_found_from_word_order(lang, turns):
    for mono in (False, True):
        result = analyze(call(turns, lang, duration=75, mono=mono))
        assert result.call_type == "new_client", mono
        assert result.stages_found == ["profile", "needs"], mono
        assert result.verdict == "missed_opportunity"


# Speech recognition often ends a question with a full stop; a yes/no answer
# from the other side shows it was one.
ANSWERED_RU = [
    ("m", "Добрый день, Марина, это Павел из СтройРесурса."),
    ("c", "Здравствуйте, Павел."),
    ("m", "Прошёл месяц с прошлой поставки."),
    ("m", "Что-то изменилось в компании."),
    ("c", "Да, мы взяли ещё два объекта, теперь строим три дома."),
]
ANSWERED_EN = [
    ("m", "Hi Mark, it's Kate from MedLine."),
    ("c", "Hi Kate."),
    ("m", "Has anything changed at the practice since spring."),
    ("c", "Yes, we opened a second office."),
]


@pytest.mark.parametrize("turns,lang", [(ANSWERED_RU, "ru"), (ANSWERED_EN, "en")])
@pytest.mark.parametrize("mono", [False, True])
def test_a_question_punctuated_as_a_statement_counts_when_answered(turns, lang, mono):
    result = analyze(call(turns, lang, mono=mono))
    assert "profile" in result.stages_found, result.stages
    # the same words, answered by no one, are a statement
    unanswered = analyze(call(turns[:-1], lang, mono=mono))
    assert "profile" not in unanswered.stages_found


def test_a_statement_followed_by_the_same_speakers_yes_is_not_a_question():
    turns = ANSWERED_RU[:3] + [("m", "Что-то изменилось в компании."),
                               ("m", "Да, мы тоже расширились.")]
    assert "profile" not in analyze(call(turns, "ru")).stages_found


# "для тех, кто ..." is a relative clause, not a question: the offer in it is
# a presentation (without punctuation a wh-word reads as a question).
@pytest.mark.parametrize("text,lang", [
    ("И для тех, кто на зимнем содержании, мы делаем закрепление техники.", "ru"),
    ("и для тех кто на зимнем содержании мы делаем закрепление техники", "ru"),
    ("for those who run two shifts we make a fixed crew available", "en"),
])
def test_a_relative_clause_is_not_a_question(text, lang):
    from auditor.analysis.engine import prepare

    p = prepare(call([("m", text)], lang))
    assert p is not None
    assert not any(c.maybe_question for c in p.dialogue.clauses()), text


def test_a_pitch_that_opens_with_smotrite_u_nas_is_a_presentation():
    opening = [("m", "Клиника «Здоровье», Ольга, добрый день."),
               ("c", "Здравствуйте, мне нужны медкнижки на двенадцать сотрудников."),
               ("m", "Смотрите, как у нас устроено: приходите всей группой в одно утро.")]
    assert "presentation" in analyze(call(opening, "ru")).stages_found
    # the same visit, told as a bare instruction, is not
    bare = opening[:2] + [("m", "Приходите всей группой в одно утро.")]
    assert "presentation" not in analyze(call(bare, "ru")).stages_found


def test_proposing_the_next_step_is_not_yet_a_presentation():
    """"Let's do this: I'll make a free test by Friday" proposes the next step; what it
    says of the offer counts for less (decision.toml proposal_weight)."""
    opening = [("m", "Добрый день, Ольга, бюро «Лингва». Вы по переводу документации писали?"),
               ("c", "Да, нам нужен перевод с китайского, срочно."),
               ("m", "А какой у вас объём и к какому сроку?"),
               ("c", "Страниц сорок, к концу месяца.")]
    proposal = ("m", "Предлагаю так: до пятницы я бесплатно делаю тестовый перевод, "
                     "в понедельник созвонимся.")
    result = analyze(call(opening + [proposal, ("c", "Хорошо, давайте.")], "ru"))
    assert "next_step" in result.stages_found
    assert "presentation" not in result.stages_found, result.stages["presentation"].reason
    # the same offer told as what the company does is one
    pitch = ("m", "Тестовый перевод мы делаем бесплатно, и у нас свои технические переводчики.")
    assert "presentation" in analyze(call(opening + [pitch], "ru")).stages_found
