"""The training log and the person's data: /log, /undo, /progress, /units, /weekly, /export, /forget,
and /stats for the bot's admins. The weekly check-in job is registered here too. The lifter's
tools around the log (/records, /plates, /rest, the CSV) are in bot/handlers/lifting.py."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import date, datetime, timedelta
from html import escape

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, CommandHandler, filters

from bot import stats
from bot.callback_data import FeltMark, ForgetAnswer, PickExercise, UnitsChoice, WeeklyChoice
from bot.charts import ProgressLabels, progress_chart
from bot.content.models import Texts
from bot.context import CoachContext, Services
from bot.domain import training
from bot.domain.course import CourseStatus
from bot.domain.plates import DEFAULT_BAR
from bot.domain.strength import new_records
from bot.domain.training import (
    INCREASE,
    MAX_KG,
    MAX_REPS,
    MAX_SETS,
    Advice,
    LogEntry,
    LogError,
    SetDone,
    format_number,
    from_kg,
    set_groups,
)
from bot.handlers.common import button_handler, drop_buttons, edit_text, reply, reply_photo, send_html
from bot.keyboards import plates_button, rest_row
from bot.logbook import (
    advice_for,
    catalogue,
    date_text,
    day_length,
    lift_sets,
    local_date,
    record_text,
    weight_text,
    zone_of,
)
from bot.render import user_text
from bot.settings import Settings
from bot.storage import courses, models, operations, training_log

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- rendering


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
        rpe="" if advice.rpe is None else format_number(advice.rpe),
    )
    field = f"advice_{advice.kind}" + ("_bodyweight" if advice.bodyweight and advice.kind != "stop" else "")
    return getattr(texts, field).strip().format(**values)


def _entry_text(texts: Texts, template: str, entry: models.LogEntry, known: training.Catalogue) -> str:
    return template.format(
        exercise=escape(known.name_of(entry.exercise)),
        sets=entry.sets,
        reps=entry.reps,
        weight=weight_text(texts, entry.weight_kg, entry.unit),
    ).strip()


def _line_text(texts: Texts, template: str, rows: list[models.LogEntry], known: training.Catalogue) -> str:
    """A stored line of several rows as the person wrote it: '8 @8, 8 @9, 7 @9.5 reps at 100 kg'."""
    first = rows[0]
    done = [SetDone(row.reps, row.rpe) for row in rows for _ in range(row.sets)]
    reps = ", ".join(str(s.reps) + ("" if s.rpe is None else f" @{format_number(s.rpe)}") for s in done)
    return template.format(
        exercise=escape(known.name_of(first.exercise)),
        reps=reps,
        weight=weight_text(texts, first.weight_kg, first.unit),
    ).strip()


def _saved_text(texts: Texts, rows: list[models.LogEntry], known: training.Catalogue) -> str:
    """'Logged ...: 3 × 8 at 100 kg. Effort: RPE 8.', or set by set."""
    if len(rows) > 1:
        return _line_text(texts, texts.log_saved_each, rows, known)
    text = _entry_text(texts, texts.log_saved, rows[0], known)
    return text if rows[0].rpe is None else f"{text} {texts.log_effort.format(rpe=format_number(rows[0].rpe))}"


# ----------------------------------------------------------------------------- /log and /undo


async def log_command(update: Update, context: CoachContext) -> None:
    """/log rdl 35 3x12: store the line and say what to do next time."""
    services = context.services
    known = catalogue(services.content)
    text = " ".join(context.args or [])
    async with services.db.session() as session:
        preference = await training_log.preference_of(session=session, chat_id=update.effective_chat.id)
        units = preference.units
    parsed = training.parse_log_line(text, known, units)
    if isinstance(parsed, LogError):
        await _explain(update, context, parsed, text)
        return
    await _record(update, context, parsed)


async def _explain(update: Update, context: CoachContext, error: LogError, typed: str) -> None:
    """A line that could not be logged: what was wrong, a line to copy, and the closest exercises."""
    services = context.services
    texts = services.content.texts
    example = f"/log {escape(error.example)}"
    if error.problem == "empty":
        await reply(update, texts.log_help)
        return
    if error.problem != "unknown_exercise":
        bounds = dict(max_sets=MAX_SETS, max_reps=MAX_REPS, max_weight=f"{format_number(MAX_KG)} kg")
        await reply(update, getattr(texts, f"log_{error.problem}").format(example=example, **bounds))
        return
    text = texts.log_unknown_exercise.format(name=user_text(error.line.name, 40), example=example)
    if not error.suggestions:
        await reply(update, text)
        return
    async with services.db.session() as session:  # the buttons carry only the id of the waiting line
        pending = await training_log.save_pending_log(
            session=session,
            chat_id=update.effective_chat.id,
            user_id=update.effective_user.id,
            text=typed,
            now=services.clock.now(),
        )
    buttons = [
        [InlineKeyboardButton(exercise.name, callback_data=PickExercise(pending, exercise.key).pack())]
        for exercise in error.suggestions
    ]
    await reply(update, f"{text}\n{texts.log_suggestions}", InlineKeyboardMarkup(buttons))


async def pick_exercise(update: Update, context: CoachContext, button: PickExercise) -> None:
    """A suggested exercise tapped under 'did you mean': log the waiting line with it. The line is
    read again by the same parser, so a button can only ever log what the person typed."""
    services = context.services
    query = update.callback_query
    await query.answer()
    exercise = catalogue(services.content).exercises.get(button.exercise)
    typed = None
    async with services.db.session() as session:
        if exercise is not None:  # a forged exercise leaves the waiting line waiting
            typed = await training_log.take_pending_log(
                session=session, pending_id=button.pending, user_id=update.effective_user.id
            )
        preference = await training_log.preference_of(session=session, chat_id=update.effective_chat.id)
        units = preference.units
    line = None if typed is None else training.read_log_line(typed)
    if line is None or isinstance(line, LogError):
        await reply(update, services.content.texts.log_pick_gone)
        return
    if await drop_buttons(query):  # only the first tap logs the line
        await _record(update, context, training.entry_from(line, exercise, units))


async def _record(update: Update, context: CoachContext, parsed: LogEntry) -> None:
    services = context.services
    texts, now = services.content.texts, services.clock.now()
    chat_id, user_id = update.effective_chat.id, update.effective_user.id
    async with services.db.session() as session:
        enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
        day = _course_day(enrollment, now, day_length(services.settings))
        rows = await training_log.add_log_line(
            session=session,
            entries=[
                models.LogEntry(
                    chat_id=chat_id,
                    user_id=user_id,
                    day=day,
                    exercise=parsed.exercise.key,
                    weight_kg=parsed.weight_kg,
                    unit=parsed.unit,
                    sets=count,
                    reps=done.reps,
                    rpe=done.rpe,
                    logged_at=now,
                )
                for count, done in set_groups(parsed.sets_done())
            ],
        )
        preference = await training_log.preference_of(session=session, chat_id=chat_id)
        zone = await zone_of(session, chat_id)
        sessions, advice, history = await advice_for(
            session, services, user_id, parsed.exercise.key, preference.units, zone
        )
        bar_kg = preference.bar_kg
        linked = rows[0].checkin_answer_id is not None
    unit = preference.units
    known = catalogue(services.content)
    lines = [_saved_text(texts, rows, known)]
    if sessions and sessions[-1].e1rm_kg is not None:
        lines.append(texts.log_e1rm.format(e1rm=weight_text(texts, sessions[-1].e1rm_kg, unit)))
    added = {row.id for row in rows}
    before = [entry for entry in history if entry.id not in added]
    records = new_records(lift_sets(before, zone), lift_sets(rows, zone))
    if records:
        bodyweight = all(e.weight_kg is None for e in history)
        found = "; ".join(record_text(texts, r, unit, bodyweight_volume=bodyweight) for r in records)
        lines.append(texts.record_new.format(records=found))
    text = "\n".join(lines) + f"\n{advice_text(texts, advice)}"
    keyboard = [rest_row(texts)]
    bar = from_kg(bar_kg, unit) if bar_kg is not None else DEFAULT_BAR[unit]
    if advice.next_load is not None and advice.next_load > bar:  # the plates for next time, one tap away
        keyboard.insert(0, [plates_button(texts, advice.next_load, unit)])
    if not linked:
        keyboard.insert(
            0,
            [
                InlineKeyboardButton(texts.log_felt_clean, callback_data=FeltMark(rows[0].id, "clean").pack()),
                InlineKeyboardButton(texts.log_felt_back, callback_data=FeltMark(rows[0].id, "regress").pack()),
            ],
        )
        text = f"{text}\n\n{texts.log_felt_question}"
    await reply(update, text, InlineKeyboardMarkup(keyboard))


def _course_day(enrollment: models.Enrollment | None, now: datetime, length: timedelta) -> int | None:
    """The course day a line belongs to, while that day's lesson is fresh: its check-in is about it."""
    over = (CourseStatus.FINISHED, CourseStatus.REPLACED)
    if enrollment is None or enrollment.status in over or enrollment.last_sent_at is None:
        return None
    fresh = now - enrollment.last_sent_at < length
    return enrollment.current_day if fresh and enrollment.current_day >= 1 else None


