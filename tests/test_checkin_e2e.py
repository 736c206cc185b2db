"""Check-ins end to end: every path of the tree by button and by free text, red flags, adapting the
next lesson, stale and forged buttons, reminders, and a restart between question and answer."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import CONTENT_DIR
from bot.content import load_content
from bot.storage.models import CheckinAnswer, Enrollment
from tests.conftest import Person, RunningBot, buttons, lesson_days, make_settings

CONTENT = load_content(CONTENT_DIR)
NODES = {node.id: node for node in CONTENT.checkin.nodes}
ADVICE = {item.id: item for item in CONTENT.checkin.advice}


def paths(node_id: str, trail: tuple = (), buttons_only: bool = False) -> list[tuple[tuple[tuple[str, str], ...], str]]:
    """Every (sequence of (node, option), advice id) from a question down to advice; with
    `buttons_only`, those a person can walk by pressing buttons."""
    found = []
    for option in NODES[node_id].options:
        if buttons_only and not option.button:
            continue
        here = (*trail, (node_id, option.id))
        found += paths(option.next, here, buttons_only) if option.next else [(here, option.advice)]
    return found


FELT_PATHS = paths("felt-where")
FELT_BUTTON_PATHS = paths("felt-where", buttons_only=True)
SINGLE_LEG_PATHS = paths("felt-where-single-leg", buttons_only=True)


def berlin_7am(day_of_june: int) -> datetime:
    return datetime(2026, 6, day_of_june, 5, 0, tzinfo=UTC)


def checkin_message(person: Person) -> dict:
    """The newest message carrying check-in buttons."""
    return next(m for m in reversed(person.messages) if any(d.startswith("ci:") for _, d in buttons(m)))


def data_for(message: dict, node: str, option: str) -> str:
    return next(d for _, d in buttons(message) if d.endswith(f":{node}:{option}"))


async def stored_answers(bot: RunningBot) -> list[CheckinAnswer]:
    async with bot.app.services.db.session() as session:
        return list((await session.execute(select(CheckinAnswer).order_by(CheckinAnswer.id))).scalars())


async def enrollment_of(bot: RunningBot, chat_id: int) -> Enrollment:
    async with bot.app.services.db.session() as session:
        return (await session.execute(select(Enrollment).where(Enrollment.chat_id == chat_id))).scalars().all()[-1]


async def walk_by_buttons(alex: Person, trail) -> dict:
    message = checkin_message(alex)
    for node, option in trail:
        [message] = await alex.press(message, data_for(message, node, option))
    return message


async def walk_by_text(alex: Person, trail) -> dict:
    for node, option in trail:
        phrase = next(o for o in NODES[node].options if o.id == option).phrases[0]
        [message] = await alex.say(phrase)
    return message


def assert_advice(message: dict, advice_id: str) -> None:
    advice = ADVICE[advice_id]
    assert advice.title in message["text"]
    for dose in advice.drills:
        assert CONTENT.drills[dose.drill].name in message["text"]
    if advice.effect == "red_flag":
        assert "on hold" in message["text"] and ("I'm fine now, continue", "hold:ok") in buttons(message)


@pytest.mark.parametrize(
    ("trail", "advice"), FELT_BUTTON_PATHS, ids=["/".join(o for _, o in t) for t, _ in FELT_BUTTON_PATHS]
)
async def test_each_path_of_the_day_one_question_by_button(running_bot, telegram, trail, advice):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    assert_advice(await walk_by_buttons(alex, trail), advice)
    rows = await stored_answers(running_bot)
    assert [(r.node, r.option) for r in rows] == list(trail)
    assert rows[-1].advice == advice and rows[-1].effect == ADVICE[advice].effect


@pytest.mark.parametrize(("trail", "advice"), FELT_PATHS, ids=["/".join(o for _, o in t) for t, _ in FELT_PATHS])
async def test_each_path_of_the_day_one_question_by_free_text(running_bot, telegram, trail, advice):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    assert_advice(await walk_by_text(alex, trail), advice)
    rows = await stored_answers(running_bot)
    assert rows[-1].advice == advice and rows[-1].text is not None


async def test_each_path_of_the_single_leg_question(running_bot, telegram):
    """Day 5 asks about single-leg work; every answer there leads to its own fix."""
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    for day in range(2, 6):
        await running_bot.at(berlin_7am(day))
        await alex.expect(1)
    assert lesson_days(alex.messages)[-1] == 5
    tried = 0
    for trail, advice in SINGLE_LEG_PATHS:
        if ADVICE[advice].effect == "red_flag":
            continue  # holds the course; covered on its own below
        assert_advice(await walk_by_buttons(alex, trail), advice)
        [latest] = [r for r in await stored_answers(running_bot) if r.day == 5 and r.advice]
        assert latest.advice == advice, "a new answer for the same day replaces the previous one"
        await alex.say("/today")  # the day 5 question again, to try the next path
        tried += 1
    assert tried == len(SINGLE_LEG_PATHS) - 1


async def test_a_red_flag_wins_holds_the_course_and_resumes_when_fine(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    [advice] = await alex.say("Mostly hamstrings, but a sharp pain in my back on the last rep")
    assert_advice(advice, CONTENT.checkin.red_flag.advice)
    assert "physician or physical therapist" in advice["text"].lower() or "physio" in advice["text"].lower()
    assert (await enrollment_of(running_bot, alex.chat_id)).status == "held"
    await running_bot.at(berlin_7am(3))
    await running_bot.tick()
    assert lesson_days(alex.messages) == [1], "no lesson while the course is on hold"
    await running_bot.at(berlin_7am(3) + timedelta(hours=2))
    [resumed] = await alex.press(advice, "hold:ok")
    assert "Day 2 arrives tomorrow at 07:00" in resumed["text"]
    await running_bot.at(berlin_7am(4))
    await alex.expect(1)
    assert lesson_days(alex.messages) == [1, 2]
    [resumed] = await alex.press(advice, "hold:ok")
    assert "isn't on hold" in resumed["text"]


async def test_red_flag_words_outside_a_check_in_still_stop_the_course(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    await alex.press(checkin_message(alex), data_for(checkin_message(alex), "felt-where", "hams-glutes"))
    [advice] = await alex.say("my leg has been numb since yesterday")
    assert_advice(advice, CONTENT.checkin.red_flag.advice)


async def test_a_lower_back_answer_makes_the_next_lesson_open_with_a_regression(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    await walk_by_buttons(alex, [("felt-where", "lower-back"), ("lower-back-why", "rounded")])
    await running_bot.at(berlin_7am(2))
    lesson, fix_question = await alex.expect(2)
    assert lesson["text"].startswith("<b>Before today's lesson</b>")
    assert "Dowel rod hinge" in lesson["text"].split("Day 2 of 7")[0]
    assert "did the fix help" in fix_question["text"]
    await alex.press(fix_question, data_for_fix(fix_question, "partly"), expect=0)
    await telegram.wait_for(lambda: telegram.calls[-1].method in ("editMessageReplyMarkup", "answerCallbackQuery"))
    await running_bot.settle()
    rows = await stored_answers(running_bot)
    await telegram.wait_for(lambda: True)
    async with running_bot.app.services.db.session() as session:
        fixed = await session.get(CheckinAnswer, rows[-1].id)
    assert fixed.fix_helped == "partly" and fixed.advice == "back-rounding"


def data_for_fix(message: dict, value: str) -> str:
    return next(d for _, d in buttons(message) if d.startswith("fx:") and d.endswith(f":{value}"))


async def test_two_clean_check_ins_in_a_row_unlock_a_progression_note(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    await walk_by_text(alex, [("felt-where", "hams-glutes")])
    await running_bot.at(berlin_7am(2))
    [day2] = await alex.expect(1)
    assert "Two clean check-ins" not in day2["text"]
    await walk_by_text(alex, [("felt-where", "hams-glutes")])
    await running_bot.at(berlin_7am(3))
    [day3] = await alex.expect(1)
    assert "Two clean check-ins in a row" in day3["text"] and "5-10 lb" in day3["text"]


async def test_unclear_text_is_answered_with_buttons_not_a_guess(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    [ask] = await alex.say("quads, tight hamstrings")  # two faults, evenly split
    assert "Which is closest" in ask["text"]
    assert {d.rsplit(":", 1)[1] for _, d in buttons(ask)} == {"quads-knees", "tight-hams"}
    [ask] = await alex.say("the weather was nice")
    offered = [o for o in NODES["felt-where"].options if o.button]
    assert "didn't catch" in ask["text"] and len(buttons(ask)) == len(offered)
    assert await stored_answers(running_bot) == []


async def test_stale_forged_and_repeated_buttons(running_bot, telegram):
    alex, sam = Person(telegram, 1001, "Alex", running_bot), Person(telegram, 1002, "Sam", running_bot)
    await alex.onboard()
    question = checkin_message(alex)
    clean = data_for(question, "felt-where", "hams-glutes")
    enrollment_id = clean.split(":")[1]

    async def press(user, data: str) -> str:
        update = telegram.press_button(user, question, data)
        query_id = update["callback_query"]["id"]
        await telegram.wait_for(lambda: query_id in telegram.callback_answers)
        return telegram.callback_answers[query_id].get("text", "")

    assert "someone else" in await press(sam.user, clean)
    assert "expired" in await press(alex.user, f"ci:{enrollment_id}:6:felt-where:hams-glutes")  # day never sent
    assert "expired" in await press(alex.user, "ci:not-a-number")
    assert "expired" in await press(alex.user, f"ci:{enrollment_id}:1:felt-where:made-up")
    assert "someone else" in await press(alex.user, "ci:99999:1:felt-where:hams-glutes")
    assert await stored_answers(running_bot) == []

    await alex.press(question, clean)
    assert "Already noted" in await press(alex.user, clean), "a second press sends no second advice"
    assert len(await stored_answers(running_bot)) == 1, "pressing twice records once"
    [changed] = await alex.press(question, data_for(question, "felt-where", "quads-knees"))
    assert_advice(changed, "squatting")
    [row] = await stored_answers(running_bot)
    assert row.option == "quads-knees", "a changed answer replaces the old one"

    [confirm] = await alex.say("/restart")
    await alex.press(confirm, "restart:yes")
    assert "earlier run" in await press(alex.user, clean)


async def test_one_gentle_reminder_only_when_unanswered(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    seen = len(alex.messages)
    await running_bot.at(clock.now() + timedelta(hours=3, minutes=59))
    await running_bot.tick()
    assert len(alex.messages) == seen
    await running_bot.at(clock.now() + timedelta(minutes=2))
    [nudge] = await alex.expect(1)
    assert "gentle nudge about day 1" in nudge["text"] and buttons(nudge)
    await running_bot.at(clock.now() + timedelta(hours=6))
    await running_bot.tick()
    assert len(alex.messages) == seen + 1, "never more than one reminder"

    await running_bot.at(berlin_7am(2))
    await alex.expect(1)
    await walk_by_text(alex, [("felt-where", "hams-glutes")])
    seen = len(alex.messages)
    await running_bot.at(berlin_7am(2) + timedelta(hours=5))
    await running_bot.tick()
    assert len(alex.messages) == seen, "an answered check-in gets no reminder"


async def test_a_restart_between_question_and_answer_loses_nothing(telegram, sqlite_url, clock):
    bot = RunningBot(make_settings(telegram, sqlite_url), clock)
    alex = Person(telegram, bot=bot)
    await bot.start()
    try:
        await alex.onboard()
        await walk_by_text(alex, [("felt-where", "lower-back")])  # the follow-up question is now open
    finally:
        await bot.stop()
    await bot.start()
    try:
        [advice] = await alex.say("the bar drifted away from me")
        assert_advice(advice, "weight-drift")
        assert [(r.node, r.option) for r in await stored_answers(bot)] == [
            ("felt-where", "lower-back"),
            ("lower-back-why", "drifted"),
        ]
    finally:
        await bot.stop()


async def test_checkins_command_shows_the_history(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    [empty] = await alex.say("/checkins")
    assert "No check-ins yet" in empty["text"]
    await walk_by_buttons(alex, [("felt-where", "quads-knees")])
    [listing] = await alex.say("/checkins")
    assert "Day 1" in listing["text"] and ADVICE["squatting"].title in listing["text"]


# ----------------------------------------------------------------------------- the reader end to end


@pytest.fixture
async def any_bot(telegram, database_url, clock):
    """The bot on SQLite and, when TEST_POSTGRES_URL is set, on PostgreSQL."""
    bot = RunningBot(make_settings(telegram, database_url), clock)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


def options_offered(message: dict) -> set[str]:
    return {d.rsplit(":", 1)[1] for _, d in buttons(message)}


def assert_no_form_advice(message: dict) -> None:
    """Neither praise, a load increase, a drill nor a cue: the safety question comes first."""
    for item in ADVICE.values():
        assert item.title not in message["text"]
    assert "5-10 lb" not in message["text"]


async def test_unclear_pain_gets_the_safety_question_then_the_fix_once_cleared(any_bot, telegram):
    alex = Person(telegram, bot=any_bot)
    await alex.onboard()
    [question] = await alex.say("my lower back hurt a bit on the last set")
    assert NODES["pain-check"].question in question["text"]
    assert options_offered(question) == {"red-flag", "no-red-flag"}
    assert_no_form_advice(question)
    [follow_up] = await alex.say("no, just a dull ache while lifting")
    assert CONTENT.checkin.openings.pain_cleared.strip() in follow_up["text"]
    assert NODES["lower-back-why"].question in follow_up["text"], "the back's fix follows, through its own question"
    [advice] = await alex.say("i think my back rounded")
    assert_advice(advice, "back-rounding")
    rows = await stored_answers(any_bot)
    assert [(r.node, r.option) for r in rows] == [
        ("felt-where", "unclear-pain"),
        ("pain-check", "no-red-flag"),
        ("lower-back-why", "rounded"),
    ]
    assert rows[0].text == "my lower back hurt a bit on the last set" and rows[0].advice is None


async def test_pain_in_the_right_place_is_never_praised_and_a_yes_is_a_red_flag(any_bot, telegram):
    alex = Person(telegram, bot=any_bot)
    await alex.onboard()
    [question] = await alex.say("bit of pain in the hams")
    [advice] = await alex.say("nope, gone now")
    assert_advice(advice, "ease-off")
    assert ADVICE["clean"].title not in advice["text"] and "5-10 lb" not in advice["text"]
    assert (await stored_answers(any_bot))[-1].effect == "none"
    sam = Person(telegram, 1002, "Sam", any_bot)
    await sam.onboard()
    [question] = await sam.say("it was kinda painful to be honest")
    assert NODES["pain-check"].question in question["text"]
    [stop] = await sam.say("yeah sharp when I bend")
    assert_advice(stop, CONTENT.checkin.red_flag.advice)
    assert (await enrollment_of(any_bot, sam.chat_id)).status == "held"
    assert (await enrollment_of(any_bot, alex.chat_id)).status == "active"


async def test_the_pain_check_by_button(any_bot, telegram):
    alex = Person(telegram, bot=any_bot)
    await alex.onboard()
    [question] = await alex.say("a twinge in my back")
    [stop] = await alex.press(question, data_for(question, "pain-check", "red-flag"))
    assert_advice(stop, CONTENT.checkin.red_flag.advice)


async def test_a_region_without_a_branch_gets_its_own_short_answer(any_bot, telegram):
    alex = Person(telegram, bot=any_bot)
    await alex.onboard()
    [advice] = await alex.say("traps were fried from holding the bell")
    assert_advice(advice, "region-upper-back")
    assert buttons(advice) == []
    [row] = await stored_answers(any_bot)
    assert (row.node, row.option, row.advice) == ("felt-where", "upper-back", "region-upper-back")
    assert "upper-back" not in options_offered(checkin_message(alex)), "typed-only answers are not buttons"


async def test_a_mixed_answer_fixes_the_fault_and_names_the_good_part(any_bot, telegram):
    alex = Person(telegram, bot=any_bot)
    await alex.onboard()
    opening = CONTENT.checkin.openings.good_too.strip()
    [question] = await alex.say("mostly hams, a touch of lower back")
    assert question["text"].startswith(opening) and NODES["lower-back-why"].question in question["text"]
    [advice] = await alex.say("bell drifted away from my legs")
    assert_advice(advice, "weight-drift")
    sam = Person(telegram, 1002, "Sam", any_bot)
    await sam.onboard()
    [advice] = await sam.say("hams fine but my knees shot forward")
    assert advice["text"].startswith(opening)
    assert_advice(advice, "squatting")
    assert "5-10 lb" not in advice["text"]


async def test_ordinary_words_outside_a_check_in_raise_no_alarm(any_bot, telegram):
    alex = Person(telegram, bot=any_bot)
    await alex.onboard()
    await alex.press(checkin_message(alex), data_for(checkin_message(alex), "felt-where", "hams-glutes"))
    [answer] = await alex.say("my hips kept shooting up first, felt sharp and focused though")
    assert CONTENT.checkin.red_flag.advice not in answer["text"] and "on hold" not in answer["text"]
    assert (await enrollment_of(any_bot, alex.chat_id)).status == "active"
    [stop] = await alex.say("i think i pulled my hammy yesterday")
    assert_advice(stop, CONTENT.checkin.red_flag.advice)


async def test_answers_the_bot_had_to_ask_about_are_kept_for_the_operators(any_bot, telegram):
    from bot.stats import collect, unmatched_text

    alex = Person(telegram, bot=any_bot)
    await alex.onboard()
    await alex.say("the weather was lovely")
    await alex.say("bit of pain in the hams")
    async with any_bot.app.services.db.session() as session:
        report = await collect(session=session, days=CONTENT.days)
    listed = unmatched_text(report, CONTENT.texts)
    assert "the weather was lovely" in listed and "bit of pain in the hams" in listed
    assert "Alex" not in listed and str(alex.chat_id) not in listed
