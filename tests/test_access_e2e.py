"""Who may press what, end to end: every kind of button is checked against the chat it is pressed in
and the presser's rights before it touches anything; forged data is refused before the database;
forgetting is final until /start; group links need membership; confirmations act once however
often they are pressed; onboarding takes its answers in any order; double taps on one-shot buttons
are quiet."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime
from zoneinfo import available_timezones

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from benchmarks.seed import seed_people
from bot.app import CONTENT_DIR
from bot.callback_data import (
    MAX_BYTES,
    MAX_DAY,
    MAX_ROW_ID,
    CallbackData,
    CheckinPress,
    CueTopic,
    FeltMark,
    FixAnswer,
    ForgetAnswer,
    GroupCheckinPress,
    HoldOk,
    LanguagePick,
    PickExercise,
    PlatesFor,
    ProfileChoice,
    RestartAnswer,
    RestTimer,
    SettingsChoice,
    StartLanguage,
    TimeChoice,
    UnitsChoice,
    WeeklyChoice,
    ZonePick,
)
from bot.content import load_content
from bot.demo.fake_telegram import FakeBotApi
from bot.domain.course import Verdict
from bot.domain.rest import MAX_REST_SECONDS
from bot.services.access import CALLBACK_RULES
from bot.services.course import CourseService
from bot.storage import checkins
from bot.storage.checkins import AnswerWrite
from bot.storage.db import Database
from bot.storage.models import CheckinAnswer, Enrollment, GroupMember, LogEntry, ProcessedUpdate, SendBudget
from tests.conftest import FakeClock, Person, RunningBot, buttons, lesson_days, make_settings
from tests.test_group_e2e import Club, rows, until
from tests.test_privacy_e2e import _rows_about as rows_about

# Tables that hold bookkeeping rather than anyone's state: which updates were seen, the send budget.
BOOKKEEPING = {ProcessedUpdate.__tablename__, SendBudget.__tablename__}


def registered_prefixes(bot: RunningBot) -> set[str]:
    """The kinds of button the running application handles, read from its handlers' patterns."""
    prefixes = set()
    for handlers in bot.app.handlers.values():
        for handler in handlers:
            pattern = getattr(handler, "pattern", None)
            if isinstance(pattern, re.Pattern) and (match := re.match(r"\^([a-z]+):", pattern.pattern)):
                prefixes.add(match[1])
    return prefixes


async def snapshot(bot: RunningBot) -> dict[str, list[tuple]]:
    """Every stored row of every table but the bookkeeping ones."""
    tables = {}
    async with bot.app.services.db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            if table.name not in BOOKKEEPING:
                result = await session.execute(select(table))
                tables[table.name] = sorted((tuple(row) for row in result), key=repr)
    return tables


async def tap_all(telegram: FakeBotApi, presses: list[tuple[dict, dict, str]]) -> list[str]:
    """Press (user, message, data) all at once; returns each press's toast, in order."""
    ids = [telegram.press_button(user, message, data)["callback_query"]["id"] for user, message, data in presses]
    await telegram.wait_for(lambda: all(query_id in telegram.callback_answers for query_id in ids))
    return [telegram.callback_answers[query_id].get("text", "") for query_id in ids]


async def rows_of(bot: RunningBot, model) -> list:
    return await db_rows(bot.app.services.db, model)


async def db_rows(db: Database, model) -> list:
    async with db.session() as session:
        return list((await session.execute(select(model).order_by(*model.__table__.primary_key.columns))).scalars())


def clock_start() -> datetime:
    return FakeClock().now()


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


# ----------------------------------------------------------------------------- 1. one gate for every kind


async def test_every_kind_of_button_has_a_rule(running_bot):
    """A kind of button added later without a rule in bot/services/access.py fails here."""
    assert registered_prefixes(running_bot) == set(CALLBACK_RULES)


