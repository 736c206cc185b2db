"""The check-in conversation as pure functions: read an answer, walk the tree, adapt the course.

Free text is matched against each option's phrases: exact phrases first, then close spellings
(rapidfuzz), a longer phrase beating a shorter one it contains ("tight hamstrings" over
"hamstrings"), and a negated phrase ("no pain") not counting. Red-flag phrases are checked before
anything else and always win. When two options fit about equally, or none does, the answer is
ambiguous and the coach asks with buttons instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from rapidfuzz import fuzz

from bot.content.models import Advice, CheckinTree, Node
from bot.domain.text import normalise

FUZZY_CUTOFF = 86  # below this a spelling is a different word, not a typo
NEGATIONS = {"no", "not", "never", "without", "didnt", "dont", "wasnt", "isnt", "nothing", "zero"}
FILLERS = {"in", "any", "my", "the", "much", "feel", "felt", "it", "really", "at", "all", "a", "of", "on"}
AMBIGUITY_MARGIN = 12


@dataclass(frozen=True)
class _Phrase:
    words: tuple[str, ...]
    option: str  # option id, or "" for a red-flag phrase


@dataclass(frozen=True)
class _Hit:
    option: str
    start: int
    end: int  # word positions, end exclusive
    score: float
    negated: bool


@dataclass(frozen=True)
class Reading:
    """What a typed answer means for one question."""

    kind: Literal["option", "red_flag", "ambiguous", "unknown"]
    option: str | None = None
    candidates: tuple[str, ...] = ()


def _phrases(raw: list[str], option: str) -> list[_Phrase]:
    return [_Phrase(tuple(words.split()), option) for words in {normalise(p) for p in raw} if words]


def _negated(words: list[str], start: int) -> bool:
    """'no pain', 'not in my back': the nearest word before the phrase, skipping fillers, negates it."""
    for word in reversed(words[max(0, start - 5) : start]):
        if word not in FILLERS:
            return word in NEGATIONS
    return False


def _find(words: list[str], phrases: list[_Phrase]) -> list[_Hit]:
    """Every place a phrase stands in the text, exactly or as a close spelling, negated or not."""
    hits = []
    for phrase in phrases:
        size = len(phrase.words)
        wanted = " ".join(phrase.words)
        for start in range(0, len(words) - size + 1):
            window = " ".join(words[start : start + size])
            if window == wanted:
                score = 100.0
            elif len(wanted) >= 5 and (ratio := fuzz.ratio(window, wanted)) >= FUZZY_CUTOFF:
                score = ratio - 10  # a typo counts, but less than the exact word
            else:
                continue
            hits.append(_Hit(phrase.option, start, start + size, score + 3 * size, _negated(words, start)))
    return hits


def _meant(hits: list[_Hit]) -> list[_Hit]:
    """The hits that count: not inside a longer, as good hit ('back' in 'back of my legs'), not negated."""
    return [
        hit
        for hit in hits
        if not hit.negated
        and not any(
            other.start <= hit.start
            and hit.end <= other.end
            and (other.end - other.start) > (hit.end - hit.start)
            and other.score >= hit.score  # a near-miss spelling never hides an exact word
            for other in hits
        )
    ]


class CheckinMatcher:
    """Phrase tables built once from the tree; `read` is called for every typed answer."""

    def __init__(self, tree: CheckinTree) -> None:
        self.tree = tree
        self.nodes = {node.id: node for node in tree.nodes}
        self.advice = {item.id: item for item in tree.advice}
        self._red_flags = _phrases(tree.red_flag.phrases, "")
        self._options = {
            node.id: [p for option in node.options for p in _phrases(option.phrases + [option.label], option.id)]
            for node in tree.nodes
        }

    def is_red_flag(self, text: str) -> bool:
        return bool(_meant(_find(normalise(text).split(), self._red_flags)))

    def read(self, node_id: str, text: str) -> Reading:
        words = normalise(text).split()
        if not words:
            return Reading("unknown")
        if _meant(_find(words, self._red_flags)):
            return Reading("red_flag")
        best: dict[str, float] = {}
        for hit in _meant(_find(words, self._options[node_id])):
            best[hit.option] = max(best.get(hit.option, 0), hit.score)
        ranked = sorted(best, key=best.get, reverse=True)
        if not ranked:
            return Reading("unknown")
        if len(ranked) > 1 and best[ranked[0]] - best[ranked[1]] < AMBIGUITY_MARGIN:
            return Reading("ambiguous", candidates=tuple(ranked))
        return Reading("option", option=ranked[0])

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
