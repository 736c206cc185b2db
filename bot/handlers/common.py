"""Small helpers every handler module shares: sending HTML, the person's schedule.

Every HTML message a handler sends goes through `send_html` (or `reply`, `reply_photo`), so every
one is cut by `split_message` into parts Telegram accepts.
"""

from __future__ import annotations

from telegram import Bot, InputFile, LinkPreviewOptions, Message, Update
from telegram._utils.types import ReplyMarkup
from telegram.constants import ParseMode

from bot.context import CoachContext
from bot.domain.schedule import LessonSchedule
from bot.render import CAPTION_LIMIT, split_message
from bot.storage.models import Subscriber


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
