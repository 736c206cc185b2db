"""The training log as the handlers ask for it: /log and its buttons, /undo, /progress, /records,
the bar /plates remembers, the rest timer, the log as a CSV (out and in) and the weekly check-in's
note. Each method is one transaction and returns plain values; the handler picks the sentences.

A person's history is read into the domain's shapes here (sessions, advice, sets for records), so
the advice under a /log reply, a felt mark, /progress and the weekly note are read the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.delivery.timers import ScheduledKind
from bot.domain import plates as plate_maths
from bot.domain import tracker_csv, training
from bot.domain.course import CourseStatus
from bot.domain.strength import LiftSet, Record, new_records, records_of
from bot.domain.training import Advice, Catalogue, Exercise, FormCheck, LogError, LoggedSet, SetDone, set_groups
from bot.language import current_language
from bot.settings import Settings
from bot.storage import courses, models, training_log
from bot.storage.db import Database


async def preference_of(session: AsyncSession, chat_id: int) -> models.Preference:
    """The person's preferences; someone new starts in the unit of the language they speak."""
    units = training.unit_for_language(current_language.get())
    return await training_log.preference_of(session=session, chat_id=chat_id, units_if_new=units)


@dataclass(frozen=True)
class Row:
    """A stored row of a /log line: `sets` sets of `reps` at `weight_kg` (None: body weight),
    shown in `unit`."""

    id: int
    exercise: str
    weight_kg: float | None
    unit: str
    sets: int
    reps: int
    rpe: float | None


@dataclass(frozen=True)
class Logged:
    """A line stored, with what its reply says about it."""

    rows: list[Row]
    unit: str  # the person's unit
    sessions: list[training.Session]  # the exercise's sessions, this one last
    advice: Advice  # for next time
    records: list[Record]  # the records this line set
    bodyweight: bool  # every set of the exercise was body weight: volume counts reps
    bar_kg: float | None  # the person's bar (None: the default of their unit)
    linked: bool  # tied to a check-in answer already: no "how did it feel?"


@dataclass(frozen=True)
class Unlogged:
    """A line that could not be logged; `pending` is the id of the line kept for a suggestion's
    button (an unknown exercise with suggestions)."""

    error: LogError
    pending: int | None = None


@dataclass(frozen=True)
class Progress:
    exercise: str
    unit: str
    sessions: list[training.Session]
    advice: Advice


@dataclass(frozen=True)
class ExerciseRecords:
    exercise: str
    records: list[Record]
    bodyweight: bool  # body weight only: volume counts reps


@dataclass(frozen=True)
class Plates:
    """/plates as read with the person's unit; a bar named in it is saved."""

    units: training.Unit
    request: plate_maths.PlatesRequest | None  # None: nothing asked, or nothing readable
    bar_kg: float | None  # the person's bar after the request (None: the default of the unit)


@dataclass(frozen=True)
class CsvExport:
    data: bytes
    sets: int


@dataclass(frozen=True)
class LastEntry:
    """The person's last logged row, the local date it was logged on, and the advice for it."""

    row: Row
    on: date
    advice: Advice


