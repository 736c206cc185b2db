"""People coached in their own language, end to end over the real HTTP stack: a Spanish and a
Russian Telegram go through onboarding, a lesson, a check-in by button and by free text (with a red
flag), /cue, /log and /progress, and switch language mid-course without losing anything.

Expected texts come from each language's content, so rewording a translation never breaks a test;
what is checked is that the right language's words arrive, and none of English's."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import COMMANDS, CONTENT_DIR
from bot.content.languages import load_library
from bot.delivery.lean import LeanRequest
from bot.storage.models import ChatLanguage, Enrollment, LogEntry
from tests.conftest import Person, RunningBot, buttons, group_settings, make_settings

LIBRARY = load_library(CONTENT_DIR)
ENGLISH = LIBRARY.base
MINI_APP_URL = "http://127.0.0.1/app/"

# What each person types: a red flag, a cue question and a log line, as people write them.
SPEAKERS = {
    "es": dict(
        code="es-MX",
        name="Lucía",
        red_flag="Noté los isquios, pero en la última repetición sentí un dolor punzante en la zona lumbar",
        cue="me duele la espalda baja",
        log="/log peso muerto rumano 40kg 3x10",
        exercise="rdl",
    ),
    "ru": dict(
        code="ru",
        name="Олег",
        red_flag="Бицепс бедра чувствовал, но на последнем повторе резкая боль в пояснице",
        cue="болит поясница",
        log="/log румынская тяга 40кг 3x10",
        exercise="rdl",
    ),
}


def berlin_7am(day_of_june: int) -> datetime:
    return datetime(2026, 6, day_of_june, 5, 0, tzinfo=UTC)


def first_line(text: str) -> str:
    """A text's first line without its HTML, to find it inside a message."""
    line = text.strip().splitlines()[0]
    for tag in ("<b>", "</b>", "<i>", "</i>", "<code>", "</code>"):
        line = line.replace(tag, "")
    return line.split("{")[0].strip()


def plain(message: dict) -> str:
    text = message.get("text") or message.get("caption") or ""
    for tag in ("<b>", "</b>", "<i>", "</i>", "<code>", "</code>", "<u>", "</u>"):
        text = text.replace(tag, "")
    return text


def speaker(telegram, bot: RunningBot, user_id: int, language: str) -> Person:
    person = Person(telegram, user_id, SPEAKERS[language]["name"], bot)
    person.user = telegram.user(user_id, SPEAKERS[language]["name"], language_code=SPEAKERS[language]["code"])
    return person


def checkin_message(person: Person) -> dict:
    return next(m for m in reversed(person.messages) if any(d.startswith("ci:") for _, d in buttons(m)))


async def onboard(person: Person, language: str) -> list[dict]:
    texts = LIBRARY[language].texts
    intro, question = await person.say("/start", expect=2)
    assert first_line(texts.start_intro) in plain(intro)
    assert first_line(texts.ask_profile) in plain(question)
    labels = [label for label, _ in buttons(question)]
    assert labels[:3] == [texts.profile_runner, texts.profile_lifter, texts.profile_both]
    [ask_time] = await person.press(question, "onb:profile:lifter")
    assert first_line(texts.ask_time) in plain(ask_time)
    [ask_zone] = await person.say("7:00")
    assert first_line(texts.ask_timezone) in plain(ask_zone)
    return await person.say("Europe/Berlin", expect=2)


