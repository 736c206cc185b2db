"""The whole course lifecycle, pair by pair: every (status, command) for a private chat and for a
group, through the real bot over HTTP, asserting the reply and what is stored after it.

The expected tables below are written out by hand, not derived from `bot.domain.course`: they are
what a person sees. Among them the two bugs this table was written for: /stop on a course held for
a red flag, and /restart from a held course (both now ask "are you fine?" first, with the safety
note). Each status gets one running bot; each command acts on a chat of its own, seeded in that
status, so the pairs do not disturb each other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import CONTENT_DIR
from bot.content import load_content
from bot.demo.fake_telegram import FakeBotApi
from bot.storage.models import CheckinAnswer, Delivery, Enrollment, Subscriber
from tests.conftest import FakeClock, Person, RunningBot, buttons, group_settings, lesson_days

TEXTS = load_content(CONTENT_DIR).texts
NOW = FakeClock().now()  # 06:00 in Berlin, before the 07:00 lesson
YESTERDAY_7AM = datetime(2026, 5, 31, 5, 0, tzinfo=UTC)
STATUSES = ("none", "active", "paused", "held", "stopped", "finished")

# What each status looks like on the person's side: (status, day reached, a lesson waiting?)
SEEDS = {
    "active": ("active", 2, True),
    "paused": ("paused", 2, False),
    "held": ("held", 2, False),
    "stopped": ("stopped", 2, False),
    "finished": ("finished", 7, False),
}

# (status, command) -> (reply text key, the newest run's status after, a lesson waiting after?, runs after)
PRIVATE = {
    ("none", "pause"): ("not_enrolled", None, False, 0),
    ("none", "resume"): ("not_enrolled", None, False, 0),
    ("none", "stop"): ("not_enrolled", None, False, 0),
    ("none", "restart"): ("restart_already", None, False, 0),
    ("none", "fine"): ("hold_not_held", None, False, 0),
    ("none", "start"): ("start_finished", None, False, 0),
    ("active", "pause"): ("pause_done", "paused", False, 1),
    ("active", "resume"): ("resume_not_paused", "active", True, 1),
    ("active", "stop"): ("stop_done", "stopped", False, 1),
    ("active", "restart"): ("restart_done", "active", True, 2),  # day 1 went out at once, day 2 waits
    ("active", "fine"): ("hold_not_held", "active", True, 1),
    ("active", "start"): ("start_known", "active", True, 1),
    ("paused", "pause"): ("pause_already", "paused", False, 1),
    ("paused", "resume"): ("resume_done", "active", True, 1),
    ("paused", "stop"): ("stop_done", "stopped", False, 1),
    ("paused", "restart"): ("restart_done", "active", True, 2),
    ("paused", "fine"): ("hold_not_held", "paused", False, 1),
    ("paused", "start"): ("start_known", "paused", False, 1),
    ("held", "pause"): ("hold_reminder", "held", False, 1),
    ("held", "resume"): ("hold_reminder", "held", False, 1),
    ("held", "stop"): ("stop_done", "stopped", False, 1),  # was: "no course running", hold kept
    ("held", "restart"): ("hold_reminder", "held", False, 1),  # was: day 1 at once, old run left held
    ("held", "fine"): ("hold_resumed", "active", True, 1),
    ("held", "start"): ("start_known", "held", False, 1),
    ("stopped", "pause"): ("stopped_hint", "stopped", False, 1),
    ("stopped", "resume"): ("resume_done", "active", True, 1),
    ("stopped", "stop"): ("stopped_hint", "stopped", False, 1),
    ("stopped", "restart"): ("restart_done", "active", True, 2),
    ("stopped", "fine"): ("hold_not_held", "stopped", False, 1),
    ("stopped", "start"): ("start_known", "active", True, 1),  # /start carries a stopped course on
    ("finished", "pause"): ("not_enrolled", "finished", False, 1),
    ("finished", "resume"): ("not_enrolled", "finished", False, 1),
    ("finished", "stop"): ("not_enrolled", "finished", False, 1),
    ("finished", "restart"): ("restart_done", "active", True, 2),
    ("finished", "fine"): ("hold_not_held", "finished", False, 1),
    ("finished", "start"): ("start_finished", "finished", False, 1),
}

GROUP = {
    ("none", "pause"): ("group_not_started", None, False, 0),
    ("none", "resume"): ("group_not_started", None, False, 0),
    ("none", "stop"): ("group_not_started", None, False, 0),
    ("none", "fine"): ("group_not_held", None, False, 0),
    ("none", "start"): ("group_started", "active", True, 1),  # day 1 went out at once, day 2 waits
    ("active", "pause"): ("group_paused", "paused", False, 1),
    ("active", "resume"): ("group_resume_not_paused", "active", True, 1),
    ("active", "stop"): ("group_stopped", "stopped", False, 1),
    ("active", "fine"): ("group_not_held", "active", True, 1),
    ("active", "start"): ("group_updated", "active", True, 1),
    ("paused", "pause"): ("group_pause_already", "paused", False, 1),
    ("paused", "resume"): ("group_resumed", "active", True, 1),
    ("paused", "stop"): ("group_stopped", "stopped", False, 1),
    ("paused", "fine"): ("group_not_held", "paused", False, 1),
    ("paused", "start"): ("group_updated", "paused", False, 1),
    ("held", "pause"): ("group_held", "held", False, 1),
    ("held", "resume"): ("group_held", "held", False, 1),
    ("held", "stop"): ("group_stopped", "stopped", False, 1),
    ("held", "fine"): ("group_released", "active", True, 1),
    ("held", "start"): ("group_updated", "held", False, 1),
    ("stopped", "pause"): ("group_is_stopped", "stopped", False, 1),
    ("stopped", "resume"): ("group_resumed", "active", True, 1),
    ("stopped", "stop"): ("group_is_stopped", "stopped", False, 1),
    ("stopped", "fine"): ("group_not_held", "stopped", False, 1),
    ("stopped", "start"): ("group_updated", "active", True, 1),
    ("finished", "pause"): ("group_not_started", "finished", False, 1),
    ("finished", "resume"): ("group_not_started", "finished", False, 1),
    ("finished", "stop"): ("group_not_started", "finished", False, 1),
    ("finished", "fine"): ("group_not_held", "finished", False, 1),
    ("finished", "start"): ("group_started", "active", True, 2),
}

PRIVATE_COMMANDS = ("pause", "resume", "stop", "restart", "fine", "start")
GROUP_COMMANDS = ("pause", "resume", "stop", "fine", "start")


def test_the_tables_cover_every_pair():
    assert set(PRIVATE) == {(s, c) for s in STATUSES for c in PRIVATE_COMMANDS}
    assert set(GROUP) == {(s, c) for s in STATUSES for c in GROUP_COMMANDS}


def opening(key: str) -> str:
    """The fixed words a text starts with (before its first placeholder)."""
    return getattr(TEXTS, key).split("{", 1)[0].strip()[:40]


async def seed(bot: RunningBot, chat_id: int, kind: str, status: str) -> None:
    """A chat that took the course up to yesterday's lesson, then reached `status`."""
    async with bot.app.services.db.session() as session:
        session.add(
            Subscriber(
                chat_id=chat_id,
                kind=kind,
                name="Hinge Club" if kind != "private" else "Alex",
                profile="runner" if kind == "private" else "both",
                lesson_time="07:00",
                timezone="Europe/Berlin",
                onboarded=True,
                created_at=NOW - timedelta(days=3),
            )
        )
        await session.flush()
        if status == "none":
            return
        run_status, day, waiting = SEEDS[status]
        run = Enrollment(
            chat_id=chat_id,
            status=run_status,
            current_day=day,
            started_at=NOW - timedelta(days=day),
            last_sent_at=YESTERDAY_7AM,
        )
        session.add(run)
        await session.flush()
        if waiting:
            session.add(Delivery(enrollment_id=run.id, day=day + 1, due_at=NOW + timedelta(hours=1)))


