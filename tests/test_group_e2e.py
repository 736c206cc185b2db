"""Group coaching end to end through the fake Bot API: a coached group with two admins and several
members, a forum topic, a channel, a supergroup migration, and the bot being removed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import CONTENT_DIR, build_application
from bot.content import load_content
from bot.demo.fake_telegram import FakeBotApi
from bot.storage.models import CheckinAnswer, Enrollment, GroupMember, Subscriber
from tests.conftest import TALLY_SECONDS, Person, RunningBot, buttons, group_settings, lesson_days

CONTENT = load_content(CONTENT_DIR)
ADVICE = {item.id: item for item in CONTENT.checkin.advice}
CLUB = -1001234


def berlin_7am(day_of_june: int) -> datetime:
    return datetime(2026, 6, day_of_june, 5, 0, tzinfo=UTC)


class Club:
    """A coached chat as the tests drive it: two admins (Ana, Ben) and five members."""

    def __init__(
        self, telegram: FakeBotApi, bot: RunningBot, chat_id: int = CLUB, kind: str = "supergroup", **chat: object
    ) -> None:
        self.telegram, self.bot, self.chat_id = telegram, bot, chat_id
        self.chat = telegram.add_chat(chat_id, kind, "Hinge Club", **chat)
        self.ana, self.ben = telegram.user(501, "Ana"), telegram.user(502, "Ben")
        self.kim, self.lee, self.max, self.noa, self.sam = (
            telegram.user(600 + i, name) for i, name in enumerate(["Kim", "Lee", "Max", "Noa", "Sam"])
        )
        telegram.set_admins(chat_id, [self.ana, self.ben])

    @property
    def messages(self) -> list[dict]:
        return self.telegram.messages_to(self.chat_id)

    async def expect(self, count: int, seen: int) -> list[dict]:
        messages = await self.telegram.wait_for_messages(self.chat_id, seen + count)
        await self.bot.settle()
        return messages[seen:]

    async def say(self, user: dict, text: str, expect: int = 1, thread: int | None = None) -> list[dict]:
        seen = len(self.messages)
        self.telegram.send_text(user, text, chat=self.chat, message_thread_id=thread)
        return await self.expect(expect, seen)

    async def post(self, text: str, expect: int = 1) -> list[dict]:
        """A channel post: written by the channel itself, no sender."""
        seen = len(self.messages)
        self.telegram.channel_post(self.chat, text)
        return await self.expect(expect, seen)

    def add_bot(self, old: str = "left", new: str = "member") -> None:
        """Ana changes the bot's membership (adds, promotes, demotes or removes it)."""
        self.telegram.my_chat_member(self.chat, self.ana, old, new)

    async def start(self, args: str = "07:00 Europe/Berlin") -> tuple[dict, dict]:
        reply, lesson = await self.say(self.ana, f"/groupcourse start {args}".strip(), expect=2)
        return reply, lesson

    async def anonymous(self, text: str, expect: int = 1) -> list[dict]:
        """A command an admin sends as the group itself: Telegram hides who wrote it."""
        seen = len(self.messages)
        command = text.split()[0]
        message = {
            "message_id": 90000 + seen,
            "date": int(time.time()),
            "chat": self.chat,
            "from": {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"},
            "sender_chat": self.chat,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        }
        self.telegram.push_update({"message": message})
        return await self.expect(expect, seen)

    async def press(self, user: dict, message: dict, option: str) -> dict:
        """Press the check-in option under a message; returns the callback answer."""
        data = next(d for _, d in buttons(message) if d.startswith("gci:") and d.endswith(f":{option}"))
        query_id = self.telegram.press_button(user, message, data)["callback_query"]["id"]
        await self.telegram.wait_for(lambda: query_id in self.telegram.callback_answers)
        return self.telegram.callback_answers[query_id]


async def rows(bot: RunningBot, model, *conditions) -> list:
    async with bot.app.services.db.session() as session:
        return list((await session.execute(select(model).where(*conditions))).scalars())


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait for a condition on stored state, as an update is handled in the background."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{check.__qualname__} not met within {timeout}s")
        await asyncio.sleep(0.01)


