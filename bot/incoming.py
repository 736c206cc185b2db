"""The shape of an update Telegram posts to the webhook, checked before it is queued.

python-telegram-bot trusts its input: an `update_id` written as a string, a message without a chat
or JSON nested a thousand deep become an ERROR line (or a 500) somewhere in the handlers. Telegram
itself never sends such things, so what fails this model is not a Bot API update and is refused with
400 at the door. The model is strict where the bot relies on a field (ids are integers within the
Bot API's 52 bits, every message has a chat, a button press has its sender) and lets every other
field through untouched, so a field Telegram adds tomorrow is not refused.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError, model_validator
from telegram import Update

MAX_NESTING = 32  # a real update nests about ten deep (a reply to a message quoting another)
ID_LIMIT = 2**52  # "at most 52 significant bits" (Bot API), also the range JSON numbers keep exactly

TelegramId = Annotated[int, Field(strict=True, gt=-ID_LIMIT, lt=ID_LIMIT)]
UnixTime = Annotated[int, Field(strict=True, ge=0, lt=2**40)]


class NotAnUpdate(ValueError):
    """The body is not a Bot API update; the message says why, in one line, without the body."""


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow")


class User(_Shape):
    id: TelegramId
    is_bot: StrictBool
    first_name: StrictStr


class Chat(_Shape):
    id: TelegramId
    type: Literal["private", "group", "supergroup", "channel"]


class Message(_Shape):
    message_id: TelegramId
    date: UnixTime
    chat: Chat
    from_user: User | None = Field(default=None, alias="from")
    text: StrictStr | None = None
    reply_to_message: Message | None = None


class CallbackQuery(_Shape):
    id: StrictStr
    from_user: User = Field(alias="from")
    chat_instance: StrictStr
    message: Message | None = None
    data: StrictStr | None = None


class InlineQuery(_Shape):
    id: StrictStr
    from_user: User = Field(alias="from")
    query: StrictStr
    offset: StrictStr


class ChatMember(_Shape):
    status: StrictStr
    user: User


class ChatMemberUpdated(_Shape):
    chat: Chat
    from_user: User = Field(alias="from")
    date: UnixTime
    old_chat_member: ChatMember
    new_chat_member: ChatMember


# The kinds the bot handles get their shape checked; the others Telegram may send are objects
# python-telegram-bot reads on its own, and the bot's handlers leave alone.
_CHECKED_KINDS: dict[str, type[_Shape]] = {
    "message": Message,
    "edited_message": Message,
    "channel_post": Message,
    "edited_channel_post": Message,
    "business_message": Message,
    "edited_business_message": Message,
    "callback_query": CallbackQuery,
    "inline_query": InlineQuery,
    "my_chat_member": ChatMemberUpdated,
    "chat_member": ChatMemberUpdated,
}


class IncomingUpdate(_Shape):
    update_id: Annotated[int, Field(strict=True, ge=0, lt=ID_LIMIT)]

    @model_validator(mode="after")
    def _one_known_kind(self) -> IncomingUpdate:
        kinds = [name for name in self.model_extra or {} if name in Update.ALL_TYPES]
        if len(kinds) != 1 or len(self.model_extra) != 1:
            raise ValueError(f"an update carries exactly one known kind, this one has {len(self.model_extra or {})}")
        [kind] = kinds
        payload = self.model_extra[kind]
        if not isinstance(payload, dict):
            raise ValueError(f"{kind} is not an object")
        if kind in _CHECKED_KINDS:
            _CHECKED_KINDS[kind].model_validate(payload)
        return self


def parse_update(body: bytes) -> dict:
    """The update as a dict once it has the shape of one; `NotAnUpdate` otherwise."""
    try:
        data = json.loads(body, parse_constant=_no_constants)
    except RecursionError:
        raise NotAnUpdate(f"JSON nested deeper than {MAX_NESTING}") from None
    except ValueError as exc:  # includes UnicodeDecodeError
        raise NotAnUpdate(f"not JSON: {str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise NotAnUpdate(f"a JSON {type(data).__name__}, not an object")
    if _deeper_than(data, MAX_NESTING):
        raise NotAnUpdate(f"JSON nested deeper than {MAX_NESTING}")
    try:
        IncomingUpdate.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "update"
        raise NotAnUpdate(f"{where}: {first['msg']} ({exc.error_count()} problem(s))") from None
    return data


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _deeper_than(value: object, limit: int) -> bool:
    """Walks the parsed body with a stack of its own: no recursion however deep the input."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False