@pytest.mark.parametrize("language", ["es", "ru"])
async def test_a_person_is_coached_in_their_telegram_language_and_keeps_progress_when_switching(
    running_bot, telegram, language
):
    content, said = LIBRARY[language], SPEAKERS[language]
    texts = content.texts
    person = speaker(telegram, running_bot, 3001, language)

    done, lesson = await onboard(person, language)
    assert first_line(texts.onboarding_done) in plain(done)
    assert content.lesson(1).title in plain(lesson) and ENGLISH.lesson(1).title not in plain(lesson)

    # A check-in by button: the question, its labels and the advice are the language's.
    question = checkin_message(person)
    node = next(n for n in content.checkin.nodes if n.id == content.lesson(1).checkin)
    assert node.question in plain(question)
    assert [label for label, _ in buttons(question)] == [o.label for o in node.options if o.button]
    [advice] = await person.press(question, next(d for _, d in buttons(question) if d.endswith(":hams-glutes")))
    good = next(o.advice for o in node.options if o.id == "hams-glutes")
    assert next(a for a in content.checkin.advice if a.id == good).title in plain(advice)

    # The next lesson, at the person's time, in the person's language.
    await running_bot.at(berlin_7am(2))
    await person.expect(1)
    assert texts.lesson_day_label.format(day=2, days=content.days) in plain(person.messages[-1])

    # A red flag in free text reaches the safety answer, in the language, and holds the course.
    [safety] = await person.say(said["red_flag"])
    red = next(a for a in content.checkin.advice if a.id == content.checkin.red_flag.advice)
    assert red.title in plain(safety)
    assert (texts.hold_ok_button, "hold:ok") in buttons(safety)

    # /cue answers with the language's cues.
    [cue] = await person.say(f"/cue {said['cue']}")
    assert any(c.text in plain(cue) for c in content.cues.values()), plain(cue)
    assert not any(c.text in plain(cue) for c in ENGLISH.cues.values())

    # /log understands the language's exercise names; /progress speaks it, dates included.
    [saved] = await person.say(said["log"])
    name = content.exercise_names[said["exercise"]].name
    assert texts.log_saved.format(exercise=name, sets=3, reps=10, weight="40 kg").strip() in saved["text"]
    [chart] = await person.say("/progress")
    assert chart["caption"].startswith(f"<b>{name}</b>")

    # Switching language keeps the course where it was and the log as it is.
    other = "ru" if language == "es" else "es"
    [ask] = await person.say("/language")
    assert first_line(texts.language_ask) in plain(ask)
    assert ("Русский", "lang:ru") in buttons(ask) and ("Español", "lang:es") in buttons(ask)
    [saved_language] = await person.press(ask, f"lang:{other}")
    assert first_line(LIBRARY[other].texts.language_saved) in plain(saved_language)
    async with running_bot.app.services.db.session() as session:
        [enrollment] = (await session.execute(select(Enrollment).where(Enrollment.chat_id == 3001))).scalars().all()
        [row] = (await session.execute(select(LogEntry).where(LogEntry.chat_id == 3001))).scalars().all()
        stored = await session.get(ChatLanguage, 3001)
    assert enrollment.current_day == 2 and enrollment.status == "held" and row.exercise == said["exercise"]
    assert stored.language == other and stored.chosen
    [today] = await person.say("/today")
    assert LIBRARY[other].lesson(2).title in plain(today)
    [chart] = await person.say("/progress")
    assert chart["caption"].startswith(f"<b>{LIBRARY[other].exercise_names['rdl'].name}</b>")


async def test_a_language_we_lack_is_asked_with_buttons_and_a_guess_never_overrides_a_choice(running_bot, telegram):
    person = Person(telegram, 3101, "Hans", running_bot)
    person.user = telegram.user(3101, "Hans", language_code="de")
    [ask] = await person.say("/start")
    assert first_line(ENGLISH.texts.language_ask) in plain(ask)
    assert {data for _, data in buttons(ask)} == {"start:en", "start:es", "start:ru"}
    intro, question = await person.press(ask, "start:es", expect=2)  # the /start goes on, in Spanish
    assert first_line(LIBRARY["es"].texts.start_intro) in plain(intro)
    assert first_line(LIBRARY["es"].texts.ask_profile) in plain(question)
    assert not buttons(telegram.bot_message(3101, ask["message_id"])), "the picker is used up"
    stale = telegram.press_button(person.user, ask, "start:ru")["callback_query"]["id"]
    await telegram.wait_for(lambda: stale in telegram.callback_answers)
    assert telegram.callback_answers[stale]["text"] == LIBRARY["es"].texts.button_expired.strip()

    person.user = telegram.user(3101, "Hans", language_code="ru")  # Telegram's setting changed: the choice stays
    [help_text] = await person.say("/help")
    assert first_line(LIBRARY["es"].texts.help) in plain(help_text)


async def test_lessons_go_out_in_each_recipients_language(running_bot, telegram, monkeypatch):
    """One fan-out, the same day for everyone: the lean path renders a variant per language, and
    each recipient gets their own language's lesson."""
    lean_posts: list[int] = []
    post = LeanRequest.do_request

    async def spied(self, url, method, request_data=None, **timeouts):
        lean_posts.append(json.loads(request_data.json_payload)["chat_id"])
        return await post(self, url, method, request_data, **timeouts)

    monkeypatch.setattr(LeanRequest, "do_request", spied)
    people = {language: speaker(telegram, running_bot, 3200 + i, language) for i, language in enumerate(SPEAKERS)}
    english = Person(telegram, 3299, "Alex", running_bot)
    for language, person in people.items():
        await onboard(person, language)
    await english.onboard(profile="lifter", time="7:00", zone="Europe/Berlin")
    everyone = [*people.items(), ("en", english)]
    seen = [len(person.messages) for _, person in everyone]
    await running_bot.at(berlin_7am(2))
    for (language, person), before in zip(everyone, seen, strict=True):
        [lesson] = await person.expect(1, after=before)
        assert LIBRARY[language].lesson(2).title in plain(lesson), language
        assert person.chat_id in lean_posts, "a lesson of the fan-out: the lean path"


