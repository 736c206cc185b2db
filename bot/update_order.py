"""Updates from different chats are handled side by side; those of one chat, one after another.

Handling an update mostly waits for the database and Telegram, so one person's check-in should
not queue behind another's. Within a chat order matters ("7am" must not overtake the /settings it
answers), so each chat has a lock, taken in arrival order (asyncio locks are first come, first
served). An update with no chat (an inline query) is keyed by its sender.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT_UPDATES = 32


def chat_key(update: object) -> int | None:
    """The chat whose updates must keep their order; None when the update belongs to none."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # updates holding or waiting for each chat's lock

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # nobody else waits: forget the chat
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up: locks are made as chats appear."""

    async def shutdown(self) -> None:
        """Nothing to free: the application waits for the updates in progress itself."""