def forged_presses(run: int, answer: int) -> dict[str, list[str]]:
    """Data a modified client could put on a group's message, for every kind of button."""
    return {
        "onb": ["onb:time:06:00", "onb:tz:Asia/Tokyo", "onb:profile:lifter"],
        "set": ["set:time", "set:timezone", "set:profile"],
        "units": ["units:kg"],
        "weekly": ["weekly:on"],
        "restart": [f"restart:yes:{run}", "restart:yes"],
        "forget": ["forget:yes"],
        "ci": [f"ci:{run}:1:felt-where:lower-back"],
        "fx": [f"fx:{answer}:no"],
        "hold": ["hold:ok"],
        "felt": ["felt:1:regress"],
        "lg": ["lg:1:rdl", "lg:rdl:35:kg:3:12"],
        "pl": ["pl:60:kg"],
        "rest": ["rest:90", "rest:off"],
        "cue": ["cue:topic:back"],
        "lang": ["lang:es", "lang:xx"],
        "start": ["start:es", f"start:ru:s{run}", "start:xx:g1_1"],
        "gci": [f"gci:{run}:1:felt-where:lower-back"],
    }


async def test_no_button_lets_a_group_member_or_a_stranger_change_the_groups_state(coach_bot, telegram, caplog):
    """Private-chat buttons forged onto a group's lesson are refused for members and admins alike;
    the group's own check-in buttons refuse someone who left the group."""
    club = Club(telegram, coach_bot)
    club.add_bot()
    await club.expect(1, 0)
    _, lesson = await club.start()
    await club.press(club.kim, lesson, "hams-glutes")  # a real answer, so forged fx: has a target
    [run] = await rows(coach_bot, Enrollment, Enrollment.chat_id == club.chat_id)
    [answer] = await rows(coach_bot, CheckinAnswer)
    zed = telegram.user(700, "Zed")
    telegram.set_member_status(club.chat_id, zed, "left")
    forged = forged_presses(run.id, answer.id)
    assert set(forged) == registered_prefixes(coach_bot), "every kind of button is tried"
    before = await snapshot(coach_bot)

    presses = [
        (presser, lesson, data)
        for kind, datas in forged.items()
        for data in datas
        for presser in ((zed,) if kind == "gci" else (club.kim, club.ana))
    ]
    toasts = await tap_all(telegram, presses)
    await coach_bot.settle()

    assert await snapshot(coach_bot) == before
    refused = {data: toast for (_, _, data), toast in zip(presses, toasts, strict=True) if not data.startswith("cue")}
    assert all("private chat" in toast for data, toast in refused.items() if not data.startswith("gci")), refused
    assert "Only members" in refused[f"gci:{run.id}:1:felt-where:lower-back"]
    assert not errors(caplog)


def test_every_kind_of_button_packs_within_64_bytes_and_reads_back_as_itself():
    content = load_content(CONTENT_DIR)
    node = max(content.checkin.nodes, key=lambda n: len(n.id))
    option = max((o for n in content.checkin.nodes for o in n.options), key=lambda o: len(o.id))
    widest = [
        ProfileChoice("runner"),
        TimeChoice("23:59"),
        *(ZonePick(zone) for zone in available_timezones()),
        SettingsChoice("timezone"),
        RestartAnswer("yes", MAX_ROW_ID),
        RestartAnswer("no"),
        CheckinPress(MAX_ROW_ID, MAX_DAY, node.id, option.id),
        GroupCheckinPress(MAX_ROW_ID, MAX_DAY, node.id, option.id),
        FixAnswer(MAX_ROW_ID, "partly"),
        HoldOk(),
        CueTopic("running"),
        FeltMark(MAX_ROW_ID, "regress"),
        UnitsChoice("kg"),
        WeeklyChoice("off"),
        ForgetAnswer("yes"),
        PickExercise(MAX_ROW_ID, "x" * 40),
        PlatesFor("9999.99", "kg"),
        RestTimer(str(MAX_REST_SECONDS)),
        RestTimer("off"),
        LanguagePick("ru"),
        StartLanguage("ru", f"g{MAX_ROW_ID}_{MAX_DAY}"),
    ]
    assert {type(button) for button in widest} == set(CallbackData.__subclasses__()), "every kind is tried"
    for button in widest:
        data = button.pack()
        assert len(data.encode()) <= MAX_BYTES and type(button).unpack(data) == button, data


@pytest.mark.parametrize(
    "bad", ["¹²", "١٢", "１２", "2147483648", str(2**70), "-1", "0", "012", "1e3", " 1", "", "1.0"]
)
def test_ids_that_are_not_plain_ascii_numbers_in_range_are_refused(bad):
    for data in (f"ci:{bad}:1:felt-where:hams-glutes", f"ci:1:{bad}:felt-where:hams-glutes", f"fx:{bad}:yes"):
        assert CheckinPress.unpack(data) is None and FixAnswer.unpack(data) is None
    assert FeltMark.unpack(f"felt:{bad}:clean") is None and RestartAnswer.unpack(f"restart:yes:{bad}") is None