async def test_menus_and_profile_are_set_for_every_language_at_start_up(running_bot, telegram):
    for language, content in LIBRARY.contents.items():
        code = "" if language == "en" else language
        menu = telegram._commands[('{"type": "default"}', code)]
        assert [c["command"] for c in menu] == list(COMMANDS)
        assert [c["description"] for c in menu] == [getattr(content.texts, f"command_{name}") for name in COMMANDS]
        assert telegram._descriptions[("description", code)] == content.texts.bot_description.strip()
        assert telegram._descriptions[("short_description", code)] == content.texts.bot_short_description.strip()


async def test_inline_mode_answers_in_the_language_of_the_person_typing(running_bot, telegram):
    for language, query in (("es", "espalda"), ("ru", "поясница")):
        user = telegram.user(3300 + len(language), "Sam", language_code=language)
        query_id = telegram.inline_query(user, query)["inline_query"]["id"]
        await telegram.wait_for(lambda query_id=query_id: query_id in telegram.inline_answers)
        titles = [r["title"] for r in telegram.inline_answers[query_id]["results"]]
        assert titles and all(t in {c.text for c in LIBRARY[language].cues.values()} for t in titles), titles


async def test_a_group_speaks_what_its_admin_set_and_each_member_hears_their_own(coach_bot, telegram):
    from tests.test_group_e2e import Club

    club = Club(telegram, coach_bot)
    club.add_bot()
    await club.expect(1, 0)
    es = LIBRARY["es"].texts
    [unknown] = await club.say(club.ana, "/groupcourse language xx")
    assert "xx" in unknown["text"] and "es (Español)" in unknown["text"]
    [chosen] = await club.say(club.ana, "/groupcourse language es")
    assert first_line(es.group_language_set) in plain(chosen)
    _, lesson = await club.start()
    assert LIBRARY["es"].lesson(1).title in plain(lesson)
    assert {label for label, _ in buttons(lesson)} & {o.label for n in LIBRARY["es"].checkin.nodes for o in n.options}

    kim = telegram.user(600, "Kim", language_code="ru")  # a member whose Telegram is in Russian
    toast = await club.press(kim, lesson, "hams-glutes")
    assert any("а" <= ch <= "я" for ch in toast["text"].lower()), toast
    assert toast["text"] != (await club.press(club.ana, lesson, "hams-glutes"))["text"]


async def test_a_groups_link_survives_the_language_picker_and_goes_on_in_the_language_picked(coach_bot, telegram):
    """A member's advice link and a coach's summary link, opened by people whose Telegram speaks a
    language we lack: the picker carries the link in its buttons, and the link opens once they pick."""
    from tests.test_group_e2e import Club, link_of

    club = Club(telegram, coach_bot)
    _, lesson = await club.start()
    payload = link_of(lesson).split("start=")[1]
    es, ru = LIBRARY["es"].texts, LIBRARY["ru"].texts

    hans = Person(telegram, 3401, "Hans", coach_bot)
    hans.user = telegram.user(3401, "Hans", language_code="de")
    [ask] = await hans.say(f"/start {payload}")
    assert first_line(ENGLISH.texts.language_ask) in plain(ask)
    assert ("Español", f"start:es:{payload}") in buttons(ask)
    question, offer = await hans.press(ask, f"start:es:{payload}", expect=2)
    node = LIBRARY["es"].checkin.node_by_id[LIBRARY["es"].lesson(1).checkin]
    assert "Hinge Club" in plain(question) and node.question in plain(question)
    assert first_line(es.group_offer_course) in plain(offer)

    async with coach_bot.app.services.db.session() as session:
        [enrollment] = (await session.execute(select(Enrollment).where(Enrollment.chat_id == club.chat_id))).scalars()
    ana = Person(telegram, club.ana["id"], "Ana", coach_bot)
    ana.user = telegram.user(club.ana["id"], "Ana", language_code="de")
    [ask] = await ana.say(f"/start s{enrollment.id}")
    summary, _ = await ana.press(ask, f"start:ru:s{enrollment.id}", expect=2)
    heading = ru.group_summary_heading.format(title="Hinge Club", day=1, days=LIBRARY["ru"].days)
    assert first_line(heading) in plain(summary)

    # Forged links are read as typed ones are: out of range is a plain /start, a run that is gone says so.
    uwe = Person(telegram, 3402, "Uwe", coach_bot)
    uwe.user = telegram.user(3402, "Uwe", language_code="de")
    [ask] = await uwe.say("/start")
    intro, question = await uwe.press(ask, "start:ru:s99999999999", expect=2)
    assert first_line(ru.start_intro) in plain(intro) and first_line(ru.ask_profile) in plain(question)
    ida = Person(telegram, 3403, "Ida", coach_bot)
    ida.user = telegram.user(3403, "Ida", language_code="de")
    [ask] = await ida.say("/start")
    gone, _ = await ida.press(ask, "start:es:g999999_1", expect=2)
    assert first_line(es.group_link_expired) in plain(gone)


