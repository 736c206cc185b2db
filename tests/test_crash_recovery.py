"""Crashes: `coach run` is killed with SIGKILL in the middle of a fan-out of 300 lessons, and at
random moments through a whole course, and started again each time. Everyone gets every lesson; a
lesson can arrive twice only when it was being sent at the moment of a kill (claimed, or sent with
its outcome not yet written), and the tests count exactly those."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from benchmarks.seed import FIRST_CHAT, seed_people
from bot.delivery.engine import send_concurrency
from bot.demo.fake_telegram import Call, FakeBotApi
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.models import Delivery, Enrollment
from tests.conftest import TOKEN
from tests.test_operations import _coach, _coach_env

PEOPLE = 300
LEASE_SECONDS = 10  # the smallest DELIVERY_LEASE_SECONDS allowed: a dead process's claims expire after it


async def day_one(url: str) -> dict[str, int]:
    """How many day 1 lessons are in each status."""
    db = Database(url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(Delivery.status, func.count()).where(Delivery.day == 1).group_by(Delivery.status)
            )
            return dict(rows.all())
    finally:
        await db.dispose()


async def test_a_kill_mid_fan_out_loses_nothing_and_repeats_only_what_was_in_flight(database_url, tmp_path):
    db, now = Database(database_url), datetime.now(UTC)
    await seed_people(db, PEOPLE, now=now, due_at=now)
    await db.dispose()
    async with FakeBotApi(TOKEN) as telegram:
        telegram.delay_next("sendMessage", 0.5, times=100_000)  # slow answers: many sends in flight
        env = _coach_env(telegram, database_url, DELIVERY_LEASE_SECONDS=str(LEASE_SECONDS), GLOBAL_RATE="200")
        first = await _coach(env, tmp_path)
        try:
            await telegram.wait_for(lambda: len(telegram.counts_per_chat()) >= PEOPLE // 3, timeout=30)
        finally:
            first.kill()
            await first.communicate()
        at_kill = await day_one(database_url)
        received_at_kill = sum(telegram.counts_per_chat().values())
        telegram.clear_faults()

        second = await _coach(env, tmp_path)
        try:
            await telegram.wait_for(lambda: len(telegram.counts_per_chat()) >= PEOPLE, timeout=LEASE_SECONDS + 30)
            for _ in range(100):  # the last outcomes land just after their messages
                if (await day_one(database_url)).get("sent") == PEOPLE:
                    break
                await asyncio.sleep(0.1)
        finally:
            second.terminate()
            _, stderr = await second.communicate()
        counts = telegram.counts_per_chat()

    in_flight = at_kill.get("sending", 0)
    duplicates = sum(count - 1 for count in counts.values())
    print(f"killed with {received_at_kill} sent and {in_flight} claimed in flight; {duplicates} sent twice")
    assert 0 < received_at_kill < PEOPLE and in_flight > 0, f"the kill did not land mid fan-out: {at_kill}"
    assert sorted(counts) == [FIRST_CHAT + i for i in range(1, PEOPLE + 1)], "someone never got their lesson"
    assert duplicates <= in_flight, f"{duplicates} duplicates, but only {in_flight} were in flight at the kill"
    assert await day_one(database_url) == {"sent": PEOPLE}
    assert second.returncode == 0, stderr.decode()[-2000:]


# ----------------------------------------------------------------- kills through a whole course

COURSE_PEOPLE = 30
DAY_SECONDS = 2  # COURSE_DAY_SECONDS: the course (7 lessons and the graduation) in 16 s without a kill
LATENCY = 0.15  # the fake answers every send this late: at 30/s a few sends are always on the wire
KILLS = 5
LONGEST_LIFE = 1.5  # each process is killed at a random moment within this of its first send
SEED = 18


@dataclass(frozen=True)
class Kill:
    """What was under way when the bot was killed."""

    at: float  # seconds after the start
    claimed: int  # lessons claimed and not recorded
    on_the_wire: int  # sends Telegram had received and not yet answered
    repeated: int  # claimed lessons Telegram already had: the next process sends them again


def lesson_day(message: dict) -> int:
    """A lesson's day from its heading; the one message without a heading is the graduation."""
    found = re.search(r"Day (\d) of 7:", message["text"])
    return int(found.group(1)) if found else 8


