"""What each Mini App page shows, read from the database and counted by bot/domain/dashboard.py,
as the JSON (or CSV) the API sends. Labels and titles come from content/; the page adds its own
sentences from content/miniapp.yaml."""

from __future__ import annotations

import csv
import io
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram.error import TelegramError

from bot.content.models import PAIN_OPTION, MiniAppTexts
from bot.context import CoachApplication, Services
from bot.domain import dashboard
from bot.domain.chats import ChatKind
from bot.domain.course import CourseStatus
from bot.domain.groups import plain
from bot.domain.training import from_kg
from bot.logbook import catalogue
from bot.storage import checkins, courses, deliveries, groups, training_log
from bot.storage import dashboard as reads
from bot.storage.models import CheckinAnswer, Preference, Subscriber

log = logging.getLogger(__name__)

UNREAD_SHOWN = 50


def _answer_label(services: Services, row: CheckinAnswer | dashboard.Answer) -> str:
    """The button's label for an answer (typed answers are stored as the option they were read as);
    never the words typed, which stay between the person and the bot."""
    node = services.matcher.nodes.get(row.node)
    options = node.options if node else ()
    return next((option.label for option in options if option.id == row.option), row.option)


def _advice_title(services: Services, advice: str | None) -> str | None:
    found = services.matcher.advice.get(advice) if advice else None
    return plain(found.title) if found else None


def _question(services: Services, node: str) -> str:
    found = services.matcher.nodes.get(node)
    return plain(found.question) if found else node


async def learner_view(services: Services, chat_id: int, *, operator: bool) -> dict:
    """The learner's page: their private course only, times in their own zone, weights in their units."""
    content, now = services.content, services.clock.now()
    async with services.db.session() as session:
        subscriber = await courses.get_subscriber(session=session, chat_id=chat_id)
        enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
        pending = (
            None
            if enrollment is None
            else await deliveries.pending_lesson(session=session, enrollment_id=enrollment.id)
        )
        history = (
            []
            if enrollment is None
            else await checkins.checkin_history(session=session, enrollment_id=enrollment.id, user_id=chat_id)
        )
        log_rows = await training_log.whole_log(session=session, user_id=chat_id)
        linked = await reads.answers_by_id(
            session=session, ids=sorted({row.checkin_answer_id for row in log_rows if row.checkin_answer_id})
        )
        preference = await session.get(Preference, chat_id)
    zone = ZoneInfo(subscriber.timezone) if subscriber is not None and subscriber.timezone else None
    units = preference.units if preference is not None else "lb"
    course = None
    if subscriber is not None and subscriber.kind == ChatKind.PRIVATE and enrollment is not None:
        next_lesson = None
        if pending is not None and enrollment.status == CourseStatus.ACTIVE:
            at = pending.due_at.astimezone(zone) if zone else pending.due_at
            next_lesson = {"day": pending.day, "at": at.isoformat(), "zone": subscriber.timezone}
        course = {
            "day": min(enrollment.current_day, content.days),
            "days": content.days,
            "status": enrollment.status,
            "next": next_lesson,
        }
    known = catalogue(content)
    exercises: dict[str, dict] = {}
    for row in log_rows:
        exercise = exercises.setdefault(
            row.exercise, {"key": row.exercise, "name": known.name_of(row.exercise), "unit": units, "sessions": []}
        )
        checkin = linked.get(row.checkin_answer_id)
        exercise["sessions"].append(
            {
                "id": row.id,
                "at": _local(row.logged_at, zone),
                "day": row.day,
                "weight": None if row.weight_kg is None else round(from_kg(row.weight_kg, units), 1),
                "sets": row.sets,
                "reps": row.reps,
                "felt": row.felt,
                "rpe": row.rpe,
                "checkin": None if checkin is None else _answer_label(services, checkin),
            }
        )
    return {
        "now": _local(now, zone),
        "operator": operator,
        "course": course,
        "checkins": [
            {
                "id": row.id,
                "day": row.day,
                "at": _local(row.answered_at, zone),
                "question": _question(services, row.node),
                "answer": _answer_label(services, row),
                "advice": _advice_title(services, row.advice),
                "fix_helped": row.fix_helped,
            }
            for row in history
        ],
        "exercises": sorted(exercises.values(), key=lambda e: -len(e["sessions"])),
        "settings": None
        if subscriber is None or not subscriber.onboarded
        else {
            "time": subscriber.lesson_time,
            "timezone": subscriber.timezone,
            "units": units,
            "weekly": bool(preference and preference.weekly),
            "paused": enrollment is not None and enrollment.status == CourseStatus.PAUSED,
        },
    }


def _local(instant: datetime, zone: ZoneInfo | None) -> str:
    return (instant.astimezone(zone) if zone else instant).isoformat(timespec="minutes")


