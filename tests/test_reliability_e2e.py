"""Faults are normal: the real bot against a fake Telegram that blocks, floods, fails, times out and
drops connections, and a database that goes away. Lessons arrive once, or are recorded as
uncertain when Telegram may have them, and people keep getting answers while a fan-out runs."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from benchmarks.seed import FIRST_CHAT, seed_people
from bot.app import build_application, delivery_tick
from bot.delivery.engine import BACKOFF_CAP_SECONDS, MAX_ATTEMPTS, DeliveryEngine, backoff
from bot.delivery.ratelimit import RateLimiter
from bot.demo.fake_telegram import FakeBotApi, RateLimits
from bot.services.course import CourseService
from bot.settings import Settings
from bot.storage import checkins, courses, deliveries
from bot.storage.db import Database
from bot.storage.models import CheckinAnswer, Delivery
from tests.conftest import TOKEN, FakeClock, Person, RunningBot, buttons, lesson_days, make_settings
from tests.test_group_e2e import ADVICE, CLUB, Club, group_settings


def berlin_7am(day_of_june: int) -> datetime:
    return datetime(2026, 6, day_of_june, 5, 0, tzinfo=UTC)


async def lesson_rows(db: Database, **where: object) -> list[Delivery]:
    async with db.session() as session:
        result = await session.execute(select(Delivery).filter_by(**where).order_by(Delivery.id))
        return list(result.scalars())


# ----------------------------------------------------------------- blocked and gone


@pytest.mark.parametrize(
    ("code", "description"),
    [(403, "Forbidden: bot was blocked by the user"), (400, "Bad Request: chat not found")],
    ids=["blocked", "chat-not-found"],
)
async def test_an_unreachable_person_is_kept_and_start_brings_their_lesson(running_bot, telegram, code, description):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    telegram.fail_next("sendMessage", error_code=code, description=description, chat_id=alex.chat_id)
    await running_bot.at(berlin_7am(2))
    await telegram.wait_for(lambda: telegram.faults_injected[str(code)] == 1)
    await running_bot.settle()
    db = running_bot.app.services.db
    async with db.session() as session:
        subscriber = await courses.get_subscriber(session=session, chat_id=alex.chat_id)
        enrollment = await courses.current_enrollment(session=session, chat_id=alex.chat_id)
        waiting = await deliveries.pending_lesson(session=session, enrollment_id=enrollment.id)
    assert not subscriber.reachable
    assert (subscriber.onboarded, subscriber.timezone, enrollment.status) == (True, "Europe/Berlin", "active")
    assert waiting.day == 2 and waiting.attempts == 1, "the lesson waits, it is not lost"
    await running_bot.tick()
    await running_bot.at(berlin_7am(3))
    await running_bot.tick()
    assert lesson_days(alex.messages) == [1], "nothing is sent to someone who blocked the bot"

    back = await alex.say("/start", expect=2)
    assert lesson_days(back) == [2]
    await running_bot.tick()
    assert lesson_days(alex.messages) == [1, 2]


# ----------------------------------------------------------------- 429 and priority


async def test_a_429_pauses_the_fan_out_while_replies_still_go_out(sqlite_url, clock):
    people, retry_after = 60, 2
    db = Database(sqlite_url)
    await seed_people(db, people, now=clock.now(), due_at=clock.now())
    await db.dispose()
    too_many_before = REGISTRY.get_sample_value("coach_telegram_429_total")
    async with FakeBotApi(TOKEN, limits=RateLimits()) as telegram:
        bot = RunningBot(make_settings(telegram, sqlite_url), clock)
        await bot.start()
        try:
            await telegram.wait_for(lambda: len(telegram.counts_per_chat()) >= 10)
            before = len(telegram.calls)
            telegram.fail_next(
                "sendMessage",
                error_code=429,
                description=f"Too Many Requests: retry after {retry_after}",
                retry_after=retry_after,
            )
            await telegram.wait_for(lambda: telegram.faults_injected["429"] == 1)
            flooded = next(c.at for c in telegram.calls[before:] if c.method == "sendMessage")
            alex = Person(telegram, 1001, "Alex")
            asked = time.monotonic()
            [answer] = await alex.say("/help")
            answered = time.monotonic()
            await telegram.wait_for(lambda: len(telegram.counts_per_chat()) >= people + 1, timeout=20)
            await bot.settle()
        finally:
            await bot.stop()
        lessons = [c for c in telegram.calls if c.method == "sendMessage" and c.params["chat_id"] > FIRST_CHAT]
        during_pause = [c for c in lessons if flooded + 0.2 < c.at < flooded + retry_after - 0.1]
        assert during_pause == [], "the fan-out did not wait out retry_after"
        assert answered - asked < 1.0, "a reply waited behind the fan-out"
        assert "/pause" in answer["text"]
        counts = telegram.counts_per_chat()
        assert all(counts[FIRST_CHAT + i] == 1 for i in range(1, people + 1)), "a lesson went missing or twice"
        assert telegram.rate_limited_count == 0, "the bot went over Telegram's limits"
    assert REGISTRY.get_sample_value("coach_telegram_429_total") == too_many_before + 1


# ----------------------------------------------------------------- 5xx, connections, timeouts


async def test_a_server_error_is_retried_after_a_backoff_then_delivered_once(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    telegram.fail_next("sendMessage", error_code=500, description="Internal Server Error", chat_id=alex.chat_id)
    await running_bot.at(berlin_7am(2))
    await telegram.wait_for(lambda: telegram.faults_injected["500"] == 1)
    await running_bot.settle()
    [waiting] = await lesson_rows(running_bot.app.services.db, status="pending")
    delay = (waiting.due_at - clock.now()).total_seconds()
    assert waiting.day == 2 and waiting.attempts == 1 and "Internal Server Error" in waiting.error
    assert 1 <= delay <= 2, "the first retry waits 1-2 s (jittered)"
    await running_bot.tick()
    assert lesson_days(alex.messages) == [1], "retried before its backoff"
    await running_bot.at(waiting.due_at)
    [day2] = await alex.expect(1)
    assert lesson_days([day2]) == [2]
    await running_bot.tick()
    assert lesson_days(alex.messages) == [1, 2]


def test_backoff_grows_with_jitter_and_is_capped():
    assert all(1 <= backoff(1) <= 2 for _ in range(50))
    assert all(4 <= backoff(3) <= 8 for _ in range(50))
    assert len({backoff(5) for _ in range(20)}) > 1, "no jitter"
    assert max(backoff(MAX_ATTEMPTS + 20) for _ in range(200)) <= BACKOFF_CAP_SECONDS


class UnreachableTelegram(httpx.AsyncBaseTransport):
    """An HTTP transport whose connections to sendMessage fail to open while `down` is set (the
    request never leaves this machine); everything else passes through. The same for the lean
    fan-out's pool, whose only calls are sendMessage (`connect`)."""

    def __init__(self) -> None:
        self.down = False
        self._real = httpx.AsyncHTTPTransport()

    async def connect(self, *args: object, **kwargs: object) -> tuple[asyncio.BaseTransport, asyncio.Protocol]:
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused")
        return await asyncio.get_running_loop().create_connection(*args, **kwargs)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down and request.url.path.endswith("/sendMessage"):
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


