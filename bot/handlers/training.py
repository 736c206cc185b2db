"""The training log and the person's data: /log, /undo, /progress, /units, /weekly, /export, /forget,
and /stats for the bot's admins. The weekly check-in job is registered here too."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import date, datetime, timedelta
from functools import lru_cache
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot import stats
from bot.charts import ProgressLabels, progress_chart
from bot.content.models import Content, Texts
from bot.context import CoachContext, Services
from bot.domain import training
from bot.domain.training import (
    INCREASE,
    Advice,
    Catalogue,
    FormCheck,
    LogEntry,
    LogError,
    LoggedSet,
    LogLine,
    format_number,
    from_kg,
)
from bot.handlers.common import reply, reply_photo, send_html
from bot.render import user_text
from bot.settings import Settings
from bot.storage import models, queries

log = logging.getLogger(__name__)

FELT = ("clean", "regress")  # the marks a person can put on a logged set


@lru_cache(maxsize=4)
def _catalogue_for(drills: tuple[tuple[str, str], ...]) -> Catalogue:
    return training.build_catalogue(dict(drills))


def catalogue(content: Content) -> Catalogue:
    """The exercise catalogue of the loaded course, built once."""
    return _catalogue_for(tuple((drill_id, drill.name) for drill_id, drill in content.drills.items()))


def day_length(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.course_day_seconds)


# ----------------------------------------------------------------------------- rendering


def weight_text(texts: Texts, weight_kg: float | None, unit: str) -> str:
    return texts.log_bodyweight if weight_kg is None else f"{format_number(from_kg(weight_kg, unit))} {unit}"


def _amount(value: float | None, unit: str) -> str:
    return "" if value is None else f"{format_number(value)} {unit}"


def advice_text(texts: Texts, advice: Advice) -> str:
    """One sentence of advice for next time, in the person's unit."""
    unit = advice.unit
    low_step, high_step = INCREASE[unit]
    values = dict(
        current=_amount(advice.current, unit),
        low=_amount(advice.low, unit),
        high=_amount(advice.high, unit),
        step=f"{format_number(low_step)}-{format_number(high_step)} {unit}",
        sets=advice.sets,
        clean=advice.clean_run,
    )
    field = f"advice_{advice.kind}" + ("_bodyweight" if advice.bodyweight and advice.kind != "stop" else "")
    return getattr(texts, field).strip().format(**values)


def _entry_text(texts: Texts, template: str, entry: models.LogEntry, catalogue: Catalogue) -> str:
    return template.format(
        exercise=escape(catalogue.name_of(entry.exercise)),
        sets=entry.sets,
        reps=entry.reps,
        weight=weight_text(texts, entry.weight_kg, entry.unit),
    ).strip()


def _local_date(instant: datetime, zone: str | None) -> date:
    return instant.astimezone(ZoneInfo(zone or "UTC")).date()


# ----------------------------------------------------------------------------- reading history


async def _advice_for(
    session: AsyncSession, services: Services, user_id: int, exercise: str, unit: str, zone: str | None
) -> tuple[list[training.Session], Advice | None]:
    """The sessions of one exercise and the advice for next time, from the log and the check-ins."""
    await queries.link_checkins(session=session, user_id=user_id, day_length=day_length(services.settings))
    history = await queries.log_history(session=session, user_id=user_id, exercise=exercise)
    entries = [
        LoggedSet(
            at=entry.logged_at,
            on=_local_date(entry.logged_at, zone),
            weight_kg=entry.weight_kg,
            sets=entry.sets,
            reps=entry.reps,
            effect=entry.felt or effect,
        )
        for entry, effect in history
    ]
    checks = [
        FormCheck(answer.answered_at, answer.effect)
        for answer in await queries.unlinked_checkins(session=session, user_id=user_id)
    ]
    now = services.clock.now()
    stall_after = training.STALL_AFTER * services.settings.course_day_seconds / 86400
    advice = training.advise(entries, checks, unit=unit, now=now, stall_after=stall_after)
    return training.sessions_of(entries), advice