async def claimed_lessons(url: str, pid: int) -> set[tuple[int, int]]:
    """(chat, day) of every lesson the process claimed and did not record."""
    db = Database(url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(Delivery.enrollment_id, Delivery.day).where(
                    Delivery.status == "sending", Delivery.claimed_by.contains(f":{pid}:")
                )
            )
            return {(FIRST_CHAT + enrollment_id, day) for enrollment_id, day in rows}  # as seeded
    finally:
        await db.dispose()


async def course_over(url: str) -> bool:
    db = Database(url)
    try:
        async with db.session() as session:
            finished = await session.scalar(
                select(func.count()).select_from(Enrollment).where(Enrollment.status == "finished")
            )
            unsent = await session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status != "sent"))
            return finished == COURSE_PEOPLE and unsent == 0
    finally:
        await db.dispose()


async def test_kills_at_random_moments_through_a_course_repeat_only_what_was_on_the_wire(postgres_url, tmp_path):
    """SIGKILL at five seeded random moments of a whole (shortened) course for 30 people on
    PostgreSQL, each time started again at once. Nobody misses a lesson, and a kill repeats only
    the lessons Telegram already had whose outcome was not written: the sends on the wire, not a
    backlog of outcomes waiting to be written (they are written as soon as the writer is free)."""
    rng = random.Random(SEED)
    lives = [rng.uniform(0.0, LONGEST_LIFE) for _ in range(KILLS)]
    db, now = Database(postgres_url), datetime.now(UTC)
    await seed_people(db, COURSE_PEOPLE, now=now, due_at=now)
    await db.dispose()
    kills: list[Kill] = []

    def sends(since: int = 0) -> list[Call]:
        return [call for call in telegram.calls[since:] if call.method == "sendMessage"]

    async with FakeBotApi(TOKEN) as telegram:
        telegram.delay_next("sendMessage", LATENCY, times=100_000)
        env = _coach_env(
            telegram,
            postgres_url,
            COURSE_DAY_SECONDS=str(DAY_SECONDS),
            CHECKIN_REMINDER_HOURS="0",
            DELIVERY_LEASE_SECONDS=str(LEASE_SECONDS),
        )
        started = time.monotonic()
        process = await _coach(env, tmp_path)
        try:
            for life in lives:  # each kill lands in the fan-out a fresh process starts with, or after it
                born = len(telegram.calls)
                await telegram.wait_for(lambda born=born: bool(sends(born)), timeout=30)
                await asyncio.sleep(life)
                process.kill()
                killed = time.monotonic()
                await process.communicate()
                claimed = await claimed_lessons(postgres_url, process.pid)
                sent = sends(born)  # by this process: a claim it took over may have a copy from before
                had = {(call.params["chat_id"], lesson_day(call.params)) for call in sent}
                on_the_wire = sum(1 for call in sent if killed - LATENCY < call.at <= killed)
                kills.append(Kill(killed - started, len(claimed), on_the_wire, len(claimed & had)))
                process = await _coach(env, tmp_path)
            for _ in range(400):  # the lease, then the rest of the course: well under a minute
                if await course_over(postgres_url):
                    break
                await asyncio.sleep(0.1)
        finally:
            process.terminate()
            _, stderr = await process.communicate()
        days = {chat: Counter(lesson_day(m) for m in telegram.messages_to(chat)) for chat in telegram.counts_per_chat()}

    duplicates = sum(count - 1 for counted in days.values() for count in counted.values())
    for number, kill in enumerate(kills, 1):
        print(
            f"kill {number} at {kill.at:4.1f} s: {kill.claimed} claimed, {kill.on_the_wire} on the wire,"
            f" {kill.repeated} already with Telegram (sent again)"
        )
    print(f"{duplicates} duplicate(s) in {sum(sum(counted.values()) for counted in days.values())} messages")
    every_lesson = dict.fromkeys(range(1, 9), True)
    received = {chat: {day: count > 0 for day, count in counted.items()} for chat, counted in days.items()}
    assert received == {FIRST_CHAT + i: every_lesson for i in range(1, COURSE_PEOPLE + 1)}, "a lesson was missed"
    assert await course_over(postgres_url), "the course did not end with every lesson recorded as sent"
    assert duplicates <= sum(kill.repeated for kill in kills), "a lesson was repeated that was not in flight"
    concurrency = send_concurrency(Settings(bot_token=TOKEN, _env_file=None))
    assert all(kill.repeated <= concurrency for kill in kills), (
        f"a kill repeated more than the {concurrency} sends under way: outcomes were left unwritten"
    )
    assert process.returncode == 0, stderr.decode()[-2000:]
