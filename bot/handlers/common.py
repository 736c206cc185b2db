"""Small helpers every handler module shares: replying in HTML, the person's schedule."""

from __future__ import annotations

from telegram import LinkPreviewOptions, Message, Update
from telegram._utils.types import ReplyMarkup
from telegram.constants import ParseMode

from bot.context import CoachContext
from bot.domain.schedule import LessonSchedule
from bot.render import split_message
from bot.storage.models import Subscriber


async def reply(update: Update, text: str, markup: ReplyMarkup | None = None) -> Message:
    """Send HTML to the chat of the update, split if long; the markup rides on the last part."""
    chunks = split_message(text)
    message = None
    for i, chunk in enumerate(chunks):
        message = await update.effective_chat.send_message(
            chunk,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if i == len(chunks) - 1 else None,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            message_thread_id=_thread_of(update),
        )
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
