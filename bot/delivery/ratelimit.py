"""Pacing every message under Telegram's limits, for the whole deployment, replies first.

Telegram allows a bot about 30 messages a second (up to 1000 a second as paid broadcast), about one
a second in a private chat and 20 a minute in a group, edits included. Over that it answers 429.

- All sends of the bot follow one schedule of evenly spaced slots, just under the limit (paid
  broadcast has its own). On PostgreSQL the schedule is one row of `send_budget` that every
  process books from, a fraction of a second at a time, so the limit holds for the deployment,
  not per process; on SQLite (one process) it lives in memory. A slot missed by more than a few
  milliseconds is given up rather than used late, so a stall never turns into a burst (the paced
  fan-out takes its slots a few at a time, and may use one as late as its group's span).
- Whatever the slots, no more sends begin within a sliding window than its cap (`sliding_cap`).
- Each group has a schedule of its own, shared the same way, with a small burst.
- In a private chat the scheduled sends (lessons, nudges) keep a second from the chat's previous
  message; a reply to someone who is talking to the bot goes at once (Telegram allows such short
  bursts, and people should not wait a second per message).

Replies come first: each slot goes to a waiting reply before any lesson, and the fan-out books
slots at most a fraction of a second ahead, so a reply never queues behind thousands of lessons.
A 429 is honoured: this process's fan-out pauses for the `retry_after` Telegram asked for, while a
reply is retried after a short wait of its own. Sends pass ``rate_limit_args={"priority": "bulk"}``
to be treated as fan-out; everything else is a reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection
from telegram.error import NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from bot import metrics
from bot.settings import Settings
from bot.storage import deliveries
from bot.storage.db import Database

log = logging.getLogger(__name__)

BULK = {"priority": "bulk"}  # rate_limit_args of the fan-out's sends
RATE_SHARE = 0.97  # pace just under each limit: Telegram counts by arrival, and arrivals jitter
LATE_SLOT_SECONDS = 0.012  # a slot missed by more than this is given up, never used late
BULK_HORIZON_SECONDS = 0.25  # how far ahead the fan-out books slots of a shared schedule
BOOKING_TIMEOUT_SECONDS = 1.0  # a slow database must not hold up sending: pace in memory instead
GROUP_BURST = 3  # messages a group may get at once before its schedule spaces them
MAX_BULK_RETRIES = 3
MAX_REPLY_RETRIES = 2
REPLY_RETRY_SECONDS = 1.0  # a reply retries a 429 after at most this, whatever retry_after says
PRUNE_AT = 4096  # per-chat and per-group entries kept before the stale ones are dropped


def counted(endpoint: str) -> bool:
    """Messages and edits count against Telegram's limits; answers to queries, chat actions and reads do not."""
    return endpoint.startswith(("send", "edit", "copyMessage", "forwardMessage")) and endpoint != "sendChatAction"


def is_group(chat_id: int | str) -> bool:
    """Groups and channels have negative ids (or an @username); private chats are positive."""
    return isinstance(chat_id, str) or chat_id < 0


def retry_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass(frozen=True)
class Scope:
    """One limit: its key in `send_budget`, the average seconds between sends, the burst allowed."""

    key: str
    interval: float
    burst: int = 1

    def slots(self, tat: float, now: float, count: int) -> tuple[list[float], float]:
        """The next `count` send times of a schedule whose booked slots run out at `tat`, and its
        new end (GCRA: even spacing, with up to `burst` sends at once when the schedule is idle)."""
        start = max(tat, now)
        early = (self.burst - 1) * self.interval
        return [max(now, start + i * self.interval - early) for i in range(count)], start + count * self.interval


def sends_a_second(per_second: float) -> int:
    """A lane's slots a second: just under the limit."""
    return max(1, math.floor(per_second * RATE_SHARE))


def sliding_cap(per_second: float) -> tuple[int, float]:
    """The most sends a lane lets begin within a sliding window, and that window: at least a
    second, so no second holds more than the cap, and the cap no more than the limit (30 within
    1.022 s at 30/s, 982 within 1.0004 s at 1,000/s). The cap holds a little more than the slots
    the window spans, so a slot used a little late (up to LATE_SLOT_SECONDS) never waits for it: a
    wait would make the next slot that much later, and so on until one was given up. At 30/s the
    send over the limit would come 22 ms after the second, and whole groups of the paced fan-out
    (`fan_out_group`) fill each window."""
    slots = sends_a_second(per_second)
    most = min(max(slots + 1, math.ceil(slots * (1 + LATE_SLOT_SECONDS))), max(1, math.floor(per_second)))
    return most, max(1.0, most / slots - LATE_SLOT_SECONDS)


