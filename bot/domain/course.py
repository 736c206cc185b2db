"""The course lifecycle as one pure state machine: what each command does to a run in each status.

Every private and group command goes through `bot.services.course`, which reads the run, asks
`decide` here, and stores the move; the table below is the only place the statuses and their
moves are written down (the transition-table test walks every pair of it).

A run held for a red flag comes back only through RELEASE, the person's "I'm fine now": /resume
and /restart on a held run are answered with the safety note and that button, never acted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CourseStatus(StrEnum):
    """Where a run of the course is (`Enrollment.status`)."""

    ACTIVE = "active"  # lessons arrive at the lesson time
    PAUSED = "paused"  # /pause: nothing arrives until /resume
    HELD = "held"  # a red-flag answer: nothing arrives until the person says they are fine
    STOPPED = "stopped"  # /stop, or the bot removed from the group: /start or /resume carries on
    FINISHED = "finished"  # the graduation message went out
    REPLACED = "replaced"  # a newer run took its place (/restart): its buttons are history


class Profile(StrEnum):
    """Who the course speaks to: a lesson's runner notes, lifter notes, or both (groups get both)."""

    RUNNER = "runner"
    LIFTER = "lifter"
    BOTH = "both"


class Command(StrEnum):
    """What can happen to a run."""

    START = "start"  # a first run, or a new one after the last finished
    PAUSE = "pause"
    RESUME = "resume"
    HOLD = "hold"  # a red-flag answer
    RELEASE = "release"  # "I'm fine now" after a hold
    STOP = "stop"
    RESTART = "restart"  # the run gives way to a fresh one from day 1
    FINISH = "finish"  # the last lesson went out
    UNREACHABLE = "unreachable"  # the bot was removed from the group or channel


class Verdict(StrEnum):
    """How a command turned out; the handler picks its reply by it."""

    MOVED = "moved"  # the run moved (for START and RESTART: a fresh run began)
    ALREADY = "already"  # the run is where the command would take it
    HELD = "held"  # held for a red flag: the person confirms they are fine first
    STOPPED = "stopped"  # the run is stopped: nothing to pause
    NO_COURSE = "no_course"  # no run to act on (none, finished, or replaced)
    NOT_HELD = "not_held"  # "I'm fine now" with no hold to lift


@dataclass(frozen=True)
class Transition:
    verdict: Verdict
    to: CourseStatus | None = None  # the run's new status when it moved
    fresh_run: bool = False  # a new run from day 1 begins (the old one, if any, is replaced)


LIVE = frozenset({CourseStatus.ACTIVE, CourseStatus.PAUSED, CourseStatus.HELD, CourseStatus.STOPPED})
RESUMABLE = frozenset({CourseStatus.PAUSED, CourseStatus.STOPPED})  # what RESUME brings back by itself
_NONE = Transition(Verdict.NO_COURSE)


def _moved(to: CourseStatus, *, fresh_run: bool = False) -> Transition:
    return Transition(Verdict.MOVED, to, fresh_run)


def _row(status: CourseStatus | None) -> dict[Command, Transition]:
    """What every command does to a run in `status` (None: the chat has no run at all)."""
    live = status in LIVE
    held = status is CourseStatus.HELD
    fresh = _moved(CourseStatus.ACTIVE, fresh_run=True)
    stop = (  # /stop, and the bot removed from the group
        _moved(CourseStatus.STOPPED)
        if status in (CourseStatus.ACTIVE, CourseStatus.PAUSED, CourseStatus.HELD)
        else Transition(Verdict.ALREADY)
        if status is CourseStatus.STOPPED
        else _NONE
    )
    return {
        Command.START: fresh if not live else Transition(Verdict.ALREADY),
        Command.PAUSE: (
            _moved(CourseStatus.PAUSED)
            if status is CourseStatus.ACTIVE
            else Transition(Verdict.ALREADY)
            if status is CourseStatus.PAUSED
            else Transition(Verdict.HELD)
            if held
            else Transition(Verdict.STOPPED)
            if status is CourseStatus.STOPPED
            else _NONE
        ),
        Command.RESUME: (
            _moved(CourseStatus.ACTIVE)
            if status in RESUMABLE
            else Transition(Verdict.ALREADY)
            if status is CourseStatus.ACTIVE
            else Transition(Verdict.HELD)
            if held
            else _NONE
        ),
        Command.HOLD: (
            _moved(CourseStatus.HELD)
            if status in (CourseStatus.ACTIVE, CourseStatus.PAUSED, CourseStatus.STOPPED)
            else Transition(Verdict.ALREADY)
            if held
            else _NONE
        ),
        Command.RELEASE: _moved(CourseStatus.ACTIVE) if held else Transition(Verdict.NOT_HELD),
        Command.STOP: stop,
        Command.RESTART: (
            Transition(Verdict.HELD)
            if held
            else Transition(Verdict.ALREADY)  # the run gave way already: a second press of the same "yes"
            if status is CourseStatus.REPLACED
            else fresh
            if status is not None
            else _NONE
        ),
        Command.FINISH: _moved(CourseStatus.FINISHED) if status is CourseStatus.ACTIVE else _NONE,
        Command.UNREACHABLE: stop,
    }


TABLE: dict[tuple[CourseStatus | None, Command], Transition] = {
    (status, command): transition for status in (None, *CourseStatus) for command, transition in _row(status).items()
}


def decide(status: CourseStatus | str | None, command: Command) -> Transition:
    """What `command` does to a run in `status` (None: no run)."""
    return TABLE[(None if status is None else CourseStatus(status), command)]


def sources(command: Command) -> frozenset[CourseStatus]:
    """The statuses `command` moves a run out of: the condition of the database's conditional
    update, so two presses at the same moment move a run once."""
    return frozenset(
        status
        for (status, each), transition in TABLE.items()
        if each is command and status is not None and transition.verdict is Verdict.MOVED
    )
