"""Check-ins: where did you feel it? Answers by button or free text lead to follow-up questions
or corrective advice, change what the next lesson opens with, and a red flag holds the course.

Every answer is stored at once, so a restart between question and answer loses nothing.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CommandHandler, filters

from bot import metrics
from bot.callback_data import CheckinPress, FixAnswer
from bot.context import CoachContext
from bot.domain.checkin import RED_FLAG_OPTION, Step, step
from bot.domain.course import CourseStatus
from bot.handlers.common import ask_again, button_handler, drop_buttons, reply
from bot.keyboards import checkin_keyboard, hold_keyboard
from bot.render import advice_text, opening_line, user_text
from bot.services.answers import AnswerWrite, PastAnswer, answer_write
from bot.services.course import Enrollment, Subscriber


async def pressed(update: Update, context: CoachContext, button: CheckinPress) -> None:
    """A check-in button: valid only for its own person and its own run of the course. Checked and
    recorded in one transaction (with others pressed at the same moment), then answered. Pressed
    again with the answer already stored, it says so and asks nothing twice."""
    services, query = context.services, update.callback_query
    next_step = step(services.matcher, button.node, button.option)
    if next_step is None:
        await query.answer(services.content.texts.button_expired)
        return
    enrollment_id, day, node_id, option_id = button.enrollment, button.day, button.node, button.option

    def decide(enrollment: Enrollment | None) -> AnswerWrite | str:
        refusal = _refusal(update, context, enrollment, day)
        return refusal or _answer(update, context, enrollment, day, node_id, option_id, None, next_step)

    outcome = await services.answers.write(enrollment_id, decide)
    if isinstance(outcome, str):
        await query.answer(outcome)
        return
    if not outcome.changed:
        await query.answer(services.content.texts.checkin_already)
        return
    metrics.checkin_recorded()
    await query.answer(services.content.texts.checkin_recorded)
    await _respond(update, context, enrollment_id, day, next_step)


def _refusal(update: Update, context: CoachContext, enrollment: Enrollment | None, day: int) -> str | None:
    """Why a pressed button cannot count, or None when it can."""
    texts, chat = context.services.content.texts, update.effective_chat
    someone_else = chat.type == ChatType.PRIVATE and update.effective_user.id != chat.id
    if enrollment is None or enrollment.chat_id != chat.id or someone_else:
        return texts.checkin_not_yours
    if enrollment.status == CourseStatus.REPLACED:
        return texts.checkin_expired
    if not 1 <= day <= enrollment.current_day:  # a day that was never sent: forged
        return texts.button_expired
    return None


async def typed(update: Update, context: CoachContext, enrollment: Enrollment) -> None:
    """Free text while a check-in question is open: read as a coach would, or asked about with
    buttons when even a coach could not tell."""
    text, day, node_id = update.effective_message.text, enrollment.checkin_day, enrollment.checkin_node
    services = context.services
    decision, answer = await services.answers.read_typed(
        services.matcher, enrollment.id, update.effective_user.id, day, node_id, text
    )
    if answer is None:
        await ask_again(update, context, enrollment.id, day, node_id, text, decision, checkin_keyboard)
        return
    await _record(update, context, enrollment.id, day, node_id, answer.option, text, answer.step, answer.opening)


async def red_flag(
    update: Update, context: CoachContext, enrollment: Enrollment, day: int, node_id: str | None, text: str
) -> None:
    """Sharp pain, numbness, tingling: stop, see a professional, hold the course. Always wins."""
    advice = context.services.matcher.red_flag_advice()
    await _record(
        update, context, enrollment.id, day, node_id or RED_FLAG_OPTION, RED_FLAG_OPTION, text, Step(advice=advice)
    )


async def _record(
    update: Update,
    context: CoachContext,
    enrollment_id: int,
    day: int,
    node_id: str,
    option_id: str,
    text: str | None,
    next_step: Step,
    opening: str | None = None,
) -> None:
    """A typed answer (or red flag) to the open question."""

    def decide(enrollment: Enrollment | None) -> AnswerWrite | str:
        if enrollment is None:  # forgotten meanwhile
            return context.services.content.texts.checkin_expired
        return _answer(update, context, enrollment, day, node_id, option_id, text, next_step)

    outcome = await context.services.answers.write(enrollment_id, decide)
    if isinstance(outcome, str):
        await reply(update, outcome)
        return
    metrics.checkin_recorded()
    await _respond(update, context, enrollment_id, day, next_step, opening)


def _answer(
    update: Update,
    context: CoachContext,
    enrollment: Enrollment,
    day: int,
    node_id: str,
    option_id: str,
    text: str | None,
    next_step: Step,
) -> AnswerWrite:
    """The answer and what follows from it: the open question moves on (closed, it gets no
    reminder), and a red flag holds the course."""
    advice = next_step.advice
    still_open = enrollment.checkin_day == day and enrollment.checkin_node == node_id  # nothing below it answered yet
    services = context.services
    return answer_write(
        services.matcher,
        services.clock.now(),
        enrollment_id=enrollment.id,
        chat_id=update.effective_chat.id,
        user_id=update.effective_user.id,
        day=day,
        node_id=node_id,
        option_id=option_id,
        text=text,
        next_step=next_step,
        clear_follow_ups=not still_open,
        moves_question=enrollment.checkin_day == day,
        open_node=next_step.node.id if next_step.node else None,
        holds=advice is not None and advice.effect == "red_flag",
    )


async def _respond(
    update: Update, context: CoachContext, enrollment_id: int, day: int, next_step: Step, opening: str | None = None
) -> None:
    """The follow-up question, or the advice (with the hold note after a red flag), after the
    opening line a typed answer called for."""
    content, advice = context.services.content, next_step.advice
    first = opening_line(content, opening)
    if next_step.node is not None:
        question = f"{first}<b>{next_step.node.question}</b>"
        await reply(update, question, checkin_keyboard(enrollment_id, day, next_step.node))
    elif advice.effect == "red_flag":
        await reply(
            update, f"{advice_text(content, advice)}\n\n{content.texts.hold_note.strip()}", hold_keyboard(content.texts)
        )
    else:
        await reply(update, f"{first}{advice_text(content, advice)}")


async def fix_answer(update: Update, context: CoachContext, button: FixAnswer) -> None:
    """Did yesterday's fix help? Stored with the advice it follows, so what works can be counted."""
    texts, query = context.services.content.texts, update.callback_query
    answer = await context.services.answers.fix_helped(button.answer, update.effective_user.id, button.helped)
    await query.answer(texts.fix_thanks if answer else texts.button_expired)
    if answer:
        await drop_buttons(query)


