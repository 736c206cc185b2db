"""The delivery engine: one repeating tick per process claims due lessons and sends them.

Exactly-once rests on the database: a row is claimed (status 'sending') and committed before the
send, so no other tick or process can take it; the outcome is written after. A send whose outcome
is unknown (a read timeout, or a connection dropped after the request went out: the message may
well have arrived) is recorded as 'uncertain' and not resent, and the course moves on as if it had
arrived; the person can always ask for /today. 429s, 5xx answers and refused connections are
retried with capped, jittered backoff (`may_have_arrived` draws the line).
A process that dies between claim and outcome leaves a claim that expires after the lease and is
sent again: the only way a lesson can arrive twice. A lesson keeps its place among the sends under
way (`send_concurrency`) until its outcome is written, so a crash repeats at most that many.
A tick's private lessons go the lean path, paced from one loop (bot/delivery/paced.py), which
keeps that bound and writes outcomes many to a transaction. Elsewhere (group lessons, a lesson
promised to someone, the demo's in-process Telegram) outcomes are written at once when no lesson
is being sent, and during a fan-out once those waiting hold half the send slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import socket
import uuid
from asyncio import FIRST_COMPLETED
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import time as clock_time
from datetime import timedelta

import httpx
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import metrics
from bot.clock import Clock
from bot.content import Content
from bot.content.languages import Library
from bot.delivery import keepalive
from bot.delivery.compose import LessonComposer, Outgoing, past_answers
from bot.delivery.groups import GroupDelivery
from bot.delivery.lean import LeanFanOut
from bot.delivery.paced import PacedFanOut
from bot.delivery.ratelimit import BULK
from bot.delivery.timers import TimerDelivery
from bot.domain.chats import ChatKind
from bot.domain.schedule import LessonSchedule, next_due
from bot.keyboards import checkin_keyboard
from bot.language import speaking
from bot.services.languages import Languages
from bot.settings import Settings
from bot.storage import courses, deliveries
from bot.storage.db import Database

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_CAP_SECONDS = 600
SEND_WINDOW_SECONDS = 0.1  # Telegram answers a send well within this, from a server near it
# True while a tick runs: what it sends is fan-out, paced behind the replies to people (ratelimit.py).
SCHEDULED: ContextVar[bool] = ContextVar("scheduled", default=False)
UNREACHABLE = (
    "chat not found",
    "user not found",
    "bot was blocked",
    "user is deactivated",
    "bot was kicked",
    "not enough rights",
    "have no rights",
)


@dataclass
class TickReport:
    claimed: int = 0
    sent: int = 0
    uncertain: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    reminded: int = 0
    errors: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def fan_out() -> AsyncIterator[None]:
    """Mark the sends inside as the scheduled fan-out rather than replies."""
    token = SCHEDULED.set(True)
    try:
        yield
    finally:
        SCHEDULED.reset(token)


def may_have_arrived(exc: Exception) -> bool:
    """Whether Telegram may have carried out a request that got no answer: after a read timeout or
    a connection dropped once the request was out, it may well have. A refused connection, a full
    connection pool or an error answer (429, 5xx) means it did not: those are safe to send again.
    The same for both HTTP clients: httpx under python-telegram-bot, keepalive on the lean path."""
    if isinstance(exc, RetryAfter) or not isinstance(exc, NetworkError):
        return False
    cause = exc.__cause__
    if isinstance(exc, TimedOut):
        return not isinstance(cause, httpx.ConnectTimeout | httpx.PoolTimeout | keepalive.ConnectError)
    return isinstance(cause, httpx.ReadError | httpx.RemoteProtocolError | keepalive.AnswerLost)


def schedule_of(lesson_time: str, timezone: str, settings: Settings) -> LessonSchedule:
    return LessonSchedule(clock_time.fromisoformat(lesson_time), timezone, settings.course_day_seconds)


def send_concurrency(settings: Settings) -> int:
    """Lessons under way at once: the rate limiter paces them, this only keeps enough in flight for
    the fan-out's rate while each waits up to SEND_WINDOW_SECONDS for Telegram (Little's law).
    More would only queue for the limiter and leave idle connections for the HTTP pool to scan."""
    rate = settings.broadcast_rate if settings.allow_paid_broadcast else settings.global_rate
    return max(8, min(128, math.ceil(rate * SEND_WINDOW_SECONDS)))


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter, capped: 2, 4, 8 ... seconds, never over ten minutes."""
    return random.uniform(0.5, 1.0) * min(BACKOFF_CAP_SECONDS, 2 ** max(1, attempt))


