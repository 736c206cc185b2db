"""The typed bridge between python-telegram-bot and the bot's services.

Handlers get `context.services` (settings, content, database, clock, delivery) instead of
string keys into `bot_data`. `content`, `matcher` and `cue_index` are those of the language being
spoken (bot.language.current_language, set once per update by bot/handlers/language.py), so a
handler reads `services.content.texts` whatever the person's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock
from bot.content import Content
from bot.content.languages import Library
from bot.domain.checkin import CheckinMatcher
from bot.domain.cue_search import CueIndex
from bot.language import BASE_LANGUAGE, current_language
from bot.services.access import Access
from bot.services.answers import AnswerWriter
from bot.services.course import CourseService
from bot.services.languages import Heard, Languages
from bot.services.privacy import Privacy
from bot.services.reports import Reports
from bot.services.training_log import TrainingLog
from bot.settings import Settings
from bot.storage.db import Database

if TYPE_CHECKING:
    from bot.callback_data import CallbackData
    from bot.delivery.engine import DeliveryEngine
    from bot.services.groups import GroupCoaching


@dataclass
class Services:
    settings: Settings
    library: Library  # the content of every language
    db: Database
    clock: Clock
    delivery: DeliveryEngine
    matchers: dict[str, CheckinMatcher]  # per language: its check-in tree and its lexicon
    cue_indexes: dict[str, CueIndex]  # per language, built once at start-up; every lookup reuses them
    answers: AnswerWriter  # check-in answers, written together when they come together
    access: Access  # who may touch what: every button press is checked here first
    languages: Languages  # who is spoken to in which language
    course: CourseService  # every command that changes a course or its schedule
    groups: GroupCoaching  # group coaching: admins (cached), summaries, a lesson's tally, a migrated chat's move
    training_log: TrainingLog  # the log, records, progress, plates, the rest timer, the CSV, the weekly note
    privacy: Privacy  # a person's data: /export, /forget
    reports: Reports  # numbers for the people who run the bot: /stats

    @property
    def content(self) -> Content:
        return self.library.current

    @property
    def matcher(self) -> CheckinMatcher:
        return self.matchers.get(current_language.get()) or self.matchers[BASE_LANGUAGE]

    @property
    def cue_index(self) -> CueIndex:
        return self.cue_indexes.get(current_language.get()) or self.cue_indexes[BASE_LANGUAGE]


class CoachApplication(Application):
    """An Application that carries the services; built by `bot.app.build_application`."""

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services


class CoachContext(CallbackContext[ExtBot, dict, dict, dict]):
    button: CallbackData | None = None  # a press's typed callback data, unpacked once by the access gate
    heard: Heard | None = None  # the update's language, as bot/handlers/language.py decided it first

    @property
    def services(self) -> Services:
        return self.application.services  # type: ignore[attr-defined]