def reachable(bot: RunningBot, chat_id: int, expected: bool) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        found = await rows(bot, Subscriber, Subscriber.chat_id == chat_id)
        return bool(found) and found[0].reachable is expected

    return check


def checkin_buttons(message: dict) -> list[str]:
    return [d for _, d in buttons(message) if d.startswith("gci:")]


def link_of(message: dict) -> str:
    [url] = [b["url"] for row in message["reply_markup"]["inline_keyboard"] for b in row if "url" in b]
    return url


def edits(telegram: FakeBotApi, chat_id: int) -> list:
    return [c for c in telegram.calls if c.method == "editMessageText" and c.params.get("chat_id") == chat_id]


async def test_added_to_a_group_it_welcomes_once_and_only_admins_start_the_course(coach_bot, telegram):
    club = Club(telegram, coach_bot)
    club.add_bot()
    [welcome] = await club.expect(1, 0)
    assert "/groupcourse start 18:30 Europe/Berlin" in welcome["text"]
    club.add_bot("member", "administrator")  # promoted: already here, so no second welcome

    [refused] = await club.say(club.kim, "/groupcourse start 07:00 Europe/Berlin")
    assert "for the group's admins" in refused["text"]
    assert await rows(coach_bot, Enrollment, Enrollment.chat_id == CLUB) == []
    [subscriber] = await rows(coach_bot, Subscriber, Subscriber.chat_id == CLUB)
    assert subscriber.lesson_time is None and not subscriber.onboarded, "a refusal changes nothing"

    reply, lesson = await club.start()
    assert "07:00" in reply["text"] and "Europe/Berlin" in reply["text"] and "default" not in reply["text"]
    assert lesson_days([lesson]) == [1]
    [enrollment] = await rows(coach_bot, Enrollment, Enrollment.chat_id == CLUB)
    assert checkin_buttons(lesson) == [
        f"gci:{enrollment.id}:1:felt-where:{o.id}" for o in CONTENT.checkin.nodes[0].options if o.button
    ]
    assert all(len(d.encode()) <= 64 for d in checkin_buttons(lesson))
    assert link_of(lesson) == f"https://t.me/HingeCoachBot?start=g{enrollment.id}_1"
    assert "📊" not in lesson["text"], "the tally starts empty"
    assert [m for m in club.messages if "Hi, I'm" in m["text"]] == [welcome]

    await coach_bot.at(berlin_7am(2) - timedelta(minutes=1))
    await coach_bot.tick()
    assert lesson_days(club.messages) == [1]
    await coach_bot.at(berlin_7am(2))
    [day2] = await club.expect(1, len(club.messages))
    assert lesson_days([day2]) == [2] and checkin_buttons(day2)[0].startswith(f"gci:{enrollment.id}:2:")


async def test_defaults_a_new_time_and_the_group_commands(coach_bot, telegram, clock):
    club = Club(telegram, coach_bot)
    [bad] = await club.say(club.ana, "/groupcourse start 18:30 Qwxzv")
    assert "couldn't read" in bad["text"]
    reply, _ = await club.start("")
    assert "07:00" in reply["text"] and "Etc/UTC" in reply["text"] and "default" in reply["text"]
    [moved] = await club.say(club.ben, "/groupcourse start 18:30 Europe/Berlin")
    assert "18:30" in moved["text"] and "Day 2 comes tomorrow at 18:30" in moved["text"]
    [subscriber] = await rows(coach_bot, Subscriber, Subscriber.chat_id == CLUB)
    assert (subscriber.kind, subscriber.profile, subscriber.lesson_time, subscriber.timezone) == (
        "supergroup",
        "both",
        "18:30",
        "Europe/Berlin",
    )
    [paused] = await club.say(club.ana, "/groupcourse pause")
    assert "Paused on day 1" in paused["text"]
    await coach_bot.at(datetime(2026, 6, 2, 17, 0, tzinfo=UTC))
    await coach_bot.tick()
    assert lesson_days(club.messages) == [1]
    await coach_bot.at(datetime(2026, 6, 3, 12, 0, tzinfo=UTC))
    [resumed] = await club.say(club.ana, "/groupcourse resume")
    assert "day 2 comes today at 18:30" in resumed["text"]
    [stopped] = await club.say(club.ana, "/groupcourse stop")
    assert "Stopped" in stopped["text"]
    [again] = await club.say(club.ana, "/groupcourse start 18:30 Europe/Berlin")
    assert "Day 2 comes today at 18:30" in again["text"], "start after stop carries on"
    await coach_bot.at(datetime(2026, 6, 3, 16, 30, tzinfo=UTC))
    [day2] = await club.expect(1, len(club.messages))
    assert lesson_days([day2]) == [2]
    [usage] = await club.say(club.ana, "/groupcourse")
    assert "/groupcourse here" in usage["text"]
    [here] = await club.say(club.ana, "/groupcourse here")
    assert "no topics" in here["text"]
    seen = len(club.messages)
    telegram.send_text(club.kim, "/today", chat=club.chat)
    telegram.send_text(club.kim, "/help@OtherBot", chat=club.chat)
    telegram.send_text(club.kim, "good morning everyone", chat=club.chat)
    [pointer] = await club.say(club.kim, "/help@HingeCoachBot")
    assert len(club.messages) == seen + 1, "chatter and other bots' commands get no answer"
    assert "t.me/HingeCoachBot" in pointer["text"]


