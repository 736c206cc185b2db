"""The course service: every command that changes a course or its schedule, private or group.

Handlers (and the Mini App) read the update, call one function here, and pick their reply from the
`Outcome`; what a command does to a run is decided by the pure table in `bot.domain.course`, and
this module stores it: the conditional update that makes a double press act once, the waiting
lesson cancelled when a run stops moving, the next lesson scheduled when it moves again.

Nothing here speaks Telegram; a lesson promised "right now" is sent by `deliver`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import available_timezones

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.delivery.engine import schedule_of
from bot.domain.course import Command, CourseStatus, Profile, Transition, Verdict, decide, sources
from bot.domain.schedule import DueWhen, LessonSchedule, describe_due, next_due
from bot.domain.timeparse import format_time, parse_lesson_time
from bot.services.training_log import preference_of
from bot.settings import Settings
from bot.storage import courses, deliveries
from bot.storage.db import Database
from bot.storage.models import Enrollment, Preference, Subscriber

if TYPE_CHECKING:
    from telegram import Bot


class Setting(StrEnum):
    """What a person (or a group's admin) can change about their course."""

    PROFILE = "profile"
    TIME = "time"
    TIMEZONE = "timezone"


ONBOARDING_STEPS = (Setting.PROFILE, Setting.TIME, Setting.TIMEZONE)  # what onboarding asks, in this order


@dataclass(frozen=True)
class Outcome:
    """What a command did, with what its reply needs."""

    verdict: Verdict
    status: CourseStatus | None = None  # the run's status before the command (None: no run)
    day: int = 1  # the day the run is on, at least 1
    enrollment_id: int | None = None
    next_day: int | None = None  # the lesson that comes next, when one is scheduled ...
    when: DueWhen | None = None  # ... and when, in the person's terms
    send_now: bool = False  # that lesson is due now: `deliver` sends it


@dataclass(frozen=True)
class SettingOutcome:
    """A setting stored: during onboarding the step to ask next (or the course that began),
    afterwards when the next lesson comes now."""

    known: bool  # False: the chat never started (or was forgotten); nothing was stored
    refused: bool = False  # the value is no lesson time, zone or profile the bot knows: nothing was stored
    ask_next: Setting | None = None
    started: Outcome | None = None  # onboarding finished with this answer: day 1 is on its way
    next_lesson: Outcome | None = None  # a running course's next lesson, moved to the new schedule
    subscriber: Subscriber | None = field(default=None, compare=False)


@dataclass(frozen=True)
class GroupSchedule:
    """`/groupcourse start [time] [zone]`: the schedule, and whether a default filled a gap."""

    lesson_time: str
    timezone: str
    defaulted: bool


class CourseService:
    def __init__(
        self, *, settings: Settings, db: Database, clock: Clock, deliver_now: Callable[[Bot, int], Awaitable[object]]
    ) -> None:
        self._settings = settings
        self._db = db
        self._clock = clock
        self._deliver_now = deliver_now  # DeliveryEngine.deliver_now

    # ------------------------------------------------------------------------- reading

    async def current(self, chat_id: int) -> tuple[Subscriber | None, Enrollment | None]:
        """The chat and its newest run (whatever its status), as read: detached rows that handlers
        read and never write back. Handlers name their types (`Subscriber`, `Enrollment`) from this
        module, not from bot.storage."""
        async with self._db.session() as session:
            subscriber = await courses.get_subscriber(session=session, chat_id=chat_id)
            enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
        return subscriber, enrollment

    def schedule_of(self, subscriber: Subscriber | None) -> LessonSchedule | None:
        """The chat's lesson schedule, or None while its time or zone is not set."""
        if subscriber is None or subscriber.lesson_time is None or subscriber.timezone is None:
            return None
        return schedule_of(subscriber.lesson_time, subscriber.timezone, self._settings)

    # ------------------------------------------------------------------------- the lifecycle

    async def pause(self, chat_id: int) -> Outcome:
        """Hold a running course: its waiting lesson is cancelled and comes back on resume."""
        return await self._apply(chat_id, Command.PAUSE)

    async def resume(self, chat_id: int) -> Outcome:
        """Carry on after a pause or stop, at the next lesson time (no burst); a run held for a red
        flag is not resumed (Verdict.HELD): the person confirms they are fine with `release`."""
        return await self._apply(chat_id, Command.RESUME)

    async def stop(self, chat_id: int) -> Outcome:
        """Unsubscribe: nothing more arrives; progress is kept for /start or /resume."""
        return await self._apply(chat_id, Command.STOP)

    async def release(self, chat_id: int) -> Outcome:
        """ "I'm fine now" after a red flag: the held run carries on at the next lesson time."""
        return await self._apply(chat_id, Command.RELEASE)

    async def restart(self, chat_id: int, replacing: int | None = None, *, fine: bool = False) -> Outcome:
        """Start over from day 1, due now. `replacing` is the run the confirmation was about (so a
        second press of it starts over once: Verdict.ALREADY). A held run starts over only with
        `fine`: the person pressed "I'm fine now, start over"."""
        now = self._clock.now()
        async with self._db.session() as session:
            enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
            status = _status(enrollment)
            replacing = replacing or (None if enrollment is None else enrollment.id)
            if enrollment is None or replacing != enrollment.id:
                return Outcome(Verdict.ALREADY if enrollment else Verdict.NO_COURSE, status)
            if fine and status is CourseStatus.HELD:
                if not await self._move(session, enrollment, decide(status, Command.RELEASE)):
                    return Outcome(Verdict.ALREADY, status)
                status = CourseStatus.ACTIVE
            transition = decide(status, Command.RESTART)
            if transition.verdict is not Verdict.MOVED:
                return self._outcome(transition, enrollment)
            if not await courses.move_run(
                session=session,
                enrollment_id=enrollment.id,
                to=CourseStatus.REPLACED,
                from_=sources(Command.RESTART),
            ):
                return Outcome(Verdict.ALREADY, status)
            await deliveries.cancel_pending(session=session, enrollment_id=enrollment.id)
            fresh = await courses.begin_run(session=session, chat_id=chat_id, now=now)
        return Outcome(Verdict.MOVED, status, 1, fresh.id, 1, None, send_now=True)

    async def unreachable(self, chat_id: int) -> None:
        """The bot was removed from a group or channel: nothing more goes there and its run stops."""
        async with self._db.session() as session:
            await courses.mark_unreachable(session=session, chat_id=chat_id)
            enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
            if enrollment is not None:
                await self._move(session, enrollment, decide(enrollment.status, Command.UNREACHABLE))

    async def mark_unreachable(self, chat_id: int) -> None:
        """Telegram refused a message to the chat (the person blocked the bot): nothing more is sent
        to it until /start."""
        async with self._db.session() as session:
            await courses.mark_unreachable(session=session, chat_id=chat_id)

    async def mark_reachable(self, chat_id: int) -> None:
        """The person unblocked the bot: their chat may be written to again."""
        async with self._db.session() as session:
            await courses.mark_reachable(session=session, chat_id=chat_id)

    async def joined(self, chat_id: int, title: str, kind: str) -> None:
        """The bot can post in a group or channel now: the chat is known (and reachable) before any
        course runs there."""
        async with self._db.session() as session:
            await courses.get_or_create_subscriber(
                session=session, chat_id=chat_id, name=title, kind=kind, now=self._clock.now()
            )

    async def deliver(self, bot: Bot, outcome: Outcome) -> None:
        """Send the lesson an outcome promised for now (day 1, or a resume at lesson time)."""
        if outcome.send_now and outcome.enrollment_id is not None:
            await self._deliver_now(bot, outcome.enrollment_id)

    async def _apply(self, chat_id: int, command: Command) -> Outcome:
        now = self._clock.now()
        async with self._db.session() as session:
            subscriber = await courses.get_subscriber(session=session, chat_id=chat_id)
            enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
            return await self._apply_to(session, subscriber, enrollment, command, now)

    async def _apply_to(
        self,
        session: AsyncSession,
        subscriber: Subscriber | None,
        enrollment: Enrollment | None,
        command: Command,
        now: datetime,
    ) -> Outcome:
        transition = decide(_status(enrollment), command)
        if transition.verdict is not Verdict.MOVED or enrollment is None:
            return self._outcome(transition, enrollment)
        if not await self._move(session, enrollment, transition):
            # another press or process moved it first: answer as the second press would be answered
            return self._outcome(Transition(Verdict.ALREADY), enrollment)
        if transition.to is not CourseStatus.ACTIVE:
            return self._outcome(transition, enrollment)
        due = (
            now
            if enrollment.current_day == 0
            else next_due(self.schedule_of(subscriber), now=now, last_sent=enrollment.last_sent_at)
        )
        await deliveries.schedule_lessons(
            session=session,
            lessons=[(enrollment.id, enrollment.current_day + 1, due)],
            asked_at=now if due <= now else None,
        )
        return self._outcome(transition, enrollment, due=due, now=now, subscriber=subscriber)

    async def _move(self, session: AsyncSession, enrollment: Enrollment, transition: Transition) -> bool:
        """Store a move the table allows: the run leaves its status only if it is still there (the
        database decides), and a run that stops moving loses its waiting lesson."""
        if transition.verdict is not Verdict.MOVED or transition.to is None:
            return False
        moved = await courses.move_run(
            session=session, enrollment_id=enrollment.id, to=transition.to, from_=frozenset({enrollment.status})
        )
        if moved:
            await deliveries.cancel_pending(session=session, enrollment_id=enrollment.id)
        return moved

    def _outcome(
        self,
        transition: Transition,
        enrollment: Enrollment | None,
        *,
        due: datetime | None = None,
        now: datetime | None = None,
        subscriber: Subscriber | None = None,
    ) -> Outcome:
        if enrollment is None:
            return Outcome(transition.verdict)
        when = None
        if due is not None and now is not None:
            schedule = self.schedule_of(subscriber)
            when = None if schedule is None else describe_due(schedule, due, now)
        return Outcome(
            transition.verdict,
            _status(enrollment),
            max(1, enrollment.current_day),
            enrollment.id,
            None if due is None else enrollment.current_day + 1,
            when,
            send_now=due is not None and now is not None and due <= now,
        )

    # ------------------------------------------------------------------------- settings

    async def change_time(self, chat_id: int, lesson_time: str) -> SettingOutcome:
        """A new lesson time ('18:30'): the waiting lesson moves to the next slot."""
        return await self._set(chat_id, Setting.TIME, lesson_time)

    async def change_timezone(self, chat_id: int, timezone: str) -> SettingOutcome:
        """A new IANA time zone: the waiting lesson moves to the next slot there."""
        return await self._set(chat_id, Setting.TIMEZONE, timezone)

    async def change_profile(self, chat_id: int, profile: str) -> SettingOutcome:
        """Runner, lifter or both: what the lessons add for the person."""
        return await self._set(chat_id, Setting.PROFILE, profile)

    async def ask(self, chat_id: int, setting: Setting) -> Subscriber | None:
        """A settings button: the person's next text answers `setting`. The chat as read (detached),
        or None when it has not onboarded (nothing is stored then)."""
        async with self._db.session() as session:
            subscriber = await courses.get_subscriber(session=session, chat_id=chat_id)
            if subscriber is None or not subscriber.onboarded:
                return None
            subscriber.awaiting = setting
        return subscriber

    async def _set(self, chat_id: int, setting: Setting, value: str) -> SettingOutcome:
        """Store one answer, whatever step it came at (a button or location may come at any time);
        during onboarding say what is still missing, or begin the course once nothing is. A value
        the bot cannot use ('25:00', 'Mars/Base') is refused, whoever sent it."""
        value = _readable(setting, value)
        if value is None:
            return SettingOutcome(known=True, refused=True)
        now = self._clock.now()
        async with self._db.session() as session:
            subscriber = await courses.get_subscriber(session=session, chat_id=chat_id)
            if subscriber is None:
                return SettingOutcome(known=False)
            setattr(subscriber, {Setting.TIME: "lesson_time"}.get(setting, str(setting)), value)
            if not subscriber.onboarded:
                missing = _missing(subscriber)
                subscriber.awaiting = missing
                started = None
                if missing is None and await courses.finish_onboarding(session=session, chat_id=chat_id):
                    subscriber.onboarded = True
                    started = await self._begin(session, chat_id, now)
                ask_next = None if missing is None else Setting(missing)
                return SettingOutcome(True, ask_next=ask_next, started=started, subscriber=subscriber)
            subscriber.awaiting = None
            moved = await self._move_next_lesson(session, subscriber, now)
        return SettingOutcome(True, next_lesson=moved, subscriber=subscriber)

    async def _move_next_lesson(self, session: AsyncSession, subscriber: Subscriber, now: datetime) -> Outcome | None:
        """A new schedule: the waiting lesson of a running course moves to its next slot."""
        enrollment = await courses.current_enrollment(session=session, chat_id=subscriber.chat_id)
        if enrollment is None or enrollment.status != CourseStatus.ACTIVE:
            return None
        pending = await deliveries.pending_lesson(session=session, enrollment_id=enrollment.id)
        if pending is None:
            return None
        if enrollment.current_day > 0:
            pending.due_at = next_due(self.schedule_of(subscriber), now=now, last_sent=enrollment.last_sent_at)
        return self._outcome(Transition(Verdict.MOVED), enrollment, due=pending.due_at, now=now, subscriber=subscriber)

    async def _begin(self, session: AsyncSession, chat_id: int, now: datetime) -> Outcome:
        """A chat's first run (or its next after one finished): day 1 is promised now."""
        run = await courses.begin_run(session=session, chat_id=chat_id, now=now)
        return Outcome(Verdict.MOVED, None, 1, run.id, 1, None, send_now=True)

    async def start_group(self, chat_id: int, title: str, kind: str, schedule: GroupSchedule) -> Outcome:
        """`/groupcourse start`: a new run (day 1 now) when none runs here; a stopped one carries on;
        a running, paused or held one only gets the new schedule (its waiting lesson moves).
        MOVED with `enrollment_id` of a fresh run means "started"; anything else "updated"."""
        now = self._clock.now()
        async with self._db.session() as session:
            subscriber, _ = await courses.get_or_create_subscriber(
                session=session, chat_id=chat_id, name=title, kind=kind, now=now
            )
            subscriber.kind, subscriber.profile, subscriber.onboarded = kind, Profile.BOTH, True
            subscriber.lesson_time, subscriber.timezone = schedule.lesson_time, schedule.timezone
            enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
            status = _status(enrollment)
            if decide(status, Command.START).fresh_run:
                return await self._begin(session, chat_id, now)
            if status is CourseStatus.STOPPED:
                return await self._apply_to(session, subscriber, enrollment, Command.RESUME, now)
            moved = await self._move_next_lesson(session, subscriber, now)
        return moved or Outcome(Verdict.ALREADY, status, max(1, enrollment.current_day), enrollment.id)

    async def set_topic(self, chat_id: int, title: str, kind: str, thread_id: int | None) -> None:
        """`/groupcourse here` in a forum: the forum topic the group's lessons go to (None: General)."""
        async with self._db.session() as session:
            subscriber, _ = await courses.get_or_create_subscriber(
                session=session, chat_id=chat_id, name=title, kind=kind, now=self._clock.now()
            )
            subscriber.thread_id = thread_id

    async def begin_onboarding(self, chat_id: int, name: str) -> bool:
        """/start, or someone who came from a group link: the chat is known from now on (and
        reachable again); True when the person has not onboarded yet and is now asked the first
        onboarding question."""
        async with self._db.session() as session:
            subscriber, _ = await courses.get_or_create_subscriber(
                session=session, chat_id=chat_id, name=name, kind="private", now=self._clock.now()
            )
            if subscriber.onboarded:
                return False
            subscriber.awaiting = ONBOARDING_STEPS[0]
        return True

    async def set_units(self, chat_id: int, units: str) -> Preference:
        """kg or lb: the unit for logged lines that name none."""
        async with self._db.session() as session:
            preference = await preference_of(session, chat_id)
            preference.units = units
        return preference

    async def set_weekly(self, chat_id: int, on: bool) -> Preference:
        """The weekly check-in after the course, on or off; the first comes a week after it is turned on."""
        async with self._db.session() as session:
            preference = await preference_of(session, chat_id)
            if on and not preference.weekly:
                preference.last_weekly_at = self._clock.now()
            preference.weekly = on
        return preference


async def hold_runs(session: AsyncSession, enrollment_ids: list[int]) -> None:
    """Red-flag answers hold their runs (in the transaction that stored them): no lesson until the
    person says they are fine. The table says which runs a hold moves."""
    for enrollment_id in sorted(set(enrollment_ids)):
        if await courses.move_run(
            session=session, enrollment_id=enrollment_id, to=CourseStatus.HELD, from_=sources(Command.HOLD)
        ):
            await deliveries.cancel_pending(session=session, enrollment_id=enrollment_id)


@cache
def _zones() -> frozenset[str]:
    """Every IANA zone name (read from disk once: it takes milliseconds)."""
    return frozenset(available_timezones())


def _readable(setting: Setting, value: str) -> str | None:
    """The value as stored ('7:05' becomes '07:05'), or None when it is no time, zone or profile."""
    if setting is Setting.TIME:
        time = parse_lesson_time(value)
        return None if time is None else format_time(time)
    if setting is Setting.TIMEZONE:
        return value if value in _zones() else None
    return value if value in tuple(Profile) else None


def _status(enrollment: Enrollment | None) -> CourseStatus | None:
    return None if enrollment is None else CourseStatus(enrollment.status)


def _missing(subscriber: Subscriber) -> str | None:
    """The first onboarding step still unanswered, or None when all are."""
    answers = {
        Setting.PROFILE: subscriber.profile,
        Setting.TIME: subscriber.lesson_time,
        Setting.TIMEZONE: subscriber.timezone,
    }
    return next((step for step in ONBOARDING_STEPS if not answers[step]), None)
