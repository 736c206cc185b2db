"""The running course: /today, /pause, /resume, /restart, /stop and /help."""

from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.context import CoachContext
from bot.domain.schedule import describe_due, next_due
from bot.handlers.common import reply, schedule_for
from bot.storage import queries
from bot.storage.models import Enrollment, Subscriber


async def _current(context: CoachContext, chat_id: int) -> tuple[Subscriber | None, Enrollment | None]:
    async with context.services.db.session() as session:
        subscriber = await queries.get_subscriber(session=session, chat_id=chat_id)
        enrollment = await queries.current_enrollment(session=session, chat_id=chat_id)
    return subscriber, enrollment


async def resume_course(
    session, subscriber: Subscriber, enrollment: Enrollment, context: CoachContext, now: datetime
) -> datetime:
    """Make a paused or stopped course active again, its next lesson at the next slot: no burst.
    A lesson due now is promised: the caller sends it with `deliver_now`."""
    enrollment.status = "active"
    due = (
        now
        if enrollment.current_day == 0
        else next_due(schedule_for(subscriber, context), now=now, last_sent=enrollment.last_sent_at)
    )
    await queries.cancel_pending(session=session, enrollment_id=enrollment.id)
    await queries.schedule_lessons(
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
        enrollment = await queries.current_enrollment(session=session, chat_id=chat_id)
        status = None if enrollment is None else enrollment.status
        if status == "active":
            enrollment.status = "paused"
            await queries.cancel_pending(session=session, enrollment_id=enrollment.id)
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
        subscriber = await queries.get_subscriber(session=session, chat_id=update.effective_chat.id)
        enrollment = await queries.current_enrollment(session=session, chat_id=update.effective_chat.id)
        status = None if enrollment is None else enrollment.status
        if status in ("paused", "stopped", "held"):
            due = await resume_course(session, subscriber, enrollment, context, now)
    if status in ("paused", "stopped", "held"):
        when = describe_due(schedule_for(subscriber, context), due, now)
        await reply(update, texts.resume_done.format(next_day=enrollment.current_day + 1, when=when))
        if due <= now:
            await services.delivery.deliver_now(context.bot, enrollment.id)
    elif status == "active":
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
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.restart_yes, callback_data="restart:yes"),
                InlineKeyboardButton(texts.restart_no, callback_data="restart:no"),
            ]
        ]
    )
    day = 0 if enrollment is None else enrollment.current_day
    await reply(update, texts.restart_confirm.format(day=day), keyboard)


async def restart_answer(update: Update, context: CoachContext) -> None:
    services = context.services
    texts, query = services.content.texts, update.callback_query
    await query.answer()
    subscriber, enrollment = await _current(context, update.effective_chat.id)
    if subscriber is None or not subscriber.onboarded:
        await query.edit_message_reply_markup(None)
        return
    if query.data != "restart:yes":
        day = 0 if enrollment is None else enrollment.current_day
        await query.edit_message_text(texts.restart_cancelled.format(day=day))
        return
    async with services.db.session() as session:
        fresh = await queries.start_enrollment(session=session, chat_id=subscriber.chat_id, now=services.clock.now())
    await query.edit_message_text(texts.restart_done)
    await services.delivery.deliver_now(context.bot, fresh.id)


async def stop(update: Update, context: CoachContext) -> None:
    texts = context.services.content.texts
    async with context.services.db.session() as session:
        enrollment = await queries.current_enrollment(session=session, chat_id=update.effective_chat.id)
        live = enrollment is not None and enrollment.status in ("active", "paused")
        if live:
            enrollment.status = "stopped"
            await queries.cancel_pending(session=session, enrollment_id=enrollment.id)
    await reply(update, texts.stop_done if live else texts.not_enrolled)


async def help_command(update: Update, context: CoachContext) -> None:
    await reply(update, context.services.content.texts.help)


def register(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("today", today, filters=private))
    application.add_handler(CommandHandler("pause", pause, filters=private))
    application.add_handler(CommandHandler("resume", resume, filters=private))
    application.add_handler(CommandHandler("restart", restart, filters=private))
    application.add_handler(CallbackQueryHandler(restart_answer, pattern=r"^restart:(yes|no)$"))
    application.add_handler(CommandHandler("stop", stop, filters=private))
    application.add_handler(CommandHandler("help", help_command, filters=private))
