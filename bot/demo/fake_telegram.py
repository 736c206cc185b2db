"""A fake Telegram Bot API, the one the end-to-end tests and `coach demo` both talk to.

It speaks the protocol python-telegram-bot uses (form or multipart POSTs to
``/bot<token>/<method>``, answers ``{"ok": ..., "result": ...}``), so the real PTB stack runs
unmodified against it: over HTTP on 127.0.0.1 for the tests (`start`, aiohttp, a dev
dependency), or in process for the demo (`InProcessRequest`, PTB's documented way to replace its
HTTP layer: no port, no network). Tests inject updates, inspect what the bot sent, and inject the
faults real Telegram produces (flood limits, blocked users, lost responses) to exercise the bot's
reliability code; the demo watches what the bot sends through an `Observer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from telegram.request import BaseRequest, RequestData

if TYPE_CHECKING:
    from aiohttp import web

JSONDict = dict[str, Any]
Handler = Callable[[JSONDict], Awaitable[Any]]

# Bot API fields whose values are not strings; PTB sends them JSON encoded inside form data.
_JSON_FIELDS = frozenset(
    {
        # objects and arrays
        "reply_markup", "entities", "caption_entities", "results", "commands", "scope",
        "menu_button", "allowed_updates", "link_preview_options", "reply_parameters", "button",
        "media", "permissions", "reaction", "options", "message_ids",
        # numbers
        "message_id", "message_thread_id", "offset", "limit", "timeout", "user_id",
        "cache_time", "reply_to_message_id", "max_connections", "until_date", "latitude",
        "longitude", "horizontal_accuracy",
        # booleans
        "show_alert", "disable_notification", "protect_content", "allow_sending_without_reply",
        "disable_web_page_preview", "drop_pending_updates", "is_personal", "has_spoiler",
        "show_caption_above_media", "disable_content_type_detection", "allow_paid_broadcast",
        "revoke_messages", "only_if_banned",
    }
)  # fmt: skip
_CHAT_ID_FIELDS = frozenset({"chat_id", "from_chat_id"})
_RATE_LIMITED_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup"}
)
# Update types Telegram only delivers when explicitly listed in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_LONG_POLL_CAP = 2.0
_MAX_UPLOAD = 50 * 1024 * 1024
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_INT_RE = re.compile(r"-?\d+")
_HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
     "tg-emoji", "code", "pre", "blockquote"}
)  # fmt: skip
_STRAY_LESS_THAN = re.compile(r"<(?![a-zA-Z/])")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
# The user Telegram shows as sender of anonymous admins' service messages.
_ANONYMOUS_ADMIN = {
    "id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"
}  # fmt: skip
_ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories",
)  # fmt: skip
_RESTRICTED_RIGHTS = (
    "can_change_info", "can_invite_users", "can_pin_messages", "can_send_messages",
    "can_send_polls", "can_send_other_messages", "can_add_web_page_previews", "can_manage_topics",
    "can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
    "can_send_video_notes", "can_send_voice_notes", "can_edit_tag",
)  # fmt: skip


@dataclass(frozen=True)
class Call:
    """One request as the bot made it; ``at`` is ``time.monotonic()`` for measuring gaps."""

    method: str
    params: JSONDict
    at: float


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request; stored in ``Call.params`` under its field name."""

    file_name: str
    data: bytes = field(repr=False)
    content_type: str


@dataclass(frozen=True)
class RateLimits:
    """Telegram's broadcast limits; a send/edit over any of them is answered with a 429.

    Sends with ``allow_paid_broadcast`` count against ``paid_per_second`` instead of the global limit.
    """

    global_per_second: int | None = 30
    per_chat_per_second: int | None = 1
    per_group_per_minute: int | None = 20
    paid_per_second: int | None = 1000