async def test_members_check_in_once_each_with_alerts_and_sparse_tally_edits(coach_bot, telegram):
    club = Club(telegram, coach_bot)
    _, lesson = await club.start()
    original = lesson["text"]  # the fake edits its record of the message in place
    clean = await club.press(club.kim, lesson, "hams-glutes")
    assert clean["show_alert"] is True and ADVICE["clean"].title in clean["text"] and len(clean["text"]) <= 200
    followup = await club.press(club.lee, lesson, "lower-back")
    assert "One more question" in followup["text"] and followup["show_alert"] is True
    await club.press(club.max, lesson, "hams-glutes")
    changed = await club.press(club.max, lesson, "quads-knees")
    assert ADVICE["squatting"].title in changed["text"]
    await club.press(club.kim, lesson, "hams-glutes")  # a double press
    red = await club.press(club.noa, lesson, "pain")
    assert "physician or physical therapist" in red["text"]
    presses = 6

    answers = await rows(coach_bot, CheckinAnswer, CheckinAnswer.chat_id == CLUB)
    assert sorted((a.user_id, a.day, a.node, a.option) for a in answers) == [
        (600, 1, "felt-where", "hams-glutes"),
        (601, 1, "felt-where", "lower-back"),
        (602, 1, "felt-where", "quads-knees"),
        (603, 1, "felt-where", "pain"),
    ]
    assert {a.effect for a in answers if a.user_id == 603} == {"red_flag"}
    [enrollment] = await rows(coach_bot, Enrollment, Enrollment.chat_id == CLUB)
    assert enrollment.status == "active", "one red flag does not hold the group's course"

    final = "📊 🍑 Hamstrings and glutes 1 · 🔻 Lower back 1 · 🦵 Quads or knees 1 · 🚩 Pain 1"
    await telegram.wait_for(lambda: final in club.messages[-1]["text"])
    await coach_bot.settle()
    made = edits(telegram, CLUB)
    assert 1 <= len(made) <= presses
    assert all(b.at - a.at >= TALLY_SECONDS * 0.9 for a, b in zip(made, made[1:], strict=False))
    assert club.messages[-1]["text"] == f"{original}\n{final}", "only the tally line changes"
    assert checkin_buttons(club.messages[-1]) == checkin_buttons(lesson), "the buttons stay under the lesson"
    assert not any(name in m["text"] for m in club.messages for name in ("Kim", "Lee", "Max", "Noa"))
    roster = await rows(coach_bot, GroupMember, GroupMember.chat_id == CLUB)
    assert {m.name for m in roster} == {"Ana", "Kim", "Lee", "Max", "Noa"}


