"""/start and /settings: profile, lesson time and time zone, by buttons, typing or location.

The step a person is on lives in the database (`Subscriber.awaiting`), not in memory, so a
restart between question and answer loses nothing.
"""

from __future__ import annotations

from datetime import datetime

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callback_data import ProfileChoice, SettingsChoice, TimeChoice, UnitsChoice, ZonePick
from bot.context import CoachContext
from bot.domain.schedule import describe_due, local_now, next_due
from bot.domain.timeparse import format_time, parse_lesson_time
from bot.domain.timezones import ZoneChoice, resolve_timezone, timezone_at
from bot.handlers import group
from bot.handlers.common import display_name, reply, schedule_for
from bot.handlers.course import resume_course
from bot.render import user_text
from bot.storage import courses, deliveries
from bot.storage.models import Subscriber

TIME_CHOICES = ("06:00", "07:00", "12:00", "17:00", "19:00")
PROFILES = ("runner", "lifter", "both")
STEPS = ("profile", "time", "timezone")  # what onboarding asks, in this order
TYPED = ("time", "timezone")  # what can be typed as well as tapped


def _profile_keyboard(context: CoachContext) -> InlineKeyboardMarkup:
    texts = context.services.content.texts
    labels = {"runner": texts.profile_runner, "lifter": texts.profile_lifter, "both": texts.profile_both}
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(labels[p], callback_data=ProfileChoice(p).pack()) for p in PROFILES]]
    )


def _time_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=TimeChoice(t).pack()) for t in TIME_CHOICES]])


def _location_keyboard(context: CoachContext) -> ReplyKeyboardMarkup:
    button = KeyboardButton(context.services.content.texts.share_location_button, request_location=True)
    return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)


def _zone_keyboard(choices: list[ZoneChoice]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(c.label[:60], callback_data=ZonePick(c.zone).pack())] for c in choices]
    )


async def start(update: Update, context: CoachContext) -> None:
    """Welcome a new person into onboarding; tell a known one where they are, changing nothing.
    A link from a group (`/start g...`, `/start s...`) first shows what it points to."""
    if context.args and await group.open_link(update, context, context.args[0]):
        await _offer_course(update, context)
        return
    services = context.services
    texts, now = services.content.texts, services.clock.now()
    name = user_text(display_name(update))
    enrollment, resumed = None, False
    async with services.db.session() as session:
        subscriber, _ = await courses.get_or_create_subscriber(
            session=session, chat_id=update.effective_chat.id, name=display_name(update), kind="private", now=now
        )
        if not subscriber.onboarded:
            subscriber.awaiting = "profile"
        else:
            enrollment = await courses.current_enrollment(session=session, chat_id=subscriber.chat_id)
            resumed = enrollment is not None and enrollment.status == "stopped"
            if resumed:
                await resume_course(session, subscriber, enrollment, context, now)
    if not subscriber.onboarded:
        course = services.content.course
        await reply(update, f"{texts.start_intro.format(name=name)}\n{course.welcome}\n<i>{course.safety.strip()}</i>")
        await reply(update, texts.ask_profile, _profile_keyboard(context))
        return
    if enrollment is None or enrollment.status in ("finished", "replaced"):
        await reply(update, texts.start_finished.format(name=name))
        return
    paused = " (paused: /resume carries on)" if enrollment.status == "paused" else ""
    await reply(
        update,
        texts.start_known.format(
            name=name, day=max(1, enrollment.current_day), days=services.content.days, paused=paused
        ),
    )
    if resumed:
        await services.delivery.deliver_now(context.bot, enrollment.id)


async def _offer_course(update: Update, context: CoachContext) -> None:
    """Someone who came from a group and has no course of their own is invited to start one."""
    services = context.services
    async with services.db.session() as session:
        subscriber, _ = await courses.get_or_create_subscriber(
            session=session,
            chat_id=update.effective_chat.id,
            name=display_name(update),
            kind="private",
            now=services.clock.now(),
        )
        if subscriber.onboarded:
            return
        subscriber.awaiting = "profile"
    await reply(update, services.content.texts.group_offer_course, _profile_keyboard(context))


