"""The paced fan-out (bot/delivery/paced.py) and the turns it takes from the rate limiter
(`Lane.take_bulk`): never more than the limit in any second, replies and 429 pauses first, never
more lessons held unrecorded than the send concurrency, and Telegram's faults handled as before.
Pacing is checked on a clock the test moves, and the fan-out by what was sent and written: no
assertion here is about how long anything took."""

from __future__ import annotations

import asyncio
import bisect
import random
import time
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select

from benchmarks.seed import FIRST_CHAT, seed_people
from bot.delivery.engine import send_concurrency
from bot.delivery.lean import LeanRequest
from bot.delivery.ratelimit import Lane, LocalSchedules, Scope, lane_scope, sends_a_second
from bot.storage import deliveries
from bot.storage.db import Database
from bot.storage.models import Delivery
from tests.conftest import lesson_days, make_settings
from tests.test_reliability_e2e import EngineRig


class MovedClock:
    """A schedule in memory on a clock the test moves (LocalSchedules reads the real one)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._tat: dict[str, float] = {}

    async def book(self, scope: Scope, count: int) -> list[float]:
        slots, self._tat[scope.key] = scope.slots(self._tat.get(scope.key, self.now), self.now, count)
        return slots


async def booked() -> None:
    """Let a booking the lane started finish (it is a task, and books at once here)."""
    for _ in range(3):
        await asyncio.sleep(0)


def most_in_a_second(times: list[float]) -> int:
    times = sorted(times)
    return max(bisect.bisect_left(times, start + 1.0) - i for i, start in enumerate(times))


async def paced(rate: int, demand: Callable[[], int], step: Callable[[], float], seconds: float = 20) -> list[float]:
    """When a paced fan-out's sends would begin, asking for `demand()` sends every `step()` seconds."""
    schedules = MovedClock()
    lane = Lane(schedules, lane_scope("broadcast", rate), rate)
    sent: list[float] = []
    end = schedules.now + seconds
    while schedules.now < end:
        wanted = demand()
        taken = lane.take_bulk(wanted, schedules.now, backlog=wanted + 100)
        assert taken <= wanted
        sent += [schedules.now] * taken
        await booked()
        schedules.now += step()
    return sent


@pytest.mark.parametrize("rate", [30, 1000])
async def test_paced_turns_never_put_more_than_the_limit_into_any_second(rate):
    shuffle = random.Random(rate)
    sent = await paced(
        rate,
        demand=lambda: shuffle.choice((0, 1, 3, 50, 500)),
        # a busy event loop: mostly on time, now and then a stall of up to a fifth of a second
        step=lambda: shuffle.choice((0.001, 0.01, 0.03, 0.2)) if shuffle.random() < 0.01 else 0.004,
    )
    assert most_in_a_second(sent) <= sends_a_second(rate) < rate, "more than the limit went out within a second"


@pytest.mark.parametrize("rate", [30, 1000])
async def test_paced_turns_hand_out_every_slot_to_a_fan_out_that_keeps_up(rate):
    """The schedule's slots fit its last-second cap: none waits for it until too late to use."""
    sent = await paced(rate, demand=lambda: 10_000, step=lambda: 0.004)
    started = 0.01  # the first booking's few milliseconds
    assert len(sent) >= sends_a_second(rate) * (20 - started), f"{len(sent)} sends in 20 s at {rate}/s: slots lost"


async def test_a_paced_turn_uses_only_slots_that_have_come_due_and_none_given_up():
    schedules = MovedClock()
    lane = Lane(schedules, Scope("all", 0.1), 10)
    assert lane.take_bulk(5, schedules.now, backlog=5) == 0 and lane.next_bulk_turn(schedules.now) is None
    await booked()  # the slots are in: the first is due now, then one every 0.1 s
    assert lane.take_bulk(5, schedules.now, backlog=5) == 1
    assert lane.next_bulk_turn(schedules.now) == pytest.approx(schedules.now + 0.1)
    schedules.now += 0.3  # a stall: the slots at +0.1 and +0.2 s are long gone, given up, never used late
    assert lane.take_bulk(5, schedules.now, backlog=5) == 0, "a stale slot was used: a burst after a stall"
    await booked()
    assert lane.take_bulk(5, schedules.now, backlog=5) == 1, "one slot at a time, however long the stall"
    assert lane.next_bulk_turn(schedules.now) == pytest.approx(schedules.now + 0.1)


async def test_a_waiting_reply_and_a_429_pause_hold_the_paced_fan_out_back():
    lane = Lane(LocalSchedules(), lane_scope("all", 40), 40)
    try:
        reply = asyncio.create_task(lane.acquire(bulk=False))
        await asyncio.sleep(0)  # the reply is in line
        assert lane.take_bulk(5, time.monotonic(), backlog=5) == 0, "the fan-out took a slot before a reply"
        await reply
        while not lane.take_bulk(1, now := time.monotonic(), backlog=1):  # the fan-out's turn comes
            turn = lane.next_bulk_turn(now)
            await asyncio.sleep(max(0.0, turn - now) if turn is not None else 0.001)
        lane.pause_bulk(30)  # Telegram said 429, retry after 30 s
        now = time.monotonic()
        assert lane.take_bulk(5, now, backlog=5) == 0
        assert lane.next_bulk_turn(now) >= now + 29
    finally:
        await lane.close()


