"""Group coaching on the delivery side: a group's lesson goes to its forum topic and survives the
topic being deleted or the group becoming a supergroup; the coach's summary and the daily digest;
and who a chat's admins are (asked from Telegram, remembered for a minute).

What is posted in the group speaks the group's language; what goes to a coach privately (a
summary, a digest, the button to the group's page) speaks that coach's own."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError

from bot.clock import Clock
from bot.content import Content
from bot.content.languages import Library
from bot.delivery.compose import Outgoing
from bot.domain.groups import GroupAnswer, summarise
from bot.keyboards import coach_page_keyboard
from bot.language import speaking
from bot.render import split_message
from bot.services.languages import Languages
from bot.storage import courses, groups
from bot.storage.db import Database
from bot.storage.models import GroupMember, Subscriber

log = logging.getLogger(__name__)

ADMIN_CACHE = timedelta(seconds=60)
TOPIC_GONE = ("message thread not found", "topic_closed", "topic_deleted")

Send = Callable[[Bot, int, Outgoing, int | None], Awaitable[int]]


@dataclass(frozen=True)
class SummaryFacts:
    """A group's course as a summary reads it: the same in every coach's language."""

    title: str
    current_day: int
    answers: list[GroupAnswer]
    members: list[GroupMember]
    admins: dict[int, str]


class GroupDelivery:
    def __init__(
        self, *, library: Library, languages: Languages, db: Database, clock: Clock, mini_app_url: str | None = None
    ) -> None:
        self.library = library
        self.languages = languages
        self.mini_app_url = mini_app_url  # summaries carry a button to the group's Mini App page
        self.db = db
        self.clock = clock
        self._admins: dict[int, tuple[datetime, dict[int, str]]] = {}  # a cache, not course state

    @property
    def content(self) -> Content:
        """The content in the language being spoken (bot.language.speaking sets it per recipient)."""
        return self.library.current

    async def admins(self, bot: Bot, chat_id: int) -> dict[int, str]:
        """The chat's human admins (user id -> name), asked from Telegram at most once a minute."""
        now = self.clock.now()
        cached = self._admins.get(chat_id)
        if cached is not None and now - cached[0] < ADMIN_CACHE:
            return cached[1]
        members = await bot.get_chat_administrators(chat_id)
        names = {member.user.id: member.user.full_name for member in members if not member.user.is_bot}
        self._admins = {chat: entry for chat, entry in self._admins.items() if now - entry[0] < ADMIN_CACHE}
        self._admins[chat_id] = (now, names)
        return names

    def forget_admins(self, chat_id: int) -> None:
        self._admins.pop(chat_id, None)

    async def move(self, old_chat_id: int, new_chat_id: int) -> bool:
        """The group became a supergroup: its course, answers and roster follow it."""
        self.forget_admins(old_chat_id)
        async with self.db.session() as session:
            moved = await groups.move_chat(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
        if moved:
            log.info("group %s became supergroup %s: its course moved along", old_chat_id, new_chat_id)
        return moved

    async def send_lesson_part(self, bot: Bot, enrollment_id: int, message: Outgoing, send: Send) -> int:
        """One part of a group's lesson, to its topic. A topic that is gone or closed falls back to
        General (the admins hear of it once: the topic is forgotten); a migrated group is followed."""
        async with self.db.session() as session:
            chat_id, thread_id = await groups.lesson_place(session=session, enrollment_id=enrollment_id)
        try:
            return await send(bot, chat_id, message, thread_id)
        except ChatMigrated as exc:
            await self.move(chat_id, exc.new_chat_id)
            return await send(bot, exc.new_chat_id, message, thread_id)
        except BadRequest as exc:
            if thread_id is None or not any(reason in str(exc).lower() for reason in TOPIC_GONE):
                raise
            log.info("chat %s: lesson topic %s is gone (%s); posting to General", chat_id, thread_id, exc)
        async with self.db.session() as session:
            await groups.set_thread(session=session, chat_id=chat_id, thread_id=None)
        sent = await send(bot, chat_id, message, None)
        try:
            await send(bot, chat_id, Outgoing(self.content.texts.group_topic_gone), None)
        except TelegramError as exc:  # the lesson went out; the note is a courtesy
            log.warning("chat %s: note about the lost topic not sent: %s", chat_id, exc)
        return sent

    async def summary_text(self, bot: Bot, chat_id: int, day: int | None = None) -> str:
        """The coach's view of one course day (the latest by default): answers per option, red flags
        by name, who has not checked in, and every day so far. For admins' eyes only."""
        return self._render_summary(await self._summary_facts(bot, chat_id), day)

    async def _summary_facts(self, bot: Bot, chat_id: int) -> SummaryFacts | None:
        """What a summary is written from, read once however many languages it is written in;
        None before the group's course has a day."""
        async with self.db.session() as session:
            subscriber = await session.get(Subscriber, chat_id)
            enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
            if subscriber is None or enrollment is None or enrollment.current_day == 0:
                return None
            answers = await groups.group_answers(session=session, enrollment_id=enrollment.id)
            members = await groups.roster(session=session, chat_id=chat_id)
        try:
            admins = await self.admins(bot, chat_id)
        except TelegramError as exc:
            log.warning("chat %s: admins unknown (%s); the summary lists everyone", chat_id, exc)
            admins = {}
        answered = [GroupAnswer(a.user_id, a.day, a.node, a.option, a.effect) for a in answers]
        return SummaryFacts(subscriber.name, enrollment.current_day, answered, members, admins)

    def _render_summary(self, facts: SummaryFacts | None, day: int | None) -> str:
        """The summary in the language being spoken."""
        texts, content = self.content.texts, self.content
        if facts is None:
            return texts.group_summary_not_yet
        answers, members, admins = facts.answers, facts.members, facts.admins
        day = min(day or facts.current_day, content.days)
        entry_nodes = {lesson.day: lesson.checkin for lesson in content.lessons}
        node = content.checkin.node_by_id.get(entry_nodes[day] or "")
        summary = summarise(
            answers,
            day=day,
            entry_nodes=entry_nodes,
            options=[(o.id, o.label) for o in node.options] if node else [],
            roster=[m.user_id for m in members if m.user_id not in admins],
        )
        names = {m.user_id: m.name for m in members}
        labels = {(n.id, o.id): o.label for n in content.checkin.nodes for o in n.options}
        sections = [texts.group_summary_heading.format(title=escape(facts.title), day=day, days=content.days)]
        if node is None:
            sections.append(texts.group_summary_no_question)
        elif summary.counts:
            total = sum(count for _, count in summary.counts)
            lines = [texts.group_summary_answers.format(count=total)]
            lines += [texts.group_summary_answer_line.format(label=escape(lb), count=n) for lb, n in summary.counts]
            sections.append("\n".join(lines))
        else:
            sections.append(texts.group_summary_no_answers)
        if summary.red_flags:
            lines = [texts.group_summary_red_flags]
            lines += [
                texts.group_summary_red_flag_line.format(
                    name=escape(names.get(user, str(user))), answer=escape(labels.get((node_id, option), option))
                )
                for user, node_id, option in summary.red_flags
            ]
            sections.append("\n".join(lines))
        if summary.missing:
            missing = ", ".join(escape(names.get(user, str(user))) for user in summary.missing)
            sections.append(texts.group_summary_missing.format(names=missing))
        else:
            sections.append(texts.group_summary_all_in)
        trend = [
            texts.group_summary_trend_line.format(
                day=t.day, count=t.checked_in, clean=t.clean, fix=t.fix, red=t.red_flags
            )
            for t in summary.trend
        ]
        sections.append("\n".join([texts.group_summary_trend, *trend]))
        return "\n\n".join(section.strip() for section in sections)

    async def send_digest(self, bot: Bot, chat_id: int, day: int, send: Send) -> int:
        """The check-in window of a group's day closed: every admin who has started a private chat
        with the bot gets that day's summary. Returns how many got it."""
        try:
            admins = await self.admins(bot, chat_id)
        except TelegramError as exc:
            log.warning("digest for chat %s skipped: admins unknown (%s)", chat_id, exc)
            return 0
        async with self.db.session() as session:
            coaches = await groups.private_chats_of(session=session, user_ids=sorted(admins))
        return await self.send_summary(bot, chat_id, coaches, send, day=day, digest=True)

    async def send_summary(
        self, bot: Bot, chat_id: int, coaches: list[int], send: Send, *, day: int | None = None, digest: bool = False
    ) -> int:
        """A group's summary (headed as the daily digest with `digest`) to each coach privately, in
        the coach's own language, never the group's: the group read once, the summary written once
        per language among them. Returns how many got it."""
        spoken = await self.languages.of_chats(coaches)
        written: dict[str, str] = {}
        facts: SummaryFacts | None = None
        reached = 0
        for coach in coaches:
            language = spoken[coach]
            if not written:  # read once, before the first summary is written
                facts = await self._summary_facts(bot, chat_id)
            with speaking(language):
                if language not in written:
                    summary = self._render_summary(facts, day)
                    written[language] = f"{self.content.texts.group_digest_heading}\n\n{summary}" if digest else summary
                reached += await self.send_private(bot, coach, written[language], send, about=chat_id)
        return reached

    async def send_private(self, bot: Bot, chat_id: int, text: str, send: Send, *, about: int | None = None) -> bool:
        """A summary to one coach, split if long, the last part with the button to the page of the
        group it is `about`; a coach who blocked the bot is marked unreachable."""
        markup = None if about is None else coach_page_keyboard(self.content.texts, self.mini_app_url, about)
        try:
            chunks = split_message(text)
            for i, chunk in enumerate(chunks):
                await send(bot, chat_id, Outgoing(chunk, markup if i == len(chunks) - 1 else None), None)
        except Forbidden:
            async with self.db.session() as session:
                await courses.mark_unreachable(session=session, chat_id=chat_id)
            return False
        except TelegramError as exc:
            log.warning("summary to chat %s not sent: %s", chat_id, exc)
            return False
        return True
