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

import json
import logging
from http import HTTPStatus
from pathlib import Path

import tornado.web

from bot.context import CoachApplication, Services
from bot.domain.chats import ChatKind
from bot.language import BASE_LANGUAGE, current_language, from_telegram
from bot.miniapp.init_data import InitDataRefused, WebAppUser, verify
from bot.miniapp.settings_actions import Setting, change
from bot.miniapp.views import coach_csv, coach_view, learner_view, operator_view
from bot.storage import courses
from bot.storage.models import Subscriber

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
AUTH_SCHEME = "tma "
MAX_SETTING_BYTES = 1024
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' https://telegram.org; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors https://web.telegram.org https://*.telegram.org; "
    "base-uri 'none'; form-action 'none'"
)


class _Base(tornado.web.RequestHandler):
    def initialize(self, coach: CoachApplication) -> None:
        self.coach = coach
        self.services: Services = coach.services

    def signed_person(self) -> WebAppUser:
        """The person whose Telegram signed this request's initData (the Authorization header), or 401."""
        header = self.request.headers.get("Authorization", "")
        given = header[len(AUTH_SCHEME) :] if header.startswith(AUTH_SCHEME) else None
        try:
            return verify(given, self.services.settings.require_token(), now=self.services.clock.now())
        except InitDataRefused as refused:
            log.info("mini app: %s %s refused: %s", self.request.method, self.request.path, refused.reason.value)
            raise tornado.web.HTTPError(HTTPStatus.UNAUTHORIZED, reason="not signed by Telegram") from None

    async def speak_to(self, person: WebAppUser) -> str:
        """Speak the person's language for the rest of this request (as the chat does): the one they
        chose or /start stored, else their Telegram app's, else English. Every request sets it
        before reading content, so a connection's previous request never lends it its own."""
        language = (await self.services.languages.of_person(person.id, person.language or None)).language
        current_language.set(language)
        self.set_header("Content-Language", language)
        return language

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
    """GET api/texts: the page's sentences in the signed person's language (see `speak_to`); without
    a signature (the page opened outside Telegram) in `?lang=xx` when we speak it, else English.
    The language is in the Content-Language header: the page writes its dates in it too."""

    SUPPORTED_METHODS = ("GET",)

    async def get(self) -> None:
        if self.request.headers.get("Authorization"):
            await self.speak_to(self.signed_person())
            self.set_header("Cache-Control", "private, no-store")
        else:
            asked = self.get_query_argument("lang", BASE_LANGUAGE)[:16]
            language = from_telegram(asked, self.services.library.languages) or BASE_LANGUAGE
            current_language.set(language)
            self.set_header("Content-Language", language)
            self.set_header("Cache-Control", "public, max-age=300")
        self.write(self.services.content.miniapp.model_dump())


class _Signed(_Base):
    """An API call: the signed person is `self.person`, or the call ends with 401."""

    person: WebAppUser

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")

    async def prepare(self) -> None:
        self.person = self.signed_person()
        await self.speak_to(self.person)

    @property
    def operator(self) -> bool:
        return self.person.id in self.services.settings.admin_ids

    def write_error(self, status_code: int, **kwargs: object) -> None:
        self.finish({"error": HTTPStatus(status_code).phrase.lower()})

    async def group_allowed(self, chat_id: int) -> Subscriber:
        """The group whose coach page is asked for, if this person may see it (or 403/404)."""
        async with self.services.db.session() as session:
            group = await courses.get_subscriber(session=session, chat_id=chat_id)
        if group is None or group.kind == ChatKind.PRIVATE:
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
        texts = self.services.content.miniapp
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
