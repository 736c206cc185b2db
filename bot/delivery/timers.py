"""Messages a person scheduled for themselves (the rest timer's "time's up"), sent by the delivery
engine the way it sends lessons: claimed and committed before the send, the outcome after, so each
goes out once whichever process runs the tick, and a restart loses none (the row is the timer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.clock import Clock
from bot.content.languages import Library
from bot.domain.rest import rest_text
from bot.keyboards import rest_row
from bot.services.languages import Languages
from bot.storage import training_log
from bot.storage.db import Database
from bot.storage.models import SendStatus

log = logging.getLogger(__name__)

TIMER_ATTEMPTS = 3  # a "time's up" minutes late is no use: a few quick retries, then let it go
TIMER_BATCH = 200
TIMER_TICK_SECONDS = 1.0


class ScheduledKind(StrEnum):
    REST = "rest"


class TimerDelivery:
    """Run by its own short repeating job (`TIMER_TICK_SECONDS`): a rest timer cannot wait for the
    lesson tick. When nothing is due that job costs one read of a partial index."""

    def __init__(
        self,
        *,
        library: Library,
        languages: Languages,
        db: Database,
        clock: Clock,
        worker: str,
        lease: timedelta,
        may_have_arrived: Callable[[Exception], bool],
    ) -> None:
        self.library = library
        self.languages = languages
        self.db = db
        self.clock = clock
        self.worker = worker
        self.lease = lease
        self.may_have_arrived = may_have_arrived  # the engine's line between "resend" and "maybe sent"

    async def waiting(self) -> bool:
        async with self.db.session() as session:
            return await training_log.scheduled_waiting(session=session, now=self.clock.now(), lease=self.lease)

    async def send_due(self, bot: Bot) -> int:
        """Send every due timer message; returns how many went out."""
        if not await self.waiting():
            return 0
        async with self.db.session() as session:
            due = await training_log.claim_scheduled(
                session=session, now=self.clock.now(), limit=TIMER_BATCH, worker=self.worker, lease=self.lease
            )
        spoken = await self.languages.of_chats(message.chat_id for message in due)
        sent = 0
        for message in due:
            status, retry_at = SendStatus.SENT, None
            texts = self.library[spoken[message.chat_id]].texts
            try:
                await bot.send_message(
                    message.chat_id,
                    texts.rest_over.format(time=rest_text(message.seconds)).strip(),
                    reply_markup=InlineKeyboardMarkup([rest_row(texts)]),
                )
                sent += 1
            except (Forbidden, BadRequest) as exc:
                log.info("rest timer to chat %s not sent: %s", message.chat_id, exc)
                status = SendStatus.FAILED
            except (RetryAfter, NetworkError) as exc:
                if self.may_have_arrived(exc):
                    status = SendStatus.UNCERTAIN
                elif message.attempts < TIMER_ATTEMPTS:
                    status, retry_at = SendStatus.PENDING, self.clock.now() + timedelta(seconds=2**message.attempts)
                else:
                    status = SendStatus.FAILED
                log.warning("rest timer to chat %s: %s (%s)", message.chat_id, exc, status)
            async with self.db.session() as session:
                await training_log.finish_scheduled(
                    session=session, message_id=message.id, status=status, at=self.clock.now(), due_at=retry_at
                )
        return sent
