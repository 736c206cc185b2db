"""/start and /settings: profile, lesson time and time zone, by buttons, typing or location.

The step a person is on lives in the database (`Subscriber.awaiting`), not in memory, so a
restart between question and answer loses nothing.
"""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.callback_data import ProfileChoice, SettingsChoice, TimeChoice, ZonePick
from bot.context import CoachContext
from bot.domain.course import CourseStatus, Profile, Verdict
from bot.domain.schedule import local_now
from bot.domain.timeparse import format_time, parse_lesson_time
from bot.domain.timezones import ZoneChoice, resolve_timezone, timezone_at
from bot.handlers.common import button_handler, display_name, reply
from bot.keyboards import language_keyboard, profile_keyboard, units_row
from bot.render import settings_saved_text, user_text
from bot.services.course import Enrollment, Setting, Subscriber

TIME_CHOICES = ("06:00", "07:00", "12:00", "17:00", "19:00")
TYPED = (Setting.TIME, Setting.TIMEZONE)  # what can be typed as well as tapped


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
    """Welcome a new person into onboarding; tell a known one where they are. A stopped course
    carries on (as /resume would); nothing else changes."""
    services = context.services
    texts, chat_id = services.content.texts, update.effective_chat.id
    name = display_name(update, texts.name_fallback)
    if await services.course.begin_onboarding(chat_id, name):
        course = services.content.course
        intro = texts.start_intro.format(name=user_text(name))
        await reply(update, f"{intro}\n{course.welcome}\n<i>{course.safety.strip()}</i>")
        await reply(update, texts.ask_profile, profile_keyboard(texts))
        return
    _, enrollment = await services.course.current(chat_id)
    resumed = None
    if enrollment is not None and enrollment.status == CourseStatus.STOPPED:
        resumed = await services.course.resume(chat_id)
        if resumed.verdict is not Verdict.MOVED:  # another press or process moved it first: read it again
            _, enrollment = await services.course.current(chat_id)
    if resumed is not None and resumed.verdict is Verdict.MOVED:  # the run resume just made active
        status, day = CourseStatus.ACTIVE, resumed.day
    elif enrollment is None or enrollment.status in (CourseStatus.FINISHED, CourseStatus.REPLACED):
        await reply(update, texts.start_finished.format(name=user_text(name)))
        return
    else:
        status, day = enrollment.status, max(1, enrollment.current_day)
    note = {CourseStatus.PAUSED: texts.start_paused_note, CourseStatus.HELD: texts.start_held_note}
    await reply(
        update,
        texts.start_known.format(
            name=user_text(name), day=day, days=services.content.days, paused=note.get(status, "")
        ),
    )
    if resumed is not None:
        await services.course.deliver(context.bot, resumed)


async def settings_menu(update: Update, context: CoachContext) -> None:
    """Show the current schedule and let the person change any part of it."""
    texts = context.services.content.texts
    subscriber, _ = await context.services.course.current(update.effective_chat.id)
    if subscriber is None or not subscriber.onboarded:
        await reply(update, texts.today_not_started)
        return
    profile = {Profile.RUNNER: texts.profile_runner, Profile.LIFTER: texts.profile_lifter}.get(
        subscriber.profile, texts.profile_both
    )
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(texts.settings_time_button, callback_data=SettingsChoice("time").pack())],
            [InlineKeyboardButton(texts.settings_timezone_button, callback_data=SettingsChoice("timezone").pack())],
            [InlineKeyboardButton(texts.settings_profile_button, callback_data=SettingsChoice("profile").pack())],
            units_row(texts),
            *language_keyboard(context.services.languages.available).inline_keyboard,
        ]
    )
    await reply(
        update,
        texts.settings_menu.format(time=subscriber.lesson_time, timezone=subscriber.timezone, profile=profile),
        keyboard,
    )


async def settings_choice(update: Update, context: CoachContext, choice: SettingsChoice) -> None:
    """A settings button: ask the matching question, remembering what the answer is for."""
    await update.callback_query.answer()
    field = Setting(choice.field)
    subscriber = await context.services.course.ask(update.effective_chat.id, field)
    if subscriber is None:
        await reply(update, context.services.content.texts.today_not_started)
        return
    await _ask(update, context, field, subscriber)


async def _ask(update: Update, context: CoachContext, field: Setting, subscriber: Subscriber) -> None:
    texts = context.services.content.texts
    if field is Setting.PROFILE:
        await reply(update, texts.ask_profile, profile_keyboard(texts))
    elif field is Setting.TIME:
        await reply(update, texts.ask_time, _time_keyboard())
    else:
        await reply(
            update, texts.ask_timezone.format(time=subscriber.lesson_time or "07:00"), _location_keyboard(context)
        )


async def choose_profile(update: Update, context: CoachContext, choice: ProfileChoice) -> None:
    await update.callback_query.answer()
    await _save(update, context, Setting.PROFILE, choice.profile)