async def stored(bot: RunningBot, chat_id: int) -> tuple[str | None, bool, int]:
    """The newest run's status, whether a lesson waits for it, and how many runs the chat has."""
    async with bot.app.services.db.session() as session:
        runs = list(
            (await session.execute(select(Enrollment).where(Enrollment.chat_id == chat_id).order_by(Enrollment.id)))
            .scalars()
            .all()
        )
        if not runs:
            return None, False, 0
        waiting = await session.scalar(
            select(Delivery.id).where(Delivery.enrollment_id == runs[-1].id, Delivery.status == "pending")
        )
    return runs[-1].status, waiting is not None, len(runs)


async def private_command(telegram: FakeBotApi, person: Person, command: str) -> str:
    """Run one command as the person would; returns the reply that counts (a toast for a press
    whose reply is a toast)."""
    if command == "restart":
        [asked] = await person.say("/restart")
        restart = next((d for _, d in buttons(asked) if d.startswith("restart:yes")), None)
        if restart is None:  # not asked: the hold comes first
            return asked["text"]
        seen = len(person.messages)
        update = telegram.press_button(person.user, asked, restart)
        query_id = update["callback_query"]["id"]
        await telegram.wait_for(lambda: query_id in telegram.callback_answers)
        await person.bot.settle()
        toast = telegram.callback_answers[query_id].get("text")
        if toast:
            return toast
        await person.expect(1, after=seen)
        edits = [c for c in telegram.calls if c.method == "editMessageText" and c.params["chat_id"] == person.chat_id]
        return edits[-1].params["text"]
    if command == "fine":
        [anchor] = await person.say("/help")
        [reply] = await person.press(anchor, "hold:ok")
        return reply["text"]
    [reply] = await person.say(f"/{command}")
    return reply["text"]


