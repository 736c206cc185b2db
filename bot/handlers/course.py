"""The course lifecycle, in private chats and groups alike: /today, /pause, /resume, /restart,
/stop, /help and "I'm fine now" after a red flag in private; an admin's
`/groupcourse start|pause|resume|stop|fine|here|language` in a group or channel.

Each command calls `services.course` once and picks its reply by the verdict and the place it was
sent (`REPLIES`): private chats and groups differ only in their texts (content/texts.yaml).
"""

from __future__ import annotations

import re
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.callback_data import HoldOk, RestartAnswer
from bot.context import CoachContext
from bot.domain.course import Command, CourseStatus, Verdict, decide
from bot.domain.groups import split_time_and_zone
from bot.domain.timeparse import format_time, parse_lesson_time
from bot.domain.timezones import resolve_timezone
from bot.handlers.common import button_handler, drop_buttons, edit_text, note_member, reply
from bot.keyboards import hold_keyboard
from bot.language import current_language, from_telegram, language_name
from bot.render import Place, course_reply, user_text, when_text
from bot.services.course import GroupSchedule, Outcome

DEFAULT_TIME, DEFAULT_ZONE = "07:00", "Etc/UTC"
CHANNEL_COMMAND = re.compile(r"^/groupcourse(@\w+)?(\s|$)", re.IGNORECASE)


def place_of(update: Update) -> Place:
    return Place.PRIVATE if update.effective_chat.type == ChatType.PRIVATE else Place.GROUP


async def answer(update: Update, context: CoachContext, command: Command, outcome: Outcome) -> None:
    """The reply for what a command did, here; then the lesson it promised for now, if any."""
    services = context.services
    place = place_of(update)
    markup = None
    if outcome.verdict is Verdict.HELD and place is Place.PRIVATE:
        restart_run = outcome.enrollment_id if command is Command.RESTART else None
        markup = hold_keyboard(services.content.texts, restart_run=restart_run)
    await reply(update, course_reply(services.content, command, outcome, place), markup)
    await services.course.deliver(context.bot, outcome)


# ----------------------------------------------------------------------------- private chats


async def today(update: Update, context: CoachContext) -> None:
    """Send the current lesson again, outside the schedule (it does not move the course on)."""
    services = context.services
    subscriber, enrollment = await services.course.current(update.effective_chat.id)
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


async def pause(update: Update, context: CoachContext) -> None:
    await answer(update, context, Command.PAUSE, await context.services.course.pause(update.effective_chat.id))


async def resume(update: Update, context: CoachContext) -> None:
    await answer(update, context, Command.RESUME, await context.services.course.resume(update.effective_chat.id))


async def stop(update: Update, context: CoachContext) -> None:
    await answer(update, context, Command.STOP, await context.services.course.stop(update.effective_chat.id))


async def restart(update: Update, context: CoachContext) -> None:
    """Ask before throwing progress away; a course held for a red flag asks first whether the
    person is fine, with the safety note again."""
    services = context.services
    texts = services.content.texts
    subscriber, enrollment = await services.course.current(update.effective_chat.id)
    if subscriber is None or not subscriber.onboarded:
        await reply(update, texts.today_not_started)
        return
    status = None if enrollment is None else enrollment.status
    if decide(status, Command.RESTART).verdict is Verdict.HELD:
        outcome = Outcome(Verdict.HELD, CourseStatus.HELD, enrollment_id=enrollment.id)
        await answer(update, context, Command.RESTART, outcome)
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


async def restart_answer(update: Update, context: CoachContext, button: RestartAnswer) -> None:
    """Yes or no to starting over. The button names the run it is about, so pressing it twice (or
    in two processes at once) starts over once and sends day 1 once."""
    services = context.services
    texts, query = services.content.texts, update.callback_query
    subscriber, enrollment = await services.course.current(update.effective_chat.id)
    if subscriber is None or not subscriber.onboarded:
        await query.answer()
        await drop_buttons(query)
        return
    if button.answer == "no":
        await query.answer()
        await edit_text(query, texts.restart_cancelled.format(day=0 if enrollment is None else enrollment.current_day))
        return
    fine = button.answer == "fine"  # "I'm fine now, start over" under a held course
    outcome = await services.course.restart(subscriber.chat_id, button.enrollment, fine=fine)
    if outcome.verdict is Verdict.HELD:
        await query.answer()
        await answer(update, context, Command.RESTART, outcome)
        return
    if outcome.verdict is not Verdict.MOVED:
        await query.answer(services.content.texts.restart_already)
        await drop_buttons(query)
        return
    await query.answer()
    await edit_text(query, texts.hold_restarted if fine else texts.restart_done)
    await services.course.deliver(context.bot, outcome)


async def fine_again(update: Update, context: CoachContext, _button: HoldOk) -> None:
    """ "I'm fine now": lift a red-flag hold; the next lesson comes at the next lesson time."""
    await update.callback_query.answer()
    outcome = await context.services.course.release(update.effective_chat.id)
    await answer(update, context, Command.RELEASE, outcome)


async def help_command(update: Update, context: CoachContext) -> None:
    await reply(update, context.services.content.texts.help)


# ----------------------------------------------------------------------------- groups and channels


async def groupcourse(update: Update, context: CoachContext) -> None:
    await _groupcourse(update, context, context.args or [])


