"""A crash in the middle of a fan-out: `coach run` is killed with SIGKILL while 300 lessons go out,
then started again. Everyone gets their lesson; a lesson can arrive twice only when it was being
sent at the moment of the kill (claimed, or sent with its outcome not yet written), and the test
counts exactly those from the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from benchmarks.seed import FIRST_CHAT, seed_people
from bot.delivery.engine import OUTCOME_FLUSH_SIZE, send_concurrency
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.models import Delivery
from tests.conftest import TOKEN
from tests.fakebotapi import FakeBotApi
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
    at_most = send_concurrency(Settings(bot_token=TOKEN, global_rate=200, _env_file=None)) + OUTCOME_FLUSH_SIZE
    assert duplicates <= at_most, "more repeats than sends under way plus outcomes waiting to be written"
    assert await day_one(database_url) == {"sent": PEOPLE}
    assert second.returncode == 0, stderr.decode()[-2000:]