def lane_scope(key: str, per_second: float) -> Scope:
    """A lane's schedule: its slots a second, evenly spaced, so that each fits the sliding cap.
    Spaced any closer (1 / (30 × 0.97) s at 30/s), more slots would fall within the cap's window
    than it lets begin: each slot would wait a little for the cap, the wait would grow slot after
    slot until one was too late to use, and a slot would be lost every few seconds."""
    return Scope(key, 1 / sends_a_second(per_second))


def group_scope(chat_id: int | str, per_minute: int) -> Scope:
    """Within any minute: the burst, then one per interval, a slot under the limit for late sends."""
    burst = GROUP_BURST if per_minute >= 10 else 1
    return Scope(f"group:{chat_id}", 60 / (per_minute - burst - 1), burst)


class Schedules(Protocol):
    shared: bool  # booked by several processes: only sends at their slots keep the limit between them

    async def book(self, scope: Scope, count: int) -> list[float]:
        """`count` consecutive send times of the scope, as `time.monotonic()` values."""


class LocalSchedules:
    """The schedules in this process's memory: the whole truth when there is one process (SQLite)."""

    shared = False

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}
        self._prune_at = PRUNE_AT

    async def book(self, scope: Scope, count: int) -> list[float]:
        now = time.monotonic()
        if len(self._tat) >= self._prune_at:  # idle schedules start over from now anyway
            self._tat = {key: tat for key, tat in self._tat.items() if tat > now}
            self._prune_at = max(PRUNE_AT, 2 * len(self._tat))
        slots, self._tat[scope.key] = scope.slots(self._tat.get(scope.key, now), now, count)
        return slots


class DatabaseClock:
    """The database's clock as this process sees it: its offset from `time.monotonic()`, taken from
    the booking answered fastest, whose midpoint is known best (as NTP does). A booking answered late
    by a busy event loop would otherwise shift this process's slots onto another process's. The
    kept sample counts as a little less certain every second, so drift is followed."""

    AGING = 0.001  # seconds of uncertainty a sample gains per second of age

    def __init__(self) -> None:
        self._offset = 0.0
        self._uncertainty = math.inf
        self._taken = 0.0

    def offset(self, asked: float, answered: float, database_now: float) -> float:
        """Database time minus local time, given one more reading (local send and answer times)."""
        uncertainty = (answered - asked) / 2
        if uncertainty <= self._uncertainty + (answered - self._taken) * self.AGING:
            self._offset, self._uncertainty, self._taken = database_now - (asked + answered) / 2, uncertainty, answered
        return self._offset


class SharedSchedules:
    """The schedules in PostgreSQL, booked atomically in the database's clock by every process, over
    one connection of their own in autocommit: a booking is a single round trip.

    Should the database not answer within a second, this process paces from memory until it does:
    a send is never held up, and never unpaced."""

    shared = True

    def __init__(self, db: Database) -> None:
        self._db = db
        self._fallback = LocalSchedules()
        self._failing = False
        self._connection: AsyncConnection | None = None
        self._lock = asyncio.Lock()  # one statement at a time on the connection
        self._clock = DatabaseClock()

    async def book(self, scope: Scope, count: int) -> list[float]:
        try:
            async with asyncio.timeout(BOOKING_TIMEOUT_SECONDS), self._lock:
                connection = await self._connect()
                asked = time.monotonic()
                tat, db_now = await deliveries.book_send_slots(
                    session=connection, scope=scope.key, span=count * scope.interval
                )
                answered = time.monotonic()
        except Exception as exc:  # whatever the database's trouble, sending goes on
            await self.close()
            if not self._failing:
                log.warning("send budget: database unavailable (%s), pacing this process alone", type(exc).__name__)
            self._failing = True
            return await self._fallback.book(scope, count)
        if self._failing:
            log.info("send budget: database back, pacing with the other processes again")
            self._failing = False
        offset = self._clock.offset(asked, answered, db_now)
        slots, _ = scope.slots(tat - count * scope.interval, db_now, count)
        return [slot - offset for slot in slots]

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # it may be the broken one
                await connection.close()

    async def _connect(self) -> AsyncConnection:
        if self._connection is None:
            connection = await self._db.engine.connect()
            self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        return self._connection