class DeliveryEngine:
    def __init__(
        self,
        *,
        settings: Settings,
        library: Library,
        languages: Languages,
        db: Database,
        clock: Clock,
        lean: bool = True,
    ) -> None:
        """`lean`: private lessons of a fan-out go the lean path (bot/delivery/lean.py) straight to
        the Bot API at the bot's base URL; off when python-telegram-bot's HTTP layer is replaced
        (the demo's in-process Telegram), where only that layer reaches Telegram."""
        self.settings = settings
        self.lean = lean
        # How the lean path opens connections (the event loop's `create_connection` unless a test refuses them).
        self.lean_connect: keepalive.Connect | None = None
        self.library = library
        self.languages = languages  # each recipient's: set around each lesson, nudge and timer sent
        self.db = db
        self.clock = clock
        self.composer = LessonComposer(library=library, db=db)
        self.groups = GroupDelivery(
            library=library, languages=languages, db=db, clock=clock, mini_app_url=settings.mini_app_url
        )
        self.concurrency = send_concurrency(settings)
        self.worker = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        lease = timedelta(seconds=settings.delivery_lease_seconds)
        self.timers = TimerDelivery(  # rest timers: the same claim-then-send, on their own short tick
            library=library,
            languages=languages,
            db=db,
            clock=clock,
            worker=self.worker,
            lease=lease,
            may_have_arrived=may_have_arrived,
        )
        self._tick_lock = asyncio.Lock()
        self._closing = False  # set on shutdown: claim nothing new
        self._batches_in_flight = 0
        self._idle = asyncio.Event()  # set while no batch is being sent
        self._fan_out: PacedFanOut | None = None  # the tick's, while it runs
        self._idle.set()
        # Sent, not yet written (`flush_outcomes`), each with the future its sender waits on.
        self._outcomes: list[tuple[deliveries.LessonOutcome, asyncio.Future[None]]] = []
        self._flush_lock = asyncio.Lock()
        self._writer: asyncio.Task[None] | None = None  # writes outcomes while any are queued
        self._sending = 0  # lessons being composed and sent right now
        self._write_batch = max(1, self.concurrency // 2)  # outcomes worth a transaction during a fan-out

    @property
    def closing(self) -> bool:
        """Shutting down: nothing new is claimed or begun."""
        return self._closing

    @property
    def content(self) -> Content:
        """The content in the language being spoken: the recipient's, inside `speaking`."""
        return self.library.current

    async def tick(self, bot: Bot) -> TickReport:
        """Send everything that is due, batch by batch, until nothing is left."""
        report = TickReport()
        async with self._tick_lock, fan_out():  # one tick at a time per process; a second caller waits
            now, lease = self.clock.now(), timedelta(seconds=self.settings.delivery_lease_seconds)
            async with self.db.session() as session:
                if not await deliveries.work_waiting(session=session, now=now, lease=lease):
                    return report  # the common case: one read, no writes
                report.released = await deliveries.release_stale_claims(session=session, now=now, lease=lease)
            await self._send_due(bot, report)
            await self._send_reminders(bot, report)
        return report

    async def _send_reminders(self, bot: Bot, report: TickReport) -> None:
        """One gentle nudge per lesson whose check-in is still unanswered; never a second one."""
        async with self.db.session() as session:
            due = await deliveries.claim_due_reminders(
                session=session,
                now=self.clock.now(),
                limit=self.settings.delivery_batch_size,
                delay=timedelta(seconds=self.settings.checkin_reminder_seconds),
            )
        spoken = await self.languages.of_chats(reminder.chat_id for reminder in due)
        for reminder in due:
            with speaking(spoken[reminder.chat_id]):
                await self._remind(bot, reminder, report)

    async def _remind(self, bot: Bot, reminder: deliveries.DueReminder, report: TickReport) -> None:
        """One nudge, in the language of the chat it goes to."""
        texts = self.content.texts
        if reminder.kind != ChatKind.PRIVATE:  # a group's check-in window closed: its coaches get the digest
            await self.groups.send_digest(bot, reminder.chat_id, reminder.day, self.send)
            return
        node = self.content.checkin.node_by_id.get(reminder.node)
        if node is None:
            return
        nudge = Outgoing(
            f"{texts.checkin_reminder.format(day=reminder.day).strip()}\n\n<b>{node.question}</b>",
            checkin_keyboard(reminder.enrollment_id, reminder.day, node),
        )
        try:
            await self.send(bot, reminder.chat_id, nudge)
            report.reminded += 1
        except Forbidden:
            async with self.db.session() as session:
                await courses.mark_unreachable(session=session, chat_id=reminder.chat_id)
        except (BadRequest, NetworkError) as exc:  # a nudge is a nicety: log it, never retry it
            log.warning("check-in reminder to chat %s not sent: %s", reminder.chat_id, exc)

    async def deliver_now(self, bot: Bot, enrollment_id: int) -> TickReport:
        """Send an enrollment's due lesson right away (day 1 after onboarding, after /restart, a
        resume): promised to someone who is talking to the bot, it goes in the replies' lane of the
        shared budget, and the fan-out has left it alone (`deliveries.ASKED`)."""
        report = TickReport()
        await self._send_all(bot, await self.claim(limit=1, enrollment_id=enrollment_id), report)
        return report

    async def claim(self, *, limit: int, enrollment_id: int | None = None) -> list[deliveries.ClaimedLesson]:
        if self._closing:
            return []
        async with self.db.connection() as connection:
            return await deliveries.claim_due(
                session=connection,
                now=self.clock.now(),
                limit=limit,
                worker=self.worker,
                enrollment_id=enrollment_id,
            )

    async def _send_due(self, bot: Bot, report: TickReport) -> None:
        """Claim and send batch after batch until nothing is due: paced from one loop on the lean
        path, or else (the demo's in-process Telegram) lesson by lesson through python-telegram-bot."""
        async with self._lean_fan_out(bot) as lean:
            if lean is not None:
                await self._paced(bot, lean, report)
                return
            await self._send_batches(bot, report)

    async def _paced(self, bot: Bot, lean: LeanFanOut, report: TickReport) -> None:
        self._batches_in_flight += 1
        self._idle.clear()
        self._fan_out = PacedFanOut(self, bot, lean, report)
        try:
            await self._fan_out.run()
        finally:
            self._fan_out = None
            self._batches_in_flight -= 1
            if not self._batches_in_flight:
                self._idle.set()

    async def _send_batches(self, bot: Bot, report: TickReport) -> None:
        """The next batch is claimed as soon as the last lesson of the current one has begun, so the
        fan-out never stalls between batches, and a claimed lesson waits at most for the few dozen
        sends ahead of it."""
        size, gate = self.settings.delivery_batch_size, asyncio.Semaphore(self.concurrency)
        batches: list[asyncio.Task[None]] = []
        try:
            while True:
                batch, begun = await self.claim(limit=size), asyncio.Event()
                sending = self._send_all(bot, batch, report, gate=gate, begun=begun)
                batches.append(asyncio.create_task(sending))
                if len(batch) < size:
                    break
                all_begun = asyncio.create_task(begun.wait())
                await asyncio.wait([batches[-1], all_begun], return_when=FIRST_COMPLETED)
                all_begun.cancel()
                if batches[-1].done():
                    batches[-1].result()  # a failed batch (the database went away) ends the tick
        finally:
            await asyncio.gather(*batches)

    @contextlib.asynccontextmanager
    async def _lean_fan_out(self, bot: Bot) -> AsyncIterator[LeanFanOut | None]:
        """The lean path for this fan-out, its connections open while it runs (None when off)."""
        if not self.lean:
            yield None
            return
        paid = self.settings.allow_paid_broadcast
        async with LeanFanOut(
            bot, self.composer, paid=paid, connections=self.concurrency, connect=self.lean_connect
        ) as lean:
            yield lean

    async def _send_all(
        self,
        bot: Bot,
        batch: list[deliveries.ClaimedLesson],
        report: TickReport,
        *,
        gate: asyncio.Semaphore | None = None,
        begun: asyncio.Event | None = None,
    ) -> None:
        """Send a claimed batch, at most `concurrency` at a time (`gate`, shared by a tick's
        batches); `begun` is set once every lesson of the batch has started."""
        report.claimed += len(batch)
        gate = gate or asyncio.Semaphore(self.concurrency)
        waiting = len(batch)
        spoken = await self.languages.of_chats(item.chat_id for item in batch)  # one read for the batch

        async def one(item: deliveries.ClaimedLesson) -> None:
            nonlocal waiting
            async with gate:
                waiting -= 1
                if not waiting and begun is not None:
                    begun.set()
                if self._closing:  # claimed but not begun: `shutdown` hands it back
                    return
                with speaking(spoken[item.chat_id]):
                    await self.deliver(bot, item, report)

        self._batches_in_flight += 1
        self._idle.clear()
        try:
            await asyncio.gather(*(one(item) for item in batch))
            await self.flush_outcomes()
        finally:
            self._batches_in_flight -= 1
            if not self._batches_in_flight:
                self._idle.set()

    async def shutdown(self, grace: float) -> int:
        """On SIGTERM: claim nothing new, give the sends in flight up to `grace` seconds to finish and
        be recorded, then hand this worker's remaining claims back (pending, due as before) for the
        next tick in any process. Returns how many were handed back; safe to call twice."""
        self._closing = True
        if self._fan_out is not None:
            self._fan_out.wake()  # it may be sleeping out a 429's pause
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace)
        try:
            await self.flush_outcomes()  # sent lessons are recorded, never handed back
        except Exception as exc:  # their claims expire after the lease instead
            log.error("shutdown: %s sent lesson(s) not recorded: %s", len(self._outcomes), exc)
            return 0
        async with self.db.session() as session:
            released = await deliveries.release_claims(session=session, worker=self.worker)
        if released:
            log.info("shutdown: %s claimed lesson(s) handed back unsent", released)
        return released

    async def send(self, bot: Bot, chat_id: int, message: Outgoing, thread_id: int | None = None) -> int:
        """Inside a tick a send is fan-out: paced behind replies, and paid broadcast when
        ALLOW_PAID_BROADCAST is on. Anywhere else it answers someone and goes first."""
        pacing = {}
        if SCHEDULED.get():
            pacing = {"rate_limit_args": BULK, "allow_paid_broadcast": self.settings.allow_paid_broadcast or None}
        sent = await bot.send_message(
            chat_id,
            message.text,
            reply_markup=message.markup,
            message_thread_id=thread_id,
            **pacing,
        )
        return sent.message_id

    @contextlib.contextmanager
    def _sending_one(self) -> Iterator[None]:
        """A lesson being composed and sent: once none is, the outcomes waiting are written."""
        self._sending += 1
        try:
            yield
        finally:
            self._sending -= 1
            self._write_if_due()

    async def deliver(self, bot: Bot, item: deliveries.ClaimedLesson, report: TickReport) -> None:
        """Send one claimed lesson through python-telegram-bot, part by part, and record what came of it."""
        sent_any = False
        message_id = None
        try:
            with self._sending_one():
                messages = await self.composer.compose(
                    enrollment_id=item.enrollment_id,
                    day=item.day,
                    profile=item.profile,
                    kind=item.kind,
                    bot_username=bot.username,
                    history=past_answers(item.history),
                )
                for message in messages:
                    if item.kind == ChatKind.PRIVATE:
                        sent_id = await self.send(bot, item.chat_id, message)
                    else:  # to the group's topic, wherever the group is now
                        sent_id = await self.groups.send_lesson_part(bot, item.enrollment_id, message, self.send)
                    sent_any = True
                    message_id = message_id or sent_id
        except (Forbidden, BadRequest, ChatMigrated, RetryAfter, NetworkError) as exc:
            await self.settle(item, exc, report, sent_any, message_id)
        else:
            report.sent += 1
            metrics.lesson_sent()
            await self._advance(item, "sent", message_id)

    async def settle(
        self,
        item: deliveries.ClaimedLesson,
        exc: BaseException,
        report: TickReport,
        sent_any: bool,
        message_id: int | None,
    ) -> None:
        """A lesson's send failed (`sent_any`: after some of its parts went out): one error taxonomy
        for both paths. Blocked or gone: the person is marked; rejected: failed; may have arrived:
        uncertain, not resent; 429, 5xx, a refused connection: retried after a backoff."""
        if isinstance(exc, Forbidden | BadRequest | ChatMigrated):
            if sent_any:
                report.uncertain += 1
                metrics.lesson_uncertain()
                await self._advance(item, "uncertain", message_id, error=str(exc))
            elif isinstance(exc, Forbidden) or any(s in str(exc).lower() for s in UNREACHABLE):
                log.info("chat %s unreachable (%s): deliveries stop until /start", item.chat_id, exc)
                report.failed += 1
                metrics.lesson_failed()
                await self._unreachable(item, str(exc))
            else:
                log.error("lesson day %s to chat %s rejected: %s", item.day, item.chat_id, exc)
                report.failed += 1
                metrics.lesson_failed()
                await self._fail(item, str(exc))
        elif isinstance(exc, RetryAfter | NetworkError):
            if sent_any or may_have_arrived(exc):
                log.warning("lesson day %s to chat %s: outcome unknown (%s), not resent", item.day, item.chat_id, exc)
                report.uncertain += 1
                metrics.lesson_uncertain()
                await self._advance(item, "uncertain", message_id, error=f"outcome unknown: {exc}")
            else:
                report.retried += 1
                metrics.lesson_retried()
                await self._retry(item, exc)
        else:
            raise exc

    async def _advance(
        self, item: deliveries.ClaimedLesson, status: str, message_id: int | None, error: str | None = None
    ) -> None:
        """Record the outcome of a lesson that went out (or may have): what it changes and the next
        lesson are written by the outcome writer, with whatever else is queued by then. The lesson
        keeps its place among the sends under way until then, so what Telegram has and the
        database does not is never more than the send concurrency."""
        written = asyncio.get_running_loop().create_future()
        outcome = self.outcome(item, status, message_id, error)
        self._outcomes.append((outcome, written))
        self._write_if_due()
        await written

    def outcome(
        self, item: deliveries.ClaimedLesson, status: str, message_id: int | None, error: str | None = None
    ) -> deliveries.LessonOutcome:
        """What a lesson that went out changes, in the language being spoken (its recipient's)."""
        now, days = self.clock.now(), self.content.days
        lesson = self.content.lesson(item.day) if item.day <= days else None  # past the last day: graduation
        checkin = lesson.checkin if lesson is not None else None
        remind_at = None
        if checkin and self.settings.checkin_reminder_hours > 0:
            remind_at = now + timedelta(seconds=self.settings.checkin_reminder_seconds)
        next_due_at = None
        if lesson is not None and item.lesson_time and item.timezone:
            next_due_at = next_due(schedule_of(item.lesson_time, item.timezone, self.settings), now=now, last_sent=now)
        return deliveries.LessonOutcome(
            delivery_id=item.delivery_id,
            enrollment_id=item.enrollment_id,
            day=item.day,
            status=status,
            at=now,
            message_id=message_id,
            error=error,
            current_day=min(item.day, days),
            checkin_node=checkin,
            remind_at=remind_at,
            finished=lesson is None,
            next_due=next_due_at,
        )

    def queue_written(self, outcomes: list[deliveries.LessonOutcome]) -> None:
        """Outcomes the paced fan-out could not write: queued for the next flush (shutdown's too)."""
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        self._outcomes.extend((outcome, done) for outcome in outcomes)

    def _write_if_due(self) -> None:
        """Start the outcome writer when no lesson is being sent, or when the outcomes waiting hold
        half the send slots (the other half keep the fan-out going meanwhile)."""
        if not self._outcomes or (self._sending and len(self._outcomes) < self._write_batch):
            return
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_outcomes(), name="lesson-outcomes")

    async def _write_outcomes(self) -> None:
        """Write queued outcomes until none is left, each transaction taking all that queued while
        the last was written. Should the database fail, they stay queued (their senders go on) and
        the batch's closing `flush_outcomes` reports it."""
        try:
            while self._outcomes:
                await self.flush_outcomes()
        except Exception as exc:
            log.debug("outcomes not written yet (%s): kept for the end of the batch", type(exc).__name__)
        finally:
            for _, written in self._outcomes:
                if not written.done():
                    written.set_result(None)

    async def flush_outcomes(self) -> None:
        """Write the queued outcomes and schedule each person's next lesson, in one transaction.
        Until then their rows stay claimed ('sending'), so no process sends them again; should the
        database fail, they stay queued for the next flush."""
        async with self._flush_lock:
            taken, self._outcomes = self._outcomes, []
            if not taken:
                return
            try:
                async with self.db.connection() as connection:
                    await deliveries.record_outcomes(session=connection, outcomes=[outcome for outcome, _ in taken])
            except BaseException:
                self._outcomes[:0] = taken
                raise
            for _, written in taken:
                if not written.done():
                    written.set_result(None)

    async def _fail(self, item: deliveries.ClaimedLesson, error: str) -> None:
        async with self.db.session() as session:
            await deliveries.fail_delivery(session=session, delivery_id=item.delivery_id, error=error)

    async def _unreachable(self, item: deliveries.ClaimedLesson, error: str) -> None:
        """Blocked or gone: keep everything, stop sending; /start makes the lesson due again."""
        async with self.db.session() as session:
            await deliveries.retry_delivery(
                session=session, delivery_id=item.delivery_id, due_at=self.clock.now(), error=error
            )
            await courses.mark_unreachable(session=session, chat_id=item.chat_id)

    async def _retry(self, item: deliveries.ClaimedLesson, exc: Exception) -> None:
        attempts = item.attempts
        if attempts >= MAX_ATTEMPTS:
            log.error("lesson day %s to chat %s failed %s times, giving up: %s", item.day, item.chat_id, attempts, exc)
            await self._fail(item, str(exc))
            return
        delay = exc.retry_after if isinstance(exc, RetryAfter) else backoff(attempts)
        if isinstance(delay, timedelta):
            delay = delay.total_seconds()
        log.warning("lesson day %s to chat %s: %s; retry in %.0f s", item.day, item.chat_id, exc, delay)
        async with self.db.session() as session:
            await deliveries.retry_delivery(
                session=session,
                delivery_id=item.delivery_id,
                due_at=self.clock.now() + timedelta(seconds=float(delay)),
                error=str(exc),
            )
