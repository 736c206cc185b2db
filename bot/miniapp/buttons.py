"""Where people find the Mini App in Telegram: the menu button of every private chat, labelled in
the language of the person it belongs to."""

from __future__ import annotations

import logging

from telegram import Bot, MenuButtonWebApp, WebAppInfo
from telegram.error import TelegramError

from bot.context import Services

log = logging.getLogger(__name__)


async def announce_mini_app(bot: Bot, services: Services) -> None:
    """With MINI_APP_URL set, every private chat's menu button opens the learner's page
    (setChatMenuButton without a chat: the default for chats with no button of their own),
    labelled in the base language. A refusal is logged: the bot works without it."""
    await _set_menu(bot, services, None, services.library.base.texts.miniapp_menu_button)


async def label_menu(bot: Bot, services: Services, chat_id: int, language: str) -> None:
    """The menu button of one person's private chat, labelled in `language`: called when their
    language is first stored or changed (the change itself is stored before, and stays whatever
    Telegram answers: a refusal or a timeout leaves the old label until the next change)."""
    await _set_menu(bot, services, chat_id, services.library[language].texts.miniapp_menu_button)


async def _set_menu(bot: Bot, services: Services, chat_id: int | None, label: str) -> None:
    url = services.settings.mini_app_url
    if url is None:
        return
    try:
        await bot.set_chat_menu_button(chat_id=chat_id, menu_button=MenuButtonWebApp(label, WebAppInfo(url)))
    except TelegramError as exc:  # 429, a blocked bot, a timeout: the label waits for the next change
        log.warning("the Mini App's menu button (chat %s) was not set: %s", chat_id or "default", exc)
