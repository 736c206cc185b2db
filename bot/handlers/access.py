"""The gate every button press passes before any feature handler sees it (`bot.services.access`
decides). Registered in a group of its own ahead of the features: a refused press is answered
with a short toast and goes no further."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackQueryHandler

from bot.context import CoachContext
from bot.services.access import refusal_text

GATE_GROUP = -1  # python-telegram-bot runs lower groups first: after the de-duplication (-2), before the features (0)


async def gate(update: Update, context: CoachContext) -> None:
    """Let the press through, or answer why not and stop it here."""
    services = context.services
    refusal = await services.access.callback(update, context.bot)
    if refusal is None:
        return
    await update.callback_query.answer(refusal_text(services.content.texts, refusal))
    raise ApplicationHandlerStop


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(gate), group=GATE_GROUP)
