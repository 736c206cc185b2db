"""The paced fan-out: a tick's private lessons sent from one loop at the rate limiter's pace.

Each lesson used to be a task of its own queueing for its slot: a semaphore, a future handed over
by the limiter's task at every slot, a wait for the chat, another future for its outcome's
transaction. Here one loop sleeps until the shared schedule's next slots come due, takes every
slot that has (`Lane.take_bulk`: replies first, 429 pauses, the sliding cap, exactly as for every
other send) and starts as many posts on the lean path; a callback reads each answer. It wakes for
a group of slots at a time (five at 30/s: six wakes a second instead of 29; a few at 1,000/s),
since a wake from idle costs the CPU of several sends, and the last answer of a group has its
outcomes written in one transaction. The loop claims the next batch while it still has lessons
in hand.

Exactly-once: a lesson is held from the moment it is taken to be sent until its outcome is
written, and at most the engine's send concurrency are held at once (`send_concurrency`: 8 at
30/s, 100 at 1,000/s), so a crash repeats at most that many lessons, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection
from telegram import Bot
from telegram.error import RetryAfter

from bot import metrics
from bot.delivery.lean import LeanFanOut, PreparedMessage
from bot.delivery.ratelimit import LATE_SLOT_SECONDS, MAX_BULK_RETRIES, RateLimiter
from bot.domain.chats import ChatKind
from bot.language import speaking
from bot.storage import deliveries
from bot.storage.deliveries import ClaimedLesson, LessonOutcome

if TYPE_CHECKING:
    from bot.delivery.engine import DeliveryEngine, TickReport

log = logging.getLogger(__name__)

GATHER_SECONDS = LATE_SLOT_SECONDS / 3  # the loop sleeps at least this long: slots due meanwhile go together
GROUP_SECONDS = 1 / 6  # the most slots' time the loop takes at once: at 30/s it wakes 6 times a second, not 29
IDLE_WRITE_SECONDS = 0.1  # nothing in flight for this long, or no send due within it: write what waits
WRITE_ALLOWANCE_SECONDS = 0.02  # the sends a write should not hold up: room kept for this long's slots


def fan_out_group(cap: int, interval: float, capacity: int) -> int:
    """How many slots the loop takes at once, so that at the free limit it wakes a few times a
    second rather than for every slot (each wake from idle costs the CPU of several sends): the
    largest count up to GROUP_SECONDS of slots, and up to the lessons that may be held, that
    divides the lane's sliding cap (whole groups fill every window, none waits for room). Five at
    30/s (six kept 96.2 % of the limit against five's 96.7 %, for no CPU the runs could tell);
    one at 1,000/s, where the loop wakes for a few slots at a time anyway (GATHER_SECONDS).
    Only where this process has the schedule to itself (SQLite): its cap sees only its own sends,
    and on a schedule several processes share, slots used up to a group's span late would bunch
    more than the limit into a second between them (33 at 30/s with three processes)."""
    if interval <= GATHER_SECONDS:
        return 1
    most = max(1, min(round(GROUP_SECONDS / interval), capacity))
    return max(size for size in range(1, most + 1) if cap % size == 0)


class _Lesson:
    """One claimed lesson on its way: its prepared messages and how far it got."""

    __slots__ = ("item", "language", "messages", "part", "message_id", "flooded")

    def __init__(self, item: ClaimedLesson, language: str, messages: list[PreparedMessage]) -> None:
        self.item = item
        self.language = language
        self.messages = messages
        self.part = 0  # the next message to send
        self.message_id: int | None = None  # the first message's, once sent
        self.flooded = 0  # 429s met by its current message


class PacedFanOut:
    """One tick's fan-out: claims, sends at the budget's pace, writes outcomes; `run` until done."""

    def __init__(self, engine: DeliveryEngine, bot: Bot, lean: LeanFanOut, report: TickReport) -> None:
        self._engine = engine
        self._bot = bot
        self._lean = lean
        self._report = report
        limiter = getattr(bot, "rate_limiter", None)
        self._limiter = limiter if isinstance(limiter, RateLimiter) else None
        self._lane = self._limiter.lane(paid=engine.settings.allow_paid_broadcast) if self._limiter else None
        self._loop = asyncio.get_running_loop()
        self._capacity = engine.concurrency
        self._batch = engine.settings.delivery_batch_size
        self._waiting: deque[_Lesson] = deque()  # claimed, not taken yet
        self._later: list[tuple[float, int, _Lesson]] = []  # held, to send at a time: a next part, a 429's retry
        self._order = itertools.count()
        self._held = 0  # taken and not yet written: what a crash could repeat
        self._in_flight = 0
        self._unwritten: list[LessonOutcome] = []
        self._exhausted = False  # the last claim found fewer than a batch
        self._claiming: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._others: set[asyncio.Task[None]] = set()  # group lessons, and faults being recorded
        self._failure: BaseException | None = None  # the database failed a claim or a write
        self._wake: asyncio.Future[None] | None = None
        self._connection: AsyncConnection | None = None  # the outcome writes'
        self._timed = False  # the loop sleeps until a time of its own: answers need not wake it
        self._idle_since = time.monotonic()
        interval = self._lane.interval if self._lane is not None else 0.0
        self._group = 1  # on a schedule processes share, each send keeps its slot: see `fan_out_group`
        if self._lane is not None and not self._lane.shared:
            self._group = fan_out_group(self._lane.cap, interval, self._capacity)
        self._reserve = max(self._group, round(WRITE_ALLOWANCE_SECONDS / interval)) if interval else 1

    async def run(self) -> None:
        """Until every lesson due is sent (or handed back at shutdown) and recorded."""
        if self._lane is not None:
            self._lane.on_booked = self._poke
        try:
            while True:
                now = time.monotonic()
                self._claim_more()
                self._send_due(now)
                if self._finished():
                    break
                wake = self._next_wake(now)
                self._write_if_due(now, wake)
                await self._sleep(wake)
            await self._drain()
        finally:
            if self._lane is not None:
                self._lane.on_booked = None
                self._lane.done_bulk()
            self._hand_over_unwritten()
            await self._disconnect()
        if self._failure is not None:
            raise self._failure

    # ----------------------------------------------------------------- claiming

    def _claim_more(self) -> None:
        """Claim the next batch while fewer than the send slots' worth are left in hand."""
        if self._exhausted or self._claiming is not None or self._engine.closing or self._failure:
            return
        if len(self._waiting) >= self._capacity:
            return
        self._claiming = self._loop.create_task(self._claim(), name="lesson-claims")

    async def _claim(self) -> None:
        try:
            batch = await self._engine.claim(limit=self._batch)
            self._exhausted = len(batch) < self._batch
            self._report.claimed += len(batch)
            spoken = await self._engine.languages.of_chats(item.chat_id for item in batch)
            templates = self._lean.templates
            for item in batch:
                language = spoken[item.chat_id]
                if item.kind != ChatKind.PRIVATE:  # a group's lesson goes through python-telegram-bot
                    self._held += 1
                    self._track(self._group_lesson(item, language))
                    continue
                with speaking(language):
                    self._waiting.append(_Lesson(item, language, templates.messages(item)))
        except Exception as exc:
            self._failure, self._exhausted = exc, True
        finally:
            self._claiming = None
            if not self._timed:  # else the loop wakes for its next slots anyway
                self._poke()

    async def _group_lesson(self, item: ClaimedLesson, language: str) -> None:
        with speaking(language):
            await self._engine.deliver(self._bot, item, self._report)

    # ----------------------------------------------------------------- sending

    def _send_due(self, now: float) -> None:
        """Start as many sends as slots have come due: messages waiting for their time first (next
        parts, retries after a 429), then new lessons while fewer than the concurrency are held."""
        later = self._later
        ready = self._held_due(now)
        closing = self._engine.closing or self._failure is not None
        wanted = ready + (0 if closing else self._room())
        if not wanted:
            return
        if self._lane is None:
            slots = wanted
        else:
            backlog = len(later) + len(self._waiting)
            slots = self._lane.take_bulk(wanted, now, backlog=backlog, group=self._group)
        while slots and later and later[0][0] <= now:
            self._post(heapq.heappop(later)[2])
            slots -= 1
        while slots and self._waiting and self._held < self._capacity:
            lesson = self._waiting.popleft()
            self._held += 1
            if self._limiter is not None and (wait := self._limiter.chat_wait(lesson.item.chat_id)) > 0:
                heapq.heappush(later, (now + wait, next(self._order), lesson))  # a reply just went there
                self._lane.unused()
            else:
                self._post(lesson)
            slots -= 1
        for _ in range(slots):  # taken but not used: they no longer count against the cap
            self._lane.unused()

    def _room(self) -> int:
        """New lessons that may start: those waiting, while fewer than the concurrency are held."""
        return max(0, min(len(self._waiting), self._capacity - self._held))

    def _held_due(self, now: float) -> int:
        """Held messages whose time has come: the heap's first entries, at least those."""
        later, due = self._later, 0
        while due < len(later) and later[due][0] <= now:
            due += 1
        return due

    def _post(self, lesson: _Lesson) -> None:
        chat_id = lesson.item.chat_id
        if self._limiter is not None:
            self._limiter.chat_sent(chat_id)
        self._in_flight += 1
        task = self._loop.create_task(self._lean.post(lesson.messages[lesson.part]))
        task.add_done_callback(lambda done: self._answered(lesson, done))

    def _answered(self, lesson: _Lesson, task: asyncio.Task) -> None:
        """Telegram's answer to one message (or its failure): the next part, a retry, the outcome."""
        self._in_flight -= 1
        if self._in_flight == 0:  # the last answer of a group: its outcomes may be written at once
            self._idle_since = time.monotonic()
            self._poke()
        chat_id = lesson.item.chat_id
        if self._limiter is not None:
            self._limiter.chat_sent(chat_id)  # the message arrived before this: keep the distance from here
        exc = task.exception() if not task.cancelled() else asyncio.CancelledError()
        if exc is None:
            lesson.message_id = lesson.message_id or task.result().message_id
            lesson.part += 1
            lesson.flooded = 0
            if lesson.part == len(lesson.messages):
                self._outcome(lesson)
                if not self._timed:  # the loop waits for room, or for the last answer
                    self._poke()
                return
            wait = self._limiter.chat_wait(chat_id) if self._limiter is not None else 0.0
            heapq.heappush(self._later, (time.monotonic() + wait, next(self._order), lesson))
        elif isinstance(exc, RetryAfter) and self._limiter is not None and lesson.flooded < MAX_BULK_RETRIES:
            lesson.flooded += 1
            wait = self._limiter.flooded(self._lane, chat_id, exc)
            heapq.heappush(self._later, (time.monotonic() + wait, next(self._order), lesson))
        else:  # the engine's taxonomy decides: unreachable, rejected, uncertain or retried later
            self._track(self._settle(lesson, exc))
        self._poke()

    async def _settle(self, lesson: _Lesson, exc: BaseException) -> None:
        with speaking(lesson.language):
            await self._engine.settle(lesson.item, exc, self._report, lesson.part > 0, lesson.message_id)

    def _track(self, coroutine) -> None:
        """A held lesson finished by the engine (a group's, a fault's): it is written when this ends."""
        task = self._loop.create_task(coroutine)
        self._others.add(task)
        task.add_done_callback(self._tracked_done)

    def _tracked_done(self, task: asyncio.Task[None]) -> None:
        self._others.discard(task)
        self._held -= 1
        if not task.cancelled() and task.exception() is not None and self._failure is None:
            self._failure = task.exception()
        self._poke()

    # ----------------------------------------------------------------- outcomes

    def _outcome(self, lesson: _Lesson) -> None:
        with speaking(lesson.language):
            outcome = self._engine.outcome(lesson.item, "sent", lesson.message_id)
        self._unwritten.append(outcome)
        self._report.sent += 1
        metrics.lesson_sent()

    def _write_if_due(self, now: float, wake: float | None) -> None:
        """Write once the outcomes waiting fill the room the sends in flight leave, less the room the
        next WRITE_ALLOWANCE_SECONDS of slots need while the write runs (so a write never holds up a
        send); or when nothing is in flight and no send is due soon (a 429's pause, the end)."""
        if self._writer is not None or not self._unwritten:
            return
        enough = len(self._unwritten) >= max(1, self._capacity - self._in_flight - self._reserve)
        enough = enough or self._held >= self._capacity
        quiet = self._in_flight == 0 and (
            now - self._idle_since >= IDLE_WRITE_SECONDS or wake is None or wake - now >= WRITE_ALLOWANCE_SECONDS
        )
        if enough or quiet:
            self._writer = self._loop.create_task(self._write(), name="lesson-outcomes")

    async def _write(self) -> None:
        """One transaction for the outcomes waiting and each person's next lesson, on a connection
        kept for the fan-out (no pool checkout, nor PostgreSQL's ping, per transaction)."""
        taken, self._unwritten = self._unwritten, []
        try:
            if self._connection is None:
                self._connection = await self._engine.db.engine.connect()
            await deliveries.commit_outcomes(connection=self._connection, outcomes=taken)
        except Exception as exc:  # kept: written at the end, or at shutdown; no more sends meanwhile
            self._unwritten[:0] = taken
            self._failure = self._failure or exc
            await self._disconnect()
        else:
            self._held -= len(taken)
        finally:
            self._writer = None
            if not self._timed or self._failure is not None:
                self._poke()

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # it may be the broken one
                await connection.close()

    def _hand_over_unwritten(self) -> None:
        """Outcomes the database did not take: the engine's queue, which shutdown writes too."""
        if self._unwritten:
            self._engine.queue_written(self._unwritten)
            self._unwritten = []

    # ----------------------------------------------------------------- the loop

    def _finished(self) -> bool:
        if self._in_flight or self._others or self._claiming is not None:
            return False
        if self._engine.closing or self._failure is not None:
            self._drop_unbegun()
            return not self._later
        return self._exhausted and not self._waiting and not self._later

    def _drop_unbegun(self) -> None:
        """Shutting down, or the database failed: lessons of which nothing went out are left claimed
        (shutdown hands them back; else the lease does); a lesson begun sends its other parts."""
        self._waiting.clear()
        begun = [entry for entry in self._later if entry[2].part > 0]
        self._held -= len(self._later) - len(begun)
        self._later = begun
        heapq.heapify(begun)

    def _next_wake(self, now: float) -> float | None:
        """When to look again: when the next group of slots is due (not sooner than GATHER_SECONDS)
        if something could use it, or a held message's time; None to wait to be told (an answer, a
        claim, a booking)."""
        wake = self._later[0][0] if self._later else None
        sendable = self._held_due(now) + self._room()
        self._timed = False
        if sendable > 0 and not (self._engine.closing or self._failure):
            group = min(self._group, sendable)
            turn = now if self._lane is None else self._lane.next_bulk_turn(now, group)
            if turn is not None:
                self._timed = True  # a slot wakes the loop soon: answers need not
                turn = max(turn, now + GATHER_SECONDS)
                wake = turn if wake is None else min(wake, turn)
            elif wake is not None and wake <= now:
                wake = None  # the booking tells
        return wake

    async def _sleep(self, until: float | None) -> None:
        self._wake = wake = self._loop.create_future()
        timer = None
        if until is not None:
            timer = self._loop.call_later(max(0.0, until - time.monotonic()), self._poke)
        try:
            await wake
        finally:
            self._wake = None
            if timer is not None:
                timer.cancel()

    def wake(self) -> None:
        """Look again now (shutdown: stop taking lessons)."""
        self._poke()

    def _poke(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _drain(self) -> None:
        """Wait for the last write, then write what is left in one transaction."""
        while self._writer is not None:
            await self._writer
        if self._unwritten:
            await self._write()
