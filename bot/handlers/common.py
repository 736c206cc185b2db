"""Small helpers every handler module shares: sending HTML, editing the pressed message, the
person's schedule.

Every HTML message a handler sends goes through `send_html` (or `reply`, `reply_photo`), so every
one is cut by `split_message` into parts Telegram accepts.
"""

from __future__ import annotations

import logging

from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, InputFile, LinkPreviewOptions, Message, Update
from telegram._utils.types import ReplyMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.context import CoachContext
from bot.domain.schedule import LessonSchedule
from bot.render import CAPTION_LIMIT, split_message
from bot.storage.models import Subscriber

log = logging.getLogger(__name__)

# What Telegram says when an edit has nothing to do: the message already shows it (a double tap),
# is gone, or is too old to edit. None of these is a failure of the bot.
EDIT_NOT_NEEDED = (
    "message is not modified",
    "message to edit not found",
    "message can't be edited",
    "message_id_invalid",
)


async def send_html(
    bot: Bot, chat_id: int, text: str, markup: ReplyMarkup | None = None, *, thread_id: int | None = None
) -> Message:
    """Send HTML to a chat, split if long; the markup rides on the last part."""
    chunks = split_message(text)
    message = None
    for i, chunk in enumerate(chunks):
        message = await bot.send_message(
            chat_id,
            chunk,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if i == len(chunks) - 1 else None,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            message_thread_id=thread_id,
        )
    return message


async def reply(update: Update, text: str, markup: ReplyMarkup | None = None) -> Message:
    """Send HTML to the chat of the update (in its forum topic), split if long."""
    return await send_html(update.get_bot(), update.effective_chat.id, text, markup, thread_id=_thread_of(update))


async def reply_photo(update: Update, photo: InputFile, caption: str | None = None) -> Message:
    """A photo with an HTML caption; what does not fit a caption follows as messages."""
    [first, *rest] = split_message(caption, first_limit=CAPTION_LIMIT) if caption else [None]
    message = await update.effective_chat.send_photo(
        photo, caption=first, parse_mode=ParseMode.HTML, message_thread_id=_thread_of(update)
    )
    for part in rest:  # already cut to a message's size
        await reply(update, part)
    return message


async def edit_text(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> bool:
    """Replace the pressed message's text; False when Telegram had nothing to change."""
    return await _edit(query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup))


async def drop_buttons(query: CallbackQuery) -> bool:
    """Take the buttons off the pressed message. False when they were gone already: a second tap,
    which is how a one-shot button (log this line, how did it feel) knows it was used."""
    return await _edit(query.edit_message_reply_markup(None))


async def _edit(edit) -> bool:
    try:
        await edit
    except BadRequest as exc:
        if not any(reason in str(exc).lower() for reason in EDIT_NOT_NEEDED):
            raise
        log.debug("edit not needed: %s", exc)
        return False
    return True


def _thread_of(update: Update) -> int | None:
    message = update.effective_message
    if message is not None and message.is_topic_message:
        return message.message_thread_id
    return None


def display_name(update: Update) -> str:
    user = update.effective_user
    if user is not None:
        return user.first_name or user.username or "there"
    return update.effective_chat.title or "there"


def schedule_for(subscriber: Subscriber, context: CoachContext) -> LessonSchedule | None:
    from bot.delivery.engine import schedule_of

    if subscriber.lesson_time is None or subscriber.timezone is None:
        return None
    return schedule_of(subscriber.lesson_time, subscriber.timezone, context.services.settings)