@pytest.fixture
async def mini_app_bot(telegram, database_url, clock):
    """The bot with a Mini App configured (not served: only its menu button is looked at)."""
    bot = RunningBot(make_settings(telegram, database_url, mini_app_url=MINI_APP_URL), clock)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


def menu_label(telegram, chat_id: int | None) -> str | None:
    button = telegram._menu_buttons.get(chat_id)
    assert button is None or button["web_app"]["url"] == MINI_APP_URL
    return None if button is None else button["text"]


async def test_the_mini_app_menu_button_is_labelled_in_the_persons_language(mini_app_bot, telegram):
    """The default button in English for chats with none of their own; each person's own in their
    language once it is known (a first /start) and again whenever they change it. A refused or lost
    setChatMenuButton (429, 403, no answer) loses nothing else: the language is stored and said."""
    assert menu_label(telegram, None) == ENGLISH.texts.miniapp_menu_button
    lucia = speaker(telegram, mini_app_bot, 3501, "es")
    await lucia.say("/start", expect=2)
    assert menu_label(telegram, 3501) == LIBRARY["es"].texts.miniapp_menu_button
    english = Person(telegram, 3502, "Alex", mini_app_bot)
    await english.say("/start", expect=2)
    assert menu_label(telegram, 3502) == ENGLISH.texts.miniapp_menu_button

    [ask] = await lucia.say("/language")
    await lucia.press(ask, "lang:ru")
    assert menu_label(telegram, 3501) == LIBRARY["ru"].texts.miniapp_menu_button

    faults = [
        dict(error_code=429, description="Too Many Requests: retry after 5", retry_after=5),
        dict(error_code=403, description="Forbidden: bot was blocked by the user"),
        None,  # the call is made, the answer never comes
    ]
    for fault, language in zip(faults, ["es", "en", "ru"], strict=True):
        if fault is None:
            telegram.drop_next("setChatMenuButton")
        else:
            telegram.fail_next("setChatMenuButton", **fault)
        [ask] = await lucia.say("/language")
        [saved] = await lucia.press(ask, f"lang:{language}")
        assert first_line(LIBRARY[language].texts.language_saved) in plain(saved)
        async with mini_app_bot.app.services.db.session() as session:
            assert (await session.get(ChatLanguage, 3501)).language == language
    [ask] = await lucia.say("/language")
    await lucia.press(ask, "lang:es")  # Telegram answers again: the label follows
    assert menu_label(telegram, 3501) == LIBRARY["es"].texts.miniapp_menu_button

    hans = Person(telegram, 3503, "Hans", mini_app_bot)  # a language we lack: labelled once picked
    hans.user = telegram.user(3503, "Hans", language_code="de")
    [ask] = await hans.say("/start")
    assert menu_label(telegram, 3503) is None
    await hans.press(ask, "start:ru", expect=2)
    assert menu_label(telegram, 3503) == LIBRARY["ru"].texts.miniapp_menu_button


async def test_without_a_mini_app_no_menu_button_is_set(running_bot, telegram):
    await speaker(telegram, running_bot, 3601, "ru").say("/start", expect=2)
    person = speaker(telegram, running_bot, 3601, "ru")
    [ask] = await person.say("/language")
    await person.press(ask, "lang:es")
    assert not [call for call in telegram.calls if call.method == "setChatMenuButton"]


