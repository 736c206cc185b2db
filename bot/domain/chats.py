"""The kinds of chat the coach serves, as stored (`Subscriber.kind`). Telegram's own `ChatType`
names the same kinds for an update; this one is for code that must not know Telegram (storage,
the pure core) and for everything that reads a stored chat."""

from __future__ import annotations

from enum import StrEnum


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"