async def channel_groupcourse(update: Update, context: CoachContext) -> None:
    """A channel post carries no sender and may carry no command entity: read it from the text."""
    words = update.effective_message.text.split()
    _, _, addressee = words[0][1:].partition("@")
    if addressee and addressee.lower() != context.bot.username.lower():
        return
    await _groupcourse(update, context, words[1:])


async def _groupcourse(update: Update, context: CoachContext, args: list[str]) -> None:
    services = context.services
    texts, chat_id = services.content.texts, update.effective_chat.id
    await note_member(context, chat_id, update.effective_user)
    if not await services.access.is_admin(update, context.bot):
        await reply(update, texts.group_admins_only)
        return
    action = args[0].lower() if args else ""
    commands = {
        "pause": (Command.PAUSE, services.course.pause),
        "resume": (Command.RESUME, services.course.resume),
        "stop": (Command.STOP, services.course.stop),
        "fine": (Command.RELEASE, services.course.release),  # an admin's word that everyone is fine
    }
    if action in commands:
        command, run = commands[action]
        await answer(update, context, command, await run(chat_id))
    elif action == "start":
        await _start_group(update, context, args[1:])
    elif action == "here":
        await _here(update, context)
    elif action == "language":
        await _group_language(update, context, args[1:])
    else:
        await reply(update, texts.group_usage)


def _read_schedule(args: list[str], context: CoachContext) -> GroupSchedule | str:
    """The schedule from '18:30 Europe/Berlin' (defaults filling gaps), or the reply explaining
    what could not be read."""
    texts = context.services.content.texts
    time_text, zone_text = split_time_and_zone(args, parse_lesson_time)
    zone = DEFAULT_ZONE
    if zone_text:
        choices = resolve_timezone(zone_text)
        if not choices:
            return texts.group_time_invalid.format(text=user_text(" ".join(args)))
        if len(choices) > 1:
            zones = ", ".join(escape(choice.zone) for choice in choices)
            return texts.group_zone_choices.format(text=user_text(zone_text), zones=zones, zone=escape(choices[0].zone))
        zone = choices[0].zone
    lesson_time = format_time(parse_lesson_time(time_text)) if time_text else DEFAULT_TIME
    return GroupSchedule(lesson_time, zone, defaulted=not (time_text and zone_text))


async def _start_group(update: Update, context: CoachContext, args: list[str]) -> None:
    """Start the group's course (day 1 right away), or set a new time for the one running here."""
    services = context.services
    texts, chat = services.content.texts, update.effective_chat
    schedule = _read_schedule(args, context)
    if isinstance(schedule, str):
        await reply(update, schedule)
        return
    outcome = await services.course.start_group(chat.id, chat.title or "", str(chat.type), schedule)
    defaults = f"\n{texts.group_defaults_note}" if schedule.defaulted else ""
    time, zone = schedule.lesson_time, schedule.timezone
    if outcome.verdict is Verdict.MOVED and outcome.status is None:
        await reply(update, texts.group_started.format(time=time, timezone=zone, defaults=defaults))
    else:
        next_lesson = ""
        if outcome.when is not None:
            when = when_text(texts, outcome.when)
            next_lesson = texts.group_next_lesson.format(next_day=outcome.next_day, when=when)
        await reply(
            update, texts.group_updated.format(time=time, timezone=zone, next_lesson=next_lesson, defaults=defaults)
        )
    await services.course.deliver(context.bot, outcome)


async def _here(update: Update, context: CoachContext) -> None:
    """In a forum: the lessons go to the topic this was sent in (General when sent there)."""
    services = context.services
    texts, chat, message = services.content.texts, update.effective_chat, update.effective_message
    if not chat.is_forum:
        await reply(update, texts.group_here_no_topics)
        return
    thread_id = message.message_thread_id if message.is_topic_message else None
    await services.course.set_topic(chat.id, chat.title or "", str(chat.type), thread_id)
    await reply(update, texts.group_here_topic if thread_id else texts.group_here_general)


async def _group_language(update: Update, context: CoachContext, args: list[str]) -> None:
    """The group's language: its lessons, tallies and replies here. Members' private advice keeps theirs."""
    languages = context.services.languages
    wanted = from_telegram(args[0] if args else None, languages.available)
    if wanted is None or not await languages.choose(update.effective_chat.id, wanted):
        known = ", ".join(f"{code} ({language_name(code)})" for code in languages.available)
        text = user_text(args[0] if args else "", 20)
        await reply(update, context.services.content.texts.group_language_unknown.format(text=text, languages=known))
        return
    current_language.set(wanted)
    await reply(update, context.services.content.texts.group_language_set)


def register(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    in_groups = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("today", today, filters=private))
    application.add_handler(CommandHandler("pause", pause, filters=private))
    application.add_handler(CommandHandler("resume", resume, filters=private))
    application.add_handler(CommandHandler("restart", restart, filters=private))
    application.add_handler(button_handler(RestartAnswer, restart_answer))
    application.add_handler(button_handler(HoldOk, fine_again))
    application.add_handler(CommandHandler("stop", stop, filters=private))
    application.add_handler(CommandHandler("help", help_command, filters=private))
    application.add_handler(CommandHandler("groupcourse", groupcourse, filters=in_groups))
    application.add_handler(
        MessageHandler(filters.UpdateType.CHANNEL_POST & filters.Regex(CHANNEL_COMMAND), channel_groupcourse)
    )
