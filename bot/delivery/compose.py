"""What a lesson delivery says: the lesson adapted to the check-in history, its check-in question
and buttons, the "did the fix help?" follow-up, or the graduation message. Building only; no sending."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from sqlalchemy import Row
from telegram import InlineKeyboardMarkup

from bot.content import Content
from bot.content.languages import Library
from bot.domain.chats import ChatKind
from bot.domain.checkin import Adaptation, PastAnswer, adapt_next_lesson
from bot.domain.course import Profile
from bot.domain.groups import member_link_payload, start_link, tally
from bot.keyboards import checkin_keyboard, fix_keyboard, group_checkin_keyboard
from bot.render import MESSAGE_LIMIT, drill_block, graduation_text, lesson_text, split_message
from bot.storage import deliveries, groups
from bot.storage.db import Database
from bot.storage.models import CheckinAnswer

# Room a group lesson's last part must have left for the tally line at its longest; without it the
# question and buttons come as a message of their own.
GROUP_CHECKIN_ROOM = 600


@dataclass(frozen=True)
class Outgoing:
    """One message to send: HTML text and, optionally, buttons."""

    text: str
    markup: InlineKeyboardMarkup | None = None


def past_answers(rows: Iterable[CheckinAnswer | Row]) -> list[PastAnswer]:
    """Stored answers (ORM objects or `advice_histories` rows) as the adaptation rules read them."""
    return [PastAnswer(r.id, r.day, r.advice, r.effect, r.answered_at, r.fix_helped) for r in rows]


class LessonComposer:
    def __init__(self, *, library: Library, db: Database) -> None:
        self.library = library
        self.db = db

    @property
    def content(self) -> Content:
        """The content in the language being spoken (bot.language.speaking sets it per recipient)."""
        return self.library.current

    async def compose(
        self,
        *,
        enrollment_id: int,
        day: int,
        profile: str | None,
        kind: str = "private",
        bot_username: str | None = None,
        history: list[PastAnswer] | None = None,
    ) -> list[Outgoing]:
        """The lesson for `day` as messages: adapted to the check-in `history` (read when not given),
        with its check-in question and buttons under the last part, and "did the fix help?" when
        that is open. A group or channel gets the group lesson instead."""
        if kind != ChatKind.PRIVATE:
            return await self.compose_group(enrollment_id=enrollment_id, day=day, bot_username=bot_username)
        if history is None and day <= self.content.days:
            async with self.db.session() as session:
                histories = await deliveries.advice_histories(session=session, enrollment_ids=[enrollment_id])
            history = past_answers(histories.get(enrollment_id, []))
        adaptation = adapt_next_lesson(history or [], day)
        return self.private_lesson(enrollment_id=enrollment_id, day=day, profile=profile, adaptation=adaptation)

    def private_lesson(
        self, *, enrollment_id: int, day: int, profile: str | None, adaptation: Adaptation
    ) -> list[Outgoing]:
        """A person's lesson for `day`, opened as `adaptation` says (or the graduation message past
        the last day). It reads nothing else, so the fan-out renders it once per variant
        (bot/delivery/lean.py)."""
        content, texts = self.content, self.content.texts
        if day > content.days:
            return [Outgoing(chunk) for chunk in split_message(graduation_text(content))]
        lesson = content.lesson(day)
        text = lesson_text(content, lesson, profile, opening=self._opening(adaptation))
        node = content.checkin.node_by_id.get(lesson.checkin or "")
        if node is not None:
            text += f"\n\n<b>{node.question}</b>"
        chunks = split_message(text)
        messages = [Outgoing(chunk) for chunk in chunks[:-1]]
        markup = checkin_keyboard(enrollment_id, day, node) if node is not None else None
        messages.append(Outgoing(chunks[-1], markup))
        if adaptation.ask_fix is not None:
            advice = content.checkin.advice_by_id[adaptation.ask_fix.advice]
            question = texts.fix_question.format(day=adaptation.ask_fix.day, advice=advice.title)
            messages.append(Outgoing(question, fix_keyboard(adaptation.ask_fix.answer_id, texts)))
        return messages

    async def compose_group(self, *, enrollment_id: int, day: int, bot_username: str | None) -> list[Outgoing]:
        """A group's lesson, the same for everyone (every profile's notes, no adaptation), with the
        check-in buttons, a link to the full advice in private, and the anonymous tally under the
        question. Composed again with fresh counts whenever the tally is edited."""
        content = self.content
        if day > content.days:
            return [Outgoing(chunk) for chunk in split_message(graduation_text(content))]
        lesson = content.lesson(day)
        chunks = split_message(lesson_text(content, lesson, Profile.BOTH))
        node = content.checkin.node_by_id.get(lesson.checkin or "")
        if node is None:
            return [Outgoing(chunk) for chunk in chunks]
        block = f"<b>{node.question}</b>"
        counts = await self.tally_line(enrollment_id=enrollment_id, day=day, node_id=node.id)
        if counts:
            block += f"\n{content.texts.group_tally.format(tally=counts)}"
        if len(chunks[-1]) + len(node.question) + GROUP_CHECKIN_ROOM <= MESSAGE_LIMIT:
            chunks[-1] = f"{chunks[-1]}\n\n{block}"
        else:
            chunks.append(block)
        link = start_link(bot_username, member_link_payload(enrollment_id, day)) if bot_username else None
        markup = group_checkin_keyboard(enrollment_id, day, node, link, content.texts.group_link_button)
        return [Outgoing(chunk) for chunk in chunks[:-1]] + [Outgoing(chunks[-1], markup)]

    async def tally_line(self, *, enrollment_id: int, day: int, node_id: str) -> str:
        """'🍑 Hamstrings and glutes 5 · 🔻 Lower back 2': how many chose each answer, no names."""
        node = self.content.checkin.node_by_id[node_id]
        async with self.db.session() as session:
            chosen = await groups.chosen_options(session=session, enrollment_id=enrollment_id, day=day, node=node_id)
        counts = tally([(o.id, o.label) for o in node.options], chosen)
        return " · ".join(f"{escape(label)} {count}" for label, count in counts)

    def _opening(self, adaptation: Adaptation) -> str | None:
        texts = self.content.texts
        if adaptation.kind == "progress":
            return texts.adapt_progress.strip()
        if adaptation.kind in ("regress", "activate"):
            advice = self.content.checkin.advice_by_id[adaptation.advice]
            intro = texts.adapt_regress if adaptation.kind == "regress" else texts.adapt_activate
            drills = "\n\n".join(drill_block(self.content, d.drill, d.dose, d.note) for d in advice.drills)
            return f"{intro.strip()}\n\n{drills}" if drills else intro.strip()
        return None