class ApiError(Exception):
    """An error answer of the Bot API, raised anywhere while handling a request."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def _too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


@dataclass(frozen=True)
class _Fault:
    """What to do to one request: answer with an error, or answer late, or not at all."""

    label: str
    error: ApiError | None = None
    delay: float = 0.0
    drop: bool = False


@dataclass
class _QueuedFault:
    method: str  # lower case, method names are case-insensitive
    chat_id: int | None
    remaining: int
    fault: _Fault


class _HtmlText(HTMLParser):
    """Applies the Bot API's HTML rules (supported tags only, strictly nested).

    Bots often break on unescaped user input; catching that here keeps tests honest.
    """

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source = source
        self._open: list[str] = []
        self._plain: list[str] = []

    def plain_text(self) -> str:
        stray = _STRAY_LESS_THAN.search(self._source)
        if stray is not None:  # Python's parser would take it as text; Telegram refuses it
            self._fail(f"Unsupported start tag at byte offset {len(self._source[: stray.start()].encode())}")
        self.feed(self._source)
        self.close()
        if self._open:
            self._fail(f'Can\'t find end tag corresponding to start tag "{self._open[-1]}"')
        return "".join(self._plain)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            self._fail(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        if tag == "span" and ("class", "tg-spoiler") not in attrs:
            self._fail('Tag "span" must have class "tg-spoiler"')
        self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self._open:
            self._fail(f"Unexpected end tag at byte offset {self._byte_offset()}")
        expected = self._open.pop()
        if tag != expected:
            self._fail(
                f'Unmatched end tag at byte offset {self._byte_offset()}, expected "</{expected}>", found "</{tag}>"'
            )

    def handle_data(self, data: str) -> None:
        self._plain.append(data)

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        index = sum(len(text) + 1 for text in self._source.split("\n")[: line - 1]) + column
        return len(self._source[:index].encode())

    @staticmethod
    def _fail(reason: str) -> NoReturn:
        raise _bad_request(f"can't parse entities: {reason}")


def _plain_text(text: str, parse_mode: Any) -> str:
    """The text as Telegram counts it: without markup for HTML, verbatim otherwise."""
    if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
        return _HtmlText(text).plain_text()
    return text


def _utf16_len(text: str) -> int:
    """Entity offsets and lengths are measured in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _decode(name: str, value: Any) -> Any:
    """Turns a form value back into what the Bot API field means (PTB JSON-encodes non-strings)."""
    if not isinstance(value, str):
        return value
    if name in _CHAT_ID_FIELDS:
        return int(value) if _INT_RE.fullmatch(value) else value
    if name in _JSON_FIELDS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


async def _read_params(request: web.Request) -> JSONDict:
    from aiohttp import web

    raw: JSONDict = dict(request.query)
    if request.content_type == "application/json":
        raw.update(await request.json())
    elif request.body_exists:
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                raw[name] = Upload(value.filename, value.file.read(), value.content_type)
            else:
                raw[name] = value
    return {name: _decode(name, value) for name, value in raw.items()}


def _public(message: JSONDict) -> JSONDict:
    """A recorded message as Telegram sends it: no bookkeeping keys, only inline markup."""
    public = {
        key: value for key, value in message.items() if not key.startswith("_") and key not in ("edits", "reply_markup")
    }
    if inline := _inline_markup(message.get("reply_markup")):
        public["reply_markup"] = inline
    return public


def _inline_markup(markup: Any) -> JSONDict | None:
    """Telegram only echoes non-empty inline keyboards back on a Message."""
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return markup
    return None


def _message_id(params: JSONDict) -> int:
    message_id = params.get("message_id")
    if not isinstance(message_id, int):
        raise _bad_request("message identifier is not specified")
    return message_id


def _chat_member(user: JSONDict, status: str) -> JSONDict:
    """A ChatMember of the given status with every field the Bot API marks as required."""
    member: JSONDict = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(can_be_edited=False, is_anonymous=False)
        member.update(dict.fromkeys(_ADMIN_RIGHTS, True))
    elif status == "restricted":
        member.update(is_member=True, until_date=0)
        member.update(dict.fromkeys(_RESTRICTED_RIGHTS, False))
    elif status == "kicked":
        member["until_date"] = 0
    return member


class Observer(Protocol):
    """Who watches what the bot shows (the demo's terminal): each message as it is sent or edited."""

    def message(self, message: JSONDict, *, edited: bool) -> None: ...

    def buttons_changed(self, message: JSONDict) -> None: ...

    def notice(self, text: str) -> None: ...