class SlidingCap:
    """This process's sends begun within the last window (`sliding_cap`). The schedule spaces sends
    evenly; this keeps the limit when a busy event loop let several slots go at once. Sends count
    from when they begin, not from Telegram's answer: counting both a send in flight and those
    answered within the window would hold the rate to limit / (1 + answer time)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._begun: deque[float] = deque()

    def wait(self, now: float, count: int = 1) -> float:
        """Seconds until `count` more sends cannot put more than the limit into any window."""
        self._forget(now)
        over = len(self._begun) + min(count, self.limit) - self.limit
        return 0.0 if over <= 0 else self._begun[over - 1] + self.window - now

    def room(self, now: float) -> int:
        """How many sends may begin now without putting more than the limit into any window."""
        self._forget(now)
        return self.limit - len(self._begun)

    def begin(self, now: float, count: int = 1) -> None:
        self._begun.extend(itertools.repeat(now, count))

    def unused(self) -> None:
        """A send given its slot did not happen after all: it no longer counts."""
        if self._begun:
            self._begun.pop()

    def _forget(self, now: float) -> None:
        while self._begun and self._begun[0] <= now - self.window:
            self._begun.popleft()


class Lane:
    """The slots of one shared schedule, handed out as they come due: replies first, then the
    fan-out, which books ahead only while its slots reach less than the horizon into the future.
    Whoever gets a slot sends at once, or calls `unused` when it did not send."""

    def __init__(self, schedules: Schedules, scope: Scope, per_second: float) -> None:
        self._schedules = schedules
        self._scope = scope
        self._cap = SlidingCap(*sliding_cap(per_second))
        self._block = max(1, math.ceil(BULK_HORIZON_SECONDS / scope.interval))
        self._replies: deque[asyncio.Future[float]] = deque()
        self._bulk: deque[asyncio.Future[float]] = deque()
        self._slots: deque[float] = deque()
        self._booking: asyncio.Task[None] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._bulk_paused_until = 0.0
        self._paced = 0  # sends the paced fan-out waits to start (`take_bulk`)
        self.on_booked: Callable[[], object] | None = None  # told when booked slots come in

    @property
    def interval(self) -> float:
        return self._scope.interval

    def take_bulk(self, wanted: int, now: float, *, backlog: int, group: int = 1) -> int:
        """The paced fan-out's turn (bot/delivery/paced.py): how many of `wanted` sends may start now,
        each on a slot that has come due, within the sliding cap, after every waiting reply and
        outside a 429 pause; those slots are used. A fan-out that takes `group` slots at a time may
        use a slot up to the group's span late (then LATE_SLOT_SECONDS more), never later. Slots
        are booked ahead for the `backlog` of sends to come, as for sends waiting one by one."""
        late = LATE_SLOT_SECONDS + (group - 1) * self._scope.interval
        while self._slots and self._slots[0] < now - late:
            self._slots.popleft()
        taken = 0
        turn = self.next_bulk_turn(now, max(1, min(group, wanted)))
        if turn is not None and turn <= now:
            room = self._cap.room(now)
            while taken < wanted and taken < room and self._slots and self._slots[0] <= now:
                self._slots.popleft()
                taken += 1
            self._cap.begin(now, taken)
        self._paced = max(0, backlog - taken)
        self._book_ahead(now)
        return taken

    def next_bulk_turn(self, now: float, group: int = 1) -> float | None:
        """When `take_bulk` may next hand out `group` slots at once: when the group's last slot is
        due, or its first is the group's span late, and the cap has room for all of them; None
        while the slots are being booked (then `on_booked` is called when they are in)."""
        if now < self._bulk_paused_until:
            return self._bulk_paused_until
        if self._replies:  # the next slot is theirs: look again one slot later
            return now + self._scope.interval
        if not self._slots:
            return None
        due = self._slots[0] + (group - 1) * self._scope.interval
        if len(self._slots) >= group:
            due = min(due, self._slots[group - 1])
        return max(due, now + self._cap.wait(now, group))

    @property
    def cap(self) -> int:
        """The most sends that may begin within the sliding window."""
        return self._cap.limit

    @property
    def shared(self) -> bool:
        """Other processes take slots of the same schedule (PostgreSQL)."""
        return self._schedules.shared

    def done_bulk(self) -> None:
        """The paced fan-out wants no more slots."""
        self._paced = 0

    async def acquire(self, *, bulk: bool) -> None:
        """Return at this caller's slot: send right away. Should this task wake too late to use it
        (a busy event loop), it gives the slot up and waits at the head of the line for the next."""
        queue = self._bulk if bulk else self._replies
        queue.append(waiter := asyncio.get_running_loop().create_future())
        while True:
            if self._runner is None or self._runner.done():
                self._runner = asyncio.create_task(self._run(), name=f"send-slots-{self._scope.key}")
            self._wakeup.set()
            try:
                slot = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # granted, then its sender was cancelled
                    self.unused()
                raise
            if time.monotonic() - slot <= LATE_SLOT_SECONDS:
                return
            self.unused()
            queue.appendleft(waiter := asyncio.get_running_loop().create_future())

    def unused(self) -> None:
        self._cap.unused()

    def pause_bulk(self, seconds: float) -> None:
        self._bulk_paused_until = max(self._bulk_paused_until, time.monotonic() + seconds)
        self._wakeup.set()

    async def close(self) -> None:
        """Stop handing out slots; whoever still waits gets a network error (a lesson goes back to the queue)."""
        for task in (self._runner, self._booking):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for waiter in (*self._replies, *self._bulk):
            if not waiter.done():
                waiter.set_exception(NetworkError("the bot is shutting down"))
        self._replies.clear()
        self._bulk.clear()

    async def _run(self) -> None:
        while True:
            now = time.monotonic()
            queue = self._next_in_line(now)
            if queue is None:
                await self._idle(now)
                continue
            while self._slots and self._slots[0] < now - LATE_SLOT_SECONDS:
                self._slots.popleft()
            self._book_ahead(now)
            if not self._slots:
                self._wakeup.clear()
                await self._wakeup.wait()  # the booking sets it when the slots are in
                continue
            if self._slots[0] > now:
                await asyncio.sleep(self._slots[0] - now)
                continue
            if (wait := self._cap.wait(now)) > 0:
                await asyncio.sleep(wait)
                continue
            self._cap.begin(now)
            queue.popleft().set_result(self._slots.popleft())

    def _next_in_line(self, now: float) -> deque[asyncio.Future[float]] | None:
        for queue in (self._replies, self._bulk):
            while queue and queue[0].done():  # its sender was cancelled
                queue.popleft()
        if self._replies:
            return self._replies
        if self._bulk and now >= self._bulk_paused_until:
            return self._bulk
        return None

    async def _idle(self, now: float) -> None:
        self._wakeup.clear()
        timeout = self._bulk_paused_until - now if self._bulk else None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout)

    def _book_ahead(self, now: float) -> None:
        if self._booking is not None:
            return
        waiting = len(self._replies) + (len(self._bulk) + self._paced if now >= self._bulk_paused_until else 0)
        if len(self._replies) > len(self._slots):
            count = len(self._replies) - len(self._slots)
        elif waiting > len(self._slots) and (not self._slots or self._slots[-1] < now + BULK_HORIZON_SECONDS):
            count = self._block
        else:
            return
        self._booking = asyncio.create_task(self._book(count))

    async def _book(self, count: int) -> None:
        try:
            slots = await self._schedules.book(self._scope, count)
            self._slots.extend(slots)
            if len(self._slots) > len(slots) and self._slots[-len(slots)] < self._slots[-len(slots) - 1]:
                self._slots = deque(sorted(self._slots))  # the database came back or went away meanwhile
        finally:
            self._booking = None
            if self._replies or self._bulk:  # a sender waits for them
                self._wakeup.set()
            if self.on_booked is not None:
                self.on_booked()


class ChatSpacing:
    """When this process last sent to each private chat, so scheduled sends keep their distance."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[int | str, float] = {}
        self._prune_at = PRUNE_AT

    def delay(self, chat_id: int | str) -> float:
        return self._last.get(chat_id, -math.inf) + self.interval - time.monotonic()

    async def clear(self, chat_id: int | str) -> None:
        while (delay := self.delay(chat_id)) > 0:  # noqa: ASYNC110 - a deadline, not an event to wait for
            await asyncio.sleep(delay)

    def mark(self, chat_id: int | str, *, hold: float = 0.0) -> None:
        """A message goes to the chat now; with `hold`, nothing scheduled goes there for that long."""
        now = time.monotonic()
        if len(self._last) >= self._prune_at:
            self._last = {chat: at for chat, at in self._last.items() if at > now - self.interval}
            self._prune_at = max(PRUNE_AT, 2 * len(self._last))
        at = now + hold - self.interval if hold else now
        self._last[chat_id] = max(self._last.get(chat_id, -math.inf), at)


