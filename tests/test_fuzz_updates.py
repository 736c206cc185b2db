"""Bad input: thousands of random and malformed updates through the full application (every handler,
the real HTTP client, a fake Telegram that checks what the bot sends). People press the buttons the
bot really sent them, and forged ones; they type random unicode, 4,096-character and empty messages,
unknown commands, stickers and photos, edit what they wrote, block and unblock the bot; groups get
commands from non-admins and messages with no user at all. Nothing may raise, every button press is
answered, and the database is consistent afterwards."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from telegram import Update
from telegram.error import Forbidden

from bot.app import build_application
from bot.context import CoachApplication, CoachContext
from bot.demo.fake_telegram import FakeBotApi
from bot.storage.migrate import upgrade_async
from bot.storage.models import CheckinAnswer, Delivery, Enrollment, Subscriber
from tests.conftest import TOKEN, FakeClock, make_settings

BATCH, BATCHES = 25, 202  # 5,050 updates
USERS = range(1001, 1007)
GROUPS = [(-1001, "group"), (-1002, "supergroup"), (-1003, "supergroup")]
CHANNEL = -1009
COMMANDS = [
    "start", "today", "pause", "resume", "restart", "stop", "help", "settings", "checkins", "cue", "drill",
    "log", "undo", "units", "weekly", "forget", "stats", "groupcourse", "summary", "dance", "", "START", "x" * 40,
]  # fmt: skip
RARE_COMMANDS = ["export", "progress"]  # files and charts: real work, so less often
TYPED = [
    "7am", "07:00", "6:30 pm", "25:00", "Berlin", "new york", "Tokyo", "runner", "lifter", "yes", "no", "fine",
    "my lower back hurts", "sharp pain down my leg", "hips", "knees", "rdl 35 3x12", "deadlift 100kg 5x5",
    "wall tap", "<b>bold</b>", "&amp; <script>", "1", "0", "-1", "9" * 30,
]  # fmt: skip

texts = st.one_of(
    st.sampled_from(TYPED),
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=120),
    # the longest message there is, a drawn piece repeated (4,096 drawn characters would overrun hypothesis)
    st.builds(
        lambda piece: (piece * 4096)[:4096], st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=9)
    ),
)
command_lines = st.builds(
    lambda name, addressed, args: f"/{name}{'@HingeCoachBot' if addressed else ''}{' ' + args if args else ''}",
    st.sampled_from(COMMANDS * 10 + RARE_COMMANDS),
    st.booleans(),
    st.one_of(st.just(""), st.sampled_from(TYPED), st.text(max_size=40)),
)
places = st.one_of(st.just("private"), st.sampled_from([chat_id for chat_id, _ in GROUPS]))
users = st.sampled_from(list(USERS))
forged_data = st.one_of(
    st.text(max_size=64),
    st.text(min_size=65, max_size=400),  # longer than Telegram allows
    st.builds(
        lambda prefix, parts: prefix + ":".join(parts),
        st.sampled_from(["ci:", "gci:", "fx:", "onb:tz:", "onb:time:", "lg:", "felt:", "cue:topic:", "restart:"]),
        st.lists(st.one_of(st.text(max_size=12), st.integers(-(2**70), 2**70).map(str)), max_size=5),
    ),
)
actions = st.one_of(
    st.tuples(st.just("text"), users, places, texts),
    st.tuples(st.just("text"), users, st.just("private"), command_lines),
    st.tuples(st.just("text"), users, places, command_lines),
    st.tuples(st.just("press"), users, places, st.integers(0, 1000)),
    st.tuples(st.just("press"), users, st.just("private"), st.integers(0, 1000)),
    st.tuples(st.just("forged"), users, places, forged_data),
    st.tuples(st.just("edit"), users, places, texts),
    st.tuples(st.just("media"), users, places, st.sampled_from(["sticker", "photo", "empty", "voice"])),
    st.tuples(st.just("anonymous"), st.sampled_from([chat_id for chat_id, _ in GROUPS]), texts),
    st.tuples(st.just("channel"), st.just(CHANNEL), st.one_of(texts, command_lines)),
    st.tuples(st.just("member"), users, places, st.sampled_from(["kicked", "member", "administrator", "left"])),
    st.tuples(st.just("inline"), users, st.just("private"), texts.map(lambda t: t[:256])),
    st.tuples(st.just("location"), users, st.floats(-90, 90), st.floats(-180, 180)),
)


class Fuzzer:
    """The real application fed updates one by one, as python-telegram-bot processes them."""

    def __init__(self, telegram: FakeBotApi, application: CoachApplication) -> None:
        self.telegram = telegram
        self.application = application
        self.errors: list[BaseException] = []
        self.pressed: list[str] = []
        self.fed = 0
        self.message_ids = iter(range(10**6, 10**9))
        self.chats = {chat_id: telegram.add_chat(chat_id, kind, f"Hinge club {chat_id}") for chat_id, kind in GROUPS}
        self.chats[CHANNEL] = telegram.add_chat(CHANNEL, "channel", "Hinge news")
        telegram.set_admins(GROUPS[0][0], [telegram.user(USERS[0], "Coach")])
        self.people = {user_id: telegram.user(user_id, f"Person{user_id}") for user_id in USERS}

    async def record_error(self, update: object, context: CoachContext) -> None:
        if not isinstance(context.error, Forbidden):  # the person blocked the bot: expected
            self.errors.append(context.error)

    async def feed(self, batch: list[tuple[Any, ...]]) -> None:
        self.errors.clear()
        for action in batch:
            await self.application.process_update(Update.de_json(self.update_for(*action), self.application.bot))
            self.fed += 1
        assert not self.errors, f"unexpected errors: {self.errors[:3]}"

    def chat(self, user: dict, place: Any) -> dict:
        return self.telegram.private_chat(user) if place == "private" else self.chats[place]

    def message(self, chat: dict, **fields: Any) -> dict:
        """A message from someone in the chat, pushed as an update."""
        message = {"message_id": next(self.message_ids), "date": 0, "chat": chat, **fields}
        return self.telegram.push_update({"message": message})

    def update_for(self, kind: str, *args: Any) -> dict:
        telegram = self.telegram
        if kind == "location":
            user_id, latitude, longitude = args
            return telegram.share_location(self.people[user_id], latitude, longitude)
        if kind == "anonymous":  # posted as the group itself: no user at all
            chat_id, text = args
            return self.message(self.chats[chat_id], sender_chat=self.chats[chat_id], text=text)
        if kind == "channel":
            _, text = args
            return telegram.channel_post(self.chats[CHANNEL], text)
        user_id, place, value = args
        user = self.people[user_id]
        chat = self.chat(user, place)
        if kind == "text":
            return telegram.send_text(user, value, chat)
        if kind == "press":
            buttons = [
                (message, button["callback_data"])
                for message in telegram.messages_to(chat["id"])[-6:]
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
                for button in row
                if "callback_data" in button
            ]
            if not buttons:  # nothing to press here yet: a button under a message long gone
                return self.update_for("forged", user_id, place, "onb:profile:runner")
            message, data = buttons[value % len(buttons)]
            return self._pressed(telegram.press_button(user, message, data))
        if kind == "forged":
            sent = telegram.messages_to(chat["id"])
            message = sent[-1] if sent else {"message_id": 1, "date": 0, "chat": chat, "text": "an old message"}
            return self._pressed(telegram.press_button(user, message, value))
        if kind == "edit":
            message = {"message_id": next(self.message_ids), "date": 0, "edit_date": 1, "chat": chat}
            return telegram.push_update({"edited_message": {**message, "from": user, "text": value}})
        if kind == "media":
            content = {
                "sticker": {"sticker": {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 1,
                                        "height": 1, "is_animated": False, "is_video": False}},
                "photo": {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]},
                "voice": {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 1}},
                "empty": {},
            }[value]  # fmt: skip
            return self.message(chat, **{"from": user, **content})
        if kind == "member":
            old = "member" if value != "member" else "left"
            return telegram.my_chat_member(chat, user, old, value)
        if kind == "inline":
            return telegram.inline_query(user, value)
        raise AssertionError(kind)

    def _pressed(self, update: dict) -> dict:
        self.pressed.append(update["callback_query"]["id"])
        return update


async def consistency_problems(application: CoachApplication) -> list[str]:
    """What a consistent database never holds."""
    problems = []
    async with application.services.db.session() as session:
        doubled = await session.execute(
            select(Delivery.enrollment_id)
            .where(Delivery.status == "pending")
            .group_by(Delivery.enrollment_id)
            .having(func.count() > 1)
        )
        problems += [f"enrollment {row[0]} has two lessons waiting" for row in doubled]
        stuck = await session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "sending"))
        problems += [f"{stuck} lesson(s) left mid-send"] if stuck else []
        active = await session.execute(
            select(Enrollment.chat_id)
            .where(Enrollment.status == "active")
            .group_by(Enrollment.chat_id)
            .having(func.count() > 1)
        )
        problems += [f"chat {row[0]} has two active courses" for row in active]
        orphans = await session.scalar(
            select(func.count())
            .select_from(CheckinAnswer)
            .where(CheckinAnswer.enrollment_id.not_in(select(Enrollment.id)))
        )
        problems += [f"{orphans} check-in answer(s) without their enrollment"] if orphans else []
        half = await session.scalar(
            select(func.count())
            .select_from(Subscriber)
            .where(Subscriber.onboarded.is_(True), Subscriber.kind == "private")
            .where((Subscriber.lesson_time.is_(None)) | (Subscriber.timezone.is_(None)))
        )
        problems += [f"{half} onboarded person(s) without a lesson time or zone"] if half else []
    return problems


def test_thousands_of_random_updates_break_nothing(tmp_path: Path) -> None:
    with asyncio.Runner() as runner:
        telegram = FakeBotApi(TOKEN)
        runner.run(telegram.start())
        url = f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}"
        runner.run(upgrade_async(url))
        config = make_settings(telegram, url, global_rate=1000, group_rate_per_minute=600, checkin_reminder_hours=0)
        application = build_application(config, clock=FakeClock())
        runner.run(application.initialize())
        fuzzer = Fuzzer(telegram, application)
        application.add_error_handler(fuzzer.record_error)

        @settings(
            max_examples=BATCHES,
            deadline=None,
            database=None,
            print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
        )
        @given(st.lists(actions, min_size=BATCH, max_size=BATCH))
        def feed(batch: list[tuple[Any, ...]]) -> None:
            runner.run(fuzzer.feed(batch))

        try:
            feed()
            problems = runner.run(consistency_problems(application))
        finally:
            runner.run(application.shutdown())
            runner.run(application.services.db.dispose())
            runner.run(telegram.stop())
    assert fuzzer.fed >= 5000
    unanswered = [query_id for query_id in fuzzer.pressed if query_id not in telegram.callback_answers]
    assert not unanswered, f"{len(unanswered)} of {len(fuzzer.pressed)} button presses were never answered"
    assert not problems, problems
