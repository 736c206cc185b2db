"""`coach run` in the weather operators meet: Telegram out of reach, a wrong token, long fan-outs."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.storage.models import Delivery
from tests.conftest import FakeClock, RunningBot, make_settings
from tests.test_operations import _seed_due_lessons


async def test_a_fan_out_longer_than_a_tick_is_not_a_warning(telegram, sqlite_url, caplog):
    await _seed_due_lessons(sqlite_url, 12)
    telegram.delay_next("sendMessage", 0.1, times=12)  # with 1.2 s of sends the fan-out spans ~24 ticks
    bot = RunningBot(make_settings(telegram, sqlite_url, delivery_tick_seconds=0.05), FakeClock(datetime.now(UTC)))
    caplog.set_level(logging.INFO)
    await bot.start()
    try:
        for _ in range(400):
            async with bot.app.services.db.session() as session:
                sent = await session.scalar(select(func.count()).where(Delivery.status == "sent"))
            if sent == 12:
                break
            await asyncio.sleep(0.02)
        assert sent == 12
        ticks = [r for r in caplog.records if r.getMessage().startswith("delivery tick: claimed")]
        assert ticks, "the fan-out never ran through the scheduled tick"
    finally:
        await bot.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not warnings, warnings