class EngineRig:
    """The delivery engine and a bot with short timeouts, without polling: faults are injected at
    the HTTP layer and the clock is moved by hand."""

    def __init__(self, settings: Settings, clock: FakeClock) -> None:
        self.application = build_application(settings, clock=clock)
        self.engine: DeliveryEngine = self.application.services.delivery
        self.db = self.application.services.db
        self.transport = UnreachableTelegram()
        request = HTTPXRequest(read_timeout=0.5, httpx_kwargs={"transport": self.transport})
        self.bot = ExtBot(
            TOKEN,
            base_url=settings.telegram_api_base_url,
            request=request,
            rate_limiter=RateLimiter(settings, self.db),
        )
        self.engine.lean_connect = self.transport.connect

    async def tick(self) -> None:
        await self.engine.tick(self.bot)


@pytest.fixture
async def rig(telegram, database_url, clock) -> AsyncIterator[EngineRig]:
    db = Database(database_url)
    await seed_people(db, 1, now=clock.now(), due_at=clock.now())
    await db.dispose()
    rig = EngineRig(make_settings(telegram, database_url), clock)
    await rig.bot.initialize()
    try:
        yield rig
    finally:
        await rig.bot.shutdown()
        await rig.db.dispose()


async def test_a_refused_connection_is_retried_with_backoff(rig, telegram, clock):
    rig.transport.down = True
    await rig.tick()
    [waiting] = await lesson_rows(rig.db, day=1)
    assert waiting.status == "pending" and re.search("Connect(or)?Error", waiting.error)
    assert clock.now() < waiting.due_at <= clock.now() + timedelta(seconds=2)
    rig.transport.down = False
    clock.set(waiting.due_at)
    await rig.tick()
    assert telegram.counts_per_chat() == {FIRST_CHAT + 1: 1}
    assert [row.status for row in await lesson_rows(rig.db, day=1)] == ["sent"]