class RateLimiter(BaseRateLimiter[dict[str, str]]):
    """python-telegram-bot's hook for pacing: every Bot API call of the application passes here."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self._schedules: Schedules = LocalSchedules() if db.is_sqlite else SharedSchedules(db)
        self._all = Lane(self._schedules, lane_scope("all", settings.global_rate), settings.global_rate)
        self._broadcast = Lane(
            self._schedules, lane_scope("broadcast", settings.broadcast_rate), settings.broadcast_rate
        )
        self._chats = ChatSpacing(1 / (settings.private_chat_rate * RATE_SHARE))
        self._group_per_minute = settings.group_rate_per_minute

    async def initialize(self) -> None:
        """Nothing to set up: the schedules start on first use."""

    def lane(self, *, paid: bool) -> Lane:
        """The schedule a fan-out's sends take their slots from: paid broadcast's, or the bot's."""
        return self._broadcast if paid else self._all

    def chat_wait(self, chat_id: int) -> float:
        """Seconds before a scheduled send may go to this private chat (a second since its last message)."""
        return self._chats.delay(chat_id)

    def chat_sent(self, chat_id: int) -> None:
        """A send to this private chat began or was answered: the next scheduled one keeps its distance."""
        self._chats.mark(chat_id)

    def flooded(self, lane: Lane, chat_id: int, exc: RetryAfter) -> float:
        """A 429 on a fan-out's send: the fan-out pauses for `retry_after`, and the chat too; the wait."""
        metrics.rate_limited()
        wait = retry_seconds(exc)
        lane.pause_bulk(wait)
        self._chats.mark(chat_id, hold=wait)
        log.info("429 from Telegram on sendMessage (retry after %.0f s), retrying", wait)
        return wait

    async def shutdown(self) -> None:
        await self._all.close()
        await self._broadcast.close()
        if isinstance(self._schedules, SharedSchedules):
            await self._schedules.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, str] | None,
    ) -> Any:
        if not counted(endpoint):
            return await callback(*args, **kwargs)
        bulk = rate_limit_args == BULK
        lane = self._broadcast if data.get("allow_paid_broadcast") else self._all
        chat_id = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # as PTB's own limiter reads it; an @username stays a string
        retries = 0
        while True:
            await self._wait_turn(lane, chat_id, bulk)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                metrics.rate_limited()
                wait = retry_seconds(exc)
                lane.pause_bulk(wait)
                if isinstance(chat_id, int) and chat_id > 0:
                    self._chats.mark(chat_id, hold=wait)
                retries += 1
                if retries > (MAX_BULK_RETRIES if bulk else MAX_REPLY_RETRIES):
                    raise
                log.info("429 from Telegram on %s (retry after %.0f s), retrying", endpoint, wait)
            finally:
                if isinstance(chat_id, int) and chat_id > 0:
                    self._chats.mark(chat_id)  # the message arrived before this: keep the distance from here
            if not bulk:  # the fan-out waits out the pause; a reply tries again soon
                await asyncio.sleep(min(wait, REPLY_RETRY_SECONDS))

    async def _wait_turn(self, lane: Lane, chat_id: int | str | None, bulk: bool) -> None:
        """Wait for the chat's own limit, then for a slot of the bot's; return when it may send."""
        if chat_id is None:
            await lane.acquire(bulk=bulk)
            return
        if is_group(chat_id):
            [slot] = await self._schedules.book(group_scope(chat_id, self._group_per_minute), 1)
            if (delay := slot - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            await lane.acquire(bulk=bulk)
            return
        while True:
            if bulk:
                await self._chats.clear(chat_id)
            await lane.acquire(bulk=bulk)
            if not bulk or self._chats.delay(chat_id) <= 0:  # a reply may have gone there meanwhile
                break
            lane.unused()
        self._chats.mark(chat_id)
