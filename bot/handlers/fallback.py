"""What runs when nothing more specific did: typed answers, unknown commands, stale buttons, errors.

Registered last, so every feature module gets the first look at an update.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from telegram import Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot.context import CoachContext
from bot.handlers.common import TextReader, reply
from bot.render import user_text

log = logging.getLogger(__name__)

# Telegram's answer to a callback answered after its time (about 15 s, e.g. after a restart): the
# press is handled all the same, only its toast is lost. Not a failure of the bot.
QUERY_TOO_OLD = "query is too old"


def private_text(readers: Sequence[TextReader]) -> Callable[[Update, CoachContext], Awaitable[None]]:
    """Free text in a private chat, offered to each feature's reader in turn (an onboarding answer,
    a check-in answer, a group member's follow-up, a red flag in any words); when none takes it, a
    pointer to what the bot can do."""

    async def read(update: Update, context: CoachContext) -> None:
        subscriber, enrollment = await context.services.course.current(update.effective_chat.id)
        for reader in readers:
            if await reader(update, context, subscriber, enrollment):
                return
        texts = context.services.content.texts
        if subscriber is None or not subscriber.onboarded:
            await reply(update, texts.today_not_started)
        else:
            await reply(update, texts.unexpected_message)

    return read


async def unknown_command(update: Update, context: CoachContext) -> None:
    command = (update.effective_message.text or "/").split()[0]
    await reply(update, context.services.content.texts.unknown_command.format(command=user_text(command, 40)))


async def unexpected_message(update: Update, context: CoachContext) -> None:
    """Stickers, photos, voice notes: a friendly pointer instead of silence."""
    await reply(update, context.services.content.texts.unexpected_message)


async def expired_button(update: Update, context: CoachContext) -> None:
    """Any callback no handler claimed: from an old message, another bot version, or forged."""
    await update.callback_query.answer(context.services.content.texts.button_expired, show_alert=False)


async def on_error(update: object, context: CoachContext) -> None:
    """Log every failure with the update it came from; tell the person when that is possible."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        log.info("update %s: chat unreachable (%s)", update_id, error)
        return
    if isinstance(error, BadRequest) and QUERY_TOO_OLD in str(error).lower():
        log.info("update %s: a press answered too late for Telegram (%s)", update_id, error)
        return
    log.error("update %s failed: %s", update_id, error, exc_info=error)
    if isinstance(update, Update) and update.effective_chat and update.effective_chat.type == ChatType.PRIVATE:
        try:
            texts = context.services.content.texts
            if update.callback_query is not None:
                await update.callback_query.answer(texts.error_press)
            else:
                await update.effective_chat.send_message(texts.error_message)
        except TelegramError:
            log.warning("update %s: could not tell the person about the failure", update_id)


def register(application: Application, readers: Sequence[TextReader]) -> None:
    """`readers` try free text in order (the composition root lists them: no handler module
    imports another)."""
    private = filters.ChatType.PRIVATE
    application.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(private & filters.TEXT, private_text(readers)))
    application.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, unexpected_message))
    application.add_handler(CallbackQueryHandler(expired_button))
    application.add_error_handler(on_error)