@pytest.mark.parametrize("fault", ["read timeout", "dropped connection"])
async def test_a_send_that_may_have_arrived_is_recorded_uncertain_and_not_resent(rig, telegram, clock, fault):
    if fault == "read timeout":
        telegram.delay_next("sendMessage", 1.0)  # the answer comes after the bot stopped waiting
    else:
        telegram.drop_next("sendMessage")  # the message is taken, then the connection closes
    await rig.tick()
    [lesson] = await lesson_rows(rig.db, day=1)
    assert lesson.status == "uncertain" and lesson.error.startswith("outcome unknown")
    clock.advance(hours=1)
    await rig.tick()
    assert telegram.counts_per_chat() == {FIRST_CHAT + 1: 1}, "a message that may have arrived was sent again"
    [tomorrow] = await lesson_rows(rig.db, day=2)
    assert tomorrow.status == "pending", "the course moves on after an uncertain send"


# ----------------------------------------------------------------- the database goes away


async def test_a_tick_without_its_database_logs_one_line_and_the_next_catches_up(rig, telegram, caplog):
    working = rig.engine.db
    gone = "postgresql+asyncpg://postgres@127.0.0.1:1/gone" if working.url.get_backend_name() == "postgresql" else None
    rig.engine.db = Database(gone or "sqlite+aiosqlite:////nonexistent-folder/coach.db")
    context = SimpleNamespace(services=rig.application.services, bot=rig.bot)
    try:
        with caplog.at_level(logging.ERROR, logger="bot.app"):
            await delivery_tick(context)
    finally:
        await rig.engine.db.dispose()
        rig.engine.db = working
    [line] = [record for record in caplog.records if record.name == "bot.app"]
    assert line.getMessage().startswith("delivery tick failed: ") and "\n" not in line.getMessage()
    assert line.exc_info is None, "one clear line, not a traceback"
    assert telegram.counts_per_chat() == {}
    await delivery_tick(context)
    assert telegram.counts_per_chat() == {FIRST_CHAT + 1: 1}


# ----------------------------------------------------------------- several processes


async def test_three_processes_on_one_database_send_each_lesson_once(postgres_url, clock):
    people = 200
    db = Database(postgres_url)
    await seed_people(db, people, now=clock.now(), due_at=clock.now())
    await db.dispose()
    async with FakeBotApi(TOKEN) as telegram:
        settings = make_settings(telegram, postgres_url, global_rate=1000, delivery_batch_size=20)
        rigs = [EngineRig(settings, clock) for _ in range(3)]
        for rig in rigs:
            await rig.bot.initialize()
        try:
            reports = await asyncio.gather(*(rig.engine.tick(rig.bot) for rig in rigs))
        finally:
            for rig in rigs:
                await rig.bot.shutdown()
                await rig.db.dispose()
        counts = telegram.counts_per_chat()
    assert sorted(counts) == [FIRST_CHAT + i for i in range(1, people + 1)]
    assert set(counts.values()) == {1}, "a lesson was sent twice"
    assert sum(report.sent for report in reports) == people


async def test_processes_on_one_database_share_one_send_budget(postgres_url, clock):
    """Three processes at a 30/s limit together send at 30/s, not 90/s."""
    people, limit = 75, 30
    db = Database(postgres_url)
    await seed_people(db, people, now=clock.now(), due_at=clock.now())
    async with FakeBotApi(TOKEN) as telegram:
        settings = make_settings(telegram, postgres_url, global_rate=limit, delivery_batch_size=10)
        rigs = [EngineRig(settings, clock) for _ in range(3)]
        for rig in rigs:
            await rig.bot.initialize()
        try:
            await asyncio.gather(*(rig.engine.tick(rig.bot) for rig in rigs))
        finally:
            for rig in rigs:
                await rig.bot.shutdown()
                await rig.db.dispose()
        sends = sorted(c.at for c in telegram.calls if c.method == "sendMessage")
    async with db.session() as session:
        sent = await session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "sent"))
    await db.dispose()
    assert sent == people == len(sends)
    busiest = max(sum(1 for t in sends if start <= t < start + 1.0) for start in sends)
    assert busiest <= limit, f"{busiest} sends within one second"
    assert sends[-1] - sends[0] >= 2.0, "75 sends at 30/s take 2.5 s; unshared budgets would take 0.8 s"


# ----------------------------------------------------------------- presses and promises under load


