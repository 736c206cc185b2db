"""The rate limiter on its own: schedules, pacing, replies before the fan-out, 429 pauses, chat
spacing, and the shared schedule in PostgreSQL. Requests go to a stand-in for the HTTP call that
records when it was made (real time, kept short)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram.error import RetryAfter

from bot.delivery.ratelimit import (
    BULK,
    RATE_SHARE,
    DatabaseClock,
    RateLimiter,
    Scope,
    SharedSchedules,
    group_scope,
)
from bot.settings import Settings
from bot.storage.db import Database
from tests.conftest import TOKEN


def most_in_a_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


def test_the_database_clock_trusts_the_fastest_answer_and_follows_drift():
    clock = DatabaseClock()
    assert clock.offset(asked=10.0, answered=10.002, database_now=1000.001) == pytest.approx(990.0)
    # answered late (a busy event loop): its midpoint is a guess, the fast reading stands
    assert clock.offset(asked=11.0, answered=11.060, database_now=1001.001) == pytest.approx(990.0)
    # a faster one replaces it; and long after, an ordinary one does too (the kept one has aged)
    assert clock.offset(asked=12.0, answered=12.001, database_now=1002.0025) == pytest.approx(990.002)
    assert clock.offset(asked=100.0, answered=100.03, database_now=1090.0) == pytest.approx(989.985)


class Recorder:
    """Stands in for python-telegram-bot's HTTP call; can answer 429 a given number of times."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, int, str]] = []
        self.flood: dict[int, int] = {}
        self.flooded_at = 0.0
        self.flooded = asyncio.Event()

    def call(self, chat_id: int, label: str):
        async def callback() -> dict:
            if self.flood.get(chat_id):
                self.flood[chat_id] -= 1
                self.flooded_at = time.monotonic()
                self.flooded.set()
                raise RetryAfter(timedelta(seconds=1))
            self.sent.append((time.monotonic(), chat_id, label))
            return {"ok": True}

        return callback


@pytest.fixture
async def limiter(sqlite_url) -> AsyncIterator[RateLimiter]:
    db = Database(sqlite_url)
    settings = Settings(bot_token=TOKEN, database_url=sqlite_url, global_rate=40, _env_file=None)
    limiter = RateLimiter(settings, db)
    await limiter.initialize()
    yield limiter
    await limiter.shutdown()
    await db.dispose()


async def send(limiter: RateLimiter, recorder: Recorder, chat_id: int, *, bulk: bool, label: str = "") -> None:
    await limiter.process_request(
        recorder.call(chat_id, label), (), {}, "sendMessage", {"chat_id": chat_id}, BULK if bulk else None
    )


def test_a_schedule_spaces_sends_evenly_after_its_burst():
    steady = Scope("all", 0.1)
    slots, end = steady.slots(tat=0.0, now=5.0, count=3)
    assert slots == pytest.approx([5.0, 5.1, 5.2]) and end == pytest.approx(5.3)
    group = Scope("group:-1", 4.0, burst=3)
    slots, end = group.slots(tat=0.0, now=10.0, count=5)
    assert slots == pytest.approx([10.0, 10.0, 10.0, 14.0, 18.0])


def test_a_group_schedule_leaves_room_for_a_late_send_in_every_minute():
    scope = group_scope(-100, per_minute=20)
    slots, _ = scope.slots(tat=0.0, now=0.0, count=200)
    assert most_in_a_window(slots, 60.0) <= 19


async def test_sends_are_paced_just_under_the_limit(limiter):
    recorder = Recorder()
    await asyncio.gather(*(send(limiter, recorder, 100 + i, bulk=True) for i in range(60)))
    times = [t for t, _, _ in recorder.sent]
    assert most_in_a_window(times, 1.0) <= 40
    assert (times[-1] - times[0]) == pytest.approx(59 / (40 * RATE_SHARE), rel=0.1)


async def test_a_reply_goes_before_the_waiting_fan_out(limiter):
    recorder = Recorder()
    fan_out = [asyncio.create_task(send(limiter, recorder, 100 + i, bulk=True, label="lesson")) for i in range(80)]
    await asyncio.sleep(0.3)
    asked = time.monotonic()
    await send(limiter, recorder, 7, bulk=False, label="reply")
    assert time.monotonic() - asked < 0.3, "the reply queued behind the lessons"
    await asyncio.gather(*fan_out)
    assert sum(1 for _, _, label in recorder.sent if label == "lesson") == 80


async def test_a_429_pauses_the_fan_out_for_retry_after_but_not_replies(limiter):
    recorder = Recorder()
    recorder.flood[100] = 1
    fan_out = [asyncio.create_task(send(limiter, recorder, 100 + i, bulk=True)) for i in range(10)]
    await recorder.flooded.wait()
    await send(limiter, recorder, 7, bulk=False, label="reply")
    assert time.monotonic() - recorder.flooded_at < 0.3, "the reply waited out the fan-out's pause"
    await asyncio.gather(*fan_out)
    lessons_after = [t for t, chat, _ in recorder.sent if chat >= 100 and t > recorder.flooded_at]
    assert len(lessons_after) == 10 and min(lessons_after) - recorder.flooded_at >= 0.95, "no pause for retry_after"
    assert [chat for _, chat, _ in recorder.sent].count(100) == 1, "the flooded lesson was retried once"


async def test_scheduled_sends_to_one_private_chat_keep_a_second_apart_and_replies_do_not_wait(limiter):
    recorder = Recorder()
    started = time.monotonic()
    for label in ("reply 1", "reply 2"):
        await send(limiter, recorder, 5, bulk=False, label=label)
    assert time.monotonic() - started < 0.3, "replies in a conversation waited"
    await send(limiter, recorder, 5, bulk=True, label="lesson")
    [reply_2, lesson] = [t for t, _, label in recorder.sent if label in ("reply 2", "lesson")]
    assert lesson - reply_2 >= 1.0


async def test_processes_booking_one_shared_schedule_never_get_the_same_slot(postgres_url):
    first, second = Database(postgres_url), Database(postgres_url)
    processes = [SharedSchedules(db) for db in (first, second, first, second, first, second)]
    scope = Scope("all", 0.01)
    try:
        booked = await asyncio.gather(*(schedules.book(scope, 5) for schedules in processes))
    finally:
        for schedules in processes:
            await schedules.close()
        await first.dispose()
        await second.dispose()
    # Compared in the database's clock, where they were booked: each process's translation to its own
    # clock is off by up to half a round trip, which on a loaded machine is more than a slot.
    in_database_time = zip(processes, booked, strict=True)
    slots = sorted(slot + schedules._clock._offset for schedules, block in in_database_time for slot in block)
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert len(slots) == 30 and min(gaps) > 0.005, "two processes were handed overlapping slots"


async def test_without_its_database_the_shared_schedule_paces_in_memory_and_says_so_once(caplog):
    gone = Database("postgresql+asyncpg://postgres@127.0.0.1:1/gone")
    schedules = SharedSchedules(gone)
    scope = Scope("all", 0.1)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.delivery.ratelimit"):
            first = await schedules.book(scope, 3)
            second = await schedules.book(scope, 3)
    finally:
        await gone.dispose()
    expected, _ = Scope("all", 0.1).slots(tat=first[0], now=first[0], count=6)
    assert first + second == pytest.approx(expected, abs=0.05)
    [warning] = [record for record in caplog.records if record.name == "bot.delivery.ratelimit"]
    assert "database unavailable" in warning.getMessage()