async def felt(update: Update, context: CoachContext, button: FeltMark) -> None:
    """How a logged set felt, tapped under the log reply: it steers the next advice."""
    services = context.services
    query = update.callback_query
    await query.answer()
    if not await drop_buttons(query):  # the second tap of a double tap
        return
    async with services.db.session() as session:
        entry = await session.get(models.LogEntry, button.entry)
        if entry is None or entry.user_id != update.effective_user.id:
            return
        for row in await training_log.line_of(session=session, entry=entry):
            row.felt = button.mark
        preference = await training_log.preference_of(session=session, chat_id=entry.chat_id)
        zone = await zone_of(session, entry.chat_id)
        _, advice, _ = await advice_for(session, services, entry.user_id, entry.exercise, preference.units, zone)
    texts = services.content.texts
    await reply(update, f"{texts.log_felt_saved.strip()} {advice_text(texts, advice)}")


async def undo(update: Update, context: CoachContext) -> None:
    """Remove the last logged line, all its sets: the cure for a typo."""
    texts = context.services.content.texts
    async with context.services.db.session() as session:
        entry = await training_log.last_log_entry(session=session, user_id=update.effective_user.id)
        rows = [] if entry is None else await training_log.line_of(session=session, entry=entry)
        for row in rows:
            await session.delete(row)
    if not rows:
        await reply(update, texts.log_nothing_to_undo)
        return
    known = catalogue(context.services.content)
    if len(rows) == 1:
        await reply(update, _entry_text(texts, texts.log_undone, rows[0], known))
    else:
        await reply(update, _line_text(texts, texts.log_undone_each, rows, known))


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
            key = await training_log.latest_exercise(session=session, user_id=user_id)
        if key is None:
            await reply(update, texts.progress_empty)
            return
        preference = await training_log.preference_of(session=session, chat_id=chat_id)
        unit = preference.units
        sessions, advice, _ = await advice_for(session, services, user_id, key, unit, await zone_of(session, chat_id))
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
        e1rm=texts.chart_e1rm.format(unit=unit),
    )
    chart = await asyncio.to_thread(progress_chart, sessions, unit, labels)  # CPU work off the event loop
    caption = f"{_summary(texts, name, sessions, unit)}\n{advice_text(texts, advice)}"
    await reply_photo(update, InputFile(io.BytesIO(chart.png), filename=f"progress-{key}.png"), caption)