async def test_deep_link_summary_and_daily_digest(coach_bot, telegram, clock):
    club = Club(telegram, coach_bot)
    ben = Person(telegram, 502, "Ben", coach_bot)
    await ben.say("/start", expect=2)  # Ben has a private chat with the bot; Ana does not yet
    _, lesson = await club.start()
    for user, option in ((club.kim, "hams-glutes"), (club.lee, "lower-back"), (club.noa, "pain")):
        await club.press(user, lesson, option)
    [refused] = await club.say(club.sam, "/summary")
    assert "for the group's admins" in refused["text"]

    lee = Person(telegram, 601, "Lee", coach_bot)
    payload = link_of(lesson).split("start=")[1]
    question, offer = await lee.say(f"/start {payload}", expect=2)
    assert "Hinge Club" in question["text"] and "Did your back round" in question["text"]
    assert "for yourself" in offer["text"] and ("🏃 Runner", "onb:profile:runner") in buttons(offer)
    [advice] = await lee.press(question, next(d for _, d in buttons(question) if d.endswith(":rounded")))
    assert ADVICE["back-rounding"].title in advice["text"]
    kim = Person(telegram, 600, "Kim", coach_bot)
    advice, _ = await kim.say(f"/start {payload}", expect=2)
    assert ADVICE["clean"].title in advice["text"] and "Keep going as planned" in advice["text"]

    [start_me] = await club.say(club.ana, "/summary")
    [enrollment] = await rows(coach_bot, Enrollment, Enrollment.chat_id == CLUB)
    assert f"https://t.me/HingeCoachBot?start=s{enrollment.id}" in start_me["text"]
    ana = Person(telegram, 501, "Ana", coach_bot)
    summary, _ = await ana.say(f"/start s{enrollment.id}", expect=2)
    assert "Hinge Club</b>, day 1 of 7" in summary["text"]
    assert "🍑 Hamstrings and glutes: 1" in summary["text"] and "🔻 Lower back: 1" in summary["text"]
    assert "Noa: 🚩 Pain" in summary["text"]
    assert "Not checked in yet</b>: Sam" in summary["text"], "admins are not counted as missing"
    assert "Day 1: 3 checked in · 1 on target · 1 working on a fix · 1 red flags" in summary["text"]

    [note] = await club.say(club.ben, "/summary")
    assert "sent you the summary privately" in note["text"] and "Noa" not in note["text"]
    assert "Noa: 🚩 Pain" in ben.messages[-1]["text"]
    outsider, _ = await Person(telegram, 603, "Noa", coach_bot).say(f"/start s{enrollment.id}", expect=2)
    assert "admins only" in outsider["text"]

    await coach_bot.at(berlin_7am(2))
    [day2] = await club.expect(1, len(club.messages))
    seen_ana, seen_ben = len(ana.messages), len(ben.messages)
    await coach_bot.at(berlin_7am(2) + timedelta(hours=3, minutes=59))
    await coach_bot.tick()
    assert len(ana.messages) == seen_ana, "no digest before the check-in window closes"
    await club.press(club.kim, day2, "hams-glutes")
    await coach_bot.at(berlin_7am(2) + timedelta(hours=4, minutes=1))
    [digest_ana] = await ana.expect(1, after=seen_ana)
    [digest_ben] = await ben.expect(1, after=seen_ben)
    for digest in (digest_ana, digest_ben):
        assert "Daily digest" in digest["text"] and "day 2 of 7" in digest["text"]
        assert "Not checked in yet</b>: Lee, Noa, Sam" in digest["text"]
        assert "Day 2: 1 checked in · 1 on target" in digest["text"]
    assert not any("Daily digest" in m["text"] for m in club.messages), "the group never sees the digest"
    await coach_bot.at(berlin_7am(2) + timedelta(hours=9))
    await coach_bot.tick()
    assert len(ana.messages) == seen_ana + 1, "one digest a day"