async def history(update: Update, context: CoachContext) -> None:
    """/checkins: every answer of this run of the course, with the advice it led to."""
    services = context.services
    texts = services.content.texts
    rows = await services.answers.history(update.effective_chat.id, update.effective_user.id)
    if not rows:
        await reply(update, texts.checkins_empty)
        return
    lines = [texts.checkins_heading] + [_history_line(context, row) for row in rows]
    await reply(update, "\n".join(lines))


def _history_line(context: CoachContext, row: PastAnswer) -> str:
    matcher, texts = context.services.matcher, context.services.content.texts
    node = matcher.nodes.get(row.node)
    option = next((o for o in node.options if o.id == row.option), None) if node else None
    answer = option.label if option else user_text(row.text or row.option)
    advice = matcher.advice[row.advice].title if row.advice in matcher.advice else "…"
    helped = texts.checkins_helped.format(helped=row.fix_helped) if row.fix_helped else ""
    return texts.checkins_line.format(day=row.day, answer=answer, advice=advice, helped=helped)


async def read_answer(
    update: Update, context: CoachContext, _subscriber: Subscriber | None, enrollment: Enrollment | None
) -> bool:
    """Free text while a check-in question is open is its answer (a `TextReader`)."""
    if not open_question(enrollment):
        return False
    await typed(update, context, enrollment)
    return True


async def read_red_flag(
    update: Update, context: CoachContext, _subscriber: Subscriber | None, enrollment: Enrollment | None
) -> bool:
    """Red-flag words in any other text still hold the course (a `TextReader`)."""
    text = update.effective_message.text
    if enrollment is None or not context.services.matcher.is_red_flag(text):
        return False
    await red_flag(update, context, enrollment, max(1, enrollment.current_day), None, text)
    return True


def open_question(enrollment: Enrollment | None) -> bool:
    """Whether the run waits on an answer that typed text can give (a held run still takes one)."""
    running = (CourseStatus.ACTIVE, CourseStatus.HELD)
    return enrollment is not None and enrollment.status in running and bool(enrollment.checkin_node)


def register(application: Application) -> None:
    application.add_handler(button_handler(CheckinPress, pressed))
    application.add_handler(button_handler(FixAnswer, fix_answer))
    application.add_handler(CommandHandler("checkins", history, filters=filters.ChatType.PRIVATE))
