"""A person's data: /export (every row stored about them, as JSON) and /forget (all of it deleted,
after a confirmation), through `services.privacy`. The log as a CSV (`/export csv`) is
bot/handlers/lifting.py's."""

from __future__ import annotations

import io
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import Application, CommandHandler, filters

from bot.callback_data import ForgetAnswer
from bot.context import CoachContext
from bot.handlers.common import button_handler, edit_text, reply

log = logging.getLogger(__name__)


async def export(update: Update, context: CoachContext) -> None:
    """/export: every row stored about the person, as a JSON file."""
    services = context.services
    data = await services.privacy.export(update.effective_chat.id, update.effective_user.id)
    await update.effective_chat.send_document(
        InputFile(io.BytesIO(data), filename="hinge-coach-my-data.json"),
        caption=services.content.texts.export_caption,
    )


async def forget(update: Update, context: CoachContext) -> None:
    """/forget: ask first, since nothing brings the data back."""
    texts = context.services.content.texts
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.forget_yes, callback_data=ForgetAnswer("yes").pack()),
                InlineKeyboardButton(texts.forget_no, callback_data=ForgetAnswer("no").pack()),
            ]
        ]
    )
    await reply(update, texts.forget_confirm, keyboard)


async def forget_answer(update: Update, context: CoachContext, answer: ForgetAnswer) -> None:
    services = context.services
    texts, query = services.content.texts, update.callback_query
    await query.answer()
    if answer.answer == "no":
        await edit_text(query, texts.forget_cancelled)
        return
    deleted = await services.privacy.forget(update.effective_chat.id, update.effective_user.id)
    log.info("forgot a person on request: %s rows", deleted)
    await edit_text(query, texts.forget_done)


def register(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("export", export, filters=private))
    application.add_handler(CommandHandler("forget", forget, filters=private))
    application.add_handler(button_handler(ForgetAnswer, forget_answer))