async def test_forum_topic_and_a_topic_that_is_gone(coach_bot, telegram):
    club = Club(telegram, coach_bot, is_forum=True)
    [here] = await club.say(club.ana, "/groupcourse here", thread=77)
    assert "this topic" in here["text"] and here["message_thread_id"] == 77
    reply, lesson = await club.say(club.ana, "/groupcourse start 07:00 Europe/Berlin", expect=2, thread=77)
    assert reply["message_thread_id"] == 77 and lesson["message_thread_id"] == 77
    await club.press(club.kim, lesson, "hams-glutes")
    await telegram.wait_for(lambda: "📊" in club.messages[-1]["text"])

    telegram.fail_next("sendMessage", error_code=400, description="Bad Request: message thread not found", chat_id=CLUB)
    await coach_bot.at(berlin_7am(2))
    day2, note = await club.expect(2, len(club.messages))
    assert lesson_days([day2]) == [2] and "message_thread_id" not in day2
    assert "gone or closed" in note["text"]
    await coach_bot.at(berlin_7am(3))
    [day3] = await club.expect(1, len(club.messages))
    assert lesson_days([day3]) == [3] and "message_thread_id" not in day3
    assert sum("gone or closed" in m["text"] for m in club.messages) == 1, "the admins are told once"


async def test_a_channel_runs_the_course_from_channel_posts(coach_bot, telegram):
    club = Club(telegram, coach_bot, chat_id=-100777, kind="channel")
    ana = Person(telegram, 501, "Ana", coach_bot)
    await ana.say("/start", expect=2)
    club.add_bot("left", "administrator")
    await until(reachable(coach_bot, -100777, True))
    assert club.messages == [], "a channel's readers get no set-up message"
    reply, lesson = await club.post("/groupcourse start 07:00 Europe/Berlin", expect=2)
    assert "07:00" in reply["text"] and lesson_days([lesson]) == [1] and "sender_chat" in lesson
    answer = await club.press(club.kim, lesson, "quads-knees")
    assert ADVICE["squatting"].title in answer["text"]
    await club.press(club.noa, lesson, "pain")
    seen = len(ana.messages)
    [public] = await club.post("/summary")
    assert "Quads or knees 1" in public["text"] and "Pain 1" in public["text"] and "Noa" not in public["text"]
    [detail] = await ana.expect(1, after=seen)
    assert "Noa: 🚩 Pain" in detail["text"]

    club.add_bot("administrator", "member")  # demoted: can no longer post in the channel
    await until(reachable(coach_bot, -100777, False))
    await coach_bot.at(berlin_7am(2))
    await coach_bot.tick()
    assert lesson_days(club.messages) == [1]
    [subscriber] = await rows(coach_bot, Subscriber, Subscriber.chat_id == -100777)
    assert subscriber.kind == "channel" and not subscriber.reachable


async def test_a_group_that_becomes_a_supergroup_keeps_its_course(coach_bot, telegram):
    club = Club(telegram, coach_bot, chat_id=-4001, kind="group")
    _, lesson = await club.start()
    await club.press(club.kim, lesson, "hams-glutes")
    telegram.migrate_group(-4001, -1004001)
    await until(reachable(coach_bot, -1004001, True))
    [subscriber] = await rows(coach_bot, Subscriber, Subscriber.chat_id == -1004001)
    assert subscriber.kind == "supergroup" and subscriber.lesson_time == "07:00"
    assert await rows(coach_bot, Subscriber, Subscriber.chat_id == -4001) == []
    [answer] = await rows(coach_bot, CheckinAnswer)
    assert answer.chat_id == -1004001
    await coach_bot.at(berlin_7am(2))
    [day2] = await telegram.wait_for_messages(-1004001, 1)
    assert lesson_days([day2]) == [2]


async def test_a_migration_first_seen_when_sending_moves_the_course(telegram, database_url, clock):
    settings = group_settings(telegram, database_url)
    bot = RunningBot(settings, clock)
    await bot.start()
    try:
        club = Club(telegram, bot, chat_id=-4002, kind="group")
        await club.start()
    finally:
        await bot.stop()
    telegram.migrate_group(-4002, -1004002)  # the service messages are never fetched
    app = build_application(settings, clock=clock)
    await app.initialize()
    try:
        clock.set(berlin_7am(2))
        report = await app.services.delivery.tick(app.bot)
        async with app.services.db.session() as session:
            moved = await session.get(Subscriber, -1004002)
    finally:
        await app.shutdown()
        await app.services.db.dispose()
    assert report.sent == 1 and moved is not None
    assert lesson_days(telegram.messages_to(-1004002)) == [2]