async def _zone_of(session: AsyncSession, chat_id: int) -> str | None:
    subscriber = await queries.get_subscriber(session=session, chat_id=chat_id)
    return None if subscriber is None else subscriber.timezone


# ----------------------------------------------------------------------------- /log and /undo


async def log_command(update: Update, context: CoachContext) -> None:
    """/log rdl 35 3x12: store the line and say what to do next time."""
    services = context.services
    texts, known = services.content.texts, catalogue(services.content)
    async with services.db.session() as session:
        preference = await queries.preference_of(session=session, chat_id=update.effective_chat.id)
        units = preference.units
    parsed = training.parse_log_line(" ".join(context.args or []), known, units)
    if isinstance(parsed, LogError):
        await _explain(update, texts, parsed, units)
        return
    await _record(update, context, parsed)


async def _explain(update: Update, texts: Texts, error: LogError, units: str) -> None:
    """A line that could not be logged: what was wrong, a line to copy, and the closest exercises."""
    example = f"/log {escape(error.example)}"
    if error.problem == "empty":
        await reply(update, texts.log_help)
        return
    if error.problem != "unknown_exercise":
        await reply(update, getattr(texts, f"log_{error.problem}").format(example=example))
        return
    text = texts.log_unknown_exercise.format(name=user_text(error.line.name, 40), example=example)
    if not error.suggestions:
        await reply(update, text)
        return
    buttons = [
        [InlineKeyboardButton(exercise.name, callback_data=_pick_data(exercise.key, error.line, units))]
        for exercise in error.suggestions
    ]
    await reply(update, f"{text}\n{texts.log_suggestions}", InlineKeyboardMarkup(buttons))


def _pick_data(key: str, line: LogLine, units: str) -> str:
    """Everything needed to log the line with the chosen exercise, within Telegram's 64 bytes."""
    weight = "-" if line.weight is None else format_number(line.weight)
    return f"lg:{key}:{weight}:{line.unit or units}:{line.sets}:{line.reps}"


async def pick_exercise(update: Update, context: CoachContext) -> None:
    """A suggested exercise tapped under 'did you mean': log the line with it."""
    query = update.callback_query
    await query.answer()
    _, key, weight, unit, sets, reps = query.data.split(":")
    exercise = catalogue(context.services.content).exercises.get(key)
    if exercise is None or unit not in training.UNITS:
        return
    line = LogLine(key, None if weight == "-" else float(weight), unit, int(sets), int(reps))
    await query.edit_message_reply_markup(None)
    await _record(update, context, training.entry_from(line, exercise, unit))


async def _record(update: Update, context: CoachContext, parsed: LogEntry) -> None:
    services = context.services
    texts, now = services.content.texts, services.clock.now()
    chat_id, user_id = update.effective_chat.id, update.effective_user.id
    async with services.db.session() as session:
        enrollment = await queries.current_enrollment(session=session, chat_id=chat_id)
        entry = await queries.add_log_entry(
            session=session,
            entry=models.LogEntry(
                chat_id=chat_id,
                user_id=user_id,
                day=_course_day(enrollment, now, day_length(services.settings)),
                exercise=parsed.exercise.key,
                weight_kg=parsed.weight_kg,
                unit=parsed.unit,
                sets=parsed.sets,
                reps=parsed.reps,
                logged_at=now,
            ),
        )
        preference = await queries.preference_of(session=session, chat_id=chat_id)
        _, advice = await _advice_for(
            session, services, user_id, entry.exercise, preference.units, await _zone_of(session, chat_id)
        )
        linked = entry.checkin_answer_id is not None
    known = catalogue(services.content)
    text = f"{_entry_text(texts, texts.log_saved, entry, known)}\n{advice_text(texts, advice)}"
    if linked:
        await reply(update, text)
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.log_felt_clean, callback_data=f"felt:{entry.id}:clean"),
                InlineKeyboardButton(texts.log_felt_back, callback_data=f"felt:{entry.id}:regress"),
            ]
        ]
    )
    await reply(update, f"{text}\n\n{texts.log_felt_question}", keyboard)


