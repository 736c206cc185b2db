"""Small helpers every handler module shares: sending HTML, editing the pressed message, typed
button handlers, the group roster.

Every HTML message a handler sends goes through `send_html` (or `reply`, `reply_photo`), so every
one is cut by `split_message` into parts Telegram accepts.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import (
    Bot,
    CallbackQuery,
    ForceReply,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler

from bot.callback_data import CallbackData
from bot.context import CoachContext
from bot.domain.checkin import Decision
from bot.render import CAPTION_LIMIT, split_message
from bot.services.course import Enrollment, Subscriber

log = logging.getLogger(__name__)

# Free text in a private chat offered to a feature (with the chat and its newest run, either may be
# None): True when the feature took it. `handlers.fallback` tries them in order.
TextReader = Callable[[Update, CoachContext, Subscriber | None, Enrollment | None], Awaitable[bool]]
ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply
Button = TypeVar("Button", bound=CallbackData)

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
            reply_markup=markup if i == len(chunks) - 1 else None,
            message_thread_id=thread_id,
        )
    return message


async def reply(update: Update, text: str, markup: ReplyMarkup | None = None) -> Message:
    """Send HTML to the chat of the update (in its forum topic), split if long."""
    return await send_html(update.get_bot(), update.effective_chat.id, text, markup, thread_id=_thread_of(update))


async def reply_photo(update: Update, photo: InputFile, caption: str | None = None) -> Message:
    """A photo with an HTML caption; what does not fit a caption follows as messages."""
    [first, *rest] = split_message(caption, first_limit=CAPTION_LIMIT) if caption else [None]
    message = await update.effective_chat.send_photo(photo, caption=first, message_thread_id=_thread_of(update))
    for part in rest:  # already cut to a message's size
        await reply(update, part)
    return message


async def edit_text(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> bool:
    """Replace the pressed message's text; False when Telegram had nothing to change."""
    return await _edit(query.edit_message_text(text, reply_markup=markup))


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


def display_name(update: Update, fallback: str) -> str:
    """How to greet the person: their first name, else their username, else `fallback`."""
    user = update.effective_user
    if user is not None:
        return user.first_name or user.username or fallback
    return update.effective_chat.title or fallback


def button_handler(
    kind: type[Button], handle: Callable[[Update, CoachContext, Button], Awaitable[None]]
) -> CallbackQueryHandler:
    """A handler for one kind of button, given the typed button the access gate unpacked: no
    feature handler reads callback data itself."""

    async def callback(update: Update, context: CoachContext) -> None:
        button = context.button
        if not isinstance(button, kind):  # the gate lets no such press through: a guard, not a path
            await update.callback_query.answer(context.services.content.texts.button_expired)
            return
        await handle(update, context, button)

    callback.__name__ = callback.__qualname__ = handle.__name__
    callback.__doc__ = handle.__doc__
    return CallbackQueryHandler(callback, pattern=kind.pattern)


async def note_member(context: CoachContext, chat_id: int, user: User | None) -> None:
    """Whoever uses a group command or presses a group button joins the roster /summary accounts for."""
    if user is None or user.is_bot:
        return
    await context.services.groups.note_member(chat_id, user.id, user.full_name)


async def ask_again(
    update: Update,
    context: CoachContext,
    enrollment_id: int,
    day: int,
    node_id: str,
    text: str,
    decision: Decision,
    keyboard: Callable[..., InlineKeyboardMarkup],
) -> None:
    """A typed check-in answer the coach could not read: the question again with its buttons (only
    those in doubt when two answers fit); the text is kept, without a name, so the lexicon can
    learn the words it missed. For private check-ins and group members' follow-ups alike."""
    services = context.services
    texts, node = services.content.texts, services.matcher.nodes[node_id]
    await services.answers.note_unread(enrollment_id, update.effective_user.id, node_id, text, services.clock.now())
    intro = texts.checkin_ambiguous if decision.candidates else texts.checkin_unknown
    markup = keyboard(enrollment_id, day, node, only=decision.candidates)
    await reply(update, f"{intro.strip()}\n\n<b>{node.question}</b>", markup)
