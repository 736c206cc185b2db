"""The typed bridge between python-telegram-bot and the bot's services.

Handlers get `context.services` (settings, content, database, clock, delivery) instead of
string keys into `bot_data`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock
from bot.content import Content
from bot.domain.checkin import CheckinMatcher
from bot.domain.cue_search import CueIndex
from bot.services.access import Access
from bot.services.answers import AnswerWriter
from bot.services.course import CourseService
from bot.settings import Settings
from bot.storage.db import Database

if TYPE_CHECKING:
    from bot.callback_data import CallbackData
    from bot.delivery.engine import DeliveryEngine
    from bot.services.groups import GroupCoaching


@dataclass
class Services:
    settings: Settings
    content: Content
    db: Database
    clock: Clock
    delivery: DeliveryEngine
    matcher: CheckinMatcher
    cue_index: CueIndex  # built once at start-up; every lookup reuses it
    answers: AnswerWriter  # check-in answers, written together when they come together
    access: Access  # who may touch what: every button press is checked here first
    course: CourseService  # every command that changes a course or its schedule
    groups: GroupCoaching  # group coaching: admins (cached), summaries, a lesson's tally, a migrated chat's move


class CoachApplication(Application):
    """An Application that carries the services; built by `bot.app.build_application`."""

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services


class CoachContext(CallbackContext[ExtBot, dict, dict, dict]):
    button: CallbackData | None = None  # a press's typed callback data, unpacked once by the access gate

    @property
    def services(self) -> Services:
        return self.application.services  # type: ignore[attr-defined]
