"""What a lesson delivery says: the lesson adapted to the check-in history, its check-in question
and buttons, the "did the fix help?" follow-up, or the graduation message. Building only; no sending."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from bot.content import Content
from bot.domain.checkin import Adaptation, PastAnswer, adapt_next_lesson
from bot.keyboards import checkin_keyboard, fix_keyboard
from bot.render import drill_block, graduation_text, lesson_text, split_message
from bot.storage import queries
from bot.storage.db import Database
from bot.storage.models import CheckinAnswer


@dataclass(frozen=True)
class Outgoing:
    """One message to send: HTML text and, optionally, buttons."""

    text: str
    markup: InlineKeyboardMarkup | None = None


def past_answers(rows: list[CheckinAnswer]) -> list[PastAnswer]:
    return [PastAnswer(r.id, r.day, r.advice, r.effect, r.answered_at, r.fix_helped) for r in rows]


class LessonComposer:
    def __init__(self, *, content: Content, db: Database) -> None:
        self.content = content
        self.db = db

    async def compose(self, *, enrollment_id: int, chat_id: int, day: int, profile: str | None) -> list[Outgoing]:
        """The lesson for `day` as messages: adapted to the check-in history, with its check-in
        question and buttons under the last part, and "did the fix help?" when that is open."""
        content, texts = self.content, self.content.texts
        if day > content.days:
            return [Outgoing(chunk) for chunk in split_message(graduation_text(content))]
        async with self.db.session() as session:
            history = past_answers(
                await queries.answers_with_advice(session=session, enrollment_id=enrollment_id, user_id=chat_id)
            )
        adaptation = adapt_next_lesson(history, day)
        lesson = content.lesson(day)
        text = lesson_text(content, lesson, profile, opening=self._opening(adaptation))
        node = next((n for n in content.checkin.nodes if n.id == lesson.checkin), None)
        if node is not None:
            text += f"\n\n<b>{node.question}</b>"
        chunks = split_message(text)
        messages = [Outgoing(chunk) for chunk in chunks[:-1]]
        markup = checkin_keyboard(enrollment_id, day, node) if node is not None else None
        messages.append(Outgoing(chunks[-1], markup))
        if adaptation.ask_fix is not None:
            advice = next(a for a in content.checkin.advice if a.id == adaptation.ask_fix.advice)
            question = texts.fix_question.format(day=adaptation.ask_fix.day, advice=advice.title)
            messages.append(Outgoing(question, fix_keyboard(adaptation.ask_fix.answer_id, texts)))
        return messages

    def _opening(self, adaptation: Adaptation) -> str | None:
        texts = self.content.texts
        if adaptation.kind == "progress":
            return texts.adapt_progress.strip()
        if adaptation.kind in ("regress", "activate"):
            advice = next(a for a in self.content.checkin.advice if a.id == adaptation.advice)
            intro = texts.adapt_regress if adaptation.kind == "regress" else texts.adapt_activate
            drills = "\n\n".join(drill_block(self.content, d.drill, d.dose, d.note) for d in advice.drills)
            return f"{intro.strip()}\n\n{drills}" if drills else intro.strip()
        return None
