"""The gate every button press passes before any feature handler sees it (`bot.services.access`
decides). Registered in a group of its own ahead of the features: a refused press, or data no kind
of button reads, is answered with a short toast and goes no further; an accepted one goes on with
its typed button, which `handlers.common.button_handler` hands to the feature's handler."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackQueryHandler

from bot.callback_data import unpack
from bot.context import CoachContext
from bot.services.access import Refusal, refusal_text

GATE_GROUP = -1  # python-telegram-bot runs lower groups first: after the de-duplication (-2), before the features (0)


async def gate(update: Update, context: CoachContext) -> None:
    """Let the press through with its typed button (`context.button`, unpacked here once), or
    answer why not and stop it here: the feature handlers never see malformed or forged data."""
    services = context.services
    refusal = await services.access.callback(update, context.bot)
    button = None if refusal is not None else unpack(update.callback_query.data)
    if button is not None:
        context.button = button
        return
    await update.callback_query.answer(refusal_text(services.content.texts, refusal or Refusal.EXPIRED))
    raise ApplicationHandlerStop


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(gate), group=GATE_GROUP)
