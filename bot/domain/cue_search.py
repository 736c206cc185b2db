"""Find the right cue in a second: a forgiving search over the cue library, built once at start-up.

A cue is found by its own words, its topics and synonyms, the drills it belongs to, and the check-in
answers whose advice uses it, so "I feel it in my back" finds the cues that fix a rounding back.
A query is normalised, each unknown word is spell-corrected against the library's vocabulary, and
every run of words is looked up as a phrase; a whole-query fuzzy pass (rapidfuzz) catches what is
left, such as joined words. Exact phrase hits outrank fuzzy ones, and equal scores go to the cue
that comes first in the library (the course brief's order). Everything that does not depend on the
query is computed in `build_cue_index`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Indel

from bot.content.models import Content, Option, Topic
from bot.domain.text import normalise, stemmer
from bot.language import BASE_LANGUAGE

MAX_QUERY_CHARS = 200  # a mid-set query is a few words; a pasted essay is cut, not scanned
MAX_QUERY_WORDS = 30
MIN_SCORE = 0.3  # below this a cue is noise, not an answer
# Words that carry no meaning for a cue; they still join phrases such as "feel it in my back".
_STOPWORD_TEXT = (
    "a an the i im me my mine you your it its is are was be am to of in on at for with and or but so do does did "
    "how what when where why which should can cant could would will this that these those there here get got "
    "just really very too some any feel feels felt feeling like cue cues please help tip tips"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_SUFFIXES = ("ing", "ed", "es", "s")

# How much a phrase hit of each kind counts; a cue's score adds up its best hit of each kind.
NAME, TOPIC, FAULT, DRILL, WORD = "name", "topic", "fault", "drill", "word"
KIND_WEIGHT = {NAME: 1.0, FAULT: 0.8, TOPIC: 0.5, DRILL: 0.4, WORD: 0.6}
FUZZY_WEIGHT = 0.9  # a fuzzy whole-query hit never reaches a full exact one
FUZZY_CUTOFF = 85
FUZZY_MAX_CHARS = 60  # longer queries are sentences: their phrases are found word by word
LONGEST_WORD = 20  # longer "words" are keyboard mashing, not worth spell-correcting
FOLLOW_UP_FACTOR = 0.9  # advice reached through a follow-up question is one step less direct
AGREEMENT = 0.1  # what each further piece of advice naming the same cue adds
DRILL_CUTOFF = 70
SYNONYM_WORD, WHY_WORD = 0.7, 0.5  # a word met in a synonym or the why line, against one in the cue


def _content_words(words: list[str] | tuple[str, ...], stopwords: frozenset[str] = STOPWORDS) -> list[str]:
    return [w for w in words if w not in stopwords and not w.isdigit()]


@dataclass(frozen=True)
class CueHit:
    cue_id: str
    score: float


class CueIndex:
    """The search index over one loaded `Content`; immutable once built, safe to share."""

    def __init__(
        self,
        *,
        order: dict[str, int],
        topics: dict[str, list[str]],
        starters: list[str],
        phrases: dict[str, list[tuple[str, str, float]]],
        fuzzy_choices: list[str],
        word_cues: dict[str, list[tuple[str, float]]],
        idf: dict[str, float],
        vocabulary: dict[str, int],
        drill_names: dict[str, str],
        language: str = BASE_LANGUAGE,
        stopwords: frozenset[str] = STOPWORDS,
    ) -> None:
        self._stem = stemmer(language)  # the query's words meet the library's in the same form
        self._stopwords = stopwords
        self._order = order
        self._topics = topics
        self._starters = starters
        self._phrases = phrases
        self._phrase_meaning = {text: len(set(_content_words(text.split(), stopwords))) for text in phrases}
        self._longest_phrase = max((len(p.split()) for p in phrases), default=1)
        self._fuzzy_choices = fuzzy_choices
        self._word_cues = word_cues
        self._idf = idf
        self._rarest = max(idf.values(), default=1.0)  # an unknown word counts as the rarest known one
        self._vocabulary = vocabulary
        self._vocabulary_words = list(vocabulary)
        self._drill_names = drill_names
        self._drill_choices = list(drill_names)

    def search(self, query: str, limit: int = 3) -> list[CueHit]:
        """The best `limit` cues for what a person typed, best first; [] when nothing fits."""
        typed = self._stem(normalise(query[:MAX_QUERY_CHARS]).split()[:MAX_QUERY_WORDS])
        words = [w for w in (self._correct(w) for w in typed) if not w.isdigit()]
        meaningful = set(_content_words(words, self._stopwords))  # a repeated word says nothing new
        best: dict[tuple[str, str], float] = {}
        if not meaningful:  # only filler words ("can't feel it"): nothing but the exact phrase will do
            for cue_id, kind, weight in self._phrases.get(" ".join(words), ()):
                _keep_best(best, (cue_id, kind), KIND_WEIGHT[kind] * weight)
        else:
            covered = self._phrase_hits(words, len(meaningful), best)
            self._fuzzy_hits(" ".join(words), best)
            self._word_hits(meaningful, [w for i, w in enumerate(words) if i not in covered], best)
        totals: defaultdict[str, float] = defaultdict(float)
        for (cue_id, _kind), value in best.items():
            totals[cue_id] += value
        ranked = sorted(
            (CueHit(cue_id, round(score, 4)) for cue_id, score in totals.items() if score >= MIN_SCORE),
            key=lambda hit: (-hit.score, self._order[hit.cue_id]),
        )
        return ranked[:limit]

    def topic(self, topic: str) -> list[str]:
        """The cue ids of one topic, in library order."""
        return list(self._topics.get(topic, []))

    def starters(self) -> list[str]:
        """One cue per topic, to offer before anything is typed."""
        return list(self._starters)

    def drill(self, name: str) -> str | None:
        """The drill id a typed name means, typos allowed; None when no drill is close."""
        text = " ".join(self._stem(normalise(name[:MAX_QUERY_CHARS]).split()))
        if text in self._drill_names:
            return self._drill_names[text]
        if not _content_words(text.split(), self._stopwords):
            return None
        match = process.extractOne(text, self._drill_choices, scorer=fuzz.WRatio, score_cutoff=DRILL_CUTOFF)
        return None if match is None else self._drill_names[match[0]]

    def _correct(self, word: str) -> str:
        """The library word meant by a typed word: itself, its stem, or the nearest by edits."""
        if (
            word in self._vocabulary
            or word in self._stopwords
            or len(word) < 3
            or len(word) > LONGEST_WORD
            or word.isdigit()
        ):
            return word
        for suffix in _SUFFIXES:
            stem = word.removesuffix(suffix)
            for candidate in (stem, stem + "e"):
                if candidate != word and candidate in self._vocabulary:
                    return candidate
        edits = 1 if len(word) <= 7 else 2
        close = process.extract(word, self._vocabulary_words, scorer=OSA.distance, score_cutoff=edits, limit=None)
        if not close:
            return word
        # Fewest edits first, then the commoner library word, then the closer spelling.
        return min(close, key=lambda m: (m[1], -self._vocabulary[m[0]], Indel.distance(word, m[0])))[0]

    def _phrase_hits(self, words: list[str], meaningful: int, best: dict[tuple[str, str], float]) -> set[int]:
        """Every run of query words that is a known phrase, worth the share of the query it covers.

        Returns the positions of the words some phrase explained.
        """
        covered: set[int] = set()
        for size in range(1, min(self._longest_phrase, len(words)) + 1):
            for start in range(len(words) - size + 1):
                run = " ".join(words[start : start + size])
                entries = self._phrases.get(run)
                if not entries or not self._phrase_meaning[run]:
                    continue
                covered.update(range(start, start + size))
                coverage = min(1.0, self._phrase_meaning[run] / meaningful)
                for cue_id, kind, weight in entries:
                    _keep_best(best, (cue_id, kind), KIND_WEIGHT[kind] * weight * coverage)
        return covered

    def _fuzzy_hits(self, text: str, best: dict[tuple[str, str], float]) -> None:
        """The whole query against every phrase, for what word-by-word lookup misses ("hipsback")."""
        if len(text) > FUZZY_MAX_CHARS:
            return
        for phrase, score, _ in process.extract(
            text, self._fuzzy_choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=10
        ):
            for cue_id, kind, weight in self._phrases[phrase]:
                _keep_best(best, (cue_id, kind), KIND_WEIGHT[kind] * weight * FUZZY_WEIGHT * score / 100)

    def _word_hits(self, meaningful: set[str], loose: list[str], best: dict[tuple[str, str], float]) -> None:
        """Loose evidence from the words no phrase explained, found anywhere in a cue; rarer words count more."""
        total = sum(self._idf.get(w, self._rarest) for w in meaningful)
        matched: defaultdict[str, float] = defaultdict(float)
        for word in set(_content_words(loose, self._stopwords)):
            for cue_id, weight in self._word_cues.get(word, ()):
                matched[cue_id] += self._idf[word] * weight
        for cue_id, weight in matched.items():
            _keep_best(best, (cue_id, WORD), KIND_WEIGHT[WORD] * weight / total)


def _keep_best(best: dict[tuple[str, str], float], key: tuple[str, str], value: float) -> None:
    if value > best.get(key, 0.0):
        best[key] = value


def build_cue_index(content: Content, language: str = BASE_LANGUAGE) -> CueIndex:
    """Precompute every phrase, word and drill name the search needs from the loaded content of one
    language. Another language than English is read in stems, and the words its lexicon skips are
    its filler words."""
    phrases: defaultdict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    stem = stemmer(language)
    lexicon = content.lexicons.get(language)
    stopwords = STOPWORDS
    if language != BASE_LANGUAGE and lexicon is not None:
        stopwords = STOPWORDS | frozenset(stem([w for phrase in lexicon.skip for w in normalise(phrase).split()]))

    def add(phrase: str, cue_id: str, kind: str, weight: float = 1.0) -> None:
        text = " ".join(stem(normalise(phrase, limit=None).split()))
        if text:
            key = (cue_id, kind)
            phrases[text][key] = max(weight, phrases[text].get(key, 0.0))

    for cue in content.cues.values():
        for phrase in (cue.text, cue.id.replace("-", " "), *cue.synonyms):
            add(phrase, cue.id, NAME)
        for i, topic in enumerate(cue.topics):  # a cue's first topic is its main one
            add(topic, cue.id, TOPIC, 1 - 0.1 * i)
    for drill in content.drills.values():
        for i, cue_id in enumerate(drill.cues):  # a drill's first cues are its main ones
            add(drill.name, cue_id, DRILL, 1 - 0.05 * i)
            add(drill.id.replace("-", " "), cue_id, DRILL, 1 - 0.05 * i)
    for phrase, cue_id, weight in _fault_phrases(content):
        add(phrase, cue_id, FAULT, weight)

    topics = {topic: [c.id for c in content.cues.values() if topic in c.topics] for topic in get_args(Topic)}
    word_cues, idf = _word_bags(content, stem, stopwords)
    vocabulary: Counter[str] = Counter()
    for text in phrases:
        vocabulary.update(text.split())
    vocabulary.update({word: len(cues) for word, cues in word_cues.items()})
    return CueIndex(
        order={cue_id: i for i, cue_id in enumerate(content.cues)},
        topics=topics,
        starters=_starters(content, topics),
        phrases={text: [(c, k, w) for (c, k), w in hits.items()] for text, hits in phrases.items()},
        fuzzy_choices=list(phrases),
        word_cues=word_cues,
        idf=idf,
        vocabulary=dict(vocabulary.most_common()),
        drill_names=_drill_names(content, stem),
        language=language,
        stopwords=stopwords,
    )


def _fault_phrases(content: Content) -> list[tuple[str, str, float]]:
    """(phrase, cue id, weight) from the check-in answers: what someone says, the cues its advice gives.

    The advice's first cue weighs most, and a cue several pieces of advice agree on a little more.
    Red-flag answers and pain (which leads to the safety question) are left out: pain is not a cue question.
    """
    tree = content.checkin
    nodes = {node.id: node for node in tree.nodes}
    advice = {item.id: item for item in tree.advice if item.effect != "red_flag"}

    def cues_after(option: Option, factor: float, seen: frozenset[str]) -> dict[str, float]:
        if option.advice is not None:
            item = advice.get(option.advice)
            return {} if item is None else {c: factor * (1 - 0.1 * i) for i, c in enumerate(item.cues)}
        if option.next in seen:
            return {}
        found: defaultdict[str, list[float]] = defaultdict(list)
        # A follow-up's typed-only options name other regions, not a cause of this fault: they add no cue
        for follow_up in (o for o in nodes[option.next].options if o.button):
            for cue_id, weight in cues_after(follow_up, factor * FOLLOW_UP_FACTOR, seen | {option.next}).items():
                found[cue_id].append(weight)
        return {cue_id: max(w) + AGREEMENT * (sum(w) - max(w)) for cue_id, w in found.items()}

    found = []
    for node in tree.nodes:
        if node.id == tree.pain_check:
            continue
        for option in node.options:
            if option.next == tree.pain_check:
                continue  # pain is asked about, never answered with a cue
            for cue_id, weight in cues_after(option, 1.0, frozenset({node.id})).items():
                found += [(phrase, cue_id, weight) for phrase in option.phrases]
    return found


def _word_bags(
    content: Content, stem: Callable[[list[str]], list[str]], stopwords: frozenset[str]
) -> tuple[dict[str, list[tuple[str, float]]], dict[str, float]]:
    """Each meaningful word of a cue -> (cue, weight) for the cues using it, and how rare the word is.

    A word of the cue itself counts most, then one of its synonyms, then one of its why line.
    """
    word_cues: defaultdict[str, dict[str, float]] = defaultdict(dict)
    for cue in content.cues.values():
        for text, weight in ((cue.why, WHY_WORD), (" ".join(cue.synonyms), SYNONYM_WORD), (cue.text, 1.0)):
            for word in _content_words(stem(normalise(text, limit=None).split()), stopwords):
                word_cues[word][cue.id] = max(weight, word_cues[word].get(cue.id, 0.0))
    total = len(content.cues)
    idf = {word: math.log(1 + total / len(cues)) for word, cues in word_cues.items()}
    return {word: list(cues.items()) for word, cues in word_cues.items()}, idf


def _starters(content: Content, topics: dict[str, list[str]]) -> list[str]:
    """For each topic the first cue that has it as its main topic (or at all), without repeats."""
    chosen: list[str] = []
    for topic, cue_ids in topics.items():
        main = [c for c in cue_ids if content.cues[c].topics[0] == topic and c not in chosen]
        spare = [c for c in cue_ids if c not in chosen]
        if main or spare:
            chosen.append((main or spare)[0])
    return chosen


def _drill_names(content: Content, stem: Callable[[list[str]], list[str]]) -> dict[str, str]:
    """Every normalised way to name a drill (its name, its id in words) -> its id."""
    names: dict[str, str] = {}
    for drill in content.drills.values():
        names.setdefault(" ".join(stem(normalise(drill.name).split())), drill.id)
        names.setdefault(normalise(drill.id.replace("-", " ")), drill.id)
    return names
