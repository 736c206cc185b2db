"""Group coaching as the group handlers ask for it: the delivery side's summaries, digests and
admins, with the engine's composer and send bound once, so a handler never reaches into delivery.

`summary` decides where a coach's /summary goes (privately to the asker, or the anonymous tally in
the chat with the detail to the admins); the handler only picks the sentence for its verdict.
`run_on_screen` is the run a group's buttons and links name, as its members see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telegram import Bot

from bot.clock import Clock
from bot.content import Content
from bot.delivery.compose import LessonComposer, Outgoing
from bot.delivery.groups import GroupDelivery, Send
from bot.services.answers import enrollments_on_screen
from bot.storage import courses, groups
from bot.storage.db import Database
from bot.storage.models import Enrollment, Subscriber


class SummaryVerdict(StrEnum):
    NOT_STARTED = "not_started"  # the group has no course
    NOT_YET = "not_yet"  # its course has sent no lesson yet
    TO_ADMINS = "to_admins"  # nobody to send the detail to: the anonymous tally here, the detail to the admins
    SENT = "sent"  # the detail went to the asking admin privately
    START_ME = "start_me"  # the asking admin has not started the bot: a link to do so


@dataclass(frozen=True)
class Summary:
    verdict: SummaryVerdict
    day: int = 0
    enrollment_id: int | None = None
    has_question: bool = False  # TO_ADMINS: the day asks a check-in question ...
    tally: str = ""  # ... and how many chose each answer ("" when nobody has)


class GroupCoaching:
    def __init__(
        self,
        *,
        delivery: GroupDelivery,
        composer: LessonComposer,
        send: Send,
        db: Database,
        clock: Clock,
        content: Content,
    ) -> None:
        self.delivery = delivery
        self.composer = composer
        self.send = send
        self.db = db
        self.clock = clock
        self.content = content

    @property
    def mini_app_url(self) -> str | None:
        return self.delivery.mini_app_url

    async def admins(self, bot: Bot, chat_id: int) -> dict[int, str]:
        return await self.delivery.admins(bot, chat_id)

    def forget_admins(self, chat_id: int) -> None:
        self.delivery.forget_admins(chat_id)

    async def move(self, old_chat_id: int, new_chat_id: int) -> bool:
        return await self.delivery.move(old_chat_id, new_chat_id)

    async def note_member(self, chat_id: int, user_id: int, name: str) -> None:
        """Someone who used a group command or pressed a group button: on the roster /summary
        accounts for."""
        async with self.db.session() as session:
            await groups.note_member(session=session, chat_id=chat_id, user_id=user_id, name=name, now=self.clock.now())

    async def run_on_screen(self, enrollment_id: int) -> tuple[Enrollment | None, Subscriber | None]:
        """A run of the course as its members see it (a lesson still being recorded has arrived: its
        buttons and links work at once), and the chat it belongs to; both as read (detached)."""
        async with self.db.session() as session:
            found = await enrollments_on_screen(session, [enrollment_id], self.content.question_of)
            enrollment = found.get(enrollment_id)
            chat = (
                None
                if enrollment is None
                else await courses.get_subscriber(session=session, chat_id=enrollment.chat_id)
            )
        return enrollment, chat

    async def summary_text(self, bot: Bot, chat_id: int) -> str:
        return await self.delivery.summary_text(bot, chat_id)

    async def summary(self, bot: Bot, chat_id: int, asker_id: int | None) -> Summary:
        """A coach's /summary. `asker_id` is None when nobody can be answered privately (a channel
        post, an anonymous admin): the admins who have started the bot get the detail instead."""
        async with self.db.session() as session:
            enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
            started_bot = asker_id is not None and bool(
                await groups.private_chats_of(session=session, user_ids=[asker_id])
            )
        if enrollment is None:
            return Summary(SummaryVerdict.NOT_STARTED)
        if enrollment.current_day == 0:
            return Summary(SummaryVerdict.NOT_YET)
        if asker_id is None:
            day = min(enrollment.current_day, self.content.days)
            await self.delivery.send_digest(bot, chat_id, day, self.send)
            node = self.content.lesson(day).checkin
            tally = (
                ""
                if node is None
                else await self.composer.tally_line(enrollment_id=enrollment.id, day=day, node_id=node)
            )
            return Summary(SummaryVerdict.TO_ADMINS, day=day, has_question=node is not None, tally=tally)
        if started_bot and await self.delivery.send_summary(bot, chat_id, [asker_id], self.send):
            return Summary(SummaryVerdict.SENT)  # in the asker's language: the reply in the group is in the group's
        return Summary(SummaryVerdict.START_ME, enrollment_id=enrollment.id)

    async def lesson_with_tally(self, enrollment_id: int, day: int, bot_username: str | None) -> Outgoing:
        """The last part of a group's lesson (the question and its buttons) with today's counts."""
        parts = await self.composer.compose_group(enrollment_id=enrollment_id, day=day, bot_username=bot_username)
        return parts[-1]