def _course_day(enrollment: models.Enrollment | None, now: datetime, length: timedelta) -> int | None:
    """The course day a line belongs to, while that day's lesson is fresh: its check-in is about it."""
    if enrollment is None or enrollment.status in ("finished", "replaced") or enrollment.last_sent_at is None:
        return None
    fresh = now - enrollment.last_sent_at < length
    return enrollment.current_day if fresh and enrollment.current_day >= 1 else None


async def felt(update: Update, context: CoachContext) -> None:
    """How a logged set felt, tapped under the log reply: it steers the next advice."""
    services = context.services
    query = update.callback_query
    await query.answer()
    _, entry_id, mark = query.data.split(":")
    if mark not in FELT:
        return
    async with services.db.session() as session:
        entry = await session.get(models.LogEntry, int(entry_id))
        if entry is None or entry.user_id != update.effective_user.id:
            await query.edit_message_reply_markup(None)
            return
        entry.felt = mark
        preference = await queries.preference_of(session=session, chat_id=entry.chat_id)
        _, advice = await _advice_for(
            session, services, entry.user_id, entry.exercise, preference.units, await _zone_of(session, entry.chat_id)
        )
    texts = services.content.texts
    await query.edit_message_reply_markup(None)
    await reply(update, f"{texts.log_felt_saved.strip()} {advice_text(texts, advice)}")


async def undo(update: Update, context: CoachContext) -> None:
    """Remove the last logged line: the cure for a typo."""
    texts = context.services.content.texts
    async with context.services.db.session() as session:
        entry = await queries.last_log_entry(session=session, user_id=update.effective_user.id)
        if entry is not None:
            await session.delete(entry)
    if entry is None:
        await reply(update, texts.log_nothing_to_undo)
    else:
        await reply(update, _entry_text(texts, texts.log_undone, entry, catalogue(context.services.content)))


# ----------------------------------------------------------------------------- /progress


async def progress(update: Update, context: CoachContext) -> None:
    """/progress [exercise]: the chart of one exercise and a two-line summary."""
    services = context.services
    texts, known = services.content.texts, catalogue(services.content)
    chat_id, user_id = update.effective_chat.id, update.effective_user.id
    wanted = " ".join(context.args or [])
    async with services.db.session() as session:
        if wanted:
            match = known.match(wanted)
            if match.exercise is None:
                await reply(update, texts.progress_unknown.format(name=user_text(wanted, 40)))
                return
            key = match.exercise.key
        else:
            key = await queries.latest_exercise(session=session, user_id=user_id)
        if key is None:
            await reply(update, texts.progress_empty)
            return
        preference = await queries.preference_of(session=session, chat_id=chat_id)
        unit = preference.units
        sessions, advice = await _advice_for(session, services, user_id, key, unit, await _zone_of(session, chat_id))
    name = known.name_of(key)
    if not sessions:
        await reply(update, texts.progress_none_for.format(exercise=escape(name)))
        return
    labels = ProgressLabels(
        title=name,
        top_set=texts.chart_top_set.format(unit=unit),
        volume=texts.chart_volume.format(unit=unit),
        reps=texts.chart_reps,
        clean=texts.chart_clean,
        back=texts.chart_back,
    )
    chart = await asyncio.to_thread(progress_chart, sessions, unit, labels)  # CPU work off the event loop
    caption = f"{_summary(texts, name, sessions, unit)}\n{advice_text(texts, advice)}"
    await reply_photo(update, InputFile(io.BytesIO(chart.png), filename=f"progress-{key}.png"), caption)


def _summary(texts: Texts, name: str, sessions: list[training.Session], unit: str) -> str:
    first, last = sessions[0], sessions[-1]
    values = dict(exercise=escape(name), sessions=len(sessions), since=f"{first.on:%d %b}".lstrip("0"))
    if last.top_kg is None or first.top_kg is None:
        return texts.progress_summary_reps.format(first=int(first.volume), last=int(last.volume), **values).strip()
    return texts.progress_summary_weight.format(
        first=weight_text(texts, first.top_kg, unit), last=weight_text(texts, last.top_kg, unit), **values
    ).strip()


# ----------------------------------------------------------------------------- /units and /weekly


