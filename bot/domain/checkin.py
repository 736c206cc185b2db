"""The check-in conversation as pure functions: read an answer, walk the tree, adapt the course.

Typed answers are read by `bot.domain.reader` (what a coach hears, then what it calls for); this
module keeps the tree: which option leads where, and how the next lesson opens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from bot.content.models import PAIN_OPTION, Advice, CheckinTree, Node
from bot.domain.reader import GOOD_OUTCOMES, Decision, Outcome, Reader, decide

RED_FLAG_OPTION = "red-flag"  # stored as the option when a red flag was typed rather than tapped


class CheckinMatcher:
    """The tree by id and the reader, built once; `read` is called for every typed answer."""

    def __init__(self, tree: CheckinTree, reader: Reader | Callable[[], Reader]) -> None:
        """`reader`: the one for the tree's language (bot.domain.reader.Readers picks it), or how to
        build it on the first typed answer: a reader takes a fraction of a second of CPU to build,
        which a process that only sends lessons never needs to spend."""
        self.tree = tree
        self.nodes = tree.node_by_id
        self.advice = tree.advice_by_id
        self._reader = reader

    @property
    def reader(self) -> Reader:
        if not isinstance(self._reader, Reader):
            self._reader = self._reader()
        return self._reader

    def is_red_flag(self, text: str) -> bool:
        return self.reader.read(text).red_flag

    def read(self, node_id: str, text: str) -> Decision:
        return decide(self.reader.read(text), node_id)

    def after_pain_check(self, node_id: str, text: str) -> str | None:
        """Once the pain-check found no warning sign: the fault the first answer described, read
        again without its pain (None when it named none, or only the good pattern: pain never
        leads to praise or to more load)."""
        decision = decide(replace(self.reader.read(text), pain=False), node_id)
        node = self.nodes.get(node_id)
        options = {option.id for option in node.options} if node else set()
        if decision.outcome in options and decision.outcome not in GOOD_OUTCOMES | {PAIN_OPTION}:
            return decision.outcome
        return None

    def red_flag_advice(self) -> Advice:
        return self.advice[self.tree.red_flag.advice]


@dataclass(frozen=True)
class Step:
    """Where an answer leads: a follow-up question or a piece of advice."""

    node: Node | None = None
    advice: Advice | None = None


def step(matcher: CheckinMatcher, node_id: str, option_id: str) -> Step | None:
    """The next step after choosing an option, or None when the pair does not exist (forged data)."""
    node = matcher.nodes.get(node_id)
    option = next((o for o in node.options if o.id == option_id), None) if node else None
    if option is None:
        return None
    if option.next:
        return Step(node=matcher.nodes[option.next])
    return Step(advice=matcher.advice[option.advice])


@dataclass(frozen=True)
class TypedAnswer:
    """What a typed answer is stored as and leads to, with the opening line (an `Openings` field)
    that goes before the reply when the answer said more than the reply is about."""

    option: str
    step: Step
    opening: str | None = None


def answer_typed(
    matcher: CheckinMatcher, node_id: str, decision: Decision, first: tuple[str, str] | None = None
) -> TypedAnswer | None:
    """The stored option and the step for a decision, or None when the coach must ask. `first` is
    the (node, text) of the answer that led to the pain-check: once it is cleared, the fault it
    described gets its fix."""
    outcome = decision.outcome
    if outcome == Outcome.RED_FLAG:
        return TypedAnswer(RED_FLAG_OPTION, Step(advice=matcher.red_flag_advice()))
    if outcome == Outcome.SAFETY_QUESTION:
        outcome = PAIN_OPTION
    elif outcome == Outcome.NO_RED_FLAG and first is not None:
        fault = matcher.after_pain_check(*first)
        if fault is not None:
            return TypedAnswer(outcome, step(matcher, first[0], fault), opening="pain_cleared")
    chosen = step(matcher, node_id, outcome)
    if chosen is None:
        return None
    return TypedAnswer(outcome, chosen, opening="good_too" if decision.good_too else None)


def descendants(matcher: CheckinMatcher, node_id: str) -> set[str]:
    """Follow-up questions below a node: a changed answer makes their old answers meaningless."""
    found: set[str] = set()
    stack = [node_id]
    while stack:
        node = matcher.nodes.get(stack.pop())
        for option in node.options if node else ():
            if option.next and option.next not in found:
                found.add(option.next)
                stack.append(option.next)
    return found


# ---------------------------------------------------------------- adapting what comes next


@dataclass(frozen=True)
class PastAnswer:
    """A stored answer that ended in advice, as the rules below need it."""

    answer_id: int
    day: int
    advice: str
    effect: str
    answered_at: datetime
    fix_helped: str | None = None


@dataclass(frozen=True)
class Adaptation:
    """How the next lesson opens, decided from the check-in history."""

    kind: Literal["regress", "activate", "progress", "none"]
    advice: str | None = None  # the advice whose drills open the lesson
    ask_fix: PastAnswer | None = None  # corrective advice to ask "did it help?" about
    extra: dict = field(default_factory=dict)


CORRECTIVE = ("regress", "activate", "none")


def latest_per_day(history: list[PastAnswer]) -> list[PastAnswer]:
    """One answer per course day (the last given), oldest day first."""
    by_day: dict[int, PastAnswer] = {}
    for answer in sorted(history, key=lambda a: a.answered_at):
        by_day[answer.day] = answer
    return [by_day[day] for day in sorted(by_day)]


def adapt_next_lesson(history: list[PastAnswer], next_day: int) -> Adaptation:
    """A lower-back answer opens the next lesson with a regression; weak glutes with activation;
    two clean days in a row unlock a progression note. Only answers before `next_day` count."""
    days = [a for a in latest_per_day(history) if a.day < next_day]
    if not days:
        return Adaptation("none")
    last = days[-1]
    ask_fix = last if last.effect in CORRECTIVE and last.fix_helped is None else None
    if last.effect == "regress":
        return Adaptation("regress", advice=last.advice, ask_fix=ask_fix)
    if last.effect == "activate":
        return Adaptation("activate", advice=last.advice, ask_fix=ask_fix)
    if len(days) >= 2 and days[-1].effect == days[-2].effect == "clean" and days[-1].day == days[-2].day + 1:
        return Adaptation("progress")
    return Adaptation("none", ask_fix=ask_fix)