def _summary(texts: Texts, name: str, sessions: list[training.Session], unit: str) -> str:
    first, last = sessions[0], sessions[-1]
    values = dict(exercise=escape(name), sessions=len(sessions), since=date_text(first.on))
    if last.top_kg is None or first.top_kg is None:
        return texts.progress_summary_reps.format(first=int(first.volume), last=int(last.volume), **values).strip()
    return texts.progress_summary_weight.format(
        first=weight_text(texts, first.top_kg, unit), last=weight_text(texts, last.top_kg, unit), **values
    ).strip()


# ----------------------------------------------------------------------------- /units and /weekly


def units_keyboard(texts: Texts) -> list[InlineKeyboardButton]:
    """The kg / lb row; /settings shows the same row, handled by `units_button`."""
    return [
        InlineKeyboardButton(texts.units_kg_button, callback_data=UnitsChoice("kg").pack()),
        InlineKeyboardButton(texts.units_lb_button, callback_data=UnitsChoice("lb").pack()),
    ]


async def units(update: Update, context: CoachContext) -> None:
    """/units [kg|lb]: the unit for lines that name none."""
    texts = context.services.content.texts
    wanted = (context.args or [""])[0].lower().rstrip("s")
    if wanted in training.UNITS:
        await _save_units(update, context, wanted)
        return
    async with context.services.db.session() as session:
        preference = await training_log.preference_of(session=session, chat_id=update.effective_chat.id)
    await reply(
        update, texts.units_question.format(units=preference.units), InlineKeyboardMarkup([units_keyboard(texts)])
    )


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
    async with context.services.db.session() as session:
        preference = await training_log.preference_of(session=session, chat_id=update.effective_chat.id)
        on = preference.weekly
    await _weekly_state(update, context, on)


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
    """Send every weekly check-in that is due; returns how many went out."""
    texts, now = services.content.texts, services.clock.now()
    async with services.db.session() as session:
        due = await training_log.claim_weekly(session=session, now=now, every=7 * day_length(services.settings))
    sent = 0
    for chat_id in due:
        text = texts.weekly_nudge.format(last=await _last_entry_note(services, chat_id)).strip()
        try:
            await send_html(bot, chat_id, text)
            sent += 1
        except Forbidden:
            async with services.db.session() as session:
                await courses.mark_unreachable(session=session, chat_id=chat_id)
        except TelegramError as exc:
            log.warning("weekly check-in to chat %s failed: %s", chat_id, exc)
    return sent