class TrainingLog:
    def __init__(self, *, settings: Settings, db: Database, clock: Clock) -> None:
        self._settings = settings
        self._db = db
        self._clock = clock

    @property
    def day_length(self) -> timedelta:
        return timedelta(seconds=self._settings.course_day_seconds)

    # ------------------------------------------------------------------------- preferences

    async def units(self, chat_id: int) -> training.Unit:
        """kg or lb (the preferences are created with the defaults on first use)."""
        async with self._db.session() as session:
            return (await preference_of(session, chat_id)).units

    async def weekly(self, chat_id: int) -> bool:
        """Whether the weekly check-in is on."""
        async with self._db.session() as session:
            return (await preference_of(session, chat_id)).weekly

    # ------------------------------------------------------------------------- /log and its buttons

    async def log(self, chat_id: int, user_id: int, text: str, known: Catalogue) -> Logged | Unlogged:
        """/log: the line read with the person's unit and stored; a line naming an unknown
        exercise with suggestions is kept for their buttons, which carry only its id."""
        units = await self.units(chat_id)
        parsed = training.parse_log_line(text, known, units)
        if not isinstance(parsed, LogError):
            return await self.record(chat_id, user_id, parsed)
        if parsed.problem != "unknown_exercise" or not parsed.suggestions:
            return Unlogged(parsed)
        async with self._db.session() as session:
            pending = await training_log.save_pending_log(
                session=session, chat_id=chat_id, user_id=user_id, text=text, now=self._clock.now()
            )
        return Unlogged(parsed, pending)

    async def picked(
        self, chat_id: int, user_id: int, pending_id: int, exercise: Exercise | None
    ) -> training.LogEntry | None:
        """A suggestion's button: the waiting line, taken and read again with that exercise (so a
        button can only ever log what the person typed); None when it is gone, someone else's or
        the exercise is forged (which leaves the line waiting)."""
        async with self._db.session() as session:
            typed = None
            if exercise is not None:
                typed = await training_log.take_pending_log(session=session, pending_id=pending_id, user_id=user_id)
            units = (await preference_of(session, chat_id)).units
        line = None if typed is None else training.read_log_line(typed)
        if line is None or isinstance(line, LogError):
            return None
        return training.entry_from(line, exercise, units)

    async def record(self, chat_id: int, user_id: int, parsed: training.LogEntry) -> Logged:
        """Store a line (tied to the course day whose lesson is fresh), with the advice for next
        time and the records it set."""
        now = self._clock.now()
        async with self._db.session() as session:
            enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
            day = _course_day(enrollment, now, self.day_length)
            line = _line_rows(
                chat_id, user_id, parsed.exercise.key, parsed.weight_kg, parsed.unit, parsed.sets_done(), now, day
            )
            rows = await training_log.add_log_line(session=session, entries=line)
            preference = await preference_of(session, chat_id)
            zone = await _zone_of(session, chat_id)
            sessions, advice, history = await self._advice(
                session, user_id, parsed.exercise.key, preference.units, zone
            )
            linked = rows[0].checkin_answer_id is not None
        added = {row.id for row in rows}
        before = [entry for entry in history if entry.id not in added]
        return Logged(
            rows=[_row(row) for row in rows],
            unit=preference.units,
            sessions=sessions,
            advice=advice,
            records=new_records(_lift_sets(before, zone), _lift_sets(rows, zone)),
            bodyweight=all(e.weight_kg is None for e in history),
            bar_kg=preference.bar_kg,
            linked=linked,
        )

    async def felt(self, user_id: int, entry_id: int, mark: str) -> Advice | None:
        """How a logged line felt, marked on all its rows; the advice it leads to, or None when the
        line is gone or someone else's."""
        async with self._db.session() as session:
            entry = await session.get(models.LogEntry, entry_id)
            if entry is None or entry.user_id != user_id:
                return None
            for row in await training_log.line_of(session=session, entry=entry):
                row.felt = mark
            preference = await preference_of(session, entry.chat_id)
            zone = await _zone_of(session, entry.chat_id)
            _, advice, _ = await self._advice(session, entry.user_id, entry.exercise, preference.units, zone)
        return advice

    async def undo(self, user_id: int) -> list[Row]:
        """Remove the last logged line, all its rows; returns them (none: nothing to undo)."""
        async with self._db.session() as session:
            entry = await training_log.last_log_entry(session=session, user_id=user_id)
            rows = [] if entry is None else await training_log.line_of(session=session, entry=entry)
            for row in rows:
                await session.delete(row)
        return [_row(row) for row in rows]

    # ------------------------------------------------------------------------- reading the log

    async def progress(self, chat_id: int, user_id: int, exercise: str | None) -> Progress | None:
        """One exercise's sessions and advice (the last one logged when none is named); None when
        nothing is logged at all."""
        async with self._db.session() as session:
            exercise = exercise or await training_log.latest_exercise(session=session, user_id=user_id)
            if exercise is None:
                return None
            unit = (await preference_of(session, chat_id)).units
            zone = await _zone_of(session, chat_id)
            sessions, advice, _ = await self._advice(session, user_id, exercise, unit, zone)
        return Progress(exercise, unit, sessions, advice)

    async def records(
        self, chat_id: int, user_id: int, exercise: str | None
    ) -> tuple[training.Unit, list[ExerciseRecords]]:
        """The bests of one exercise, or of every exercise logged (by key), in the person's unit."""
        async with self._db.session() as session:
            rows = await training_log.whole_log(session=session, user_id=user_id)
            unit = (await preference_of(session, chat_id)).units
            zone = await _zone_of(session, chat_id)
        found = []
        for key, entries in groupby(sorted(rows, key=lambda e: e.exercise), key=lambda e: e.exercise):
            if exercise is not None and key != exercise:
                continue
            entries = list(entries)
            bodyweight = all(e.weight_kg is None for e in entries)
            found.append(ExerciseRecords(key, records_of(_lift_sets(entries, zone)).all(), bodyweight))
        return unit, found

    async def last_entry(self, chat_id: int) -> LastEntry | None:
        """The person's last logged row and the advice for it (the weekly check-in's reminder)."""
        async with self._db.session() as session:
            entry = await training_log.last_log_entry(session=session, user_id=chat_id)
            if entry is None:
                return None
            unit = (await preference_of(session, chat_id)).units
            zone = await _zone_of(session, chat_id)
            _, advice, _ = await self._advice(session, chat_id, entry.exercise, unit, zone)
        return LastEntry(_row(entry), _local_date(entry.logged_at, zone), advice)

    async def _advice(
        self, session: AsyncSession, user_id: int, exercise: str, unit: str, zone: str | None
    ) -> tuple[list[training.Session], Advice, list[models.LogEntry]]:
        """The sessions of one exercise, the advice for next time (from the log and the check-ins),
        and the rows they were read from."""
        await training_log.link_checkins(session=session, user_id=user_id, day_length=self.day_length)
        history = await training_log.log_history(session=session, user_id=user_id, exercise=exercise)
        entries = [
            LoggedSet(
                at=entry.logged_at,
                on=_local_date(entry.logged_at, zone),
                weight_kg=entry.weight_kg,
                sets=entry.sets,
                reps=entry.reps,
                effect=entry.felt or effect,
                rpe=entry.rpe,
            )
            for entry, effect in history
        ]
        checks = [
            FormCheck(answer.answered_at, answer.effect)
            for answer in await training_log.unlinked_checkins(session=session, user_id=user_id)
        ]
        stall_after = training.STALL_AFTER * self._settings.course_day_seconds / 86400
        advice = training.advise(entries, checks, unit=unit, now=self._clock.now(), stall_after=stall_after)
        return training.sessions_of(entries), advice, [entry for entry, _ in history]

    # ------------------------------------------------------------------------- /plates and /rest

    async def plates(self, chat_id: int, words: list[str]) -> Plates:
        """/plates read with the person's unit; `/plates bar 15` saves the bar."""
        async with self._db.session() as session:
            preference = await preference_of(session, chat_id)
            units: training.Unit = preference.units
            request = plate_maths.read_plates(words, units) if words else None
            if request is not None and request.bar is not None:
                preference.bar_kg = training.to_kg(request.bar, request.unit or units)
            return Plates(units, request, preference.bar_kg)

    async def start_rest(self, chat_id: int, seconds: int) -> None:
        """A "time's up" in `seconds`, replacing the chat's running rest timer."""
        due = self._clock.now() + timedelta(seconds=seconds)
        async with self._db.session() as session:
            await training_log.schedule_message(
                session=session, chat_id=chat_id, kind=ScheduledKind.REST, seconds=seconds, due_at=due
            )

    async def stop_rest(self, chat_id: int) -> bool:
        """Stop the chat's rest timer; False when none was waiting."""
        async with self._db.session() as session:
            return bool(await training_log.cancel_scheduled(session=session, chat_id=chat_id, kind=ScheduledKind.REST))

    # ------------------------------------------------------------------------- the CSV

    async def export_csv(self, chat_id: int, user_id: int, known: Catalogue) -> CsvExport | None:
        """The log in Hevy's export layout, one row per set; None when nothing is logged."""
        async with self._db.session() as session:
            rows = await training_log.whole_log(session=session, user_id=user_id)
            unit: training.Unit = (await preference_of(session, chat_id)).units
            zone = ZoneInfo(await _zone_of(session, chat_id) or "UTC")
        if not rows:
            return None
        sets = _export_sets(rows, zone, unit)
        return CsvExport(tracker_csv.write_export(sets, known, unit).encode(), len(sets))

    async def import_csv(
        self, chat_id: int, user_id: int, plan: tracker_csv.ImportPlan
    ) -> list[tracker_csv.ImportedSet]:
        """Store a file's sets in one transaction, skipping exercises the log already has on the
        same day (so sending a file twice imports it once); returns the sets stored."""
        async with self._db.session() as session:
            zone = ZoneInfo(await _zone_of(session, chat_id) or "UTC")
            history = await training_log.whole_log(session=session, user_id=user_id)
            logged = {(row.exercise, _local_date(row.logged_at, zone.key)) for row in history}
            fresh = [s for s in plan.sets if (s.exercise, s.started.date()) not in logged]
            lines = [
                _line_rows(
                    chat_id,
                    user_id,
                    exercise,
                    weight_kg,
                    unit,
                    [SetDone(s.reps, s.rpe) for s in group],
                    started.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")),
                )
                for (started, exercise, weight_kg, unit), group in groupby(fresh, key=_same_line)
            ]
            await training_log.add_log_lines(session=session, lines=lines)
        return fresh

    # ------------------------------------------------------------------------- the weekly check-in

    async def claim_weekly(self) -> list[int]:
        """The chats whose weekly check-in is due, each stamped so it goes out once."""
        async with self._db.session() as session:
            return await training_log.claim_weekly(session=session, now=self._clock.now(), every=7 * self.day_length)