class HeldOutcomes:
    """Lesson outcomes written only once `release` is called: a lesson is on the person's screen
    and still claimed, as in the moment between Telegram's answer and the outcome's transaction."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self._released = asyncio.Event()

    def hold(self) -> None:
        """Both ways outcomes are written: in a caller's transaction, and the paced fan-out's own."""
        for name in ("record_outcomes", "commit_outcomes"):
            self._monkeypatch.setattr(deliveries, name, self._later(getattr(deliveries, name)))

    def _later(self, write: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def written_later(**kwargs: object) -> None:
            await self._released.wait()
            await write(**kwargs)

        return written_later

    def release(self) -> None:
        self._released.set()


@pytest.fixture
def held_outcomes(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldOutcomes]:
    held = HeldOutcomes(monkeypatch)
    yield held
    held.release()


async def test_a_button_pressed_before_its_lesson_is_recorded_counts_and_stays_answered(
    database_url, telegram, clock, held_outcomes
):
    """A lesson's outcome is written a moment after Telegram's answer (by whichever process sent
    it); a press in that moment counts, and the outcome written after it keeps the question answered."""
    bot = RunningBot(make_settings(telegram, database_url), clock)
    await bot.start()
    try:
        alex = Person(telegram, bot=bot)
        await alex.onboard()
        await bot.at(berlin_7am(2))
        held_outcomes.hold()
        alex.bot = None  # nothing to settle: the day 2 lesson stays claimed until the release
        [lesson] = await alex.expect(1)
        assert lesson_days([lesson]) == [2]
        data = next(d for _, d in buttons(lesson) if d.endswith(":felt-where:lower-back"))
        update = telegram.press_button(alex.user, lesson, data)
        [follow_up] = await alex.expect(1)
        assert telegram.callback_answers[update["callback_query"]["id"]]["text"] == "Got it, thanks!"
        assert any(d.endswith(":lower-back-why:not-sure") for _, d in buttons(follow_up)), "the follow-up question"
        [delivery] = await lesson_rows(bot.app.services.db, day=2)
        assert delivery.status == "sending", "the press came before the outcome was written"

        held_outcomes.release()
        await bot.settle()
        async with bot.app.services.db.session() as session:
            enrollment = await courses.current_enrollment(session=session, chat_id=alex.chat_id)
            answers = await checkins.checkin_history(session=session, enrollment_id=enrollment.id, user_id=alex.chat_id)
        assert [(a.day, a.node, a.option) for a in answers] == [(2, "felt-where", "lower-back")]
        assert (enrollment.current_day, enrollment.checkin_day, enrollment.checkin_node) == (2, 2, "lower-back-why")
    finally:
        await bot.stop()


async def test_a_group_button_pressed_before_its_lesson_is_recorded_counts(sqlite_url, telegram, clock, held_outcomes):
    bot = RunningBot(group_settings(telegram, sqlite_url), clock)
    await bot.start()
    try:
        club = Club(telegram, bot)
        await club.start()
        await bot.at(berlin_7am(2))
        held_outcomes.hold()
        [lesson] = (await telegram.wait_for_messages(CLUB, len(club.messages) + 1))[-1:]
        assert "Day 2 of 7" in lesson["text"]
        answer = await club.press(club.kim, lesson, "hams-glutes")
        assert answer["show_alert"] and ADVICE["clean"].title in answer["text"], answer
        held_outcomes.release()
        await bot.settle()
        async with bot.app.services.db.session() as session:
            stored = (await session.execute(select(CheckinAnswer.user_id, CheckinAnswer.day))).all()
        assert stored == [(club.kim["id"], 2)]
    finally:
        await bot.stop()


async def test_a_lesson_promised_now_is_left_to_its_promise_then_taken_by_the_fan_out(database_url, clock):
    """Day 1 after onboarding (or /restart, a resume) goes out from the handler that promised it, in
    the replies' lane: the fan-out does not claim it, so it never waits behind one; should the
    promising process die, the fan-out takes it after a grace."""
    db, now = Database(database_url), clock.now()
    await seed_people(db, 2, now=now, due_at=now)  # someone waiting in the fan-out, and someone to promise

    async def nothing_sent(_bot: object, _enrollment_id: int) -> None:
        return None

    settings = Settings(bot_token=TOKEN, database_url=database_url, _env_file=None)
    course = CourseService(settings=settings, db=db, clock=clock, deliver_now=nothing_sent)
    try:
        promised = SimpleNamespace(id=(await course.restart(FIRST_CHAT + 2)).enrollment_id)  # day 1, promised now

        async def claim(at: datetime, enrollment_id: int | None = None) -> list[int]:
            async with db.session() as session:
                lessons = await deliveries.claim_due(
                    session=session, now=at, limit=10, worker="w", enrollment_id=enrollment_id
                )
            return [lesson.enrollment_id for lesson in lessons]

        assert await claim(now) == [1], "the fan-out took a lesson promised to someone now"
        assert await claim(now, promised.id) == [promised.id], "deliver_now claims what it promised"
        again = SimpleNamespace(id=(await course.restart(FIRST_CHAT + 2)).enrollment_id)
        assert await claim(now + deliveries.ASKED_GRACE - timedelta(seconds=1)) == []
        assert await claim(now + deliveries.ASKED_GRACE) == [again.id], (
            "a promise nobody kept goes out with the fan-out"
        )
    finally:
        await db.dispose()
