"""/stats for the bot's admins (`ADMIN_IDS`); to everyone else it is an unknown command."""

from __future__ import annotations

import asyncio
import io
from html import escape

from telegram import InputFile, Update
from telegram.ext import Application, CommandHandler, filters

from bot import stats
from bot.context import CoachContext
from bot.handlers.common import reply, reply_photo


async def stats_command(update: Update, context: CoachContext) -> None:
    """/stats for the bot's admins; everyone else sees an unknown command, as if it did not exist."""
    services = context.services
    if update.effective_user.id not in services.settings.admin_ids:
        await reply(update, services.content.texts.unknown_command.format(command="/stats"))
        return
    report = await services.reports.stats()
    texts = services.content.texts
    await reply(update, f"<pre>{escape(stats.stats_text(report, texts))}</pre>")
    png = await asyncio.to_thread(stats.stats_png, report, texts)
    await reply_photo(update, InputFile(io.BytesIO(png), filename="stats.png"))


def register(application: Application) -> None:
    application.add_handler(CommandHandler("stats", stats_command, filters=filters.ChatType.PRIVATE))