def _line_rows(
    chat_id: int,
    user_id: int,
    exercise: str,
    weight_kg: float | None,
    unit: str,
    done: Sequence[SetDone],
    at: datetime,
    day: int | None = None,
) -> list[models.LogEntry]:
    """One logged line as the rows it is stored in: one per run of identical sets."""
    return [
        models.LogEntry(
            chat_id=chat_id,
            user_id=user_id,
            day=day,
            exercise=exercise,
            weight_kg=weight_kg,
            unit=unit,
            sets=count,
            reps=same.reps,
            rpe=same.rpe,
            logged_at=at,
        )
        for count, same in set_groups(done)
    ]


def _row(entry: models.LogEntry) -> Row:
    return Row(entry.id, entry.exercise, entry.weight_kg, entry.unit, entry.sets, entry.reps, entry.rpe)


async def _zone_of(session: AsyncSession, chat_id: int) -> str | None:
    subscriber = await courses.get_subscriber(session=session, chat_id=chat_id)
    return None if subscriber is None else subscriber.timezone


def _local_date(instant: datetime, zone: str | None) -> date:
    return instant.astimezone(ZoneInfo(zone or "UTC")).date()


def _lift_sets(entries: Sequence[models.LogEntry], zone: str | None) -> list[LiftSet]:
    return [LiftSet(_local_date(e.logged_at, zone), e.weight_kg, e.sets, e.reps, e.rpe) for e in entries]


