"""The delivery engine: one repeating tick per process claims due lessons and sends them.

Exactly-once rests on the database: a row is claimed (status 'sending') and committed before the
send, so no other tick or process can take it; the outcome is written after. A send whose outcome
is unknown (a read timeout: the message may well have arrived) is recorded as 'uncertain' and not
resent, and the course moves on as if it had arrived; the person can always ask for /today.
A process that dies between claim and outcome leaves a claim that expires after the lease and is
sent again: the only way a lesson can arrive twice, bounded by what was in flight.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from dataclasses import dataclass, field
from datetime import time, timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.clock import Clock
from bot.content import Content
from bot.domain.schedule import LessonSchedule, next_due
from bot.render import graduation_text, lesson_text, split_message
from bot.settings import Settings
from bot.storage import queries
from bot.storage.db import Database
from bot.storage.models import Enrollment

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_CAP_SECONDS = 600
SEND_CONCURRENCY = 32  # the rate limiter paces; this only bounds sends in flight
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
    errors: list[str] = field(default_factory=list)


def schedule_of(lesson_time: str, timezone: str, settings: Settings) -> LessonSchedule:
    return LessonSchedule(time.fromisoformat(lesson_time), timezone, settings.course_day_seconds)


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter, capped: 2, 4, 8 ... seconds, never over ten minutes."""
    return random.uniform(0.5, 1.0) * min(BACKOFF_CAP_SECONDS, 2 ** max(1, attempt))


class DeliveryEngine:
    def __init__(self, *, settings: Settings, content: Content, db: Database, clock: Clock) -> None:
        self.settings = settings
        self.content = content
        self.db = db
        self.clock = clock
        self.worker = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._tick_lock = asyncio.Lock()

    async def tick(self, bot: Bot) -> TickReport:
        """Send everything that is due, batch by batch, until nothing is left."""
        report = TickReport()
        async with self._tick_lock:  # one tick at a time per process; a second caller waits
            now = self.clock.now()
            async with self.db.session() as session:
                report.released = await queries.release_stale_claims(
                    session=session, now=now, lease=timedelta(seconds=self.settings.delivery_lease_seconds)
                )
            while True:
                batch = await self._claim(limit=self.settings.delivery_batch_size)
                await self._send_all(bot, batch, report)
                if len(batch) < self.settings.delivery_batch_size:
                    break
        return report

    async def deliver_now(self, bot: Bot, enrollment_id: int) -> TickReport:
        """Send an enrollment's due lesson right away (day 1 after onboarding, after /restart)."""
        report = TickReport()
        await self._send_all(bot, await self._claim(limit=1, enrollment_id=enrollment_id), report)
        return report

    async def _claim(self, *, limit: int, enrollment_id: int | None = None) -> list[queries.ClaimedLesson]:
        async with self.db.session() as session:
            return await queries.claim_due(
                session=session,
                now=self.clock.now(),
                limit=limit,
                worker=self.worker,
                enrollment_id=enrollment_id,
            )

    async def _send_all(self, bot: Bot, batch: list[queries.ClaimedLesson], report: TickReport) -> None:
        report.claimed += len(batch)
        gate = asyncio.Semaphore(SEND_CONCURRENCY)

        async def one(item: queries.ClaimedLesson) -> None:
            async with gate:
                await self._deliver(bot, item, report)

        await asyncio.gather(*(one(item) for item in batch))

    def messages_for(self, day: int, profile: str | None) -> list[str]:
        if day > self.content.days:
            return split_message(graduation_text(self.content))
        return split_message(lesson_text(self.content, self.content.lesson(day), profile))

    async def _deliver(self, bot: Bot, item: queries.ClaimedLesson, report: TickReport) -> None:
        sent_any = False
        message_id = None
        try:
            for chunk in self.messages_for(item.day, item.profile):
                message = await bot.send_message(
                    item.chat_id,
                    chunk,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
                sent_any = True
                message_id = message_id or message.message_id
        except TimedOut as exc:
            log.warning("lesson day %s to chat %s: outcome unknown (%s), not resent", item.day, item.chat_id, exc)
            report.uncertain += 1
            await self._advance(item, "uncertain", message_id, error="read timeout")
        except (Forbidden, BadRequest, ChatMigrated) as exc:
            if sent_any:
                report.uncertain += 1
                await self._advance(item, "uncertain", message_id, error=str(exc))
            elif isinstance(exc, Forbidden) or any(s in str(exc).lower() for s in UNREACHABLE):
                log.info("chat %s unreachable (%s): deliveries stop until /start", item.chat_id, exc)
                report.failed += 1
                await self._unreachable(item, str(exc))
            else:
                log.error("lesson day %s to chat %s rejected: %s", item.day, item.chat_id, exc)
                report.failed += 1
                await self._finish(item, "failed", error=str(exc))
        except (RetryAfter, NetworkError) as exc:
            if sent_any:
                report.uncertain += 1
                await self._advance(item, "uncertain", message_id, error=str(exc))
            else:
                report.retried += 1
                await self._retry(item, exc)
        else:
            report.sent += 1
            await self._advance(item, "sent", message_id)

    async def _advance(
        self, item: queries.ClaimedLesson, status: str, message_id: int | None, error: str | None = None
    ) -> None:
        """Record the outcome and schedule the next lesson, in one transaction."""
        now = self.clock.now()
        async with self.db.session() as session:
            await queries.finish_delivery(
                session=session,
                delivery_id=item.delivery_id,
                status=status,
                now=now,
                message_id=message_id,
                error=error,
            )
            enrollment = await session.get(Enrollment, item.enrollment_id)
            enrollment.current_day = min(item.day, self.content.days)
            enrollment.last_sent_at = now
            if item.day > self.content.days:
                enrollment.status = "finished"
            elif enrollment.status == "active" and item.lesson_time and item.timezone:
                due = next_due(schedule_of(item.lesson_time, item.timezone, self.settings), now=now, last_sent=now)
                await queries.schedule_lesson(
                    session=session, enrollment_id=item.enrollment_id, day=item.day + 1, due_at=due
                )

    async def _finish(self, item: queries.ClaimedLesson, status: str, error: str) -> None:
        async with self.db.session() as session:
            await queries.finish_delivery(
                session=session, delivery_id=item.delivery_id, status=status, now=self.clock.now(), error=error
            )

    async def _unreachable(self, item: queries.ClaimedLesson, error: str) -> None:
        """Blocked or gone: keep everything, stop sending; /start makes the lesson due again."""
        async with self.db.session() as session:
            await queries.retry_delivery(
                session=session, delivery_id=item.delivery_id, due_at=self.clock.now(), error=error
            )
            await queries.mark_unreachable(session=session, chat_id=item.chat_id)

    async def _retry(self, item: queries.ClaimedLesson, exc: Exception) -> None:
        attempts = item.attempts
        if attempts >= MAX_ATTEMPTS:
            log.error("lesson day %s to chat %s failed %s times, giving up: %s", item.day, item.chat_id, attempts, exc)
            await self._finish(item, "failed", error=str(exc))
            return
        delay = exc.retry_after if isinstance(exc, RetryAfter) else backoff(attempts)
        if isinstance(delay, timedelta):
            delay = delay.total_seconds()
        log.warning("lesson day %s to chat %s: %s; retry in %.0f s", item.day, item.chat_id, exc, delay)
        async with self.db.session() as session:
            await queries.retry_delivery(
                session=session,
                delivery_id=item.delivery_id,
                due_at=self.clock.now() + timedelta(seconds=float(delay)),
                error=str(exc),
            )
