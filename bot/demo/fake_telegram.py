"""Telegram for the demo: the Bot API answered in process, for one person in one private chat.

It plugs into python-telegram-bot as its HTTP layer (a `BaseRequest`, the documented way to
replace how the bot talks to Telegram), so the real Application, handlers and delivery engine
run unchanged, with no token, no network and no port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from telegram.request import BaseRequest, RequestData

JSONDict = dict[str, Any]
BOT_ID = 100000001
PERSON_ID = 424242
DEMO_GROUP_ID = -1000000000042  # a group the person coaches, so the Mini App's coach page has a group
MAX_POLL_SECONDS = 10.0
QUIET_SECONDS = 1.5  # no call from the bot for this long: it has answered everything


class Screen(Protocol):
    """Where the demo shows what the bot does."""

    def message(self, message: JSONDict, *, edited: bool) -> None: ...

    def buttons_changed(self, message: JSONDict) -> None: ...

    def notice(self, text: str) -> None: ...


class FakeTelegram(BaseRequest):
    """The Bot API methods the coach uses, kept in memory; the person acts through `say` and `press`."""

    def __init__(self, screen: Screen, *, person_name: str) -> None:
        self.screen = screen
        self.bot_user: JSONDict = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Hinge Coach",
            "username": "HingeCoachDemoBot",
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.person: JSONDict = {"id": PERSON_ID, "is_bot": False, "first_name": person_name, "language_code": "en"}
        self.chat: JSONDict = {"id": PERSON_ID, "type": "private", "first_name": person_name}
        self.messages: dict[int, JSONDict] = {}  # the bot's messages, latest version, with their full markup
        self._updates: list[JSONDict] = []
        self._arrived = asyncio.Event()
        self._last_update_id = 0
        self._last_message_id = 0
        self._last_query_id = 0
        self._last_call = 0.0
        self._methods: dict[str, Callable[[JSONDict], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._true,
            "setMyCommands": self._true,
            "setChatMenuButton": self._true,
            "getChatAdministrators": self._get_chat_administrators,
            "close": self._true,
            "logOut": self._true,
            "sendChatAction": self._true,
            "getChat": self._get_chat,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPhoto": self._send_file,
            "sendDocument": self._send_file,
        }
        self.files = Path(tempfile.mkdtemp(prefix="hinge-demo-files-"))  # photos and documents land here

    # ----------------------------------------------------------------- the person

    def say(self, text: str) -> None:
        """The person sends a text message; a leading /command is marked up as Telegram does."""
        message = self._new_message({"from": self.person, "text": text})
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}
            ]
        self._push({"message": message})

    def press(self, message_id: int, data: str) -> None:
        """The person taps an inline button under one of the bot's messages."""
        self._last_query_id += 1
        message = {key: value for key, value in self.messages[message_id].items() if key != "reply_markup"}
        if markup := _inline(self.messages[message_id].get("reply_markup")):
            message["reply_markup"] = markup
        query = {
            "id": str(self._last_query_id),
            "from": self.person,
            "message": message,
            "chat_instance": "demo",
            "data": data,
        }
        self._push({"callback_query": query})

    async def settled(self, limit: float = 30.0) -> None:
        """Wait until the bot took every update and has been quiet a moment (for piped input)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        # Quiet is an absence of calls, which no event signals: look every tenth of a second.
        while loop.time() < deadline and (self._updates or loop.time() - self._last_call < QUIET_SECONDS):  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    def _push(self, update: JSONDict) -> None:
        self._last_update_id += 1
        self._updates.append({"update_id": self._last_update_id, **update})
        self._arrived.set()

    def _new_message(self, fields: JSONDict) -> JSONDict:
        """Message ids are shared by both directions in a chat, as in Telegram."""
        self._last_message_id += 1
        return {"message_id": self._last_message_id, "date": int(time.time()), "chat": self.chat, **fields}

    # ----------------------------------------------------------------- BaseRequest

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to open: there is no connection."""

    async def shutdown(self) -> None:
        """Wake a waiting long poll so the bot can stop at once."""
        self._arrived.set()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        handler = self._methods.get(name)
        if handler is None:
            return _answer(400, {"ok": False, "error_code": 400, "description": f"Bad Request: no {name} in the demo"})
        params = dict(request_data.parameters) if request_data is not None else {}
        if request_data is not None and request_data.contains_files:
            params["_files"] = request_data.multipart_data
        if name != "getUpdates":
            self._last_call = asyncio.get_running_loop().time()
        try:
            result = await handler(params)
        except DemoError as error:
            return _answer(400, {"ok": False, "error_code": 400, "description": f"Bad Request: {error}"})
        return _answer(200, {"ok": True, "result": result})

    # ----------------------------------------------------------------- methods

    async def _true(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return self.bot_user

    async def _get_chat(self, params: JSONDict) -> JSONDict:
        return {**self.chat, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": {}}

    async def _get_chat_administrators(self, params: JSONDict) -> list[JSONDict]:
        """The demo group is coached by the person; no other group exists."""
        if params.get("chat_id") not in (DEMO_GROUP_ID, str(DEMO_GROUP_ID)):
            raise DemoError("chat not found")
        return [{"status": "creator", "user": self.person, "is_anonymous": False}]

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        """A long poll: answers as soon as the person does something, or after the timeout."""
        offset = params.get("offset")
        if isinstance(offset, int):
            self._updates = [update for update in self._updates if update["update_id"] >= offset]
        if not self._updates:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(float(params.get("timeout") or 0), MAX_POLL_SECONDS))
        return self._updates[:100]

    async def _send_message(self, params: JSONDict) -> JSONDict:
        self._check_chat(params)
        message = self._new_message({"from": self.bot_user, "text": str(params.get("text", ""))})
        message["reply_markup"] = params.get("reply_markup")
        self.messages[message["message_id"]] = message
        self.screen.message(message, edited=False)
        return _public(message)

    async def _send_file(self, params: JSONDict) -> JSONDict:
        """A chart or an export: saved to a file the person can open, and shown as its caption."""
        self._check_chat(params)
        saved = []
        for name, part in (params.get("_files") or {}).items():
            file_name, content = part[0] or name, part[1]
            path = self.files / f"{self._last_message_id + 1}-{Path(file_name).name}"
            path.write_bytes(content if isinstance(content, bytes) else content.read())
            saved.append(str(path))
        caption = str(params.get("caption", ""))
        message = self._new_message({"from": self.bot_user, "text": "\n".join(filter(None, [caption, *saved]))})
        message["reply_markup"] = params.get("reply_markup")
        self.messages[message["message_id"]] = message
        self.screen.message(message, edited=False)
        return _public({**message, "document": {"file_id": saved[0] if saved else "", "file_unique_id": "demo"}})

    async def _edit_message_text(self, params: JSONDict) -> JSONDict:
        message = self._editable(params)
        message.update(text=str(params.get("text", "")), reply_markup=params.get("reply_markup"))
        self.screen.message(message, edited=True)
        return _public(message)

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        message = self._editable(params)
        message["reply_markup"] = params.get("reply_markup")
        self.screen.buttons_changed(message)
        return _public(message)

    async def _delete_message(self, params: JSONDict) -> bool:
        self._check_chat(params)
        if self.messages.pop(params.get("message_id"), None) is None:
            raise DemoError("message to delete not found")
        return True

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        if params.get("text"):
            self.screen.notice(str(params["text"]))
        return True

    def _check_chat(self, params: JSONDict) -> None:
        if params.get("chat_id") not in (PERSON_ID, str(PERSON_ID)):
            raise DemoError("chat not found")

    def _editable(self, params: JSONDict) -> JSONDict:
        self._check_chat(params)
        message = self.messages.get(params.get("message_id"))
        if message is None:
            raise DemoError("message to edit not found")
        return message


class DemoError(Exception):
    """A request the real Telegram would refuse too; answered as a Bad Request."""


def _answer(status: int, body: JSONDict) -> tuple[int, bytes]:
    return status, json.dumps(body).encode()


def _inline(markup: Any) -> JSONDict | None:
    """Telegram only shows inline keyboards on a Message; reply keyboards stay with the client."""
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return markup
    return None


def _public(message: JSONDict) -> JSONDict:
    public = {key: value for key, value in message.items() if key != "reply_markup"}
    if markup := _inline(message.get("reply_markup")):
        public["reply_markup"] = markup
    return public