async def test_removed_from_the_group_no_more_lessons_and_blocked_then_unblocked_in_private(coach_bot, telegram):
    club = Club(telegram, coach_bot)
    club.add_bot()
    await club.expect(1, 0)
    await club.start()
    club.add_bot("member", "left")
    await until(reachable(coach_bot, CLUB, False))
    [subscriber] = await rows(coach_bot, Subscriber, Subscriber.chat_id == CLUB)
    [enrollment] = await rows(coach_bot, Enrollment, Enrollment.chat_id == CLUB)
    assert not subscriber.reachable and enrollment.status == "stopped"
    await coach_bot.at(berlin_7am(3))
    await coach_bot.tick()
    assert lesson_days(club.messages) == [1]

    alex = Person(telegram, 1001, "Alex", coach_bot)
    await alex.onboard()
    telegram.my_chat_member(telegram.private_chat(alex.user), alex.user, "member", "kicked")
    await until(reachable(coach_bot, 1001, False))
    telegram.my_chat_member(telegram.private_chat(alex.user), alex.user, "kicked", "member")
    await until(reachable(coach_bot, 1001, True))


async def test_an_anonymous_admin_runs_the_course_and_gets_no_names_in_the_group(coach_bot, telegram):
    club = Club(telegram, coach_bot)
    ana = Person(telegram, 501, "Ana", coach_bot)
    await ana.say("/start", expect=2)
    reply, lesson = await club.anonymous("/groupcourse start 07:00 Europe/Berlin", expect=2)
    assert "The course is on" in reply["text"] and lesson_days([lesson]) == [1]
    await club.press(club.noa, lesson, "pain")
    seen = len(ana.messages)
    [public] = await club.anonymous("/summary")
    assert "🚩 Pain 1" in public["text"] and "Noa" not in public["text"]
    [detail] = await ana.expect(1, after=seen)
    assert "Noa: 🚩 Pain" in detail["text"]
    roster = await rows(coach_bot, GroupMember, GroupMember.chat_id == CLUB)
    assert [m.name for m in roster] == ["Noa"], "the anonymous admin stays anonymous"


async def test_coach_commands_are_offered_to_group_admins_only(running_bot, telegram):
    def commands(scope: str) -> set[str]:
        calls = [c for c in telegram.calls if c.method == "setMyCommands"]
        return {
            c["command"]
            for call in calls
            if (call.params.get("scope") or {}).get("type", "default") == scope
            for c in call.params["commands"]
        }

    assert {"groupcourse", "summary"} <= commands("all_chat_administrators")
    assert not {"groupcourse", "summary"} & (commands("all_group_chats") | commands("default"))
    assert "today" not in commands("all_group_chats"), "members in a group see only what works there"


async def test_a_member_types_the_answer_to_the_private_follow_up(coach_bot, telegram):
    """A member's follow-up question waits in private; typed words are read there like a private
    check-in's, and what cannot be read is asked again with the member's own buttons."""
    club = Club(telegram, coach_bot)
    _, lesson = await club.start()
    await club.press(club.lee, lesson, "lower-back")
    lee = Person(telegram, club.lee["id"], "Lee", coach_bot)
    [again] = await lee.say("what do you mean?")
    assert next(n for n in CONTENT.checkin.nodes if n.id == "lower-back-why").question in again["text"]
    assert {d.rsplit(":", 1)[1] for _, d in buttons(again)} == {"rounded", "drifted", "not-sure"}
    assert all(d.startswith("gci:") for _, d in buttons(again))
    [advice] = await lee.say("the bell drifted away from my legs")
    assert ADVICE["weight-drift"].title in advice["text"]
    answers = await rows(coach_bot, CheckinAnswer, CheckinAnswer.user_id == club.lee["id"])
    assert sorted((a.node, a.option, a.text) for a in answers) == [
        ("felt-where", "lower-back", None),
        ("lower-back-why", "drifted", "the bell drifted away from my legs"),
    ]
    [other] = await lee.say("thanks coach")
    assert ADVICE["weight-drift"].title not in other["text"], "once answered, the follow-up is closed"