async def settings_menu(update: Update, context: CoachContext) -> None:
    """Show the current schedule and let the person change any part of it."""
    texts = context.services.content.texts
    async with context.services.db.session() as session:
        subscriber = await courses.get_subscriber(session=session, chat_id=update.effective_chat.id)
    if subscriber is None or not subscriber.onboarded:
        await reply(update, texts.today_not_started)
        return
    profile = {"runner": texts.profile_runner, "lifter": texts.profile_lifter}.get(
        subscriber.profile, texts.profile_both
    )
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(texts.settings_time_button, callback_data=SettingsChoice("time").pack())],
            [InlineKeyboardButton(texts.settings_timezone_button, callback_data=SettingsChoice("timezone").pack())],
            [InlineKeyboardButton(texts.settings_profile_button, callback_data=SettingsChoice("profile").pack())],
            [
                InlineKeyboardButton(texts.units_kg_button, callback_data=UnitsChoice("kg").pack()),
                InlineKeyboardButton(texts.units_lb_button, callback_data=UnitsChoice("lb").pack()),
            ],
        ]
    )
    await reply(
        update,
        texts.settings_menu.format(time=subscriber.lesson_time, timezone=subscriber.timezone, profile=profile),
        keyboard,
    )


async def settings_choice(update: Update, context: CoachContext) -> None:
    """A settings button: ask the matching question, remembering what the answer is for."""
    query = update.callback_query
    choice = SettingsChoice.unpack(query.data)
    await query.answer(None if choice else context.services.content.texts.button_expired)
    if choice is None:
        return
    field = choice.field
    async with context.services.db.session() as session:
        subscriber = await courses.get_subscriber(session=session, chat_id=update.effective_chat.id)
        if subscriber is None or not subscriber.onboarded:
            await reply(update, context.services.content.texts.today_not_started)
            return
        subscriber.awaiting = field
    await _ask(update, context, field, subscriber)


async def _ask(update: Update, context: CoachContext, field: str, subscriber: Subscriber) -> None:
    texts = context.services.content.texts
    if field == "profile":
        await reply(update, texts.ask_profile, _profile_keyboard(context))
    elif field == "time":
        await reply(update, texts.ask_time, _time_keyboard())
    else:
        await reply(
            update, texts.ask_timezone.format(time=subscriber.lesson_time or "07:00"), _location_keyboard(context)
        )


async def choose_profile(update: Update, context: CoachContext) -> None:
    choice = ProfileChoice.unpack(update.callback_query.data)
    if await _answered(update, context, choice):
        await _save(update, context, "profile", choice.profile)


async def choose_time(update: Update, context: CoachContext) -> None:
    choice = TimeChoice.unpack(update.callback_query.data)
    chosen = None if choice is None else parse_lesson_time(choice.time)
    if await _answered(update, context, chosen):
        await _save(update, context, "time", format_time(chosen))


async def choose_zone(update: Update, context: CoachContext) -> None:
    choice = ZonePick.unpack(update.callback_query.data)
    choices = [] if choice is None else resolve_timezone(choice.zone)
    if await _answered(update, context, choices if len(choices) == 1 else None):
        await _save(update, context, "timezone", choices[0].zone)


async def _answered(update: Update, context: CoachContext, read: object) -> bool:
    """Answer the press: silently when its data could be read, with 'expired' when not."""
    await update.callback_query.answer(None if read else context.services.content.texts.button_expired)
    return bool(read)


async def shared_location(update: Update, context: CoachContext) -> None:
    """A location shared from the reply keyboard: find its zone offline, keep only the zone."""
    location = update.effective_message.location
    zone = timezone_at(location.latitude, location.longitude)
    if zone is None:
        await reply(update, context.services.content.texts.timezone_invalid.format(text="that location"))
        return
    await _save(update, context, "timezone", zone)