def test_old_buttons_in_peoples_chats_still_read():
    assert RestartAnswer.unpack("restart:yes") == RestartAnswer("yes")
    assert TimeChoice.unpack("onb:time:07:00") == TimeChoice("07:00")
    assert HoldOk.unpack("hold:ok") == HoldOk()
    assert CheckinPress.unpack("ci:12:3:felt-where:lower-back") == CheckinPress(12, 3, "felt-where", "lower-back")


# ----------------------------------------------------------------------------- 2. forged ids


FORGED_IDS = ("¹²", "١٢", "１２", "2147483648", str(2**70), "-1", "012")


async def test_forged_ids_are_refused_before_the_database_and_honest_presses_beside_them_count(
    telegram, database_url, clock, caplog
):
    """Eight people press at once, three of them with forged ids: the five honest presses are
    stored, the forged ones get 'expired', and nothing is logged as an error."""
    bot = RunningBot(make_settings(telegram, database_url), clock)
    await bot.start()
    try:
        people = [Person(telegram, 1001 + i, f"P{i}", bot) for i in range(8)]
        for person in people:
            await person.onboard()
        questions = [next(m for m in reversed(p.messages) if buttons(m)) for p in people]
        honest = [
            (person.user, question, next(d for _, d in buttons(question) if d.endswith(":hams-glutes")))
            for person, question in zip(people[:5], questions[:5], strict=True)
        ]
        forged = [
            (people[5 + i % 3].user, questions[5 + i % 3], data)
            for i, bad in enumerate(FORGED_IDS)
            for data in (f"ci:{bad}:1:felt-where:hams-glutes", f"ci:1006:{bad}:felt-where:hams-glutes")
        ]
        toasts = await tap_all(telegram, [*honest[:2], *forged, *honest[2:]])
        await bot.settle()
        async with bot.app.services.db.session() as session:
            stored = sorted((await session.scalars(select(CheckinAnswer.chat_id))).all())
        assert stored == [1001, 1002, 1003, 1004, 1005], "every honest press is stored"
        assert toasts[:2] + toasts[-3:] == ["Got it, thanks!"] * 5
        assert all("expired" in toast for toast in toasts[2:-3]), toasts
        assert not errors(caplog)
    finally:
        await bot.stop()


# ----------------------------------------------------------------------------- 3. forgetting is final


async def test_after_forget_old_buttons_a_location_and_text_store_nothing_until_start(
    telegram, database_url, clock, caplog
):
    bot = RunningBot(make_settings(telegram, database_url), clock)
    await bot.start()
    try:
        alex = Person(telegram, 1001, "Alex", bot)
        _, ask_profile = await alex.say("/start", expect=2)
        [ask_time] = await alex.press(ask_profile, "onb:profile:runner")
        await alex.say("7am")
        await alex.say("Berlin", expect=2)
        [settings] = await alex.say("/settings")
        [weekly] = await alex.say("/weekly")
        [confirm] = await alex.say("/forget")
        forget_yes = buttons(confirm)[0][1]  # the message is edited when pressed
        await alex.press(confirm, forget_yes, expect=0)

        async def forgotten() -> bool:
            return not any((await rows_about(bot, alex.chat_id)).values())

        await until(forgotten)

        old_presses = [
            (ask_time, "onb:time:06:00"),
            (ask_profile, "onb:profile:lifter"),
            (settings, "set:time"),
            (settings, "units:kg"),
            (weekly, buttons(weekly)[0][1]),
            (confirm, forget_yes),
        ]
        toasts = await tap_all(telegram, [(alex.user, message, data) for message, data in old_presses])
        assert all("/start" in toast for toast in toasts), toasts
        telegram.share_location(alex.user, 52.52, 13.405)
        [located] = await alex.expect(1)
        [typed] = await alex.say("7am")
        assert "/start" in located["text"] and "/start" in typed["text"]
        assert await forgotten(), "nothing stored about Alex again"
        assert not errors(caplog)

        await alex.onboard()  # /start brings them back, from the beginning
        assert lesson_days(alex.messages)[-1] == 1
    finally:
        await bot.stop()


# ----------------------------------------------------------------------------- 4. group links


