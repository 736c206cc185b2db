"""`coach run` in the weather operators meet: Telegram out of reach, a wrong token, long fan-outs."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.storage.models import Delivery
from tests.conftest import TOKEN, FakeClock, RunningBot, make_settings
from tests.test_operations import _coach, _coach_env, _seed_due_lessons
from tests.test_webhook_e2e import free_port


async def test_a_fan_out_longer_than_a_tick_is_not_a_warning(telegram, sqlite_url, caplog):
    await _seed_due_lessons(sqlite_url, 12)
    telegram.delay_next("sendMessage", 0.1, times=12)  # with 1.2 s of sends the fan-out spans ~24 ticks
    bot = RunningBot(make_settings(telegram, sqlite_url, delivery_tick_seconds=0.05), FakeClock(datetime.now(UTC)))
    caplog.set_level(logging.INFO)
    await bot.start()
    try:
        for _ in range(400):  # the tick logs its line once its outcomes are written: wait for both
            async with bot.app.services.db.session() as session:
                sent = await session.scalar(select(func.count()).where(Delivery.status == "sent"))
            ticks = [r for r in caplog.records if r.getMessage().startswith("delivery tick: claimed")]
            if sent == 12 and ticks:
                break
            await asyncio.sleep(0.02)
        assert sent == 12
        assert ticks, "the fan-out never ran through the scheduled tick"
    finally:
        await bot.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not warnings, warnings


async def _stderr_lines(process: asyncio.subprocess.Process, wanted: int) -> list[str]:
    lines = []
    while len(lines) < wanted:
        line = await asyncio.wait_for(process.stderr.readline(), 60)
        if not line:
            break
        lines.append(line.decode().rstrip())
    return lines


async def test_coach_run_waits_for_an_unreachable_bot_api_one_line_per_attempt(telegram, sqlite_url, tmp_path):
    closed_port = free_port()  # nothing listens there
    env = {**_coach_env(telegram, sqlite_url), "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{closed_port}/bot"}
    process = await _coach(env, tmp_path)
    try:
        first, second = await _stderr_lines(process, 2)  # 1 s apart, then 2 s: the pause doubles
    finally:
        process.send_signal(signal.SIGTERM)
    _, rest = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    for line in (first, second):
        assert f"WARNING bot.app: Telegram Bot API at http://127.0.0.1:{closed_port} not reachable (" in line, line
    assert "trying again in 1 s" in first and "trying again in 2 s" in second
    assert "Traceback" not in rest.decode() and TOKEN not in first + second + rest.decode()


async def test_coach_run_with_a_token_telegram_refuses_stops_with_one_line(telegram, sqlite_url, tmp_path):
    env = {**_coach_env(telegram, sqlite_url), "BOT_TOKEN": "654321:NOT-THE-TOKEN"}  # the fake answers 401
    process = await _coach(env, tmp_path)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert stderr.decode().strip().splitlines() == ["coach: Telegram refused BOT_TOKEN: check it with @BotFather"]