async def _group_run(services: Services, coach: CoachApplication, group: Subscriber):
    """The current run of a group with its answers, delivered days and roster (admins left out)."""
    async with services.db.session() as session:
        enrollment = await courses.current_enrollment(session=session, chat_id=group.chat_id)
        if enrollment is None:
            return None, [], [], {}
        rows = await groups.group_answers(session=session, enrollment_id=enrollment.id)
        delivered = await reads.delivered_days(session=session, enrollment_id=enrollment.id)
        names = await reads.member_names(session=session, chat_id=group.chat_id)
    try:
        admins = await services.groups.admins(coach.bot, group.chat_id)
    except TelegramError as exc:
        log.info("chat %s: admins unknown (%s); the coach page counts everyone", group.chat_id, exc)
        admins = {}
    roster = {user: name for user, name in names.items() if user not in admins}
    return enrollment, [reads.as_answer(row) for row in rows], delivered, roster


async def coach_view(services: Services, coach: CoachApplication, group: Subscriber) -> dict:
    """A group's page: the funnel by course day and who needs attention, members named as the group
    shows them (the admins, who coach, are not counted among those the lessons reach)."""
    content = services.content
    enrollment, answers, delivered, roster = await _group_run(services, coach, group)
    if enrollment is None:
        return {"title": group.name, "day": 0, "days": content.days, "funnel": [], "attention": None}
    delivered = [day for day in delivered if day <= content.days]
    question_days = [day for day in delivered if content.question_of(day)]
    everyone = {**roster, **{a.user_id: str(a.user_id) for a in answers if a.user_id not in roster}}
    watch = dashboard.attention(answers, question_days=question_days, roster=roster)
    return {
        "title": group.name,
        "day": min(enrollment.current_day, content.days),
        "days": content.days,
        "status": enrollment.status,
        "funnel": [vars(row) for row in dashboard.funnel(answers, delivered_days=delivered, audience=len(roster))],
        "attention": {
            "red_flags": [
                {"name": everyone.get(a.user_id) or str(a.user_id), "day": a.day, "answer": _answer_label(services, a)}
                for a in watch.red_flags
            ],
            "silent": [{"name": roster.get(user) or str(user), "lessons": run} for user, run in watch.silent],
        },
    }


async def coach_csv(services: Services, group: Subscriber, texts: MiniAppTexts) -> str:
    """Every answer of the group's current run, one per row, headed in the coach's language."""
    async with services.db.session() as session:
        enrollment = await courses.current_enrollment(session=session, chat_id=group.chat_id)
        rows = [] if enrollment is None else await groups.group_answers(session=session, enrollment_id=enrollment.id)
        names = await reads.member_names(session=session, chat_id=group.chat_id)
    helped = {"yes": texts.csv_fix_yes, "partly": texts.csv_fix_partly, "no": texts.csv_fix_no}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            texts.col_day,
            texts.csv_name,
            texts.csv_question,
            texts.csv_answer,
            texts.csv_advice,
            texts.csv_fix_helped,
            texts.csv_answered_at,
        ]
    )
    for row in rows:
        writer.writerow(
            [
                row.day,
                _spreadsheet_safe(names.get(row.user_id) or str(row.user_id)),
                _question(services, row.node),
                _spreadsheet_safe(_answer_label(services, row)),
                _advice_title(services, row.advice) or "",
                helped.get(row.fix_helped or "", ""),
                row.answered_at.isoformat(timespec="minutes"),
            ]
        )
    return out.getvalue()


def _spreadsheet_safe(value: str) -> str:
    """A name or typed answer that starts like a formula is shown as text, never run by a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


async def operator_view(services: Services) -> dict:
    """The operators' page: every cohort, what each piece of advice led to, what the bot could not read."""
    content = services.content
    async with services.db.session() as session:
        leaves = await reads.all_leaf_answers(session=session)
        private = await reads.private_runs(session=session)
        group_runs = await reads.group_runs(session=session)
        answers = await reads.answers_of_runs(session=session, enrollment_ids=[run.enrollment_id for run in group_runs])
        unread = await checkins.unmatched_answers(session=session, pain_option=PAIN_OPTION, limit=UNREAD_SHOWN)
    cohorts = [
        dashboard.group_cohort(run.title, answers[run.enrollment_id], members=run.members, days=content.days)
        for run in group_runs
    ] + dashboard.private_cohorts(private, days=content.days)
    return {
        "days": content.days,
        "groups": [
            {"chat": run.chat_id, "title": run.title} for run in {run.chat_id: run for run in group_runs}.values()
        ],
        "cohorts": [vars(cohort) for cohort in cohorts],
        "outcomes": [
            {
                "advice": effect.advice,
                "title": _advice_title(services, effect.advice) or effect.advice,
                "given": effect.given,
                "next": {kind.value: effect.next[kind] for kind in dashboard.NextCheckin},
                "helped": {answer: effect.helped[answer] for answer in ("yes", "partly", "no")},
            }
            for effect in dashboard.advice_effects(leaves)
        ],
        "unread": [
            {"at": at.isoformat(timespec="minutes"), "question": _question(services, node), "how": how, "text": text}
            for at, node, how, text in unread
        ],
    }
