"""The language of each update, and changing it: /language, the settings row, a group admin's choice.

`speak_theirs` runs first of all handlers (its own group, before the de-duplication and the button
gate): it sets `bot.language.current_language` for the whole update, so every later handler reads
`services.content` in the right language without passing one around. A person whose Telegram
language we do not have is asked with buttons when they send /start; their pick goes on with that
/start, a group's link in it included. `remember_theirs` runs after all handlers: it stores the
guessed language of a person the bot now keeps something about without a /start. Whenever a
person's language is stored or changed, their chat's Mini App menu button is labelled in it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler, TypeHandler, filters

from bot.callback_data import LanguagePick, StartLanguage
from bot.context import CoachContext
from bot.domain.groups import StartLink, parse_start_payload
from bot.handlers.common import button_handler, drop_buttons, reply
from bot.keyboards import language_keyboard, start_language_keyboard
from bot.language import current_language
from bot.miniapp.buttons import label_menu

LANGUAGE_GROUP = -3  # before the de-duplication (-2) and the button gate (-1): both may answer
REMEMBER_GROUP = 1  # after the features (0): what they stored about the person is there to see

Start = Callable[[Update, CoachContext], Awaitable[None]]  # onboarding's plain /start
OpenLink = Callable[[Update, CoachContext, StartLink], Awaitable[None]]  # /start with a group's link


async def speak_theirs(update: Update, context: CoachContext) -> None:
    """Set the language of this update; ask for one at /start when theirs is one we lack."""
    message = update.effective_message
    words = message.text.split() if message is not None and message.text else []
    command = words[0].split("@")[0] if words else ""  # a blank message is no command
    starting = command == "/start" and update.effective_chat.type == ChatType.PRIVATE
    services = context.services
    heard = await services.languages.for_update(update, starting=starting)
    current_language.set(heard.language)
    context.heard = heard
    if heard.stored:
        await label_menu(context.bot, services, update.effective_user.id, heard.language)
    if heard.unknown and starting:
        link = words[1] if len(words) == 2 and parse_start_payload(words[1]) is not None else None
        keyboard = start_language_keyboard(services.languages.available, link)
        await reply(update, services.content.texts.language_ask, keyboard)
        raise ApplicationHandlerStop


async def remember_theirs(update: Update, context: CoachContext) -> None:
    """After a private update, a guessed language is stored once the bot keeps anything about the
    person (a /log, /weekly or rest timer, which need no /start): the jobs that write to them later
    have no update to read it from. Someone the bot keeps nothing about (or forgot) stays unstored."""
    heard, chat, user = context.heard, update.effective_chat, update.effective_user
    if heard is None or heard.kept or heard.unknown or chat is None or user is None or chat.id != user.id:
        return
    services = context.services
    if await services.access.knows(user.id) and await services.languages.remember(user.id, heard.language):
        await label_menu(context.bot, services, user.id, heard.language)


async def ask(update: Update, context: CoachContext) -> None:
    """/language: the languages as buttons."""
    services = context.services
    await reply(update, services.content.texts.language_ask, language_keyboard(services.languages.available))


async def picked(update: Update, context: CoachContext, button: LanguagePick) -> None:
    """A language button: stored for the presser's private chat; the course and its progress stay."""
    query, services = update.callback_query, context.services
    private = update.effective_chat.type == ChatType.PRIVATE and update.effective_chat.id == update.effective_user.id
    if not private:
        await query.answer(services.content.texts.access_private_only)
        return
    if not await services.languages.choose(update.effective_user.id, button.language):
        await query.answer(services.content.texts.button_expired)
        return
    await query.answer()
    current_language.set(button.language)  # the rest of this update speaks it already
    await reply(update, services.content.texts.language_saved)
    await label_menu(context.bot, services, update.effective_user.id, button.language)


async def start_picked(
    update: Update, context: CoachContext, button: StartLanguage, start: Start, open_link: OpenLink
) -> None:
    """A language picked at a first /start: stored, then that /start goes on in it. A group's link
    it carried is read again as if typed (a forged or out-of-range one is a plain /start, a stale
    one says so); the picker's buttons go, so a second tap starts nothing twice."""
    query, services, user = update.callback_query, context.services, update.effective_user
    if update.effective_chat.type != ChatType.PRIVATE or update.effective_chat.id != user.id:
        await query.answer(services.content.texts.access_private_only)
        return
    if button.language not in services.languages.available or not await drop_buttons(query):
        await query.answer(services.content.texts.button_expired)
        return
    await services.languages.choose(user.id, button.language)
    await query.answer()
    current_language.set(button.language)
    link = parse_start_payload(button.payload) if button.payload is not None else None
    if link is not None:
        await open_link(update, context, link)
    else:
        await start(update, context)
    await label_menu(context.bot, services, user.id, button.language)


def register(application: Application, *, start: Start, open_link: OpenLink) -> None:
    """`start` and `open_link` are how a /start goes on once its language is picked (the composition
    root passes onboarding's and the group links': no handler module imports another)."""

    async def picked_at_start(update: Update, context: CoachContext, button: StartLanguage) -> None:
        await start_picked(update, context, button, start, open_link)

    application.add_handler(TypeHandler(Update, speak_theirs), group=LANGUAGE_GROUP)
    application.add_handler(TypeHandler(Update, remember_theirs), group=REMEMBER_GROUP)
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("language", ask, filters=private))
    application.add_handler(button_handler(LanguagePick, picked))
    application.add_handler(button_handler(StartLanguage, picked_at_start))
