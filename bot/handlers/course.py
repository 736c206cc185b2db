"""The running course: /today, /pause, /resume, /restart, /stop and /help."""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.callback_data import RestartAnswer
from bot.context import CoachContext
from bot.domain.schedule import describe_due, next_due
from bot.handlers.common import drop_buttons, edit_text, reply, schedule_for
from bot.storage import courses, deliveries
from bot.storage.models import Enrollment, Subscriber

RESUMABLE = ("paused", "stopped", "held")  # what /resume brings back


async def _current(context: CoachContext, chat_id: int) -> tuple[Subscriber | None, Enrollment | None]:
    async with context.services.db.session() as session:
        subscriber = await courses.get_subscriber(session=session, chat_id=chat_id)
        enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
    return subscriber, enrollment


async def resume_course(
    session, subscriber: Subscriber, enrollment: Enrollment, context: CoachContext, now: datetime
) -> datetime | None:
    """Make a paused, stopped or held course active again, its next lesson at the next slot: no
    burst. A lesson due now is promised: the caller sends it with `deliver_now`. None when another
    press or process resumed it first (then nothing more is done)."""
    if not await courses.change_status(session=session, enrollment=enrollment, to="active", from_=(enrollment.status,)):
        return None
    due = (
        now
        if enrollment.current_day == 0
        else next_due(schedule_for(subscriber, context), now=now, last_sent=enrollment.last_sent_at)
    )
    await deliveries.cancel_pending(session=session, enrollment_id=enrollment.id)
    await deliveries.schedule_lessons(
        session=session,
        lessons=[(enrollment.id, enrollment.current_day + 1, due)],
        asked_at=now if due <= now else None,
    )
    return due


async def today(update: Update, context: CoachContext) -> None:
    """Send the current lesson again, outside the schedule (it does not move the course on)."""
    services = context.services
    subscriber, enrollment = await _current(context, update.effective_chat.id)
    if subscriber is None or not subscriber.onboarded or enrollment is None:
        await reply(update, services.content.texts.today_not_started)
        return
    if enrollment.current_day == 0:  # day 1 may not have gone out yet: send it through the schedule
        report = await services.delivery.deliver_now(context.bot, enrollment.id)
        if report.claimed:
            return
    messages = await services.delivery.composer.compose(
        enrollment_id=enrollment.id,
        day=max(1, enrollment.current_day),
        profile=subscriber.profile,
    )
    for message in messages:
        await services.delivery.send(context.bot, subscriber.chat_id, message)


async def pause_course(context: CoachContext, chat_id: int) -> tuple[str | None, Enrollment | None]:
    """Hold a running course (its waiting lesson comes back on resume); returns the status it had."""
    async with context.services.db.session() as session:
        enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
        status = None if enrollment is None else enrollment.status
        if status == "active" and not await courses.change_status(
            session=session, enrollment=enrollment, to="paused", from_=("active",)
        ):
            status = "paused"  # paused by a press at the same moment
        if status == "active":
            await deliveries.cancel_pending(session=session, enrollment_id=enrollment.id)
    return status, enrollment


async def pause(update: Update, context: CoachContext) -> None:
    texts = context.services.content.texts
    status, enrollment = await pause_course(context, update.effective_chat.id)
    if status == "active":
        await reply(update, texts.pause_done.format(day=max(1, enrollment.current_day)))
    elif status == "paused":
        await reply(update, texts.pause_already)
    else:
        await reply(update, texts.not_enrolled)


async def resume(update: Update, context: CoachContext) -> None:
    services = context.services
    texts, now = services.content.texts, services.clock.now()
    async with services.db.session() as session:
        subscriber = await courses.get_subscriber(session=session, chat_id=update.effective_chat.id)
        enrollment = await courses.current_enrollment(session=session, chat_id=update.effective_chat.id)
        status = None if enrollment is None else enrollment.status
        due = await resume_course(session, subscriber, enrollment, context, now) if status in RESUMABLE else None
    if due is not None:
        when = describe_due(schedule_for(subscriber, context), due, now)
        await reply(update, texts.resume_done.format(next_day=enrollment.current_day + 1, when=when))
        if due <= now:
            await services.delivery.deliver_now(context.bot, enrollment.id)
    elif status in RESUMABLE or status == "active":
        await reply(update, texts.resume_not_paused)
    else:
        await reply(update, texts.not_enrolled)


async def restart(update: Update, context: CoachContext) -> None:
    """Ask before throwing progress away."""
    texts = context.services.content.texts
    subscriber, enrollment = await _current(context, update.effective_chat.id)
    if subscriber is None or not subscriber.onboarded:
        await reply(update, texts.today_not_started)
        return
    run = None if enrollment is None else enrollment.id
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.restart_yes, callback_data=RestartAnswer("yes", run).pack()),
                InlineKeyboardButton(texts.restart_no, callback_data=RestartAnswer("no", run).pack()),
            ]
        ]
    )
    day = 0 if enrollment is None else enrollment.current_day
    await reply(update, texts.restart_confirm.format(day=day), keyboard)


async def restart_answer(update: Update, context: CoachContext) -> None:
    """Yes or no to starting over. The button names the run it is about, so pressing it twice (or
    in two processes at once) starts over once and sends day 1 once."""
    services = context.services
    texts, query = services.content.texts, update.callback_query
    answer = RestartAnswer.unpack(query.data)
    if answer is None:
        await query.answer(texts.button_expired)
        return
    subscriber, enrollment = await _current(context, update.effective_chat.id)
    if subscriber is None or not subscriber.onboarded:
        await query.answer()
        await drop_buttons(query)
        return
    if answer.answer == "no":
        await query.answer()
        await edit_text(query, texts.restart_cancelled.format(day=0 if enrollment is None else enrollment.current_day))
        return
    replacing = answer.enrollment or (None if enrollment is None else enrollment.id)  # old buttons name no run
    fresh = None
    if replacing is not None:
        async with services.db.session() as session:
            fresh = await courses.restart_enrollment(
                session=session, chat_id=subscriber.chat_id, replacing=replacing, now=services.clock.now()
            )
    if fresh is None:
        await query.answer(texts.restart_already)
        await drop_buttons(query)
        return
    await query.answer()
    await edit_text(query, texts.restart_done)
    await services.delivery.deliver_now(context.bot, fresh.id)


async def stop(update: Update, context: CoachContext) -> None:
    texts = context.services.content.texts
    async with context.services.db.session() as session:
        enrollment = await courses.current_enrollment(session=session, chat_id=update.effective_chat.id)
        live = enrollment is not None and await courses.change_status(
            session=session, enrollment=enrollment, to="stopped", from_=("active", "paused")
        )
        if live:
            await deliveries.cancel_pending(session=session, enrollment_id=enrollment.id)
    await reply(update, texts.stop_done if live else texts.not_enrolled)


async def help_command(update: Update, context: CoachContext) -> None:
    await reply(update, context.services.content.texts.help)


def register(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("today", today, filters=private))
    application.add_handler(CommandHandler("pause", pause, filters=private))
    application.add_handler(CommandHandler("resume", resume, filters=private))
    application.add_handler(CommandHandler("restart", restart, filters=private))
    application.add_handler(CallbackQueryHandler(restart_answer, pattern=r"^restart:"))
    application.add_handler(CommandHandler("stop", stop, filters=private))
    application.add_handler(CommandHandler("help", help_command, filters=private))
