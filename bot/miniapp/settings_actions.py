"""The learner's settings changed from the Mini App, through the course service the chat's
commands use (/settings, /units, /weekly, /pause, /resume), and each confirmed in the chat by the
sentence the command would have sent: the one place the Mini App writes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telegram import Bot

from bot.context import Services
from bot.domain.chats import ChatKind
from bot.domain.course import Command, Verdict
from bot.domain.timezones import resolve_timezone
from bot.domain.training import UNITS
from bot.handlers.common import send_html
from bot.render import Place, course_reply, settings_saved_text


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


async def change(services: Services, bot: Bot, chat_id: int, setting: Setting, value: object) -> Change:
    """Apply one setting for the person of this private chat and say so in the chat."""
    subscriber, _run = await services.course.current(chat_id)
    if subscriber is None or not subscriber.onboarded or subscriber.kind != ChatKind.PRIVATE:
        return Change(False, "setting_not_started")
    texts, course = services.content.texts, services.course
    if setting in (Setting.TIME, Setting.ZONE):
        return await _schedule(services, bot, chat_id, setting, str(value))
    if setting is Setting.UNITS:
        if value not in UNITS:
            return Change(False, "load_failed")
        await course.set_units(chat_id, str(value))
        await send_html(bot, chat_id, texts.units_saved.format(units=value))
        return Change(True)
    if setting is Setting.WEEKLY:
        await course.set_weekly(chat_id, bool(value))
        await send_html(bot, chat_id, texts.weekly_on if value else texts.weekly_off)
        return Change(True)
    command = Command.PAUSE if value else Command.RESUME
    outcome = await (course.pause(chat_id) if value else course.resume(chat_id))
    if outcome.verdict is not Verdict.MOVED:
        return Change(False, "setting_unchanged")
    await send_html(bot, chat_id, course_reply(services.content, command, outcome, Place.PRIVATE))
    await course.deliver(bot, outcome)
    return Change(True)


async def _schedule(services: Services, bot: Bot, chat_id: int, setting: Setting, text: str) -> Change:
    course, texts = services.course, services.content.texts
    if setting is Setting.TIME:
        saved = await course.change_time(chat_id, text)
        if saved.refused:
            return Change(False, "setting_bad_time")
    else:
        zones = resolve_timezone(text)
        if not zones:
            return Change(False, "setting_bad_zone")
        if len(zones) > 1:
            return Change(False, "setting_many_zones", tuple(zone.zone for zone in zones))
        saved = await course.change_timezone(chat_id, zones[0].zone)
    await send_html(bot, chat_id, settings_saved_text(texts, saved.next_lesson))
    return Change(True)
