"""Where people find the Mini App in Telegram: the menu button of every private chat."""

from __future__ import annotations

import logging

from telegram import Bot, MenuButtonWebApp, WebAppInfo
from telegram.error import TelegramError

from bot.context import Services

log = logging.getLogger(__name__)


async def announce_mini_app(bot: Bot, services: Services) -> None:
    """With MINI_APP_URL set, every private chat's menu button opens the learner's page
    (setChatMenuButton without a chat: the default for all of them). A refusal is logged: the bot
    works without it."""
    url = services.settings.mini_app_url
    if url is None:
        return
    button = MenuButtonWebApp(services.content.texts.miniapp_menu_button, WebAppInfo(url))
    try:
        await bot.set_chat_menu_button(menu_button=button)
    except TelegramError as exc:
        log.warning("the Mini App's menu button was not set: %s", exc)
