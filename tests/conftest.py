"""Shared fixtures: an injectable clock, migrated databases, and the real bot talking HTTP to a
fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_application
from bot.context import CoachApplication
from bot.demo.fake_telegram import FakeBotApi
from bot.settings import Settings
from bot.storage.migrate import upgrade_async
from bot.storage.models import Delivery

TOKEN = "123456:TEST-TOKEN"
os.environ.setdefault("PTB_TIMEDELTA", "true")  # as `coach` sets it: durations are timedeltas


class FakeClock:
    """A clock the test moves by hand; starts on 1 June 2026, 04:00 UTC (06:00 in Berlin)."""

    def __init__(self, start: datetime = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, instant: datetime) -> datetime:
        self._now = instant
        return self._now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def _fresh_sqlite(folder: Path) -> str:
    url = f"sqlite+aiosqlite:///{folder / 'coach.db'}"
    await upgrade_async(url)
    return url


async def _fresh_postgres() -> str:
    """An empty, migrated PostgreSQL schema; skipped with a reason when none is configured."""
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but TEST_POSTGRES_URL is not")
        pytest.skip("PostgreSQL tests need TEST_POSTGRES_URL (CI sets it; see README)")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    except OSError as exc:
        if os.environ.get("REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"PostgreSQL at TEST_POSTGRES_URL is not reachable: {exc}")
    finally:
        await engine.dispose()
    await upgrade_async(url)
    return url


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return await _fresh_sqlite(tmp_path)


@pytest.fixture
async def postgres_url() -> str:
    return await _fresh_postgres()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    return await (_fresh_sqlite(tmp_path) if request.param == "sqlite" else _fresh_postgres())


@pytest.fixture
async def telegram() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


def make_settings(telegram: FakeBotApi, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        bot_token=TOKEN,
        database_url=database_url,
        telegram_api_base_url=telegram.base_url,
        delivery_tick_seconds=0.05,
        _env_file=None,
    )
    values.update(overrides)
    return Settings(**values)


class RunningBot:
    """The real Application, polling the fake server, with start/stop for restart tests."""

    def __init__(self, settings: Settings, clock: FakeClock) -> None:
        self.settings = settings
        self.clock = clock
        self.app: CoachApplication | None = None

    async def start(self) -> CoachApplication:
        self.app = build_application(self.settings, clock=self.clock)
        # The same order as Application.run_polling, which tests cannot use (it owns the loop).
        await self.app.initialize()
        await self.app.post_init(self.app)
        await self.app.updater.start_polling(poll_interval=0.0, timeout=1)
        await self.app.start()
        return self.app

    async def stop(self) -> None:
        if self.app is None:
            return
        app, self.app = self.app, None
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        await app.post_shutdown(app)

    async def tick(self) -> None:
        """Run one delivery tick now, instead of waiting for the job queue's next one."""
        await self.settle()
        await self.app.services.delivery.tick(self.app.bot)

    async def settle(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until no lesson is mid-send, so its outcome is stored before the clock moves."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            async with self.app.services.db.session() as session:
                sending = await session.scalar(
                    select(func.count()).select_from(Delivery).where(Delivery.status == "sending")
                )
            if not sending:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{sending} lesson(s) still sending after {timeout}s")
            await asyncio.sleep(0.01)

    async def at(self, instant: datetime) -> None:
        """Move the clock once every send in flight is recorded, as real time would."""
        await self.settle()
        self.clock.set(instant)


@pytest.fixture
async def running_bot(telegram: FakeBotApi, sqlite_url: str, clock: FakeClock) -> AsyncIterator[RunningBot]:
    bot = RunningBot(make_settings(telegram, sqlite_url), clock)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


TALLY_SECONDS = 0.2


def group_settings(telegram: FakeBotApi, database_url: str) -> Settings:
    """A short tally interval, and a group pace well above Telegram's 20 a minute: the pacing has
    tests of its own, and here it would only make every test wait."""
    return make_settings(telegram, database_url, group_tally_seconds=TALLY_SECONDS, group_rate_per_minute=600)


@pytest.fixture
async def coach_bot(telegram: FakeBotApi, database_url: str, clock: FakeClock) -> AsyncIterator[RunningBot]:
    """The bot as the group tests run it, on SQLite and on PostgreSQL."""
    bot = RunningBot(group_settings(telegram, database_url), clock)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


class Person:
    """Someone chatting with the bot in private, as the tests drive them."""

    def __init__(
        self, telegram: FakeBotApi, user_id: int = 1001, name: str = "Alex", bot: RunningBot | None = None
    ) -> None:
        self.telegram = telegram
        self.bot = bot
        self.user = telegram.user(user_id, name)
        self.chat_id = user_id

    @property
    def messages(self) -> list[dict]:
        return self.telegram.messages_to(self.chat_id)

    async def expect(self, count: int, *, after: int | None = None) -> list[dict]:
        """Wait until `count` more messages than `after` have arrived; return the new ones."""
        seen = len(self.messages) if after is None else after
        messages = await self.telegram.wait_for_messages(self.chat_id, seen + count)
        if self.bot is not None and self.bot.app is not None:
            await self.bot.settle()  # a lesson's bookkeeping lands just after its message
        return messages[seen:]

    async def say(self, text: str, expect: int = 1) -> list[dict]:
        seen = len(self.messages)
        self.telegram.send_text(self.user, text)
        return await self.expect(expect, after=seen)

    async def say_file(self, file_name: str, data: bytes, expect: int = 1, file_size: int | None = None) -> list[dict]:
        """Send a document, as a person sends a CSV to import."""
        seen = len(self.messages)
        self.telegram.send_document(self.user, file_name, data, file_size=file_size)
        return await self.expect(expect, after=seen)

    async def press(self, message: dict, data: str, expect: int = 1) -> list[dict]:
        seen = len(self.messages)
        update = self.telegram.press_button(self.user, message, data)
        query_id = update["callback_query"]["id"]
        await self.telegram.wait_for(lambda: query_id in self.telegram.callback_answers)
        return await self.expect(expect, after=seen) if expect else []

    async def onboard(self, profile: str = "runner", time: str = "7am", zone: str = "Berlin") -> list[dict]:
        """The whole onboarding; returns the confirmation and the day 1 lesson."""
        _, question = await self.say("/start", expect=2)
        [ask_time] = await self.press(question, f"onb:profile:{profile}")
        assert "What time" in ask_time["text"]
        [ask_zone] = await self.say(time)
        assert "time zone" in ask_zone["text"]
        return await self.say(zone, expect=2)


def buttons(message: dict) -> list[tuple[str, str]]:
    """(label, callback data) of every inline button under a message."""
    markup = message.get("reply_markup") or {}
    return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]


def lesson_days(messages: list[dict]) -> list[int]:
    """The day numbers of the lessons among the messages, in order."""
    import re

    return [int(m.group(1)) for msg in messages if (m := re.search(r"Day (\d) of 7:", msg.get("text", "")))]