async def typed_answer(update: Update, context: CoachContext, subscriber: Subscriber) -> None:
    """Free text while a question is open: a time, or a place or zone. The question asked is tried
    first, then the other: '7am' while the zone is asked, or 'Berlin' while the time is, is taken
    for what it is, and the step still missing is asked next."""
    texts = context.services.content.texts
    text, awaited = update.effective_message.text, subscriber.awaiting
    for field in sorted(TYPED, key=lambda typed: typed != awaited):
        if field == "time" and (chosen := parse_lesson_time(text)) is not None:
            await _save(update, context, "time", format_time(chosen))
            return
        if field == "timezone" and (choices := resolve_timezone(text)):
            if len(choices) == 1:
                await _save(update, context, "timezone", choices[0].zone)
            else:
                await reply(update, texts.timezone_choices.format(text=user_text(text)), _zone_keyboard(choices))
            return
    if awaited == "time":
        await reply(update, texts.time_invalid.format(text=user_text(text)), _time_keyboard())
    elif awaited == "timezone":
        await reply(update, texts.timezone_invalid.format(text=user_text(text)))
    else:  # awaiting a button answer (profile): show the buttons again
        await _ask(update, context, awaited, subscriber)


async def _save(update: Update, context: CoachContext, field: str, value: str) -> None:
    """Store one answer, whatever step it came at (a button or location may come at any time);
    during onboarding ask for whatever is still missing, afterwards reschedule. Someone the bot
    does not know (never started, or forgotten) is sent to /start and nothing is stored."""
    services = context.services
    texts, now = services.content.texts, services.clock.now()
    enrollment, next_field, note = None, None, ""
    async with services.db.session() as session:
        subscriber = await courses.get_subscriber(session=session, chat_id=update.effective_chat.id)
        if subscriber is None:
            await reply(update, texts.today_not_started)
            return
        setattr(subscriber, {"time": "lesson_time"}.get(field, field), value)
        if not subscriber.onboarded:
            next_field = _missing(subscriber)
            subscriber.awaiting = next_field
            if next_field is None and await courses.finish_onboarding(session=session, chat_id=subscriber.chat_id):
                subscriber.onboarded = True
                enrollment = await courses.start_enrollment(session=session, chat_id=subscriber.chat_id, now=now)
        else:
            subscriber.awaiting = None
            note = await _reschedule(session, subscriber, context, now)
    if next_field:
        await _ask(update, context, next_field, subscriber)
    elif enrollment is not None:
        await reply(
            update,
            texts.onboarding_done.format(
                time=subscriber.lesson_time,
                timezone=subscriber.timezone,
                local_now=local_now(subscriber.timezone, now).strftime("%H:%M"),
            ),
            ReplyKeyboardRemove(),
        )
        await services.delivery.deliver_now(context.bot, enrollment.id)
    else:  # a setting changed, or onboarding finished by a press at the same moment
        await reply(update, texts.settings_saved.format(next_lesson=note), ReplyKeyboardRemove())


def _missing(subscriber: Subscriber) -> str | None:
    """The first onboarding step still unanswered, or None when all are."""
    answers = {"profile": subscriber.profile, "time": subscriber.lesson_time, "timezone": subscriber.timezone}
    return next((step for step in STEPS if not answers[step]), None)


async def _reschedule(session, subscriber: Subscriber, context: CoachContext, now: datetime) -> str:
    """Move the waiting lesson to the new time; returns a sentence saying when it comes."""
    enrollment = await courses.current_enrollment(session=session, chat_id=subscriber.chat_id)
    pending = (
        None if enrollment is None else await deliveries.pending_lesson(session=session, enrollment_id=enrollment.id)
    )
    if pending is None or enrollment.status != "active":
        return ""
    schedule = schedule_for(subscriber, context)
    if enrollment.current_day > 0:
        pending.due_at = next_due(schedule, now=now, last_sent=enrollment.last_sent_at)
    return f"Your next lesson arrives {describe_due(schedule, pending.due_at, now)}."


def register(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("start", start, filters=private))
    application.add_handler(CommandHandler("settings", settings_menu, filters=private))
    application.add_handler(CallbackQueryHandler(choose_profile, pattern=r"^onb:profile:"))
    application.add_handler(CallbackQueryHandler(choose_time, pattern=r"^onb:time:"))
    application.add_handler(CallbackQueryHandler(choose_zone, pattern=r"^onb:tz:"))
    application.add_handler(CallbackQueryHandler(settings_choice, pattern=r"^set:(time|timezone|profile)$"))
    application.add_handler(MessageHandler(private & filters.LOCATION, shared_location))