class FakeBotApi:
    """In-process Telegram Bot API: records calls, queues updates, injects faults."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "HingeCoachBot",
        *,
        limits: RateLimits | None = None,
    ) -> None:
        self.token = token
        self.bot_user: JSONDict = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Hinge Coach",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }
        self.calls: list[Call] = []
        self.observer: Observer | None = None
        # (method, description) of every request refused with 400, as Telegram would refuse it
        self.refusals: list[tuple[str, str]] = []
        self.callback_answers: dict[str, JSONDict] = {}
        self.inline_answers: dict[str, JSONDict] = {}
        self.rate_limited_count = 0
        self.faults_injected: Counter[str] = Counter()

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = asyncio.Event()
        self._wakeup = asyncio.Event()

        self._updates: list[JSONDict] = []
        self._last_update_id = 0
        self._allowed_updates: frozenset[str] | None = None
        self._webhook: JSONDict | None = None
        self._query_ids = 0
        self._open_callback_queries: set[str] = set()
        self._open_inline_queries: set[str] = set()

        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, JSONDict] = {}
        self._bot_status: dict[int, str] = {}
        self._admins: dict[int, list[JSONDict]] = {}
        self._member_status: dict[tuple[int, int], str] = {}
        self._member_counts: dict[int, int] = {}
        self._migrated: dict[int, int] = {}
        self._last_message_id: defaultdict[int, int] = defaultdict(int)
        self._sent: defaultdict[int, list[JSONDict]] = defaultdict(list)
        self._bot_messages: dict[tuple[int, int], JSONDict] = {}
        self._user_messages: set[tuple[int, int]] = set()
        self._deleted: set[tuple[int, int]] = set()
        self._files: dict[str, Upload] = {}
        self._file_count = 0
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._menu_buttons: dict[int | None, JSONDict] = {}
        self._descriptions: dict[tuple[str, str], str] = {}  # (kind, language code) -> text

        self._faults: list[_QueuedFault] = []
        self._fault_table: list[tuple[float, _Fault]] = []
        self._fault_methods: frozenset[str] = frozenset()
        self._random = random.Random(0)
        self._limits = limits
        self._global_hits: deque[float] = deque()
        self._paid_hits: deque[float] = deque()
        self._chat_hits: defaultdict[int, deque[float]] = defaultdict(deque)
        self._group_hits: defaultdict[int, deque[float]] = defaultdict(deque)

        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_my_description,
            "getMyDescription": self._get_my_description,
            "setMyShortDescription": self._set_my_short_description,
            "getMyShortDescription": self._get_my_short_description,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "getChatMemberCount": self._get_chat_member_count,
            "getFile": self._get_file,
        }
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Serve over HTTP on 127.0.0.1 (the tests); the demo talks in process instead."""
        from aiohttp import web

        app = web.Application(client_max_size=_MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Releases long polls and delayed answers first, so shutdown never waits on them."""
        if self._runner is None:
            return
        self._closing.set()
        self._wake()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """In PTB's ``base_url`` form: PTB appends the token itself."""
        return f"{self._origin()}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self._origin()}/file/bot"

    def _origin(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeBotApi is not started; call start() first")
        return f"http://127.0.0.1:{self._port}"

    # ----------------------------------------------------------------- records and waits

    def bot_message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """One of the bot's messages, in its latest form, with whatever markup it was sent with."""
        return self._bot_messages.get((chat_id, message_id))

    async def quiet(self, seconds: float, limit: float) -> None:
        """Wait (at most `limit` seconds) until the bot took every update and has made no call but
        a long poll for `seconds`: it has answered everything (the demo's piped input)."""
        deadline = time.monotonic() + limit

        def last_call() -> float:
            return next((call.at for call in reversed(self.calls) if call.method != "getUpdates"), 0.0)

        # Quiet is an absence of calls, which no event signals: look every tenth of a second.
        while time.monotonic() < deadline and (self._updates or time.monotonic() - last_call() < seconds):  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    def messages_to(self, chat_id: int) -> list[JSONDict]:
        """Every message the bot sent to the chat, in order, each in its latest (edited) form."""
        return list(self._sent.get(chat_id, []))

    def counts_per_chat(self) -> dict[int, int]:
        return {chat_id: len(messages) for chat_id, messages in self._sent.items()}

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        name = getattr(predicate, "__qualname__", repr(predicate))
        await self._wait(predicate, timeout, lambda: f"condition {name} not met")

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[JSONDict]:
        def describe() -> str:
            texts = [m.get("text", m.get("caption")) for m in self.messages_to(chat_id)]
            return f"expected {count} message(s) to chat {chat_id}, got {len(texts)}: {texts}"

        await self._wait(lambda: len(self._sent.get(chat_id, [])) >= count, timeout, describe)
        return self.messages_to(chat_id)

    async def _wait(self, predicate: Callable[[], bool], seconds: float, describe: Callable[[], str]) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            if time.monotonic() >= deadline:
                recent = ", ".join(call.method for call in self.calls[-10:]) or "none"
                raise AssertionError(f"{describe()} within {seconds}s; last calls: {recent}")
            await asyncio.sleep(0.01)

    # ----------------------------------------------------------------- chats and users

    def user(
        self,
        user_id: int,
        first_name: str = "Alex",
        username: str | None = None,
        language_code: str | None = "en",
    ) -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username is not None:
            user["username"] = username
        if language_code is not None:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def add_chat(
        self,
        chat_id: int,
        type: str,  # noqa: A002 - the Bot API's name
        title: str,
        is_forum: bool = False,
        *,
        member_count: int = 2,
    ) -> JSONDict:
        chat: JSONDict = {"id": chat_id, "type": type, "title": title}
        if is_forum:
            chat["is_forum"] = True
        self._member_counts[chat_id] = member_count
        return self._remember_chat(chat)

    def set_admins(self, chat_id: int, admins: list[JSONDict]) -> None:
        self._admins[chat_id] = list(admins)

    def set_member_status(self, chat_id: int, user: JSONDict, status: str) -> None:
        """What getChatMember says about this user in this chat ("left", "kicked", "restricted"...);
        everyone not set is a member."""
        self._member_status[(chat_id, user["id"])] = status

    def _remember_chat(self, chat: JSONDict) -> JSONDict:
        self._chats[chat["id"]] = chat
        return chat

    def private_chat(self, user: JSONDict) -> JSONDict:
        """The user's chat with the bot, e.g. for ``my_chat_member`` when the user blocks it."""
        chat: JSONDict = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        if "username" in user:
            chat["username"] = user["username"]
        return self._remember_chat(chat)

    # ----------------------------------------------------------------- update injection

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queues a raw update for getUpdates; assigns ``update_id`` when missing."""
        if "update_id" not in update:
            update = {"update_id": self._last_update_id + 1, **update}
        self._last_update_id = max(self._last_update_id, update["update_id"])
        self._updates.append(update)
        self._wake()
        return update

    def send_text(
        self,
        user: JSONDict,
        text: str,
        chat: JSONDict | None = None,
        message_thread_id: int | None = None,
    ) -> JSONDict:
        fields: JSONDict = {"from": user, "text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
        chat = self._remember_chat(chat) if chat else self.private_chat(user)
        if message_thread_id is not None:
            fields["message_thread_id"] = message_thread_id
            if chat.get("is_forum"):
                fields["is_topic_message"] = True
        return self.push_update({"message": self._incoming_message(chat, fields)})

    def press_button(self, user: JSONDict, message: JSONDict, data: str, chat_instance: str = "ci-1") -> JSONDict:
        query_id = self._new_query_id()
        self._open_callback_queries.add(query_id)
        query = {
            "id": query_id,
            "from": user,
            "message": _public(message),
            "chat_instance": chat_instance,
            "data": data,
        }
        return self.push_update({"callback_query": query})

    def send_document(
        self, user: JSONDict, file_name: str, data: bytes, mime_type: str = "text/csv", *, file_size: int | None = None
    ) -> JSONDict:
        """A file the user sends in private; the bot fetches it with getFile and a download.
        `file_size` overrides the size announced in the update (Telegram's may be missing or wrong)."""
        file_id = self._new_file_id("document")
        self._files[file_id] = Upload(file_name, data, mime_type)
        document = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data) if file_size is None else file_size,
        }
        message = self._incoming_message(self.private_chat(user), {"from": user, "document": document})
        return self.push_update({"message": message})

    def share_location(self, user: JSONDict, latitude: float, longitude: float) -> JSONDict:
        location = {"latitude": latitude, "longitude": longitude}
        message = self._incoming_message(self.private_chat(user), {"from": user, "location": location})
        return self.push_update({"message": message})

    def inline_query(self, user: JSONDict, query: str, offset: str = "") -> JSONDict:
        query_id = self._new_query_id()
        self._open_inline_queries.add(query_id)
        inline = {"id": query_id, "from": user, "query": query, "offset": offset}
        return self.push_update({"inline_query": inline})

    def my_chat_member(self, chat: JSONDict, from_user: JSONDict, old_status: str, new_status: str) -> JSONDict:
        """Also makes the fake enforce the new status ("kicked" in private = blocked)."""
        self._remember_chat(chat)
        self._bot_status[chat["id"]] = new_status
        change = {
            "chat": chat,
            "from": from_user,
            "date": int(time.time()),
            "old_chat_member": _chat_member(self.bot_user, old_status),
            "new_chat_member": _chat_member(self.bot_user, new_status),
        }
        return self.push_update({"my_chat_member": change})

    def channel_post(self, chat: JSONDict, text: str) -> JSONDict:
        message = self._incoming_message(self._remember_chat(chat), {"sender_chat": chat, "text": text})
        return self.push_update({"channel_post": message})

    def migrate_group(self, old_chat_id: int, new_chat_id: int, from_user: JSONDict | None = None) -> JSONDict:
        """Returns the old chat's update; later writes to the old id fail like ChatMigrated."""
        old = self._chats.get(old_chat_id) or self.add_chat(old_chat_id, "group", "Group")
        new = self.add_chat(new_chat_id, "supergroup", old.get("title", "Group"))
        if old_chat_id in self._bot_status:
            self._bot_status[new_chat_id] = self._bot_status[old_chat_id]
        sender = from_user or _ANONYMOUS_ADMIN
        to_new = self._incoming_message(old, {"from": sender, "migrate_to_chat_id": new_chat_id})
        from_old = self._incoming_message(new, {"from": sender, "migrate_from_chat_id": old_chat_id})
        self._migrated[old_chat_id] = new_chat_id
        update = self.push_update({"message": to_new})
        self.push_update({"message": from_old})
        return update

    def _new_query_id(self) -> str:
        self._query_ids += 1
        return f"{self._query_ids:019d}"

    def _incoming_message(self, chat: JSONDict, fields: JSONDict) -> JSONDict:
        message = self._new_message(chat, fields)
        self._user_messages.add((chat["id"], message["message_id"]))
        return message

    def _new_message(self, chat: JSONDict, fields: JSONDict) -> JSONDict:
        """Message ids are per chat and shared by both directions, as in Telegram."""
        self._last_message_id[chat["id"]] += 1
        message_id = self._last_message_id[chat["id"]]
        return {"message_id": message_id, "date": int(time.time()), "chat": chat, **fields}

    def _wake(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    # ----------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        error = ApiError(error_code, description, parameters)
        self._queue_fault(method, times, _Fault(str(error_code), error=error), chat_id)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """The call still takes effect; only the answer is late, like a lost response."""
        self._queue_fault(method, times, _Fault("delay", delay=seconds))

    def drop_next(self, method: str, times: int = 1) -> None:
        """The call takes effect, then the connection closes without an answer."""
        self._queue_fault(method, times, _Fault("drop", drop=True))

    def fault_rates(
        self,
        *,
        seed: int = 0,
        methods: tuple[str, ...] = ("sendMessage",),
        timeout_delay: float = 2.0,
        **rates: float,
    ) -> None:
        """Random faults, e.g. ``fault_rates(**{"429": 0.01, "timeout": 0.005})``.

        Kinds: "429", "500", "403", "timeout" (answer held for ``timeout_delay`` s), "drop".
        Seeded, so a failing run can be replayed.
        """
        kinds = {
            "429": _Fault("429", error=_too_many_requests(1)),
            "500": _Fault("500", error=ApiError(500, "Internal Server Error")),
            "403": _Fault("403", error=ApiError(403, "Forbidden: bot was blocked by the user")),
            "timeout": _Fault("timeout", delay=timeout_delay),
            "drop": _Fault("drop", drop=True),
        }
        if unknown := set(rates) - set(kinds):
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {sorted(kinds)}")
        if sum(rates.values()) > 1:
            raise ValueError("fault probabilities add up to more than 1")
        self._random = random.Random(seed)
        self._fault_methods = frozenset(method.lower() for method in methods)
        self._fault_table = [(rate, kinds[kind]) for kind, rate in rates.items()]

    def clear_faults(self) -> None:
        """Forget queued and random faults: the server behaves again (e.g. after a simulated crash)."""
        self._faults.clear()
        self._fault_table = []

    def _queue_fault(self, method: str, times: int, fault: _Fault, chat_id: int | None = None) -> None:
        self._faults.append(_QueuedFault(method.lower(), chat_id, times, fault))

    def _take_fault(self, method: str, params: JSONDict) -> _Fault | None:
        """Queued faults first (in order), then the random ones."""
        for queued in self._faults:
            if queued.method == method.lower() and queued.chat_id in (None, params.get("chat_id")):
                queued.remaining -= 1
                if queued.remaining <= 0:
                    self._faults.remove(queued)
                self.faults_injected[queued.fault.label] += 1
                return queued.fault
        if method.lower() not in self._fault_methods:
            return None
        roll = self._random.random()
        for rate, fault in self._fault_table:
            roll -= rate
            if roll < 0:
                self.faults_injected[fault.label] += 1
                return fault
        return None

    def _check_rate_limits(self, method: str, params: JSONDict) -> None:
        """Sliding windows over accepted sends; a request over any limit is refused, not counted."""
        if self._limits is None or method not in _RATE_LIMITED_METHODS:
            return
        limits, chat_id, now = self._limits, params.get("chat_id"), time.monotonic()
        if params.get("allow_paid_broadcast"):
            windows = [(self._paid_hits, limits.paid_per_second, 1.0)]
        else:
            windows = [(self._global_hits, limits.global_per_second, 1.0)]
        if isinstance(chat_id, int):
            windows.append((self._chat_hits[chat_id], limits.per_chat_per_second, 1.0))
            if chat_id < 0:
                windows.append((self._group_hits[chat_id], limits.per_group_per_minute, 60.0))
        active = [(hits, limit, period) for hits, limit, period in windows if limit is not None]
        wait = 0.0
        for hits, limit, period in active:
            while hits and hits[0] <= now - period:
                hits.popleft()
            if len(hits) >= limit:
                wait = max(wait, hits[0] + period - now)
        if wait > 0:
            self.rate_limited_count += 1
            raise _too_many_requests(max(1, math.ceil(wait)))
        for hits, _, _ in active:
            hits.append(now)

    # ----------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        params = await _read_params(request)
        status, body, fault = await self.answer(request.match_info["token"], request.match_info["method"], params)
        if fault is not None and fault.drop and request.transport is not None:
            request.transport.close()
        return web.json_response(body, status=status)

    async def answer(self, token: str, raw_method: str, params: JSONDict) -> tuple[int, JSONDict, _Fault | None]:
        """One Bot API request, however it came: (HTTP status, JSON body, the fault injected)."""
        method, handler = self._methods.get(raw_method.lower(), (raw_method, None))
        self.calls.append(Call(method, params, time.monotonic()))
        fault = None
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            fault = self._take_fault(method, params)
            if fault is not None and fault.error is not None:
                return fault.error.code, fault.error.body(), fault
            self._check_rate_limits(method, params)
            result = await handler(params)
        except ApiError as error:
            if error.code == 400:
                self.refusals.append((method, error.description))
            return error.code, error.body(), fault
        if fault is not None and fault.delay:
            await self._sleep(fault.delay)
        return 200, {"ok": True, "result": result}, fault

    async def _sleep(self, seconds: float) -> None:
        """Sleeps, but never past stop()."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    # ----------------------------------------------------------------- chat resolution

    def _chat_for(self, chat_id: Any) -> JSONDict:
        """Known chats; unknown positive ids are private chats (tests often seed users directly)."""
        if isinstance(chat_id, int):
            if chat_id in self._migrated:
                raise ApiError(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    {"migrate_to_chat_id": self._migrated[chat_id]},
                )
            if chat_id in self._chats:
                return self._chats[chat_id]
            if chat_id > 0:
                name = self._users.get(chat_id, {}).get("first_name", "User")
                return self._remember_chat({"id": chat_id, "type": "private", "first_name": name})
        raise _bad_request("chat not found")

    def _writable_chat(self, params: JSONDict) -> JSONDict:
        chat = self._chat_for(params.get("chat_id"))
        status, kind = self._bot_status.get(chat["id"]), chat["type"]
        if status == "kicked":
            if kind == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if status == "left" and kind != "private":
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        return chat

    # ----------------------------------------------------------------- methods: bot and updates

    async def _true(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return self.bot_user

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        """Long poll: answers once something is deliverable or ``timeout`` (capped) elapses."""
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        offset = params.get("offset")
        if isinstance(offset, int):
            self._confirm_updates(offset)
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        deadline = time.monotonic() + min(max(float(params.get("timeout", 0)), 0), _LONG_POLL_CAP)
        while True:
            ready = self._deliverable()[:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing.is_set():
                return ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), remaining)

    def _confirm_updates(self, offset: int) -> None:
        """Positive offsets confirm older updates; negative ones keep only the last -offset."""
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _deliverable(self) -> list[JSONDict]:
        """Drops updates of types the bot did not subscribe to: Telegram never sends those."""

        def wanted(update: JSONDict) -> bool:
            kind = next(key for key in update if key != "update_id")
            if self._allowed_updates is None:
                return kind not in _OPT_IN_UPDATES
            return kind in self._allowed_updates

        self._updates = [update for update in self._updates if wanted(update)]
        return self._updates

    async def _set_webhook(self, params: JSONDict) -> bool:
        url = params.get("url", "")
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        self._webhook = {"url": url, "max_connections": params.get("max_connections", 40)}
        return True

    async def _delete_webhook(self, params: JSONDict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = None
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
            **(self._webhook or {}),
        }
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    # ----------------------------------------------------------------- methods: commands, menu

    @staticmethod
    def _commands_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code", "")

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            if not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = commands
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return self._commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _describe(self, kind: str, limit: int, params: JSONDict) -> bool:
        text = str(params.get(kind) or "")
        if len(text) > limit:
            raise _bad_request(f"{kind.upper()}_INVALID")
        self._descriptions[(kind, params.get("language_code", ""))] = text
        return True

    async def _set_my_description(self, params: JSONDict) -> bool:
        return self._describe("description", 512, params)

    async def _get_my_description(self, params: JSONDict) -> JSONDict:
        return {"description": self._descriptions.get(("description", params.get("language_code", "")), "")}

    async def _set_my_short_description(self, params: JSONDict) -> bool:
        return self._describe("short_description", 120, params)

    async def _get_my_short_description(self, params: JSONDict) -> JSONDict:
        key = ("short_description", params.get("language_code", ""))
        return {"short_description": self._descriptions.get(key, "")}

    async def _set_chat_menu_button(self, params: JSONDict) -> bool:
        self._menu_buttons[params.get("chat_id")] = params.get("menu_button", {"type": "default"})
        return True

    async def _get_chat_menu_button(self, params: JSONDict) -> JSONDict:
        chat_id = params.get("chat_id")
        return self._menu_buttons.get(chat_id, self._menu_buttons.get(None, {"type": "default"}))

    # ----------------------------------------------------------------- methods: messages

    def _bot_message(self, chat: JSONDict, params: JSONDict, content: JSONDict) -> JSONDict:
        sender = {"sender_chat": chat} if chat["type"] == "channel" else {"from": self.bot_user}
        message = self._new_message(chat, {**sender, **content})
        if "message_thread_id" in params:
            message["message_thread_id"] = params["message_thread_id"]
            if chat.get("is_forum"):
                message["is_topic_message"] = True
        message["reply_markup"] = params.get("reply_markup")  # any kind, or None: tests check it
        message["edits"] = 0
        self._sent[chat["id"]].append(message)
        self._bot_messages[(chat["id"], message["message_id"])] = message
        return message

    @staticmethod
    def _checked_text(params: JSONDict) -> str:
        text = str(params.get("text", ""))
        plain = _plain_text(text, params.get("parse_mode"))
        if not plain.strip():
            raise _bad_request("message text is empty")
        if len(plain) > 4096:
            raise _bad_request("message is too long")
        return text

    async def _send_message(self, params: JSONDict) -> JSONDict:
        chat = self._writable_chat(params)
        content: JSONDict = {"text": self._checked_text(params)}
        if params.get("entities"):
            content["entities"] = params["entities"]
        message = self._bot_message(chat, params, content)
        if self.observer is not None:
            self.observer.message(message, edited=False)
        return _public(message)

    def _editable(self, params: JSONDict) -> JSONDict:
        chat = self._writable_chat(params)
        key = (chat["id"], _message_id(params))
        message = self._bot_messages.get(key)
        if message is None or key in self._deleted:
            raise _bad_request("message to edit not found")
        return message

    @staticmethod
    def _edited(message: JSONDict) -> JSONDict:
        message["edit_date"] = int(time.time())
        message["edits"] += 1
        return _public(message)

    async def _edit_message_text(self, params: JSONDict) -> JSONDict:
        message = self._editable(params)
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        text = self._checked_text(params)
        entities, markup = params.get("entities"), params.get("reply_markup")
        if (text, entities, _inline_markup(markup)) == (
            message["text"],
            message.get("entities"),
            _inline_markup(message["reply_markup"]),
        ):
            raise _bad_request(_NOT_MODIFIED)
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        message.update(text=text, reply_markup=markup)
        if self.observer is not None:
            self.observer.message(message, edited=True)
        return self._edited(message)

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        message = self._editable(params)
        markup = params.get("reply_markup")
        if _inline_markup(markup) == _inline_markup(message["reply_markup"]):
            raise _bad_request(_NOT_MODIFIED)
        message["reply_markup"] = markup
        if self.observer is not None:
            self.observer.buttons_changed(message)
        return self._edited(message)

    async def _delete_message(self, params: JSONDict) -> bool:
        chat = self._chat_for(params.get("chat_id"))
        key = (chat["id"], _message_id(params))
        known = key in self._bot_messages or key in self._user_messages
        if not known or key in self._deleted:
            raise _bad_request("message to delete not found")
        self._deleted.add(key)
        if key in self._bot_messages:
            self._bot_messages[key]["_deleted"] = True
        return True

    def _file(self, params: JSONDict, name: str) -> tuple[str, Upload | None]:
        """Resolves an upload, a file_id sent earlier, or a URL into (file_id, upload)."""
        value = params.get(name)
        if isinstance(value, Upload):
            file_id = self._new_file_id(name)
            self._files[file_id] = value
            return file_id, value
        if isinstance(value, str) and value in self._files:
            return value, self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self._new_file_id(name), None
        if value is None:
            raise _bad_request(f"there is no {name} in the request")
        raise _bad_request("wrong file identifier/HTTP URL specified")

    def _new_file_id(self, kind: str) -> str:
        self._file_count += 1
        return f"fake-{kind}-{self._file_count}"

    def _caption(self, params: JSONDict) -> JSONDict:
        caption = params.get("caption")
        if caption is None:
            return {}
        if len(_plain_text(str(caption), params.get("parse_mode"))) > 1024:
            raise _bad_request("message caption is too long")
        content: JSONDict = {"caption": caption}
        if params.get("caption_entities"):
            content["caption_entities"] = params["caption_entities"]
        return content

    def _file_message(self, chat: JSONDict, params: JSONDict, content: JSONDict, upload: Upload | None) -> JSONDict:
        message = self._bot_message(chat, params, {**content, **self._caption(params)})
        message["_file_bytes"] = upload.data if upload else None
        message["_file_name"] = upload.file_name if upload else None
        if self.observer is not None:
            self.observer.message(message, edited=False)
        return _public(message)

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        chat = self._writable_chat(params)
        file_id, upload = self._file(params, "photo")
        size = len(upload.data) if upload else 0
        photo = [
            {"file_id": f"{file_id}-s", "file_unique_id": f"u-{file_id}-s", "width": 90,
             "height": 90, "file_size": min(size, 1024)},
            {"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": 800, "height": 800,
             "file_size": size},
        ]  # fmt: skip
        return self._file_message(chat, params, {"photo": photo}, upload)

    async def _send_document(self, params: JSONDict) -> JSONDict:
        chat = self._writable_chat(params)
        file_id, upload = self._file(params, "document")
        document: JSONDict = {"file_id": file_id, "file_unique_id": f"u-{file_id}"}
        if upload:
            document.update(
                file_name=upload.file_name,
                mime_type=upload.content_type,
                file_size=len(upload.data),
            )
        return self._file_message(chat, params, {"document": document}, upload)

    async def _get_file(self, params: JSONDict) -> JSONDict:
        file_id = params.get("file_id")
        if file_id not in self._files:
            raise _bad_request("invalid file_id")
        upload = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(upload.data),
            "file_path": f"documents/{file_id}",
        }

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """The Bot API's file download: /file/bot<token>/<file_path>."""
        from aiohttp import web

        file_id = request.match_info["path"].removeprefix("documents/")
        if request.match_info["token"] != self.token or file_id not in self._files:
            return web.Response(status=404)
        return web.Response(body=self._files[file_id].data, content_type="application/octet-stream")

    async def _send_chat_action(self, params: JSONDict) -> bool:
        self._writable_chat(params)
        return True

    # ----------------------------------------------------------------- methods: queries

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = params.get("callback_query_id")
        if query_id not in self._open_callback_queries:
            raise _bad_request(_QUERY_TOO_OLD)
        self._open_callback_queries.discard(query_id)
        self.callback_answers[query_id] = params
        if self.observer is not None and params.get("text"):
            self.observer.notice(str(params["text"]))
        return True

    async def _answer_inline_query(self, params: JSONDict) -> bool:
        query_id = params.get("inline_query_id")
        if query_id not in self._open_inline_queries:
            raise _bad_request(_QUERY_TOO_OLD)
        if not isinstance(params.get("results"), list):
            raise _bad_request("can't parse inline query results JSON object")
        self._open_inline_queries.discard(query_id)
        self.inline_answers[query_id] = params
        return True

    # ----------------------------------------------------------------- methods: chat info

    async def _get_chat(self, params: JSONDict) -> JSONDict:
        chat = self._chat_for(params.get("chat_id"))
        gift_types = dict.fromkeys(
            ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
             "gifts_from_channels"),
            True,
        )  # fmt: skip
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gift_types,
        }

    async def _get_chat_member(self, params: JSONDict) -> JSONDict:
        chat = self._chat_for(params.get("chat_id"))
        user_id = params.get("user_id")
        if user_id == self.bot_user["id"]:
            return _chat_member(self.bot_user, self._bot_status.get(chat["id"], "member"))
        for admin in self._admins.get(chat["id"], []):
            if admin["id"] == user_id:
                return _chat_member(admin, "administrator")
        user = self._users.get(user_id) if isinstance(user_id, int) else None
        status = self._member_status.get((chat["id"], user_id), "member")
        return _chat_member(user or {"id": user_id, "is_bot": False, "first_name": "User"}, status)

    async def _get_chat_administrators(self, params: JSONDict) -> list[JSONDict]:
        chat = self._chat_for(params.get("chat_id"))
        if chat["type"] == "private":
            raise _bad_request("there are no administrators in the private chat")
        return [_chat_member(admin, "administrator") for admin in self._admins.get(chat["id"], [])]

    async def _get_chat_member_count(self, params: JSONDict) -> int:
        chat = self._chat_for(params.get("chat_id"))
        return self._member_counts.get(chat["id"], 2)


class InProcessRequest(BaseRequest):
    """python-telegram-bot's HTTP layer replaced by direct calls into a `FakeBotApi`: the real
    Application, handlers and delivery engine run unchanged, with no port and no network."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to open: there is no connection."""

    async def shutdown(self) -> None:
        """Wake a waiting long poll so the bot can stop at once."""
        self.api._wake()

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
        head, name = url.rsplit("/", 1)  # .../bot<token>/<method>
        token = head.rsplit("/", 1)[-1].removeprefix("bot")
        params: JSONDict = {}
        if request_data is not None:
            params = {key: _decode(key, value) for key, value in request_data.parameters.items()}
            for key, (file_name, content, content_type) in request_data.multipart_data.items():
                data = content if isinstance(content, bytes) else content.read()
                params[key] = Upload(file_name or key, data, content_type or "application/octet-stream")
        status, body, _ = await self.api.answer(token, name, params)
        return status, json.dumps(body).encode()
