"""The paced fan-out (bot/delivery/paced.py) and the turns it takes from the rate limiter
(`Lane.take_bulk`): never more than the sliding cap in its window nor the limit in any second,
whether slots are taken one at a time or in groups, replies and 429 pauses first, never
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
from bot.delivery.paced import fan_out_group
from bot.delivery.ratelimit import (
    LATE_SLOT_SECONDS,
    Lane,
    LocalSchedules,
    Scope,
    lane_scope,
    sends_a_second,
    sliding_cap,
)
from bot.storage import deliveries
from bot.storage.db import Database
from bot.storage.models import Delivery
from tests.conftest import lesson_days, make_settings
from tests.test_reliability_e2e import EngineRig


class MovedClock:
    """A schedule in memory on a clock the test moves (LocalSchedules reads the real one)."""

    shared = False

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


def most_within(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    return max(bisect.bisect_left(times, start + window) - i for i, start in enumerate(times))


def group_at(rate: int) -> int:
    """The group the paced fan-out takes its slots in at this rate (its concurrency: the engine's)."""
    cap, _ = sliding_cap(rate)
    return fan_out_group(cap, lane_scope("broadcast", rate).interval, max(8, rate // 10))


async def paced(
    rate: int, demand: Callable[[], int], step: Callable[[float | None], float], seconds: float = 20, group: int = 1
) -> list[float]:
    """When a paced fan-out's sends would begin, asking for `demand()` sends at a time; `step` is
    given the lane's next turn and says how far the clock moves before the next ask."""
    schedules = MovedClock()
    lane = Lane(schedules, lane_scope("broadcast", rate), rate)
    sent: list[float] = []
    end = schedules.now + seconds
    while schedules.now < end:
        wanted = demand()
        taken = lane.take_bulk(wanted, schedules.now, backlog=wanted + 100, group=group)
        assert taken <= wanted
        sent += [schedules.now] * taken
        await booked()
        turn = lane.next_bulk_turn(schedules.now, group)
        schedules.now += step(None if turn is None else turn - schedules.now)
    return sent


def busy_loop(shuffle: random.Random) -> Callable[[float | None], float]:
    """A busy event loop: mostly on time, now and then a stall of up to a fifth of a second."""
    return lambda _turn: shuffle.choice((0.001, 0.01, 0.03, 0.2)) if shuffle.random() < 0.01 else 0.004


def on_turn(lateness: Callable[[], float]) -> Callable[[float | None], float]:
    """A loop that sleeps until the lane's next turn (at least GATHER_SECONDS), waking a little late."""
    return lambda turn: max(0.004, turn if turn is not None else 0.0) + lateness()


@pytest.mark.parametrize("rate", [30, 1000])
@pytest.mark.parametrize("grouped", [False, True])
async def test_paced_turns_never_put_more_than_the_cap_into_its_window_nor_the_limit_into_a_second(rate, grouped):
    shuffle = random.Random(rate)
    group = group_at(rate) if grouped else 1
    for step in (busy_loop(shuffle), on_turn(lambda: shuffle.choice((0.0, 0.0005, 0.002, 0.02)))):
        sent = await paced(rate, demand=lambda: shuffle.choice((0, 1, 3, 50, 500)), step=step, group=group)
        cap, window = sliding_cap(rate)
        assert most_within(sent, window) <= cap, "more than the cap went out within its window"
        assert most_within(sent) <= rate, "more than the limit went out within a second"


def test_the_sliding_cap_never_lets_more_than_the_limit_into_a_second_and_fits_slots_used_a_little_late():
    """At least a second's window, and a cap no more than the limit; the cap holds more than the slots
    the window spans, with room for a slot used up to LATE_SLOT_SECONDS late; every whole group of
    the paced fan-out fits it."""
    assert sliding_cap(30) == (30, pytest.approx(30 / 29 - LATE_SLOT_SECONDS))
    assert sliding_cap(1000)[0] == 982
    for rate in (1, 2, 10, 20, 25, 30, 100, 200, 1000, 2000):
        cap, window = sliding_cap(rate)
        slots = sends_a_second(rate)
        assert cap <= rate and window >= 1.0
        assert cap > slots * window or cap == rate, "a slot a little late would wait for the cap"
        assert cap % group_at(rate) == 0


def test_the_paced_fan_out_takes_five_slots_at_a_time_at_the_free_limit_and_one_when_paid():
    assert group_at(30) == 5
    assert group_at(1000) == 1, "at 1,000/s the loop wakes for several slots anyway"
    assert fan_out_group(30, 1 / 29, capacity=3) == 3, "never more than the lessons that may be held"


@pytest.mark.parametrize("rate", [30, 1000])
@pytest.mark.parametrize("grouped", [False, True])
async def test_paced_turns_hand_out_every_slot_to_a_fan_out_that_keeps_up(rate, grouped):
    """The schedule's slots fit the sliding cap: none waits for it until too late to use, whether a
    loop looks every few milliseconds or sleeps until its group's turn."""
    group = group_at(rate) if grouped else 1
    shuffle = random.Random(rate)
    step = on_turn(lambda: shuffle.choice((0.0, 0.0005, 0.002))) if grouped else (lambda _turn: 0.004)
    sent = await paced(rate, demand=lambda: 10_000, step=step, group=group)
    started = 0.01 + (group - 1) / sends_a_second(rate)  # the first booking's few milliseconds, the first group
    assert len(sent) >= sends_a_second(rate) * (20 - started), f"{len(sent)} sends in 20 s at {rate}/s: slots lost"


async def test_a_grouped_turn_waits_for_its_last_slot_and_gives_up_slots_a_stall_made_later_than_its_span():
    schedules = MovedClock()
    lane = Lane(schedules, Scope("all", 0.1), 10)
    lane.take_bulk(5, schedules.now, backlog=50, group=3)
    await booked()  # slots at +0, +0.1, +0.2 ...
    assert lane.take_bulk(5, schedules.now, backlog=50, group=3) == 0, "a group went before its last slot was due"
    assert lane.next_bulk_turn(schedules.now, group=3) == pytest.approx(schedules.now + 0.2)
    schedules.now += 0.2
    assert lane.take_bulk(5, schedules.now, backlog=50, group=3) == 3, "the group's three slots, at once"
    await booked()  # the next three: +0.3, +0.4, +0.5
    schedules.now += 0.35  # a stall: the slot at +0.3 is now later than a group's span, +0.4 and +0.5 are not
    assert lane.take_bulk(5, schedules.now, backlog=50, group=3) == 0, "a group went before its last slot was due"
    assert lane.next_bulk_turn(schedules.now, group=3) == pytest.approx(schedules.now + 0.05)
    await booked()
    schedules.now += 0.05
    assert lane.take_bulk(5, schedules.now, backlog=50, group=3) == 3, "the slots at +0.4, +0.5 and +0.6 s"
    assert lane.take_bulk(5, schedules.now, backlog=50, group=3) == 0, "the slot given up was used after all"


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


async def one_tick(settings, clock) -> list[Delivery]:
    """One tick of a delivery engine against the fake Telegram; the day-1 deliveries it left."""
    rig = EngineRig(settings, clock)
    await rig.bot.initialize()
    try:
        await rig.tick()
        async with rig.db.session() as session:
            return list((await session.execute(select(Delivery).where(Delivery.day == 1))).scalars())
    finally:
        await rig.bot.shutdown()
        await rig.db.dispose()


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
    post, commit = LeanRequest.do_request, deliveries.commit_outcomes

    async def counted_post(self, url, method, request_data=None, **timeouts):
        nonlocal posted, worst
        posted += 1  # from here Telegram may have it
        worst = max(worst, posted - written)
        return await post(self, url, method, request_data, **timeouts)

    async def slow_commit(*, connection, outcomes):
        nonlocal written
        await asyncio.sleep(0.05)  # a slow database: sends go on meanwhile, up to the bound
        await commit(connection=connection, outcomes=outcomes)
        writes.append(len(outcomes))
        written += len(outcomes)

    monkeypatch.setattr(LeanRequest, "do_request", counted_post)
    monkeypatch.setattr(deliveries, "commit_outcomes", slow_commit)
    statuses = Counter(row.status for row in await one_tick(settings, clock))
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
    rows = await one_tick(make_settings(telegram, database_url, checkin_reminder_hours=0), clock)
    statuses = Counter(row.status for row in rows)
    assert telegram.faults_injected["429"] == 1
    assert statuses == Counter({"sent": people}), "the flooded lesson was retried within the tick and recorded"
    sends = [call for call in telegram.calls if call.method == "sendMessage"]
    refused_at = next(call.at for call in sends if call.params["chat_id"] == flooded)
    # Sends begun in the same group as the refused one may arrive just after it; once the bot could
    # have read the 429 (a few milliseconds here), nothing more goes until retry_after is over.
    after = [call.at for call in sends if call.at > refused_at + 0.05]
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
    rows = await one_tick(make_settings(telegram, database_url, checkin_reminder_hours=0), clock)
    by_chat = {FIRST_CHAT + row.enrollment_id: row.status for row in rows}
    assert by_chat.pop(blocked) == "pending"
    assert set(by_chat.values()) == {"sent"}
    assert blocked not in telegram.counts_per_chat()
