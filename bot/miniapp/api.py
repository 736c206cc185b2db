"""The Mini App over HTTP: its three pages (one static shell), its static files, and the JSON API
the pages draw from.

Every API call carries Telegram's signed `initData` in `Authorization: tma <initData>` (a header:
it never appears in a URL, so no proxy or access log keeps it) and is checked before anything is
read. Who sees what:
- the learner's page: only the signed person's own private course;
- a group's coach page: the group's admins (Telegram's list, as /summary asks it) and operators;
- the operator's page: the people in ADMIN_IDS.
Refusals are 401 (not signed by Telegram for this bot, or stale) and 403 (signed, not allowed).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from zoneinfo import ZoneInfo

import tornado.web
from telegram.error import TelegramError

from bot.content.models import PAIN_OPTION, MiniAppTexts
from bot.context import CoachApplication, Services
from bot.domain import dashboard
from bot.domain.groups import plain
from bot.domain.training import from_kg
from bot.logbook import catalogue
from bot.miniapp.init_data import InitDataRefused, WebAppUser, verify
from bot.miniapp.settings_actions import Setting, change
from bot.storage import dashboard as reads
from bot.storage import queries
from bot.storage.models import CheckinAnswer, Preference, Subscriber

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
AUTH_SCHEME = "tma "
MAX_SETTING_BYTES = 1024
UNREAD_SHOWN = 50
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' https://telegram.org; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors https://web.telegram.org https://*.telegram.org; "
    "base-uri 'none'; form-action 'none'"
)


def texts_for(services: Services, language: str) -> MiniAppTexts:
    """The Mini App's sentences in the person's language ('pt-br' falls back to 'pt'), else English."""
    blocks = services.content.miniapp
    tag = language.lower()
    return blocks.get(tag) or blocks.get(tag.split("-")[0]) or blocks["en"]


class _Base(tornado.web.RequestHandler):
    def initialize(self, coach: CoachApplication) -> None:
        self.coach = coach
        self.services: Services = coach.services

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")


class Page(_Base):
    """GET the page shell: the same HTML for the learner's, the coach's and the operator's page
    (the script picks the view from the path). Nothing personal is in it."""

    SUPPORTED_METHODS = ("GET",)

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy", PAGE_POLICY)
        self.set_header("Cache-Control", "no-cache")
        self.write((STATIC / "index.html").read_bytes())


class PageTexts(_Base):
    """GET api/texts?lang=xx: the page's sentences (public, like the page itself)."""

    SUPPORTED_METHODS = ("GET",)

    def get(self) -> None:
        texts = texts_for(self.services, self.get_query_argument("lang", "en")[:16])
        self.set_header("Cache-Control", "public, max-age=300")
        self.write(texts.model_dump())


class _Signed(_Base):
    """An API call: the signed person is `self.person`, or the call ends with 401."""

    person: WebAppUser

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")

    def prepare(self) -> None:
        header = self.request.headers.get("Authorization", "")
        given = header[len(AUTH_SCHEME) :] if header.startswith(AUTH_SCHEME) else None
        settings = self.services.settings
        try:
            self.person = verify(given, settings.require_token(), now=self.services.clock.now())
        except InitDataRefused as refused:
            log.info("mini app: %s %s refused: %s", self.request.method, self.request.path, refused.reason.value)
            raise tornado.web.HTTPError(HTTPStatus.UNAUTHORIZED, reason="not signed by Telegram") from None

    @property
    def operator(self) -> bool:
        return self.person.id in self.services.settings.admin_ids

    def write_error(self, status_code: int, **kwargs: object) -> None:
        self.finish({"error": HTTPStatus(status_code).phrase.lower()})

    async def group_allowed(self, chat_id: int) -> Subscriber:
        """The group whose coach page is asked for, if this person may see it (or 403/404)."""
        async with self.services.db.session() as session:
            group = await queries.get_subscriber(session=session, chat_id=chat_id)
        if group is None or group.kind == "private":
            raise tornado.web.HTTPError(HTTPStatus.NOT_FOUND)
        if not self.operator and not await self.services.access.is_admin_of(self.coach.bot, chat_id, self.person.id):
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN, reason="not an admin of that group")
        return group

    def chat_argument(self) -> int:
        try:
            return int(self.get_query_argument("chat"))
        except (tornado.web.MissingArgumentError, ValueError):
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST, reason="which group?") from None


class Learner(_Signed):
    """GET api/learner: the signed person's own course, check-ins, log and settings."""

    SUPPORTED_METHODS = ("GET",)

    async def get(self) -> None:
        self.write(await learner_view(self.services, self.person.id, operator=self.operator))


class SettingsChange(_Signed):
    """POST api/settings {"setting": ..., "value": ...}: one change, confirmed in the chat."""

    SUPPORTED_METHODS = ("POST",)

    async def post(self) -> None:
        try:
            if len(self.request.body) > MAX_SETTING_BYTES:
                raise ValueError("too long")
            body = json.loads(self.request.body)
            setting, value = Setting(body["setting"]), body["value"]
        except (ValueError, KeyError, TypeError):
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST, reason="not a setting") from None
        if setting in (Setting.WEEKLY, Setting.PAUSED) and not isinstance(value, bool):
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST, reason="not a setting")
        if setting in (Setting.TIME, Setting.ZONE, Setting.UNITS) and not isinstance(value, str):
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST, reason="not a setting")
        outcome = await change(self.services, self.coach.bot, self.person.id, setting, value)
        view = await learner_view(self.services, self.person.id, operator=self.operator)
        self.write({"saved": outcome.saved, "problem": outcome.problem, "choices": list(outcome.choices), **view})