async def test_a_coach_reads_the_summary_and_the_digest_in_their_own_language_not_the_groups(
    telegram, database_url, clock
):
    """A Spanish group, a Russian admin and an English one: /summary is acknowledged in the group
    in Spanish, while the summary itself, its button to the group's page and the daily digest
    (sent by the delivery tick, where the group's language is being spoken) reach each admin in
    their own language."""
    from tests.test_group_e2e import Club

    settings = group_settings(telegram, database_url).model_copy(update={"mini_app_url": MINI_APP_URL})
    bot = RunningBot(settings, clock)
    await bot.start()
    try:
        club = Club(telegram, bot)
        es, ru, en = LIBRARY["es"], LIBRARY["ru"], ENGLISH
        ana = Person(telegram, club.ana["id"], "Ana", bot)
        ana.user = club.ana = telegram.user(club.ana["id"], "Ana", language_code="ru")
        ben = Person(telegram, club.ben["id"], "Ben", bot)
        for admin in (ana, ben):
            await admin.say("/start", expect=2)
        await club.say(club.ana, "/groupcourse language es")
        _, lesson = await club.start()
        await club.press(club.kim, lesson, "hams-glutes")

        seen = len(ana.messages)
        [note] = await club.say(club.ana, "/summary")
        assert first_line(es.texts.group_summary_sent.format(name="Ana")) in plain(note)
        [summary] = await ana.expect(1, after=seen)
        heading = ru.texts.group_summary_heading.format(title="Hinge Club", day=1, days=ru.days)
        assert first_line(heading) in plain(summary), plain(summary)
        assert [label for label, _ in buttons(summary)] == [ru.texts.miniapp_coach_button]

        seen_ana, seen_ben = len(ana.messages), len(ben.messages)
        await bot.at(clock.now() + timedelta(hours=4, minutes=1))
        [digest_ana] = await ana.expect(1, after=seen_ana)
        [digest_ben] = await ben.expect(1, after=seen_ben)
        for digest, content in ((digest_ana, ru), (digest_ben, en)):
            assert first_line(content.texts.group_digest_heading) in plain(digest)
            heading = content.texts.group_summary_heading.format(title="Hinge Club", day=1, days=content.days)
            assert first_line(heading) in plain(digest)
            assert [label for label, _ in buttons(digest)] == [content.texts.miniapp_coach_button]
    finally:
        await bot.stop()


async def test_the_weekly_check_in_job_speaks_each_persons_language(running_bot, telegram, clock):
    """Sent by a job, outside any update: whatever language the job's context holds, each nudge
    (its last logged line and date included) is in the language of the person it goes to."""
    from bot.handlers import preferences
    from bot.language import speaking

    app = running_bot.app
    oleg = speaker(telegram, running_bot, 3701, "ru")
    english = Person(telegram, 3702, "Alex", running_bot)
    for person, line in ((oleg, SPEAKERS["ru"]["log"]), (english, "/log rdl 40kg 3x10")):
        await person.say("/weekly on")
        await person.say(line)
    await running_bot.at(clock.now() + timedelta(days=7))
    with speaking("es"):  # a stale language left in the job's context
        assert await preferences.send_weekly(app.bot, app.services) == 2
    for person, content in ((oleg, LIBRARY["ru"]), (english, ENGLISH)):
        nudge = plain(person.messages[-1])
        assert first_line(content.texts.weekly_nudge) in nudge, nudge
    assert LIBRARY["ru"].exercise_names["rdl"].name in plain(oleg.messages[-1])


async def test_a_rest_timer_without_a_start_ends_in_the_persons_language(running_bot, telegram, clock):
    """/rest needs no /start: the timer's message, sent by a job, still speaks the person's language."""
    ivan = speaker(telegram, running_bot, 3801, "ru")
    await ivan.say("/rest 60")
    clock.advance(seconds=61)
    [over] = await ivan.expect(1)
    assert first_line(LIBRARY["ru"].texts.rest_over) in plain(over), plain(over)


async def test_a_new_person_counts_in_the_unit_of_their_language(running_bot, telegram):
    """Lifters who write Spanish or Russian load in kilograms: someone new starts in kg there and in
    lb in English, until /units says otherwise; a line with no unit is read in it."""
    for user_id, language, unit in ((3901, "es", "kg"), (3902, "ru", "kg")):
        person = speaker(telegram, running_bot, user_id, language)
        [asked] = await person.say("/units")
        assert LIBRARY[language].texts.units_question.format(units=unit).strip() in asked["text"], asked["text"]
    [asked] = await Person(telegram, 3903, "Alex", running_bot).say("/units")
    assert ENGLISH.texts.units_question.format(units="lb").strip() in asked["text"], asked["text"]
    ana = speaker(telegram, running_bot, 3904, "es")
    [saved] = await ana.say("/log peso muerto rumano 40 3x10")
    name = LIBRARY["es"].exercise_names["rdl"].name
    assert LIBRARY["es"].texts.log_saved.format(exercise=name, sets=3, reps=10, weight="40 kg").strip() in saved["text"]
    assert " lb" not in saved["text"], saved["text"]