async def _last_entry_note(services: Services, chat_id: int) -> str:
    """The person's last logged line and the advice for it: a reason to open the log again."""
    texts, known = services.content.texts, catalogue(services.content)
    async with services.db.session() as session:
        entry = await training_log.last_log_entry(session=session, user_id=chat_id)
        if entry is None:
            return texts.weekly_no_entry.strip()
        preference = await training_log.preference_of(session=session, chat_id=chat_id)
        zone = await zone_of(session, chat_id)
        _, advice, _ = await advice_for(session, services, chat_id, entry.exercise, preference.units, zone)
    return texts.weekly_last_entry.format(
        exercise=escape(known.name_of(entry.exercise)),
        sets=entry.sets,
        reps=entry.reps,
        weight=weight_text(texts, entry.weight_kg, entry.unit),
        date=date_text(local_date(entry.logged_at, zone)),
        advice=advice_text(texts, advice),
    ).strip()


# ----------------------------------------------------------------------------- /export and /forget


async def export(update: Update, context: CoachContext) -> None:
    """/export: every row stored about the person, as a JSON file."""
    services = context.services
    chat_id, user_id = update.effective_chat.id, update.effective_user.id
    async with services.db.session() as session:
        tables = await operations.export_person(session=session, chat_id=chat_id, user_id=user_id)
    document = {"exported_at": services.clock.now().isoformat(), "chat_id": chat_id, "user_id": user_id, **tables}
    data = json.dumps(document, indent=2, default=_json_value, ensure_ascii=False).encode()
    await update.effective_chat.send_document(
        InputFile(io.BytesIO(data), filename="hinge-coach-my-data.json"),
        caption=services.content.texts.export_caption,
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
                InlineKeyboardButton(texts.forget_yes, callback_data=ForgetAnswer("yes").pack()),
                InlineKeyboardButton(texts.forget_no, callback_data=ForgetAnswer("no").pack()),
            ]
        ]
    )
    await reply(update, texts.forget_confirm, keyboard)


async def forget_answer(update: Update, context: CoachContext, answer: ForgetAnswer) -> None:
    services = context.services
    texts, query = services.content.texts, update.callback_query
    await query.answer()
    if answer.answer == "no":
        await edit_text(query, texts.forget_cancelled)
        return
    async with services.db.session() as session:  # deleting twice deletes nothing more: idempotent
        deleted = await operations.forget_person(
            session=session, chat_id=update.effective_chat.id, user_id=update.effective_user.id
        )
    log.info("forgot a person on request: %s rows", deleted)
    await edit_text(query, texts.forget_done)


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
    application.add_handler(button_handler(PickExercise, pick_exercise))
    application.add_handler(button_handler(FeltMark, felt))
    application.add_handler(button_handler(UnitsChoice, units_button))
    application.add_handler(button_handler(WeeklyChoice, weekly_button))
    application.add_handler(button_handler(ForgetAnswer, forget_answer))
    interval = weekly_interval(application.services.settings)
    application.job_queue.run_repeating(
        weekly_checkin,
        interval=interval,
        first=interval,
        name="weekly-checkin",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
