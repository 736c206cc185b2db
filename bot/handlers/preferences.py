"""/units and /weekly: the unit for logged lines and the weekly check-in after the course (both
stored through `services.course`, read through `services.training_log`), and the job that sends
the weekly check-ins that are due."""

from __future__ import annotations

import logging
from html import escape

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, CommandHandler, filters

from bot.callback_data import UnitsChoice, WeeklyChoice
from bot.context import CoachContext, Services
from bot.domain import training
from bot.handlers.common import button_handler, drop_buttons, reply, send_html
from bot.keyboards import units_row
from bot.language import speaking
from bot.logbook import catalogue, date_text, progression_text, weight_text
from bot.settings import Settings

log = logging.getLogger(__name__)


async def units(update: Update, context: CoachContext) -> None:
    """/units [kg|lb]: the unit for lines that name none."""
    texts = context.services.content.texts
    wanted = (context.args or [""])[0].lower().rstrip("s")
    if wanted in training.UNITS:
        await _save_units(update, context, wanted)
        return
    unit = await context.services.training_log.units(update.effective_chat.id)
    await reply(update, texts.units_question.format(units=unit), InlineKeyboardMarkup([units_row(texts)]))


async def units_button(update: Update, context: CoachContext, choice: UnitsChoice) -> None:
    await update.callback_query.answer()
    await _save_units(update, context, choice.unit)


async def _save_units(update: Update, context: CoachContext, unit: str) -> None:
    await context.services.course.set_units(update.effective_chat.id, unit)
    await reply(update, context.services.content.texts.units_saved.format(units=unit))


async def weekly(update: Update, context: CoachContext) -> None:
    """/weekly on|off: a check-in once a (course) week, for after the course."""
    wanted = (context.args or [""])[0].lower()
    if wanted in ("on", "off"):
        await _save_weekly(update, context, wanted == "on")
        return
    await _weekly_state(update, context, await context.services.training_log.weekly(update.effective_chat.id))


async def weekly_button(update: Update, context: CoachContext, choice: WeeklyChoice) -> None:
    query = update.callback_query
    await query.answer()
    if await drop_buttons(query):  # a double tap answers once
        await _save_weekly(update, context, choice.state == "on")


async def _save_weekly(update: Update, context: CoachContext, on: bool) -> None:
    await context.services.course.set_weekly(update.effective_chat.id, on)
    await _weekly_state(update, context, on)


async def _weekly_state(update: Update, context: CoachContext, on: bool) -> None:
    texts = context.services.content.texts
    button = (
        InlineKeyboardButton(texts.weekly_off_button, callback_data=WeeklyChoice("off").pack())
        if on
        else InlineKeyboardButton(texts.weekly_on_button, callback_data=WeeklyChoice("on").pack())
    )
    await reply(update, texts.weekly_on if on else texts.weekly_off, InlineKeyboardMarkup([[button]]))


def weekly_interval(settings: Settings) -> float:
    """How often to look for weekly check-ins that are due: hourly, faster on a shortened course day."""
    return max(1.0, min(3600.0, settings.course_day_seconds / 24))


async def weekly_checkin(context: CoachContext) -> None:
    """The repeating job; a failing run logs one line and the next one catches up."""
    try:
        await send_weekly(context.bot, context.services)
    except Exception as exc:  # the database may be briefly away; never let the job die
        log.error("weekly check-in failed: %s: %s", type(exc).__name__, exc)


async def send_weekly(bot: Bot, services: Services) -> int:
    """Send every weekly check-in that is due, each in its person's language (a job: no update set
    one); returns how many went out."""
    due = await services.training_log.claim_weekly()
    spoken = await services.languages.of_chats(due)
    sent = 0
    for chat_id in due:
        try:
            with speaking(spoken[chat_id]):
                last = await _last_entry_note(services, chat_id)
                await send_html(bot, chat_id, services.content.texts.weekly_nudge.format(last=last).strip())
            sent += 1
        except Forbidden:
            await services.course.mark_unreachable(chat_id)
        except TelegramError as exc:
            log.warning("weekly check-in to chat %s failed: %s", chat_id, exc)
    return sent


async def _last_entry_note(services: Services, chat_id: int) -> str:
    """The person's last logged line and the advice for it: a reason to open the log again."""
    texts, known = services.content.texts, catalogue(services.content)
    last = await services.training_log.last_entry(chat_id)
    if last is None:
        return texts.weekly_no_entry.strip()
    entry = last.row
    return texts.weekly_last_entry.format(
        exercise=escape(known.name_of(entry.exercise)),
        sets=entry.sets,
        reps=entry.reps,
        weight=weight_text(texts, entry.weight_kg, entry.unit),
        date=date_text(last.on),
        advice=progression_text(texts, last.advice),
    ).strip()


def register(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("units", units, filters=private))
    application.add_handler(CommandHandler("weekly", weekly, filters=private))
    application.add_handler(button_handler(UnitsChoice, units_button))
    application.add_handler(button_handler(WeeklyChoice, weekly_button))
    interval = weekly_interval(application.services.settings)
    application.job_queue.run_repeating(
        weekly_checkin,
        interval=interval,
        first=interval,
        name="weekly-checkin",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
