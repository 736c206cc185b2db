"""Check-in button presses per second through the full application (polling, chats side by side,
every handler, the database, the rate limiter), against a bare python-telegram-bot bot that
answers each press and echoes it, both polling the same fake Telegram.

Run: .venv/bin/python benchmarks/updates.py [--presses 500] [--rounds 5] [--database-url URL]
     (default: a fresh SQLite file; a PostgreSQL URL is emptied first)
The full application is configured with GLOBAL_RATE=1000 so that Telegram's 30/s limit (which
the fake does not enforce here) measures neither. The fake runs in this process, so its own cost
is inside both figures. Target: the full application at least half as fast as the echo bot.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import Update  # noqa: E402
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes  # noqa: E402

from benchmarks.seed import FIRST_CHAT, TOKEN, fresh_database, seed_people  # noqa: E402
from bot.app import build_application  # noqa: E402
from bot.demo.fake_telegram import FakeBotApi  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.storage.db import Database  # noqa: E402

TARGET_RATIO = 0.5
Press = tuple[dict, dict, str]  # who, the message, the button's data


async def presses_per_second(telegram: FakeBotApi, application: Application, presses: list[Press]) -> float:
    """Push every press at once, poll them as Telegram would, and time until the last reaction."""
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    await application.start()
    try:
        seen = len(telegram.calls)
        started = time.monotonic()
        ids = [telegram.press_button(user, message, data)["callback_query"]["id"] for user, message, data in presses]
        await telegram.wait_for(lambda: all(i in telegram.callback_answers for i in ids), timeout=600)
        while True:  # the handlers go on after answering: wait until the bot has been quiet a while
            last = max(c.at for c in telegram.calls[seen:] if c.method != "getUpdates")
            if time.monotonic() - last > 0.5:
                break
            await asyncio.sleep(0.1)
    finally:
        await application.updater.stop()
        await application.stop()
    return len(presses) / (last - started)


async def full_application(telegram: FakeBotApi, count: int, url: str) -> tuple[float, list[Press]]:
    await fresh_database(url)
    db, now = Database(url), datetime.now(UTC)
    await seed_people(db, count, now=now, due_at=now)
    await db.dispose()
    settings = Settings(
        bot_token=TOKEN,
        database_url=url,
        telegram_api_base_url=telegram.base_url,
        global_rate=1000,
        log_level="WARNING",
        _env_file=None,
    )
    application = build_application(settings)
    await application.initialize()
    try:
        await application.services.delivery.tick(application.bot)  # everyone gets day 1 and its question
        presses = []
        for chat_id in range(FIRST_CHAT + 1, FIRST_CHAT + count + 1):
            lesson = telegram.messages_to(chat_id)[-1]
            first_button = lesson["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            presses.append((telegram.user(chat_id, f"P{chat_id}"), lesson, first_button))
        rate = await presses_per_second(telegram, application, presses)
    finally:
        await application.shutdown()
        await application.services.db.dispose()
    return rate, presses


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer()
    await update.effective_chat.send_message(update.callback_query.data)


async def echo_bot(telegram: FakeBotApi, presses: list[Press]) -> float:
    application = ApplicationBuilder().token(TOKEN).base_url(telegram.base_url).build()
    application.add_handler(CallbackQueryHandler(echo))
    await application.initialize()
    try:
        return await presses_per_second(telegram, application, presses)
    finally:
        await application.shutdown()


async def main(args: argparse.Namespace) -> None:
    """Rounds of the full application then the echo bot, on one fake Telegram; the median ratio,
    since this machine's speed drifts between runs by more than the difference measured."""
    rounds = []
    with tempfile.TemporaryDirectory() as folder:
        async with FakeBotApi(TOKEN) as telegram:
            for number in range(args.rounds):
                url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / f'updates{number}.db'}"
                full, presses = await full_application(telegram, args.presses, url)
                rounds.append((full, await echo_bot(telegram, presses)))
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{args.presses} check-in presses, each from a different person, polled in one go ({database})")
    for number, (full, bare) in enumerate(rounds, 1):
        print(f"round {number}: full application {full:.1f} presses/s, bare echo bot {bare:.1f}: {full / bare:.2f}")
    ratio = statistics.median(full / bare for full, bare in rounds)
    verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
    print(f"median ratio {ratio:.2f} (target at least {TARGET_RATIO}: {verdict})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", help="PostgreSQL URL to use (emptied!); default a temporary SQLite file")
    asyncio.run(main(parser.parse_args()))