async def test_a_groups_link_and_its_buttons_are_for_its_members_only(coach_bot, telegram, caplog):
    club = Club(telegram, coach_bot)
    club.add_bot()
    await club.expect(1, 0)
    _, lesson = await club.start()
    [run] = await rows(coach_bot, Enrollment, Enrollment.chat_id == club.chat_id)
    link = f"/start g{run.id}_1"
    for user_id, name, status in ((700, "Zed", "left"), (701, "Yan", "kicked")):
        stranger = Person(telegram, user_id, name, coach_bot)
        telegram.set_member_status(club.chat_id, stranger.user, status)
        refused, _ = await stranger.say(link, expect=2)  # then the offer of a course of their own
        assert "Only members" in refused["text"]
        toasts = await tap_all(
            telegram,
            [
                (stranger.user, refused, f"gci:{run.id}:1:felt-where:lower-back"),
                (stranger.user, refused, f"gci:{run.id}:1:lower-back-why:rounded"),
                (stranger.user, lesson, f"gci:{run.id}:1:felt-where:hams-glutes"),
            ],
        )
        assert all("Only members" in toast for toast in toasts), toasts
    assert await rows(coach_bot, CheckinAnswer) == []
    assert await rows(coach_bot, GroupMember, GroupMember.user_id.in_([700, 701])) == []

    kim = Person(telegram, club.kim["id"], "Kim", coach_bot)
    question, _ = await kim.say(link, expect=2)
    assert "Where did you feel" in question["text"], "a member gets the group's question in private"
    assert not errors(caplog)


# ----------------------------------------------------------------------------- 5. once, however often pressed


async def test_twenty_presses_at_once_ask_once_restart_once_and_resume_once(telegram, database_url, clock):
    bot = RunningBot(make_settings(telegram, database_url), clock)
    await bot.start()
    try:
        alex = Person(telegram, 1001, "Alex", bot)
        await alex.onboard()
        question = next(m for m in reversed(alex.messages) if buttons(m))
        lower_back = next(d for _, d in buttons(question) if d.endswith(":lower-back"))
        toasts = await tap_all(telegram, [(alex.user, question, lower_back)] * 20)
        await bot.settle()
        assert sorted(toasts) == ["Already noted, thanks!"] * 19 + ["Got it, thanks!"]
        assert sum("Did your back round" in m["text"] for m in alex.messages) == 1, "one follow-up question"
        async with bot.app.services.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(CheckinAnswer)) == 1

        [confirm] = await alex.say("/restart")
        yes = next(d for _, d in buttons(confirm) if d.startswith("restart:yes"))
        seen = len(alex.messages)
        toasts = await tap_all(telegram, [(alex.user, confirm, yes)] * 20)
        await bot.settle()
        assert lesson_days(alex.messages[seen:]) == [1], "day 1 once"
        assert toasts.count("You started over already: day 1 is yours.") == 19
        runs = await rows_of(bot, Enrollment)
        assert [run.status for run in runs] == ["replaced", "active"]

        [flagged] = await alex.say("sharp pain in my back")
        fine = next(d for _, d in buttons(flagged) if d.startswith("hold:"))
        seen = len(alex.messages)
        await tap_all(telegram, [(alex.user, flagged, fine)] * 5)
        await bot.settle()
        replies = [m["text"] for m in alex.messages[seen:]]
        assert sum("Good to hear" in text for text in replies) == 1, replies
    finally:
        await bot.stop()


async def test_the_database_decides_when_several_processes_confirm_at_once(telegram, database_url):
    """Twenty sessions at once (as twenty processes would): one restart, one counted answer."""
    db = Database(database_url)
    try:
        await seed_people(db, 1, now=clock_start(), due_at=clock_start())
        [run] = await db_rows(db, Enrollment)

        async def nothing_sent(_bot: object, _enrollment_id: int) -> None:
            return None

        course = CourseService(
            settings=make_settings(telegram, database_url), db=db, clock=FakeClock(), deliver_now=nothing_sent
        )
        outcomes = await asyncio.gather(*(course.restart(run.chat_id, run.id) for _ in range(20)))
        started = [outcome for outcome in outcomes if outcome.verdict is Verdict.MOVED]
        assert len(started) == 1 and len(await db_rows(db, Enrollment)) == 2
        fresh = (await db_rows(db, Enrollment))[-1]
        write = AnswerWrite(
            enrollment_id=fresh.id,
            chat_id=run.chat_id,
            user_id=run.chat_id,
            day=1,
            node="felt-where",
            option="lower-back",
            text=None,
            advice=None,
            effect=None,
            at=clock_start(),
            moves_question=True,
            open_node="lower-back-why",
        )

        async def answer() -> list[AnswerWrite]:
            async with db.session() as session:
                return await checkins.store_answers(session=session, writes=[write])

        counted = [written for written in await asyncio.gather(*(answer() for _ in range(20))) if written]
        assert len(counted) == 1 and len(await db_rows(db, CheckinAnswer)) == 1
    finally:
        await db.dispose()