async def test_the_paced_fan_out_never_holds_more_unrecorded_lessons_than_its_concurrency(
    telegram, database_url, clock, monkeypatch
):
    """What Telegram may have and the database does not (a crash would send those again) stays
    within the send concurrency, even while each write of outcomes is slow; everyone gets one lesson."""
    people = 120
    db = Database(database_url)
    await seed_people(db, people, now=clock.now(), due_at=clock.now())
    await db.dispose()
    settings = make_settings(telegram, database_url, global_rate=200, checkin_reminder_hours=0)
    concurrency = send_concurrency(settings)
    posted, written, writes, worst = 0, 0, [], 0
    post, record = LeanRequest.do_request, deliveries.record_outcomes

    async def counted_post(self, url, method, request_data=None, **timeouts):
        nonlocal posted, worst
        posted += 1  # from here Telegram may have it
        worst = max(worst, posted - written)
        return await post(self, url, method, request_data, **timeouts)

    async def slow_record(*, session, outcomes):
        nonlocal written
        await asyncio.sleep(0.05)  # a slow database: sends go on meanwhile, up to the bound
        await record(session=session, outcomes=outcomes)
        writes.append(len(outcomes))
        written += len(outcomes)

    monkeypatch.setattr(LeanRequest, "do_request", counted_post)
    monkeypatch.setattr(deliveries, "record_outcomes", slow_record)
    rig = EngineRig(settings, clock)
    await rig.bot.initialize()
    try:
        await rig.tick()
        async with rig.db.session() as session:
            statuses = Counter(await session.scalars(select(Delivery.status).where(Delivery.day == 1)))
    finally:
        await rig.bot.shutdown()
        await rig.db.dispose()
    assert worst <= concurrency, f"{worst} lessons sent and not recorded at once; the bound is {concurrency}"
    assert statuses == Counter({"sent": people})
    assert len(writes) > 1 and max(writes) > 1, "outcomes are written many to a transaction, as they come"
    days = [lesson_days(telegram.messages_to(FIRST_CHAT + n)) for n in range(1, people + 1)]
    assert all(day == [1] for day in days), "someone missed their lesson or got it twice"


async def test_a_429_on_a_paced_send_pauses_the_fan_out_and_the_lesson_goes_once(telegram, database_url, clock):
    people = 12
    db = Database(database_url)
    await seed_people(db, people, now=clock.now(), due_at=clock.now())
    await db.dispose()
    flooded = FIRST_CHAT + 3
    telegram.fail_next(
        "sendMessage", error_code=429, description="Too Many Requests: retry after 1", retry_after=1, chat_id=flooded
    )
    rig = EngineRig(make_settings(telegram, database_url, checkin_reminder_hours=0), clock)
    await rig.bot.initialize()
    try:
        await rig.tick()
        async with rig.db.session() as session:
            statuses = Counter(await session.scalars(select(Delivery.status).where(Delivery.day == 1)))
    finally:
        await rig.bot.shutdown()
        await rig.db.dispose()
    assert telegram.faults_injected["429"] == 1
    assert statuses == Counter({"sent": people}), "the flooded lesson was retried within the tick and recorded"
    sends = [call for call in telegram.calls if call.method == "sendMessage"]
    refused_at = next(call.at for call in sends if call.params["chat_id"] == flooded)
    after = [call.at for call in sends if call.at > refused_at]
    assert after and min(after) - refused_at >= 0.95, "the fan-out did not wait out retry_after"
    assert lesson_days(telegram.messages_to(flooded)) == [1]


async def test_a_blocked_person_on_the_paced_path_is_marked_and_the_rest_go_out(telegram, database_url, clock):
    people = 10
    db = Database(database_url)
    await seed_people(db, people, now=clock.now(), due_at=clock.now())
    await db.dispose()
    blocked = FIRST_CHAT + 4
    telegram.fail_next(
        "sendMessage", error_code=403, description="Forbidden: bot was blocked by the user", chat_id=blocked
    )
    rig = EngineRig(make_settings(telegram, database_url, checkin_reminder_hours=0), clock)
    await rig.bot.initialize()
    try:
        await rig.tick()
        async with rig.db.session() as session:
            rows = (await session.execute(select(Delivery).where(Delivery.day == 1))).scalars().all()
    finally:
        await rig.bot.shutdown()
        await rig.db.dispose()
    by_chat = {FIRST_CHAT + row.enrollment_id: row.status for row in rows}
    assert by_chat.pop(blocked) == "pending"
    assert set(by_chat.values()) == {"sent"}
    assert blocked not in telegram.counts_per_chat()
