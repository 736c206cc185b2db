"""The lean path of the lesson fan-out: what a lesson costs the bot beyond Telegram's own work.

Through python-telegram-bot a lesson cost milliseconds of CPU: rendered and split again for every
person, its buttons built as objects, its parameters form-encoded, posted over httpx (whose pool
walk grows with the connections in flight) and its answer turned into a `Message`. Here:

- each distinct lesson variant of a fan-out (day, profile, how the check-ins adapt it) is rendered
  once and serialised once, as JSON with gaps where the person's ids go (`LessonTemplates`);
- the body is posted over a keep-alive pool of our own (`LeanRequest`, a python-telegram-bot
  `BaseRequest`, over bot/delivery/keepalive.py), and only the message id is read from the answer
  (msgspec);
- pacing and errors are as for every other send: the paced fan-out (bot/delivery/paced.py) takes
  its slots from the same `RateLimiter` (one budget for lessons and replies), and
  `BaseRequest.post` turns an error answer into the same exceptions (403 Forbidden, 429
  RetryAfter, 5xx NetworkError), so the engine handles a lean send's faults as any other's.

The measurements behind the client and msgspec are `benchmarks/transport.py` (README, "Scaling and
reliability"). Replies to people, group lessons and nudges keep going through python-telegram-bot.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.delivery.compose import LessonComposer, past_answers  # isort: split

# (first: bot.callback_data and bot.content import each other, and only work with bot.content first)
from bot.callback_data import MAX_ROW_ID
from bot.delivery.keepalive import AnswerLost, Connect, ConnectError, KeepAlivePool
from bot.domain.checkin import Adaptation, PastAnswer, adapt_next_lesson
from bot.language import current_language
from bot.storage.deliveries import ClaimedLesson

# Stand-ins for a person's ids while a variant is rendered: row ids never reach them (callback data
# bounds ids by MAX_ROW_ID), and they are cut out of the buttons' JSON only, never out of the text.
ENROLLMENT_GAP = MAX_ROW_ID
ANSWER_GAP = MAX_ROW_ID - 1
_GAPS = re.compile(rb"(%d|%d)" % (ENROLLMENT_GAP, ANSWER_GAP))
_ENCODE = msgspec.json.Encoder().encode
CONNECT_TIMEOUT_SECONDS = 5.0  # python-telegram-bot's default, for a new connection or a free one of the pool
KEEPALIVE_SECONDS = 15.0  # an idle connection is closed by us before a server closes it under a request


class PreparedMessage(RequestData):
    """A Bot API call whose JSON body is already built: `json_payload` is all `LeanRequest` posts."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self._body = body

    @property
    def json_payload(self) -> bytes:
        return self._body


class _Sent(msgspec.Struct):
    message_id: int


class _Answer(msgspec.Struct):
    """What the engine reads of a Bot API answer; the rest is skipped unparsed."""

    ok: bool
    result: _Sent | None = None
    description: str | None = None
    parameters: dict | None = None


_DECODE = msgspec.json.Decoder(_Answer).decode