async def choose_time(update: Update, context: CoachContext, choice: TimeChoice) -> None:
    chosen = parse_lesson_time(choice.time)
    if await _answered(update, context, chosen):
        await _save(update, context, Setting.TIME, format_time(chosen))


async def choose_zone(update: Update, context: CoachContext, choice: ZonePick) -> None:
    choices = resolve_timezone(choice.zone)
    if await _answered(update, context, choices if len(choices) == 1 else None):
        await _save(update, context, Setting.TIMEZONE, choices[0].zone)


async def _answered(update: Update, context: CoachContext, read: object) -> bool:
    """Answer the press: silently when its value is one the bot can use, with 'expired' when not."""
    await update.callback_query.answer(None if read else context.services.content.texts.button_expired)
    return bool(read)


async def shared_location(update: Update, context: CoachContext) -> None:
    """A location shared from the reply keyboard: find its zone offline, keep only the zone."""
    location = update.effective_message.location
    zone = timezone_at(location.latitude, location.longitude)
    if zone is None:
        texts = context.services.content.texts
        await reply(update, texts.timezone_invalid.format(text=texts.shared_location_label))
        return
    await _save(update, context, Setting.TIMEZONE, zone)


async def read_answer(
    update: Update, context: CoachContext, subscriber: Subscriber | None, _enrollment: Enrollment | None
) -> bool:
    """Free text while an onboarding or settings question is open is its answer (a `TextReader`)."""
    if subscriber is None or not subscriber.awaiting:
        return False
    await typed_answer(update, context, subscriber)
    return True


async def typed_answer(update: Update, context: CoachContext, subscriber: Subscriber) -> None:
    """Free text while a question is open: a time, or a place or zone. The question asked is tried
    first, then the other: '7am' while the zone is asked, or 'Berlin' while the time is, is taken
    for what it is, and the step still missing is asked next."""
    texts = context.services.content.texts
    text, awaited = update.effective_message.text, subscriber.awaiting
    for field in sorted(TYPED, key=lambda typed: typed != awaited):
        if field is Setting.TIME and (chosen := parse_lesson_time(text)) is not None:
            await _save(update, context, Setting.TIME, format_time(chosen))
            return
        if field is Setting.TIMEZONE and (choices := resolve_timezone(text)):
            if len(choices) == 1:
                await _save(update, context, Setting.TIMEZONE, choices[0].zone)
            else:
                await reply(update, texts.timezone_choices.format(text=user_text(text)), _zone_keyboard(choices))
            return
    if awaited == Setting.TIME:
        await reply(update, texts.time_invalid.format(text=user_text(text)), _time_keyboard())
    elif awaited == Setting.TIMEZONE:
        await reply(update, texts.timezone_invalid.format(text=user_text(text)))
    else:  # awaiting a button answer (profile): show the buttons again
        await _ask(update, context, Setting(awaited), subscriber)


async def _save(update: Update, context: CoachContext, field: Setting, value: str) -> None:
    """Store one answer, whatever step it came at (a button or location may come at any time);
    during onboarding ask for whatever is still missing, afterwards say when the next lesson comes.
    Someone the bot does not know (never started, or forgotten) is sent to /start."""
    services = context.services
    texts, chat_id = services.content.texts, update.effective_chat.id
    change = {
        Setting.PROFILE: services.course.change_profile,
        Setting.TIME: services.course.change_time,
        Setting.TIMEZONE: services.course.change_timezone,
    }[field]
    saved = await change(chat_id, value)
    subscriber = saved.subscriber
    if saved.refused:  # the buttons and readers offer only usable values: a forged or stale one
        await reply(update, texts.button_expired)
    elif not saved.known:
        await reply(update, texts.today_not_started)
    elif saved.ask_next is not None:
        await _ask(update, context, saved.ask_next, subscriber)
    elif saved.started is not None:
        local = local_now(subscriber.timezone, services.clock.now()).strftime("%H:%M")
        done = texts.onboarding_done.format(time=subscriber.lesson_time, timezone=subscriber.timezone, local_now=local)
        await reply(update, done, ReplyKeyboardRemove())
        await services.course.deliver(context.bot, saved.started)
    else:  # a setting changed, or onboarding finished by a press at the same moment
        await reply(update, settings_saved_text(texts, saved.next_lesson), ReplyKeyboardRemove())


def register(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("start", start, filters=private))
    application.add_handler(CommandHandler("settings", settings_menu, filters=private))
    application.add_handler(button_handler(ProfileChoice, choose_profile))
    application.add_handler(button_handler(TimeChoice, choose_time))
    application.add_handler(button_handler(ZonePick, choose_zone))
    application.add_handler(button_handler(SettingsChoice, settings_choice))
    application.add_handler(MessageHandler(private & filters.LOCATION, shared_location))