def units_keyboard(texts: Texts) -> list[InlineKeyboardButton]:
    """The kg / lb row; /settings shows the same row, handled by `units_button`."""
    return [
        InlineKeyboardButton(texts.units_kg_button, callback_data="units:kg"),
        InlineKeyboardButton(texts.units_lb_button, callback_data="units:lb"),
    ]


async def units(update: Update, context: CoachContext) -> None:
    """/units [kg|lb]: the unit for lines that name none."""
    texts = context.services.content.texts
    wanted = (context.args or [""])[0].lower().rstrip("s")
    if wanted in training.UNITS:
        await _save_units(update, context, wanted)
        return
    async with context.services.db.session() as session:
        preference = await queries.preference_of(session=session, chat_id=update.effective_chat.id)
    await reply(
        update, texts.units_question.format(units=preference.units), InlineKeyboardMarkup([units_keyboard(texts)])
    )


async def units_button(update: Update, context: CoachContext) -> None:
    query = update.callback_query
    await query.answer()
    await _save_units(update, context, query.data.removeprefix("units:"))


async def _save_units(update: Update, context: CoachContext, unit: str) -> None:
    async with context.services.db.session() as session:
        preference = await queries.preference_of(session=session, chat_id=update.effective_chat.id)
        preference.units = unit
    await reply(update, context.services.content.texts.units_saved.format(units=unit))


async def weekly(update: Update, context: CoachContext) -> None:
    """/weekly on|off: a check-in once a (course) week, for after the course."""
    wanted = (context.args or [""])[0].lower()
    if wanted in ("on", "off"):
        await _save_weekly(update, context, wanted == "on")
        return
    async with context.services.db.session() as session:
        preference = await queries.preference_of(session=session, chat_id=update.effective_chat.id)
        on = preference.weekly
    await _weekly_state(update, context, on)


async def weekly_button(update: Update, context: CoachContext) -> None:
    query = update.callback_query
    await query.answer()
    await query.edit_message_reply_markup(None)
    await _save_weekly(update, context, query.data == "weekly:on")


async def _save_weekly(update: Update, context: CoachContext, on: bool) -> None:
    async with context.services.db.session() as session:
        preference = await queries.preference_of(session=session, chat_id=update.effective_chat.id)
        if on and not preference.weekly:
            preference.last_weekly_at = context.services.clock.now()  # the first one comes a week from now
        preference.weekly = on
    await _weekly_state(update, context, on)


async def _weekly_state(update: Update, context: CoachContext, on: bool) -> None:
    texts = context.services.content.texts
    button = (
        InlineKeyboardButton(texts.weekly_off_button, callback_data="weekly:off")
        if on
        else InlineKeyboardButton(texts.weekly_on_button, callback_data="weekly:on")
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
    """Send every weekly check-in that is due; returns how many went out."""
    texts, now = services.content.texts, services.clock.now()
    async with services.db.session() as session:
        due = await queries.claim_weekly(session=session, now=now, every=7 * day_length(services.settings))
    sent = 0
    for chat_id in due:
        text = texts.weekly_nudge.format(last=await _last_entry_note(services, chat_id)).strip()
        try:
            await send_html(bot, chat_id, text)
            sent += 1
        except Forbidden:
            async with services.db.session() as session:
                await queries.mark_unreachable(session=session, chat_id=chat_id)
        except TelegramError as exc:
            log.warning("weekly check-in to chat %s failed: %s", chat_id, exc)
    return sent


async def _last_entry_note(services: Services, chat_id: int) -> str:
    """The person's last logged line and the advice for it: a reason to open the log again."""
    texts, known = services.content.texts, catalogue(services.content)
    async with services.db.session() as session:
        entry = await queries.last_log_entry(session=session, user_id=chat_id)
        if entry is None:
            return texts.weekly_no_entry.strip()
        preference = await queries.preference_of(session=session, chat_id=chat_id)
        zone = await _zone_of(session, chat_id)
        _, advice = await _advice_for(session, services, chat_id, entry.exercise, preference.units, zone)
    return texts.weekly_last_entry.format(
        exercise=escape(known.name_of(entry.exercise)),
        sets=entry.sets,
        reps=entry.reps,
        weight=weight_text(texts, entry.weight_kg, entry.unit),
        date=f"{_local_date(entry.logged_at, zone):%d %b}".lstrip("0"),
        advice=advice_text(texts, advice),
    ).strip()


# ----------------------------------------------------------------------------- /export and /forget


async def export(update: Update, context: CoachContext) -> None:
    """/export: every row stored about the person, as a JSON file."""
    services = context.services
    chat_id, user_id = update.effective_chat.id, update.effective_user.id
    async with services.db.session() as session:
        tables = await queries.export_person(session=session, chat_id=chat_id, user_id=user_id)
    document = {"exported_at": services.clock.now().isoformat(), "chat_id": chat_id, "user_id": user_id, **tables}
    data = json.dumps(document, indent=2, default=_json_value, ensure_ascii=False).encode()
    await update.effective_chat.send_document(
        InputFile(io.BytesIO(data), filename="hinge-coach-my-data.json"),
        caption=services.content.texts.export_caption,
        parse_mode=ParseMode.HTML,
    )


def _json_value(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


async def forget(update: Update, context: CoachContext) -> None:
    """/forget: ask first, since nothing brings the data back."""
    texts = context.services.content.texts
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.forget_yes, callback_data="forget:yes"),
                InlineKeyboardButton(texts.forget_no, callback_data="forget:no"),
            ]
        ]
    )
    await reply(update, texts.forget_confirm, keyboard)


