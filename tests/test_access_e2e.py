"""Who may press what, end to end: every kind of button is checked against the chat it is pressed in
and the presser's rights before it touches anything; forged data is refused before the database;
forgetting is final until /start; group links need membership; confirmations act once however
often they are pressed; onboarding takes its answers in any order; double taps on one-shot buttons
are quiet."""

from __future__ import annotations

import logging
import re
from zoneinfo import available_timezones

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

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
    ProfileChoice,
    RestartAnswer,
    SettingsChoice,
    TimeChoice,
    UnitsChoice,
    WeeklyChoice,
    ZonePick,
)
from bot.content import load_content
from bot.services.access import CALLBACK_RULES
from bot.storage.models import CheckinAnswer, Enrollment, ProcessedUpdate, SendBudget
from tests.conftest import Person, RunningBot, buttons, make_settings
from tests.fakebotapi import FakeBotApi
from tests.test_group_e2e import Club, rows

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
        "lg": ["lg:rdl:35:kg:3:12"],
        "cue": ["cue:topic:back"],
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
