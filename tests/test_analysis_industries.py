"""Calls from industries not in the dev corpus (IT, logistics, medical, furniture, recruiting).

Written independently of the rule files to check that the cues generalise; each
is labelled by LABELING.md. Mono ones use speaker "unknown" and ASR-style text.
"""

from __future__ import annotations

import pytest

from auditor.analysis import analyze
from auditor.records import STAGES, Segment, Transcript

CALLS = {
    "ru_it_services_cold_call": {
        "language": "ru", "duration": 372, "mono": False,
        "call_type": "new_client", "verdict": "ok",
        "stages": ['profile', 'needs', 'presentation', 'next_step'],
        "turns": [
            ('c', 'Алло.'),
            ('m', 'Добрый день, меня зовут Кирилл, компания «АйТиПрофи», мы обслуживаем компьютеры '
                  'и сети в офисах. Я дозвонился в «Северный бухгалтерский центр»?'),
            ('c', 'Да, всё верно.'),
            ('m', 'Подскажите, а кто у вас решает вопросы по компьютерам и технике?'),
            ('c', 'Ну, я, наверное. Я управляющая, Светлана.'),
            ('m', 'Светлана, очень приятно. Сколько у вас сейчас рабочих мест в офисе?'),
            ('c', 'Человек двадцать пять, ну и сервер один стоит.'),
            ('m', 'А кто сейчас занимается техникой — свой айтишник или приходящий?'),
            ('c', 'Приходящий, частник. Раз в неделю заходит, если не заболел.'),
            ('m', 'И как, всё устраивает? Бывают простои?'),
            ('c', 'Бывают, конечно. В прошлом месяце сервер с базой упал, полдня не работали, а у '
                  'нас отчётность.'),
            ('m', 'Понимаю. А бэкапы базы делаются, вы знаете?'),
            ('c', 'Честно — не знаю. Он говорил, что делает.'),
            ('m', 'Что для вас сейчас важнее всего — чтобы быстро реагировали или чтобы вообще не '
                  'ломалось?'),
            ('c', 'Чтобы не ломалось, конечно, и чтобы в сдачу отчётности кто-то был на связи.'),
            ('m', 'А по бюджету на обслуживание вы как-то ориентируетесь, сколько платите сейчас?'),
            ('c', 'Тысяч пятнадцать в месяц ему отдаём.'),
            ('m', 'Понял. Смотрите, мы работаем по абонентскому договору: закреплённый инженер, '
                  'выезд в течение двух часов, удалённая поддержка без ограничений.'),
            ('m', 'Для бухгалтерий у нас отдельный пакет — ежедневный бэкап базы в облако и '
                  'проверка восстановления раз в месяц, с отчётом. Обслуживаем больше сорока '
                  'бухгалтерских компаний.'),
            ('c', 'А по деньгам сколько выйдет?'),
            ('m', 'На двадцать пять мест — около девятнадцати тысяч в месяц, первый месяц — '
                  'бесплатный аудит всей сети.'),
            ('c', 'Ну, аудит — это интересно.'),
            ('m', 'Давайте так: я приеду к вам в четверг в одиннадцать, инженер посмотрит сервер и '
                  'сеть, а по итогам пришлю отчёт и предложение. Удобно?'),
            ('c', 'В четверг в одиннадцать — да, подходит.'),
            ('m', 'Отлично, записал. До четверга, Светлана.'),
            ('c', 'До свидания.'),
        ],
    },
    "ru_logistics_repeat_order": {
        "language": "ru", "duration": 140, "mono": False,
        "call_type": "existing_client", "verdict": "missed_opportunity",
        "stages": ['profile', 'needs', 'next_step'],
        "turns": [
            ('c', 'Алёна, привет, это Рустам из «ВолгаТорга». Нужна опять машина на Самару.'),
            ('m', 'Рустам, привет! Записываю. Сколько паллет и какой вес?'),
            ('c', 'Четырнадцать паллет, тонн девять.'),
            ('m', 'Груз тот же, бытовая химия? Температурный режим нужен?'),
            ('c', 'Та же химия, режим не нужен.'),
            ('m', 'Когда загрузка?'),
            ('c', 'Послезавтра утром.'),
            ('m', 'Хорошо. Как у вас вообще дела, объёмы растут?'),
            ('c', 'Да, потихоньку, вот новый склад в Самаре открыли, туда теперь чаще будем возить.'),
            ('m', 'Отлично. Тогда машина будет у вас послезавтра к восьми утра, заявку пришлю в '
                  'течение часа.'),
            ('c', 'Давай, спасибо.'),
        ],
    },
    "ru_medical_equipment_mono_asr": {
        "language": "ru", "duration": 318, "mono": True,
        "call_type": "new_client", "verdict": "ok",
        "stages": ['profile', 'needs', 'presentation', 'next_step'],
        "turns": [
            ('u', 'алло'),
            ('u', 'добрый день это виктор техномед медицинское оборудование вы оставляли заявку на '
                  'сайте по узи аппарату'),
            ('u', 'да оставляла'),
            ('u', 'а что у вас за клиника сколько врачей принимает'),
            ('u', 'ну у нас многопрофильная клиника шесть врачей гинеколог терапевт уролог'),
            ('u', 'а сейчас узи на чем делаете'),
            ('u', 'старый аппарат японский ему лет двенадцать картинка плохая датчики ломаются'),
            ('u', 'понятно а какие исследования в основном нужны брюшная полость гинекология сосуды'),
            ('u', 'в основном гинекология и брюшная ну и щитовидку'),
            ('u', 'а сколько пациентов в день примерно через узи проходит'),
            ('u', 'человек двадцать'),
            ('u', 'по бюджету на какую сумму ориентируетесь'),
            ('u', 'миллиона три три с половиной'),
            ('u', 'и к какому сроку хотите поставить'),
            ('u', 'желательно до нового года'),
            ('u', 'понял смотрите мы официальный дистрибьютор самсунг медисон у нас свой сервисный '
                  'центр в городе гарантия три года и обучение врачей бесплатно'),
            ('u', 'под ваши задачи подойдет модель эйч эс сорок с тремя датчиками как раз '
                  'укладываемся в три двести'),
            ('u', 'а посмотреть его можно где то'),
            ('u', 'да давайте я привезу аппарат к вам на демонстрацию в пятницу в десять утра врачи'
                  ' попробуют на пациентах'),
            ('u', 'в пятницу в десять хорошо давайте'),
            ('u', 'отлично до пятницы'),
        ],
    },
    "ru_medical_warranty_complaint": {
        "language": "ru", "duration": 260, "mono": False,
        "call_type": "post_sale", "verdict": "exempt",
        "stages": [],
        "turns": [
            ('c', 'Алло, это «ТехноМед»? Мы у вас в августе купили стерилизатор, он сегодня выдал '
                  'ошибку и не греет.'),
            ('m', 'Здравствуйте. Подскажите номер счёта или договора, я найду вашу поставку.'),
            ('c', 'Договор двести сорок семь, клиника «Улыбка».'),
            ('m', 'Вижу. Аппарат на гарантии, гарантия год. Какая ошибка на экране?'),
            ('c', 'Е-четыре, и пищит.'),
            ('m', 'Это датчик температуры. Я оформлю заявку в сервис, инженер приедет завтра до '
                  'обеда, заменит датчик по гарантии, бесплатно.'),
            ('c', 'А нам на время дадут подменный? У нас запись на весь день.'),
            ('m', 'Подменный стерилизатор можем привезти сегодня к шести, оставим на время ремонта.'
                  ' Акт передачи подпишете у водителя.'),
            ('c', 'Хорошо, спасибо. Адрес тот же, Садовая, пять.'),
            ('m', 'Записала. Извините за неудобства, на следующую поставку расходников дадим скидку'
                  ' пять процентов.'),
            ('c', 'Спасибо, ждём.'),
        ],
    },
    "en_furniture_unprompted_needs": {
        "language": "en", "duration": 140, "mono": False,
        "call_type": "new_client", "verdict": "missed_opportunity",
        "stages": ['presentation'],
        "turns": [
            ('m', 'Comfort Office Furniture, Jake speaking.'),
            ('c', "Hi Jake. We're moving into a new office next month, forty desks, and we need "
                  'sit-stand desks for everyone plus some chairs. Budget is around twenty thousand.'
                  ' Can you help?'),
            ('m', "Absolutely. We're a UK manufacturer, so our sit-stand desks come with a ten-year"
                  ' warranty, and we deliver and install free of charge within the M25.'),
            ('m', "We've fitted out a lot of tech companies, and our ergonomic chairs are certified"
                  ' for all-day use.'),
            ('c', 'Sounds good. What would forty desks cost?'),
            ('m', 'Around three hundred and ninety each, so fifteen six for the desks, and chairs '
                  'from one twenty.'),
            ('c', 'Okay, that fits. Let me talk to my director.'),
            ('m', "Sure, think it over and give us a call whenever you're ready."),
            ('c', 'Will do, thanks.'),
        ],
    },
    "en_medical_supplies_name_only": {
        "language": "en", "duration": 180, "mono": False,
        "call_type": "new_client", "verdict": "missed_opportunity",
        "stages": ['needs', 'presentation'],
        "turns": [
            ('m', 'CareSupply, good afternoon.'),
            ('c', 'Hi, we need wound dressings and some disposable aprons for our care home.'),
            ('m', 'Sure. Who am I speaking with?'),
            ('c', "It's Linda."),
            ('m', 'Thanks Linda. Which dressings do you use at the moment — foam or hydrocolloid?'),
            ('c', 'Foam, mostly the ten by ten.'),
            ('m', 'How many boxes a month do you go through?'),
            ('c', 'About thirty boxes.'),
            ('m', "We're an NHS-approved supplier, we deliver next day free on orders over a "
                  'hundred pounds, and our own-brand foam dressings are about twenty percent '
                  'cheaper than the big brands.'),
            ('c', 'That sounds good.'),
            ('m', "I'll email you a quote and a product list."),
            ('c', 'Okay, thanks.'),
        ],
    },
    "en_recruitment_mono_asr": {
        "language": "en", "duration": 300, "mono": True,
        "call_type": "new_client", "verdict": "ok",
        "stages": ['profile', 'needs', 'presentation', 'next_step'],
        "turns": [
            ('u', 'um hi is this the hr manager at fenton engineering'),
            ('u', "yeah speaking it's claire"),
            ('u', "hi claire it's raj from talentbridge recruitment i'll be quick are you hiring at"
                  ' the moment'),
            ('u', "we are actually we've got a few welding positions open"),
            ('u', 'okay how big is the team there roughly'),
            ('u', 'about a hundred and fifty on the shop floor'),
            ('u', "and what's been the challenge with filling the welding roles"),
            ('u', 'honestly nobody applies and the agencies send us people without the right '
                  'tickets'),
            ('u', 'what certifications do you need them to have'),
            ('u', 'coded welders mainly mig and tig'),
            ('u', 'and how soon do you need them'),
            ('u', "yesterday ideally we're behind on two contracts"),
            ('u', "so we specialise in engineering trades we've got a pool of about three hundred "
                  'pre vetted coded welders and we test every candidate before we send them and if '
                  "someone doesn't work out in the first twelve weeks we replace them free"),
            ('u', "okay that's different"),
            ('u', "let's do this i'll send you three cvs by tomorrow afternoon and we'll have a "
                  'quick call on friday at ten to pick who you want to interview'),
            ('u', 'yeah friday at ten works'),
            ('u', 'brilliant speak friday'),
        ],
    },
    "en_dental_supplies_reorder_mono_asr": {
        "language": "en", "duration": 216, "mono": True,
        "call_type": "existing_client", "verdict": "missed_opportunity",
        "stages": ['needs', 'presentation', 'next_step'],
        "turns": [
            ('u', "hi it's gary from riverside dental i need to reorder the usual gloves and masks"),
            ('u', 'hi gary no problem so the medium nitrile gloves twenty boxes and the level two '
                  'masks ten boxes same as last time'),
            ('u', 'yeah same again'),
            ('u', 'do you want the masks in blue again or white this time'),
            ('u', 'blue is fine'),
            ('u', 'and are you still running low on the saliva ejectors or are you okay for those'),
            ('u', 'oh actually yeah we need some of those a couple of bags'),
            ('u', "okay two bags by the way we've just started stocking a new biodegradable glove "
                  'same price as the nitrile and a lot of practices are switching to it i can put a'
                  ' free box in with this order so you can try it'),
            ('u', 'sure why not'),
            ('u', "lovely so i'll put the order through now it'll be delivered tomorrow before noon"
                  " and i'll call you next week to see how you got on with the new gloves"),
            ('u', 'great cheers'),
            ('u', 'cheers gary bye'),
        ],
    },
}


def _transcript(spec: dict) -> Transcript:
    segments, t = [], 0.0
    for who, text in spec["turns"]:
        length = max(1.5, len(text.split()) * 0.35)
        speaker = {"m": "manager", "c": "client", "u": "unknown"}[who]
        segments.append(Segment(speaker, t, t + length, text))
        t += length + 0.6
    return Transcript(segments, language=spec["language"], duration_s=spec["duration"])


@pytest.mark.parametrize("name", sorted(CALLS))
def test_other_industries(name):
    spec = CALLS[name]
    result = analyze(_transcript(spec))
    assert result.call_type == spec["call_type"], result.call_type_reason
    expected = [s for s in STAGES if s in spec["stages"]]
    if spec["call_type"] in ("new_client", "existing_client"):
        assert result.stages_found == expected, {s: r.reason for s, r in result.stages.items()}
    assert result.verdict == spec["verdict"]
    if spec["mono"]:
        assert all(r.confidence <= 0.65 for r in result.stages.values() if r.found)