class Coach(_Signed):
    """GET api/coach?chat=<group id>: the group's funnel, attention list and trend."""

    SUPPORTED_METHODS = ("GET",)

    async def get(self) -> None:
        group = await self.group_allowed(self.chat_argument())
        self.write(await coach_view(self.services, self.coach, group))


class CoachCsv(_Signed):
    """GET api/coach.csv?chat=<group id>: every answer of the group's current run, one per row."""

    SUPPORTED_METHODS = ("GET",)

    async def get(self) -> None:
        group = await self.group_allowed(self.chat_argument())
        texts = texts_for(self.services, self.get_query_argument("lang", self.person.language)[:16])
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="check-ins.csv"')
        self.write(await coach_csv(self.services, group, texts))


class Operator(_Signed):
    """GET api/operator: every cohort, every advice's outcome, the answers the bot could not read."""

    SUPPORTED_METHODS = ("GET",)

    async def get(self) -> None:
        if not self.operator:
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN, reason="operators only")
        self.write(await operator_view(self.services))


def routes(application: CoachApplication, path: str) -> list[tuple]:
    """The Mini App's routes under `path` (the path of MINI_APP_URL, "" for the root)."""
    kwargs = {"coach": application}
    return [
        (rf"{path}/?", Page, kwargs),
        (rf"{path}/(?:coach|operator)", Page, kwargs),
        (rf"{path}/static/(.*)", tornado.web.StaticFileHandler, {"path": str(STATIC)}),
        (rf"{path}/api/texts", PageTexts, kwargs),
        (rf"{path}/api/learner", Learner, kwargs),
        (rf"{path}/api/settings", SettingsChange, kwargs),
        (rf"{path}/api/coach", Coach, kwargs),
        (rf"{path}/api/coach\.csv", CoachCsv, kwargs),
        (rf"{path}/api/operator", Operator, kwargs),
    ]


# ----------------------------------------------------------------------------- the views' data


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
    content, now = services.content, services.clock.now()
    async with services.db.session() as session:
        subscriber = await queries.get_subscriber(session=session, chat_id=chat_id)
        enrollment = await queries.current_enrollment(session=session, chat_id=chat_id)
        pending = (
            None if enrollment is None else await queries.pending_lesson(session=session, enrollment_id=enrollment.id)
        )
        history = (
            []
            if enrollment is None
            else await queries.checkin_history(session=session, enrollment_id=enrollment.id, user_id=chat_id)
        )
        log_rows = await queries.whole_log(session=session, user_id=chat_id)
        linked = await reads.answers_by_id(
            session=session, ids=sorted({row.checkin_answer_id for row in log_rows if row.checkin_answer_id})
        )
        preference = await session.get(Preference, chat_id)
    zone = ZoneInfo(subscriber.timezone) if subscriber is not None and subscriber.timezone else None
    units = preference.units if preference is not None else "lb"
    course = None
    if subscriber is not None and subscriber.kind == "private" and enrollment is not None:
        next_lesson = None
        if pending is not None and enrollment.status == "active":
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
            "paused": enrollment is not None and enrollment.status == "paused",
        },
    }


def _local(instant: datetime, zone: ZoneInfo | None) -> str:
    return (instant.astimezone(zone) if zone else instant).isoformat(timespec="minutes")


async def _group_run(services: Services, coach: CoachApplication, group: Subscriber):
    """The current run of a group with its answers, delivered days and roster (admins left out)."""
    async with services.db.session() as session:
        enrollment = await queries.current_enrollment(session=session, chat_id=group.chat_id)
        if enrollment is None:
            return None, [], [], {}
        rows = await queries.group_answers(session=session, enrollment_id=enrollment.id)
        delivered = await reads.delivered_days(session=session, enrollment_id=enrollment.id)
        names = await reads.member_names(session=session, chat_id=group.chat_id)
    try:
        admins = await services.delivery.groups.admins(coach.bot, group.chat_id)
    except TelegramError as exc:
        log.info("chat %s: admins unknown (%s); the coach page counts everyone", group.chat_id, exc)
        admins = {}
    roster = {user: name for user, name in names.items() if user not in admins}
    return enrollment, [reads.as_answer(row) for row in rows], delivered, roster


async def coach_view(services: Services, coach: CoachApplication, group: Subscriber) -> dict:
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
    async with services.db.session() as session:
        enrollment = await queries.current_enrollment(session=session, chat_id=group.chat_id)
        rows = [] if enrollment is None else await queries.group_answers(session=session, enrollment_id=enrollment.id)
        names = await reads.member_names(session=session, chat_id=group.chat_id)
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
                row.fix_helped or "",
                row.answered_at.isoformat(timespec="minutes"),
            ]
        )
    return out.getvalue()


def _spreadsheet_safe(value: str) -> str:
    """A name or typed answer that starts like a formula is shown as text, never run by a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


async def operator_view(services: Services) -> dict:
    content = services.content
    async with services.db.session() as session:
        leaves = await reads.all_leaf_answers(session=session)
        private = await reads.private_runs(session=session)
        groups = await reads.group_runs(session=session)
        answers = await reads.answers_of_runs(session=session, enrollment_ids=[run.enrollment_id for run in groups])
        unread = await queries.unmatched_answers(session=session, pain_option=PAIN_OPTION, limit=UNREAD_SHOWN)
    cohorts = [
        dashboard.group_cohort(run.title, answers[run.enrollment_id], members=run.members, days=content.days)
        for run in groups
    ] + dashboard.private_cohorts(private, days=content.days)
    return {
        "days": content.days,
        "groups": [{"chat": run.chat_id, "title": run.title} for run in {run.chat_id: run for run in groups}.values()],
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