class LeanRequest(BaseRequest):
    """python-telegram-bot's HTTP interface over a keep-alive pool (bot/delivery/keepalive.py),
    posting JSON bodies and reading sendMessage answers. Its `post` is `BaseRequest.post`: the
    status codes and the error answer become python-telegram-bot's exceptions there. Transport
    faults become `TimedOut` and `NetworkError` with the pool's fault as their cause, which
    `may_have_arrived` reads."""

    def __init__(self, *, url: str, connections: int, read_timeout: float | None, connect: Connect | None = None):
        self._url = url  # the pool connects to its origin
        self._connections = connections
        self._read_timeout = read_timeout
        self._connect = connect
        self._pool: KeepAlivePool | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._pool is None:
            self._pool = KeepAlivePool(
                self._url,
                connections=self._connections,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                read_timeout=self._read_timeout,
                idle_seconds=KEEPALIVE_SECONDS,
                connect=self._connect,
            )

    async def shutdown(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict:
        try:
            answer = _DECODE(payload)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise TelegramError("Invalid server response") from exc
        return {
            "ok": answer.ok,
            "result": answer.result,
            "description": answer.description,
            "parameters": answer.parameters,
        }

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._pool is None or request_data is None or request_data.contains_files:
            raise NetworkError("LeanRequest posts JSON bodies, once initialized")
        try:
            return await self._pool.post(url, request_data.json_payload)
        except ConnectError as exc:  # no connection: the request never left
            if isinstance(exc.__cause__, TimeoutError):
                raise TimedOut(f"Pool timeout: {exc}") from exc
            raise NetworkError(f"ConnectError: {exc}") from exc
        except TimeoutError as exc:  # sent, no answer in time
            raise TimedOut from exc
        except AnswerLost as exc:
            raise NetworkError(f"AnswerLost: {exc}") from exc


@dataclass(frozen=True)
class _Template:
    """One message of a lesson variant as JSON bytes: `pieces` around gaps, each gap a person's
    enrollment id or answer id (`gaps`, the matching placeholder), after the chat id."""

    pieces: tuple[bytes, ...]
    gaps: tuple[int, ...]

    def fill(self, chat_id: int, enrollment_id: int, answer_id: int | None) -> PreparedMessage:
        ids = {ENROLLMENT_GAP: b"%d" % enrollment_id, ANSWER_GAP: b"%d" % (answer_id or 0)}
        parts = [b'{"chat_id":%d,' % chat_id, self.pieces[0]]
        for gap, piece in zip(self.gaps, self.pieces[1:], strict=True):
            parts += (ids[gap], piece)
        return PreparedMessage(b"".join(parts))


def _variant(item: ClaimedLesson) -> tuple[tuple, Adaptation, int | None]:
    """What a person's lesson depends on besides their ids (the variant's key: the language being
    spoken, the recipient's, comes first), the adaptation to render it with (their ids replaced by
    the gaps, nothing of theirs the key lacks), and the id of the answer whose "did it help?" it asks."""
    adaptation = adapt_next_lesson(past_answers(item.history), item.day)
    fix = adaptation.ask_fix
    fixed = fix and (fix.day, fix.advice, fix.effect)
    key = (current_language.get(), item.day, item.profile, adaptation.kind, adaptation.advice, fixed)
    masked = None
    if fix is not None:
        masked = PastAnswer(ANSWER_GAP, fix.day, fix.advice, fix.effect, datetime.min.replace(tzinfo=UTC))
    return key, Adaptation(adaptation.kind, adaptation.advice, masked), fix and fix.answer_id


class LessonTemplates:
    """The private lessons of one fan-out, each distinct variant rendered and serialised once."""

    def __init__(self, composer: LessonComposer, *, paid: bool) -> None:
        self._composer = composer
        self._options = {"parse_mode": ParseMode.HTML.value, "link_preview_options": {"is_disabled": True}}
        if paid:
            self._options["allow_paid_broadcast"] = True
        self._variants: dict[tuple, list[_Template]] = {}

    def messages(self, item: ClaimedLesson) -> list[PreparedMessage]:
        key, adaptation, answer_id = _variant(item)
        templates = self._variants.get(key)
        if templates is None:
            templates = self._variants[key] = self._render(item, adaptation)
        return [template.fill(item.chat_id, item.enrollment_id, answer_id) for template in templates]

    def _render(self, item: ClaimedLesson, adaptation: Adaptation) -> list[_Template]:
        outgoing = self._composer.private_lesson(
            enrollment_id=ENROLLMENT_GAP, day=item.day, profile=item.profile, adaptation=adaptation
        )
        templates = []
        for message in outgoing:
            body = _ENCODE({"text": message.text, **self._options})[1:-1]
            if message.markup is None:
                templates.append(_Template((body + b"}",), ()))
                continue
            markup = _GAPS.split(_ENCODE(message.markup.to_dict()))
            pieces = [body + b',"reply_markup":' + markup[0], *markup[2::2]]
            pieces[-1] += b"}"
            templates.append(_Template(tuple(pieces), tuple(int(gap) for gap in markup[1::2])))
        return templates


class LeanFanOut:
    """One fan-out's lean sends: its lesson templates and a keep-alive pool, open while it runs.
    Pacing is the caller's (bot/delivery/paced.py), from the bot's rate limiter."""

    def __init__(
        self,
        bot: Bot,
        composer: LessonComposer,
        *,
        paid: bool,
        connections: int,
        connect: Connect | None = None,
    ) -> None:
        self.templates = LessonTemplates(composer, paid=paid)
        self._url = f"{bot.base_url}/sendMessage"
        self._request = LeanRequest(
            url=self._url, connections=connections, read_timeout=bot.request.read_timeout, connect=connect
        )

    async def __aenter__(self) -> LeanFanOut:
        await self._request.initialize()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._request.shutdown()
        await asyncio.sleep(0)  # let the pool's connections finish closing

    def post(self, message: PreparedMessage) -> Coroutine[Any, Any, _Sent]:
        """Post one prepared message (in its slot of the shared budget: the caller's to take); the
        answer's result, with its message id. An error answer raises python-telegram-bot's exception."""
        return self._request.post(self._url, message)
