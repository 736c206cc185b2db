"""The learner's settings changed from the Mini App, through the same code paths as the chat's
commands (/settings, /units, /weekly, /pause, /resume), and each confirmed in the chat by the same
sentence the command would have sent: the one place the Mini App writes. It is deliberately small:
when the course lifecycle service exists, these calls become calls to it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telegram import Bot

from bot.context import Services
from bot.domain.schedule import describe_due
from bot.domain.timeparse import format_time, parse_lesson_time
from bot.domain.timezones import resolve_timezone
from bot.domain.training import UNITS
from bot.handlers.common import schedule_for, send_html
from bot.handlers.course import RESUMABLE, pause_course, resume_course
from bot.handlers.onboarding import _reschedule
from bot.storage import queries


class Setting(StrEnum):
    TIME = "time"
    ZONE = "timezone"
    UNITS = "units"
    WEEKLY = "weekly"
    PAUSED = "paused"


@dataclass(frozen=True)
class Change:
    """What became of a change: `problem` names the Mini App sentence explaining a refusal."""

    saved: bool
    problem: str | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class _ServicesOnly:
    """All the chat's course functions read of a handler's context: its services."""

    services: Services


async def change(services: Services, bot: Bot, chat_id: int, setting: Setting, value: object) -> Change:
    """Apply one setting for the person of this private chat and say so in the chat."""
    async with services.db.session() as session:
        subscriber = await queries.get_subscriber(session=session, chat_id=chat_id)
    if subscriber is None or not subscriber.onboarded or subscriber.kind != "private":
        return Change(False, "setting_not_started")
    if setting in (Setting.TIME, Setting.ZONE):
        return await _schedule(services, bot, chat_id, setting, str(value))
    if setting is Setting.UNITS:
        if value not in UNITS:
            return Change(False, "load_failed")
        async with services.db.session() as session:
            (await queries.preference_of(session=session, chat_id=chat_id)).units = value
        await send_html(bot, chat_id, services.content.texts.units_saved.format(units=value))
        return Change(True)
    if setting is Setting.WEEKLY:
        async with services.db.session() as session:
            preference = await queries.preference_of(session=session, chat_id=chat_id)
            if value and not preference.weekly:
                preference.last_weekly_at = services.clock.now()  # the first one comes a week from now
            preference.weekly = bool(value)
        texts = services.content.texts
        await send_html(bot, chat_id, texts.weekly_on if value else texts.weekly_off)
        return Change(True)
    return await (_pause(services, bot, chat_id) if value else _resume(services, bot, chat_id))


async def _schedule(services: Services, bot: Bot, chat_id: int, setting: Setting, text: str) -> Change:
    if setting is Setting.TIME:
        chosen = parse_lesson_time(text)
        if chosen is None:
            return Change(False, "setting_bad_time")
        column, value = "lesson_time", format_time(chosen)
    else:
        zones = resolve_timezone(text)
        if not zones:
            return Change(False, "setting_bad_zone")
        if len(zones) > 1:
            return Change(False, "setting_many_zones", tuple(zone.zone for zone in zones))
        column, value = "timezone", zones[0].zone
    async with services.db.session() as session:
        subscriber = await queries.get_subscriber(session=session, chat_id=chat_id)
        setattr(subscriber, column, value)
        subscriber.awaiting = None
        note = await _reschedule(session, subscriber, _ServicesOnly(services), services.clock.now())
    await send_html(bot, chat_id, services.content.texts.settings_saved.format(next_lesson=note))
    return Change(True)


async def _pause(services: Services, bot: Bot, chat_id: int) -> Change:
    status, enrollment = await pause_course(_ServicesOnly(services), chat_id)
    if status != "active":
        return Change(False, "setting_unchanged")
    await send_html(bot, chat_id, services.content.texts.pause_done.format(day=max(1, enrollment.current_day)))
    return Change(True)


async def _resume(services: Services, bot: Bot, chat_id: int) -> Change:
    now = services.clock.now()
    async with services.db.session() as session:
        subscriber = await queries.get_subscriber(session=session, chat_id=chat_id)
        enrollment = await queries.current_enrollment(session=session, chat_id=chat_id)
        resumable = enrollment is not None and enrollment.status in RESUMABLE
        due = await resume_course(session, subscriber, enrollment, _ServicesOnly(services), now) if resumable else None
    if due is None:
        return Change(False, "setting_unchanged")
    when = describe_due(schedule_for(subscriber, _ServicesOnly(services)), due, now)
    await send_html(
        bot, chat_id, services.content.texts.resume_done.format(next_day=enrollment.current_day + 1, when=when)
    )
    if due <= now:
        await services.delivery.deliver_now(bot, enrollment.id)
    return Change(True)