async def forget_answer(update: Update, context: CoachContext) -> None:
    services = context.services
    texts, query = services.content.texts, update.callback_query
    await query.answer()
    if query.data != "forget:yes":
        await query.edit_message_text(texts.forget_cancelled)
        return
    async with services.db.session() as session:
        deleted = await queries.forget_person(
            session=session, chat_id=update.effective_chat.id, user_id=update.effective_user.id
        )
    log.info("forgot a person on request: %s rows", deleted)
    await query.edit_message_text(texts.forget_done)


# ----------------------------------------------------------------------------- /stats


async def stats_command(update: Update, context: CoachContext) -> None:
    """/stats for the bot's admins; everyone else sees an unknown command, as if it did not exist."""
    services = context.services
    if update.effective_user.id not in services.settings.admin_ids:
        await reply(update, services.content.texts.unknown_command.format(command="/stats"))
        return
    async with services.db.session() as session:
        report = await stats.collect(session=session, days=services.content.days)
    await reply(update, f"<pre>{escape(stats.stats_text(report))}</pre>")
    png = await asyncio.to_thread(stats.stats_png, report)
    await reply_photo(update, InputFile(io.BytesIO(png), filename="stats.png"))


def register(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("log", log_command, filters=private))
    application.add_handler(CommandHandler("undo", undo, filters=private))
    application.add_handler(CommandHandler("progress", progress, filters=private))
    application.add_handler(CommandHandler("units", units, filters=private))
    application.add_handler(CommandHandler("weekly", weekly, filters=private))
    application.add_handler(CommandHandler("export", export, filters=private))
    application.add_handler(CommandHandler("forget", forget, filters=private))
    application.add_handler(CommandHandler("stats", stats_command, filters=private))
    application.add_handler(CallbackQueryHandler(pick_exercise, pattern=r"^lg:[a-z0-9-]+:[0-9.-]+:(kg|lb):\d+:\d+$"))
    application.add_handler(CallbackQueryHandler(felt, pattern=r"^felt:\d+:[a-z_]+$"))
    application.add_handler(CallbackQueryHandler(units_button, pattern=r"^units:(kg|lb)$"))
    application.add_handler(CallbackQueryHandler(weekly_button, pattern=r"^weekly:(on|off)$"))
    application.add_handler(CallbackQueryHandler(forget_answer, pattern=r"^forget:(yes|no)$"))
    interval = weekly_interval(application.services.settings)
    application.job_queue.run_repeating(
        weekly_checkin,
        interval=interval,
        first=interval,
        name="weekly-checkin",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