def _course_day(enrollment: models.Enrollment | None, now: datetime, length: timedelta) -> int | None:
    """The course day a line belongs to, while that day's lesson is fresh: its check-in is about it."""
    over = (CourseStatus.FINISHED, CourseStatus.REPLACED)
    if enrollment is None or enrollment.status in over or enrollment.last_sent_at is None:
        return None
    fresh = now - enrollment.last_sent_at < length
    return enrollment.current_day if fresh and enrollment.current_day >= 1 else None


def _export_sets(rows: list[models.LogEntry], zone: ZoneInfo, unit: training.Unit) -> list[tracker_csv.ExportSet]:
    """Each logged row as its sets; a workout is the exercises of one local date."""
    by_day: dict[date, list[models.LogEntry]] = {}
    for row in rows:
        by_day.setdefault(row.logged_at.astimezone(zone).date(), []).append(row)
    sets = []
    for day_rows in by_day.values():
        started = day_rows[0].logged_at.astimezone(zone).replace(tzinfo=None)
        ended = day_rows[-1].logged_at.astimezone(zone).replace(tzinfo=None)
        index: dict[str, int] = {}
        for row in day_rows:
            weight = None if row.weight_kg is None else round(training.from_kg(row.weight_kg, unit), 2)
            for _ in range(row.sets):
                number = index.get(row.exercise, 0)
                index[row.exercise] = number + 1
                sets.append(tracker_csv.ExportSet(started, ended, row.exercise, number, weight, row.reps, row.rpe))
    return sets


def _same_line(imported: tracker_csv.ImportedSet) -> tuple:
    """Sets of one exercise at one weight in one workout: they make one logged line."""
    return imported.started, imported.exercise, imported.weight_kg, imported.unit