@pytest.mark.parametrize("status", STATUSES)
async def test_every_command_in_a_private_chat(telegram, database_url, clock, status):
    bot = RunningBot(group_settings(telegram, database_url), clock)
    await bot.start()
    try:
        people = {command: Person(telegram, 2000 + i, "Alex", bot) for i, command in enumerate(PRIVATE_COMMANDS)}
        for person in people.values():
            await seed(bot, person.chat_id, "private", status)
        for command, person in people.items():
            key, after, waiting, runs = PRIVATE[(status, command)]
            reply = await private_command(telegram, person, command)
            assert opening(key) in reply, (status, command, reply)
            assert await stored(bot, person.chat_id) == (after, waiting, runs), (status, command)
            if key == "hold_reminder":
                assert "not medical advice" in reply, "the safety note comes again"
            if key == "restart_done":
                assert lesson_days(person.messages)[-1:] == [1], "day 1 comes right away"
    finally:
        await bot.stop()


@pytest.mark.parametrize("status", STATUSES)
async def test_every_command_in_a_group(telegram, database_url, clock, status):
    bot = RunningBot(group_settings(telegram, database_url), clock)
    await bot.start()
    try:
        ana = telegram.user(501, "Ana")
        chats = {}
        for i, command in enumerate(GROUP_COMMANDS):
            chat = telegram.add_chat(-1009000 - i, "supergroup", "Hinge Club")
            telegram.set_admins(chat["id"], [ana])
            await seed(bot, chat["id"], "supergroup", status)
            chats[command] = chat
        for command, chat in chats.items():
            key, after, waiting, runs = GROUP[(status, command)]
            words = "start 07:00 Europe/Berlin" if command == "start" else command
            seen = len(telegram.messages_to(chat["id"]))
            telegram.send_text(ana, f"/groupcourse {words}", chat=chat)
            sent = 2 if key == "group_started" else 1  # the reply, and day 1 when a run begins
            replies = await telegram.wait_for_messages(chat["id"], seen + sent)
            await bot.settle()
            reply = replies[seen]["text"]
            assert opening(key) in reply, (status, command, reply)
            assert await stored(bot, chat["id"]) == (after, waiting, runs), (status, command)
            if key == "group_held":
                assert "not medical advice" in reply, "the safety note comes again"
    finally:
        await bot.stop()


async def test_a_held_course_restarts_only_once_the_person_is_fine(telegram, database_url, clock):
    """The second bug, end to end: a red flag holds the course; /restart asks whether the person is
    fine (with the safety note) instead of sending day 1; "I'm fine now, start over" starts over,
    and the old run's check-in buttons no longer record anything."""
    bot = RunningBot(group_settings(telegram, database_url), clock)
    await bot.start()
    try:
        alex = Person(telegram, bot=bot)
        _, day1 = await alex.onboard()
        [advice] = await alex.say("sharp pain in my lower back")
        assert ("I'm fine now, continue", "hold:ok") in buttons(advice)
        [stop] = await alex.say("/stop")
        assert opening("stop_done") in stop["text"], "a held course can be stopped"
        [resumed] = await alex.say("/resume")
        assert opening("resume_done") in resumed["text"]
        [advice] = await alex.say("sharp pain in my lower back")
        [asked] = await alex.say("/restart")
        assert "not medical advice" in asked["text"] and lesson_days([asked]) == []
        fine = next(d for _, d in buttons(asked) if d.startswith("restart:fine:"))
        [again] = await alex.press(asked, fine)
        assert lesson_days([again]) == [1]
        async with bot.app.services.db.session() as session:
            runs = (await session.execute(select(Enrollment).order_by(Enrollment.id))).scalars().all()
            assert [run.status for run in runs] == ["replaced", "active"]
            answers_before = len((await session.execute(select(CheckinAnswer))).scalars().all())
        old_button = next(d for _, d in buttons(day1) if d.startswith("ci:"))
        update = telegram.press_button(alex.user, day1, old_button)
        query_id = update["callback_query"]["id"]
        await telegram.wait_for(lambda: query_id in telegram.callback_answers)
        assert "earlier run" in telegram.callback_answers[query_id]["text"]
        async with bot.app.services.db.session() as session:
            assert len((await session.execute(select(CheckinAnswer))).scalars().all()) == answers_before
    finally:
        await bot.stop()


async def test_settings_the_mini_app_sends_are_checked_by_the_service(telegram, database_url, clock):
    """The service refuses a time, zone or profile it cannot use, whoever sends it (a handler or
    the Mini App), and stores nothing; a good one moves the waiting lesson."""
    bot = RunningBot(group_settings(telegram, database_url), clock)
    await bot.start()
    try:
        course = bot.app.services.course
        await seed(bot, 3001, "private", "active")
        for refused in (
            await course.change_time(3001, "25:00"),
            await course.change_timezone(3001, "Mars/Olympus_Mons"),
            await course.change_profile(3001, "swimmer"),
        ):
            assert refused.refused and refused.subscriber is None
        subscriber, _ = await course.current(3001)
        assert (subscriber.lesson_time, subscriber.timezone, subscriber.profile) == ("07:00", "Europe/Berlin", "runner")
        moved = await course.change_time(3001, "7:30pm")
        assert not moved.refused and moved.subscriber.lesson_time == "19:30"
        assert moved.next_lesson is not None and moved.next_lesson.next_day == 3
        assert (await course.change_timezone(3001, "America/New_York")).subscriber.timezone == "America/New_York"
    finally:
        await bot.stop()