# ----------------------------------------------------------------------------- 6. onboarding in any order

BERLIN = ("locate", 52.52, 13.405)

ORDERS = {
    "location while the time is asked": [("press", "onb:profile:runner"), BERLIN, ("say", "7am")],
    "location while the profile is asked": [BERLIN, ("press", "onb:profile:runner"), ("say", "7am")],
    "a city while the profile is asked": [("say", "Berlin"), ("press", "onb:profile:lifter"), ("say", "7am")],
    "a city while the time is asked": [("press", "onb:profile:both"), ("say", "Berlin"), ("press", "onb:time:07:00")],
    "a time while the zone is asked": [
        ("press", "onb:profile:runner"),
        ("press", "onb:time:06:00"),
        ("say", "7am"),
        ("say", "Europe/Berlin"),
    ],
}


@pytest.mark.parametrize("steps", ORDERS.values(), ids=ORDERS.keys())
async def test_onboarding_takes_its_answers_in_any_order(running_bot, telegram, steps):
    alex = Person(telegram, bot=running_bot)
    await alex.say("/start", expect=2)
    for number, (action, *values) in enumerate(steps):
        last = number == len(steps) - 1
        seen = len(alex.messages)
        if action == "locate":
            telegram.share_location(alex.user, *values)
            replies = await alex.expect(2 if last else 1, after=seen)
        elif action == "say":
            replies = await alex.say(values[0], expect=2 if last else 1)
        else:
            replies = await alex.press(alex.messages[-1], values[0], expect=2 if last else 1)
        assert not any("haven't started" in reply["text"] for reply in replies), (action, values, replies)
    done, day_one = alex.messages[-2:]
    assert "All set" in done["text"] and "<b>07:00</b> (Europe/Berlin" in done["text"]
    assert lesson_days([day_one]) == [1]


# ----------------------------------------------------------------------------- 7. double taps on one-shot buttons


async def test_double_taps_on_one_shot_buttons_are_answered_once_and_quietly(running_bot, telegram, caplog):
    alex = Person(telegram, bot=running_bot)
    [saved] = await alex.say("/log rdl 35 3x12")
    felt = next(d for _, d in buttons(saved) if d.startswith("felt:") and d.endswith(":clean"))
    [guess] = await alex.say("/log pulses 3x20")
    [(_, pick)] = buttons(guess)
    [weekly] = await alex.say("/weekly")
    [(_, weekly_on)] = buttons(weekly)
    seen = len(alex.messages)
    toasts = await tap_all(
        telegram, [(alex.user, saved, felt)] * 2 + [(alex.user, guess, pick)] * 2 + [(alex.user, weekly, weekly_on)] * 2
    )
    replies = await alex.expect(3, after=seen)
    assert not any("Sorry" in toast for toast in toasts), toasts
    assert sum("Logged" in reply["text"] for reply in replies) == 1, "the suggested line is logged once"
    async with running_bot.app.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(LogEntry)) == 2
    assert not errors(caplog)


async def test_a_press_answered_too_late_for_telegram_is_not_an_error(running_bot, telegram, caplog):
    """Telegram refuses to answer a press after about 15 seconds (a restart in between): that is
    logged as information, not as an error, and no "Sorry" follows."""
    alex = Person(telegram, bot=running_bot)
    await alex.say("/start", expect=2)
    stale = {"id": "expired-query", "from": alex.user, "chat_instance": "ci-1", "data": "onb:profile:runner"}
    stale["message"] = alex.messages[-1]
    with caplog.at_level(logging.INFO, logger="bot.handlers.fallback"):
        telegram.push_update({"callback_query": stale})
        await until(lambda: asyncio.sleep(0, any("too late" in r.getMessage() for r in caplog.records)))
    assert not errors(caplog)
    assert not any(call.method == "answerCallbackQuery" and "Sorry" in str(call.params) for call in telegram.calls)
