"""Reading a check-in answer the way a coach hears it, then deciding what it calls for.

`Reader.read` turns a message into a `Hearing`: the body regions named, what was felt there,
injury events, how long it has lasted, how bad it is, and what a negation really covers ("no
numbness, tingling or pain, hams just tired" denies three things and keeps the hamstrings).
`decide` maps a hearing and the question it answers to an outcome (an option id of the check-in
tree, or one of the `Outcome` values). The words come from a lexicon in `content/lexicons/`, one
per language; the rules below only know the concept ids.

Safety is decided first and from the whole message: a red flag anywhere wins, pain that is
mentioned but unclear is asked about before any form advice, and neither ever reads as clean.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import get_args

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.content.models import Lexicon, RegionId
from bot.domain.injury_screen import InjuryScreen
from bot.domain.text import fold_latin, stem_word
from bot.domain.translit import romanized_to_cyrillic

MAX_CHARS = 4096  # a Telegram message's limit: a red flag at the end of a long ramble is still read
FUZZY_CUTOFF = 85  # a spelling this close to a lexicon word is a typo of it
FUZZY_MIN_LENGTH = 5  # shorter words are too easily another word ("pain" and "paint")
SCOPE_LIMIT = 12  # a negation never reaches further than this many words
NEAR = 3  # words between a feeling and the part it is about, or an injury verb and its object

_APOSTROPHES = re.compile(r"[’‘`´ʼ]")
# Words in any script (Latin, Cyrillic, ñ...), with inner apostrophes; and the punctuation that
# ends an item or a clause.
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|'[^\W_]+|[,.;!?]")
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")
_YEAR = re.compile(r"(?:19|20)\d\d")  # "back in 2018": the time of an old injury


class Kind(StrEnum):
    REGION = "region"
    SENSATION = "sensation"
    EVENT = "event"
    TIME = "time"
    SEVERITY = "severity"
    PATH = "path"
    OBJECT = "object"
    MORE = "more"
    LESS = "less"
    QUALITY = "quality"
    MOVEMENT = "movement"
    ANSWER = "answer"
    IGNORE = "ignore"
    DENIAL = "denial"
    PRONOUN = "pronoun"
    SARCASM = "sarcasm"
    IRONY = "irony"
    TRAVEL = "travel"


class Outcome(StrEnum):
    """Outcomes that are not an ordinary option of the question."""

    RED_FLAG = "red-flag"
    SAFETY_QUESTION = "safety-question"
    ASK = "ask"
    NO_RED_FLAG = "no-red-flag"


class Question(StrEnum):
    """The check-in questions the reader knows how to weigh (node ids of content/checkin.yaml)."""

    FELT_WHERE = "felt-where"
    SINGLE_LEG = "felt-where-single-leg"
    LOWER_BACK_WHY = "lower-back-why"
    PAIN_CHECK = "pain-check"


# What a sensation means for safety. These are a red flag wherever they stand and whatever else is
# said: no region, fault or praise in the message outranks them.
NERVE = frozenset({"numb", "tingling", "electric", "shooting"})
ALARM = frozenset({"swelling", "dizzy", "chest-pain", "stabbing"})
PAINFUL = frozenset({"pain", "sharp", "stabbing"})
DISCOMFORT = frozenset({"pain", "sharp", "stabbing", "sore", "tight", "pressure"})
TRAVELLING = frozenset({"pain", "sharp", "stabbing", "burn", "sore", "electric", "tingling", "numb", "buzz"})
REACTION = "reaction"  # a severity said by a cry, which counts only when the person made it
SHOTS = frozenset({"sharp", "shooting"})  # what also says a part moved fast: "hips shot up", "таз стрелял вверх"
NOISES = frozenset({"event:cracked"})  # an injury only when nothing says it did not hurt
RADIATING = frozenset({"pain", "sharp", "stabbing", "electric", "tingling", "numb"})  # what travels along a nerve
UNCLEAR_PAIN = frozenset({"pain", "pressure"})  # said, but nothing tells how bad: the safety question
NAMED_PAIN = UNCLEAR_PAIN | {"stabbing"}  # pain said outright: "shooting" or "shot" beside it is pain, not a movement
EFFORT = frozenset({"stretch", "burn", "buzz", "heavy"})  # what working muscles feel
WORKED = frozenset({"stretch", "burn"})  # what only working muscles feel: never a sign to deny in a list
# Parts below the muscles a hinge trains, and the arms and hands: a buzz there, a part gone to sleep
# or gone heavy and weak is a nerve sign; "hams buzzing", "glutes asleep", "legs heavy" are effort
# and a lazy muscle. Each sign names the parts it is a nerve sign on.
NERVE_PARTS = frozenset({"legs", "calves", "knees", "feet"})
LIMB_SIGNS = {
    "buzz": ("tingling", NERVE_PARTS | {"arms", "grip"}),
    "asleep": ("numb", NERVE_PARTS | {"arms", "grip"}),
    "quiet": ("numb", NERVE_PARTS - {"legs"} | {"arms"}),  # "legs were dead" is tired legs
    "heavy": ("weakness", frozenset({"arms"})),
    "weak": ("weakness", frozenset({"arms"})),  # "weak ankles" on the single-leg day is balance
    "dragging": ("weakness", frozenset({"feet"})),  # a foot that drags: foot drop
    "visible": ("swelling", frozenset(get_args(RegionId))),  # "calf is purple", "a bump behind the knee"
}
# Signs that on one side only are a nerve sign on these parts too: "my left leg went weak" (both
# legs weak or heavy after a session is tiredness).
ONE_SIDED = {"weak": frozenset({"legs"}), "heavy": frozenset({"legs"}), "dragging": frozenset({"legs"})}
# Parts where any discomfort is an alarm of its own: chest pain, a headache under load.
ALARM_PARTS = {"chest": "chest-pain", "head": "head-pain"}
# A muscle that did not work; "asleep" apart, as a leg or foot asleep is numb.
QUIET = frozenset({"quiet", "asleep"})
# What may stand between a body part and what happened to it: "my hammy kind of let go".
HEDGES = frozenset({Kind.MORE, Kind.LESS, Kind.ANSWER, Kind.TRAVEL})
# Injury events that need no body part named with them ("felt something give", "spasm").
STANDALONE_EVENTS = frozenset({"put-out", "spasm", "injured", "gave"})
# Events that need the body part just before them: "my back just went", "my hamstring grabbed on me"
# (not "grabbed my hamstrings to stretch them", "the bell caught my shin").
SUBJECT_EVENTS = frozenset({"went", "grabbed"})
# Parts that tire or tear a callus rather than get injured by these events.
FATIGUE_ONLY = frozenset({"grip"})
# What can give way under someone ("my knee gave way"), unlike an arch or a grip.
GIVES_WAY = frozenset({"legs", "knees", "lower-back", "hips", "hams", "quads", "glutes"})
GOOD_REGIONS = frozenset({"hams", "glutes"})
GOOD_OUTCOMES = frozenset({"hams-glutes", "standing-glute"})  # the pattern is right: praise, more load
# Times that say a problem is back or going on: with one of these said (outside the words of the
# old injury themselves: "давно зажило", "fine ever since"), no old injury is set aside.
RETURNING = frozenset({"recurring", "worse", "still", "unresolved", "lasting", "whenever"})
# What stays read in a stretch set aside as someone else's or long over: pronouns, answers, cues and
# denials (and a working muscle named: "tore my hamstring years ago, today just a nice stretch there").
KEPT_ASIDE = frozenset({Kind.PRONOUN, Kind.ANSWER, Kind.IGNORE, Kind.DENIAL})
# Words that, said with a part other than the working muscles and raising no sign, leave the
# doubt of an injury: the events and the times of a pain that stays.
DOUBTFUL = {
    Kind.EVENT: frozenset(
        {
            "pulled",
            "tweaked",
            "strained",
            "popped",
            "snapped",
            "tore",
            "twanged",
            "gave-way",
            "locked",
            "spasm",
            "put-out",
            "injured",
            "gave",
        }
    ),
    Kind.TIME: frozenset({"lasting", "unresolved", "worse", "recurring"}),
}
# Regions the tree answers with an outcome of their own, named as in content/checkin.yaml.
REGION_OUTCOMES = {
    "lower-back": "lower-back",
    "quads": "quads-knees",
    "knees": "quads-knees",
    "upper-back": "upper-back",
    "neck": "neck",
    "inner-thigh": "inner-thigh",
    "hip-flexor": "hip-flexor",
    "calves": "calves",
    "feet": "feet",
    "grip": "grip",
    "pelvic-floor": "pelvic-floor",
}
# The faults each question has a button for, most telling first; a tie between two of them is asked.
FELT_WHERE_FAULTS = ("pelvic-floor", "quads-knees", "tight-hams", "nothing-much")
SINGLE_LEG_FAULTS = ("hip-popped", "turned-away", "foot-lost")


@dataclass(frozen=True)
class Mention:
    """One concept found in the message, at word positions [start, end) of the read words."""

    kind: Kind
    id: str
    start: int
    end: int
    clause: int  # 'but', '.', ... start a new clause
    item: int  # a comma starts a new item of a list too
    negated: bool = False


@dataclass
class Felt:
    """What was said about one body region."""

    region: str
    weight: float = 1.0
    negated: bool = False
    sensations: set[str] = field(default_factory=set)
    denied: set[str] = field(default_factory=set)  # sensations said not to be there
    qualities: set[str] = field(default_factory=set)

    @property
    def fine(self) -> bool:
        """'lower back was fine', 'back didn't hurt': named, but as not a problem."""
        said = self.sensations - EFFORT
        # "back was off" is good news; "forearms were dead" is a tired grip
        quiet = QUIET if self.region not in FATIGUE_ONLY else frozenset()
        calm = bool(self.qualities & ({"fine", "steady", "little"} | quiet))
        return calm and not said or (bool(self.denied) and not self.sensations)


@dataclass(frozen=True)
class Hearing:
    """What a coach hears in a message."""

    words: tuple[str, ...]
    mentions: tuple[Mention, ...]
    felt: dict[str, Felt]
    red_flags: tuple[str, ...]  # why it is a red flag ("numb", "event:pulled", "lasting", "severe"...)
    pain: bool  # pain or hurt mentioned, not denied and not a red flag by itself
    qualities: frozenset[str]  # every quality said, about a region or not
    loose: frozenset[str]  # qualities said about no region in particular ("too tight to go low")
    movements: frozenset[str]
    answers: frozenset[str]
    bare_no: bool  # a lone "no" that denies nothing after it: an answer
    # The injury screen's word, or the rules' own doubt (an injury word or a time of pain said of a
    # part other than the working muscles, that did not make a red flag), that this may be an
    # injury report the rules did not read as one (asked only when they found no red flag and no
    # pain): the pain-check question, not advice.
    screened: bool = False

    @property
    def red_flag(self) -> bool:
        return bool(self.red_flags)

    def live(self, kind: Kind) -> list[Mention]:
        return [m for m in self.mentions if m.kind == kind and not m.negated]


@dataclass(frozen=True)
class Decision:
    """Where a typed answer leads: an option id or an `Outcome`, the options in doubt when asking,
    and whether the hamstrings and glutes were named as working alongside a fault."""

    outcome: str
    candidates: tuple[str, ...] = ()
    good_too: bool = False


class Reader:
    """A lexicon compiled once: phrase tables by first word and the vocabulary typos are fixed to."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._stem_word = stem_word(lexicon.stemmer) if lexicon.stemmer else None
        self._directions = frozenset(tuple(d.split()) for d in lexicon.directions)  # "in front of"
        self._one_side = frozenset(lexicon.one_side) | {self._stem(w) for w in lexicon.one_side}
        self._contractions = {k: v for k, v in lexicon.contractions.items() if not k.startswith("'")}
        self._endings = sorted(
            ((k, v) for k, v in lexicon.contractions.items() if k.startswith("'")), key=lambda kv: -len(kv[0])
        )
        self._skip = frozenset(lexicon.skip)
        self._phrases: dict[str, list[tuple[tuple[str, ...], tuple[tuple[Kind, str], ...]]]] = defaultdict(list)
        table: dict[tuple[str, ...], list[tuple[Kind, str]]] = defaultdict(list)
        for kind, groups in (
            (Kind.REGION, lexicon.regions),
            (Kind.SENSATION, lexicon.sensations),
            (Kind.EVENT, lexicon.events),
            (Kind.TIME, lexicon.times),
            (Kind.QUALITY, lexicon.qualities),
            (Kind.MOVEMENT, lexicon.movements),
            (Kind.ANSWER, lexicon.answers),
        ):
            for concept, phrases in groups.items():
                for phrase in phrases:
                    table[self._phrase_words(phrase)].append((kind, concept))
        hardship = lexicon.hardship
        struggles = [f"{word} {task}" for task in hardship.tasks for word in hardship.before]
        struggles += [f"{task} {word}" for task in hardship.tasks for word in hardship.after]
        for kind, phrases in (
            (Kind.SEVERITY, [*lexicon.severity, *struggles, *_harsh_phrases(lexicon)]),
            (Kind.SARCASM, lexicon.sarcasm.markers),
            (Kind.IRONY, lexicon.sarcasm.inverting),
            (Kind.PATH, lexicon.paths),
            (Kind.OBJECT, lexicon.objects),
            (Kind.MORE, lexicon.intensity.more),
            (Kind.LESS, lexicon.intensity.less),
            (Kind.IGNORE, lexicon.ignore),
            (Kind.DENIAL, lexicon.negation.phrases),
            (Kind.PRONOUN, lexicon.pronouns),
            (Kind.TRAVEL, [*lexicon.travel.verbs, *lexicon.travel.origins]),
        ):
            for phrase in phrases:
                table[self._phrase_words(phrase)].append((kind, kind.value))
        for phrase in lexicon.reactions.words:  # a cry: severe pain only when the person made it
            table[self._phrase_words(phrase)].append((Kind.SEVERITY, REACTION))
        # "behind knee" as well as "behind knees"; a stemmer already reads every number of a word, and
        # adding or dropping an "s" on a stem makes other words ("pers" is not "pero")
        for words, concepts in list(table.items()) if self._stem_word is None else ():
            variant = _other_number(words)
            if variant and variant not in table:
                table[variant] = concepts
        for words, concepts in table.items():
            if words:
                self._phrases[words[0]].append((words, tuple(dict.fromkeys(concepts))))
        for entries in self._phrases.values():
            entries.sort(key=lambda entry: -len(entry[0]))
        self._state_words = frozenset(  # single words that say how a part felt: "pain", "sore"
            words[0]
            for words, concepts in table.items()
            if len(words) == 1
            and any(kind in (Kind.SENSATION, Kind.QUALITY, Kind.EVENT, Kind.MOVEMENT) for kind, _ in concepts)
        )
        self._feeling_words = frozenset(  # of those, what a part felt or suffered: "pain", "tweaked"
            words[0]
            for words, concepts in table.items()
            if len(words) == 1 and any(kind in (Kind.SENSATION, Kind.EVENT) for kind, _ in concepts)
        )
        negation = lexicon.negation
        self._negators = frozenset(negation.words)
        self._little = frozenset(negation.little)
        self._unable = frozenset(negation.inability) | {self._stem(w) for w in negation.inability}
        self._until = frozenset(negation.until)
        self._sides = frozenset(lexicon.sides)
        self._ends = frozenset(negation.ends)
        self._joins = frozenset(negation.joins)
        self._places = frozenset(negation.places)
        self._fillers = frozenset(w for phrase in negation.fillers for w in phrase.split())
        self._breaks = frozenset(lexicon.breaks)
        self._feet = frozenset(w for phrase in lexicon.regions.get("feet", ()) for w in self._phrase_words(phrase))
        self._persons = frozenset(lexicon.reactions.persons)
        self._aimed = frozenset(lexicon.reactions.not_before)
        self._travel_hedges = frozenset(self._stem(w) for w in lexicon.travel.hedges)
        self._movers = frozenset(lexicon.travel.movers)
        self._origins = frozenset(" ".join(self._phrase_words(p)) for p in lexicon.travel.origins)
        self._routes = frozenset(self._stem(w) for w in lexicon.travel.routes)
        self._numbers = lexicon.scores.numbers
        self._score = _score_pattern(lexicon.scores.numbers, lexicon.scores.of)
        scope = lexicon.scope
        # persons are read in every word, the skipped ones too ("his back", "mi marido"); the times
        # of an old injury in the kept words, numbers left out ("3 years ago", "hace dos años")
        self._people = {
            tuple(self._stem(w) for w in self._expand(phrase)): role
            for role, phrases in (("other", scope.others), ("self", scope.selves), ("said", scope.hearsay))
            for phrase in phrases
        }
        self._eras = {
            tuple(self._stem(w) for w in self._expand(phrase) if w not in self._skip and not self._number(w)): role
            for role, phrases in (
                ("past", scope.past),
                ("healed", scope.healed),
                ("returned", scope.returned),
                ("present", scope.present),
            )
            for phrase in phrases
        }
        screen = lexicon.screen
        self._screen = InjuryScreen(screen.weights, screen.bias, screen.threshold) if screen else None
        vocabulary = {w for words in self._phrases.values() for entry in words for w in entry[0]}
        vocabulary |= self._negators | self._fillers | self._places | set(lexicon.not_typos)
        self._vocabulary = frozenset(vocabulary)
        # the Latin words the lexicon reads as they are ("hamstrings", "no") and those it respells ("poyasnica")
        self._latin = (
            (frozenset(w for w in vocabulary if w.isascii()), frozenset(w for w in lexicon.spellings if w.isascii()))
            if lexicon.romanized
            else None
        )
        self._typo_targets: dict[str, list[str]] = defaultdict(list)
        for word in sorted(vocabulary):
            if len(word) >= FUZZY_MIN_LENGTH and word.isalpha():
                self._typo_targets[word[0]].append(word)

    # ------------------------------------------------------------------------- words

    def _phrase_words(self, phrase: str) -> tuple[str, ...]:
        return tuple(self._stem(w) for w in self._expand(phrase) if w not in self._skip)

    def _stem(self, word: str) -> str:
        """The word as phrases are keyed: its stem when the lexicon names a stemmer, else itself."""
        if self._stem_word is None or not word.isalpha():
            return word
        return self._stem_word(word)

    def _expand(self, text: str) -> list[str]:
        """Lower case, accents on Latin letters and symbols read, contractions and known misspellings
        rewritten; any script's letters are kept."""
        plain = _APOSTROPHES.sub("'", fold_latin(text[:MAX_CHARS]))
        for symbol, words in self.lexicon.symbols.items():
            # an emoji or a sign stands as words of its own ("🔥🔥" is two words); a letter ("ё") is
            # spelt another way inside its word
            plain = plain.replace(symbol, words if symbol.isalpha() else f" {words} ")
        words: list[str] = []
        for token in _TOKEN.findall(plain):
            words += self._rewrite(token).split()
        return words

    def _rewrite(self, token: str) -> str:
        if token in self._contractions:
            return self._contractions[token]
        if "'" in token:
            for ending, meaning in self._endings:
                if token.endswith(ending) and len(token) > len(ending):
                    return f"{self._rewrite(token[: -len(ending)])} {meaning}"
            token = token.replace("'", "")
        return self.lexicon.spellings.get(token, token)

    def _fix_typo(self, word: str) -> str:
        """A word the lexicon does not know, close to one it does, is that word misspelt."""
        if word in self._vocabulary or not word.isalpha() or self._stem(word) in self._vocabulary:
            return word
        squeezed = _REPEATS.sub(r"\1", word)  # "hurtsss", "sooo"
        if squeezed in self._vocabulary:
            return squeezed
        if len(word) < FUZZY_MIN_LENGTH:
            return word
        found = process.extractOne(
            word, self._typo_targets.get(word[0], ()), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF
        )
        if found is not None and Levenshtein.distance(word, found[0]) <= (1 if len(word) < 8 else 2):
            return found[0]  # "taking" is not "tweaking"
        # a stemmed lexicon knows stems: "пояснца" is one letter from the stem "поясниц"
        stem = self._stem(word)
        if self._stem_word is None or stem == word or len(stem) < FUZZY_MIN_LENGTH:
            return word
        found = process.extractOne(
            stem, self._typo_targets.get(stem[0], ()), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF
        )
        if found is None or Levenshtein.distance(stem, found[0]) > 1 or self._stem(found[0]) != found[0]:
            return word
        return found[0]

    # ------------------------------------------------------------------------- reading

    def read(self, text: str) -> Hearing:
        """What a coach hears in `text`; pure, and the same for the same text."""
        if self._latin is not None:
            text = romanized_to_cyrillic(text[:MAX_CHARS], *self._latin)
        lowered = text[:MAX_CHARS].casefold()
        scores = [self._numbers.get(s) or int(s) for s in self._score.findall(lowered)]
        raw = [self._fix_typo(w) for w in self._expand(text)]
        if raw and raw[-1] not in self._breaks:
            raw.append(".")  # the message ends a sentence: "my back went" as "my back went."
        words = [w for w in raw if w not in self._skip]
        before = self._owners(raw)
        clauses, items, clause, item = [], [], 0, 0
        for word in words:
            if word in self._breaks:
                clause += 1
            if word in self._breaks or word == ",":
                item += 1
            clauses.append(clause)
            items.append(item)
        mentions, negators = self._match(words, clauses, items, before)
        answered = negators[:1] == [0] and words[0] not in self._little and len(words) > 1
        first = next((m for m in mentions if m.kind != Kind.PRONOUN), None)  # "no its fine today"
        said_fine = first is not None and first.kind == Kind.QUALITY and first.id == "fine" and first.start <= 3
        if answered and (words[1] == "," or words[1] in self._breaks or said_fine):
            # "no, just aching a bit", "нет, тупая боль": a no that answers the question and denies
            # nothing after it; "no, but it's numb now" is still numb
            negators = negators[1:]
            mentions.append(Mention(Kind.ANSWER, "no", 0, 1, clauses[0], items[0]))
        mentions, bare_no = self._negate(words, clauses, items, mentions, negators)
        # "dead wobbly", "dead easy": a quiet word before another state word only says how much
        states = {m.start for m in mentions if m.kind in (Kind.SENSATION, Kind.QUALITY, Kind.MOVEMENT)}
        # and "destroyed 💀", "cooked dead" after a working muscle's feeling says how much too
        worked = {m.end for m in mentions if m.kind == Kind.SENSATION and m.id == "burn"}
        mentions = [
            m
            for m in mentions
            if not (m.kind == Kind.QUALITY and m.id in QUIET and (m.end in states or m.start in worked))
        ]
        # "only got to my knees": the knees mark the depth, they are not where it was felt
        depth_ends = {m.end for m in mentions if m.kind == Kind.QUALITY and m.id == "tight-range"}
        depth_ends |= {
            end + 1 for end in depth_ends if end < len(words) and words[end] in self._places
        }  # "stuck at my knees"
        mentions = [m for m in mentions if not (m.kind == Kind.REGION and m.start in depth_ends)]
        mentions, set_aside = self._set_aside(raw, words, clauses, items, mentions)
        felt, loose = self._attach(mentions)
        red_flags, doubts = self._red_flags(words, mentions, felt, scores)
        pain = not red_flags and self._pain(mentions)
        # an injury the rules read as someone else's or long over is not for the screen to raise again
        # a message that says it did not hurt is not for the screen to overrule: "nada de dolor"
        denied = any(m.kind == Kind.SENSATION and m.id in PAINFUL and m.negated for m in mentions)
        asked = doubts or not denied and self._screened(text)
        screened = not red_flags and not pain and not set_aside and asked
        live_qualities = {m.id for m in mentions if m.kind == Kind.QUALITY and not m.negated}
        return Hearing(
            words=tuple(words),
            mentions=tuple(mentions),
            felt=felt,
            red_flags=tuple(red_flags),
            pain=pain,
            qualities=frozenset(live_qualities),
            loose=frozenset(loose),
            movements=frozenset(m.id for m in mentions if m.kind == Kind.MOVEMENT and not m.negated),
            answers=frozenset(m.id for m in mentions if m.kind == Kind.ANSWER and not m.negated),
            bare_no=bare_no,
            screened=screened,
        )

    def _number(self, word: str) -> bool:
        """A number in digits or words: left out of the times of an old injury ("3 years ago")."""
        return word.isdigit() or word in self._numbers

    def _set_aside(
        self, raw: list[str], words: list[str], clauses: list[int], items: list[int], mentions: list[Mention]
    ) -> tuple[list[Mention], bool]:
        """Someone else's injury ("my partner tweaked his back") and an old one said to be over ("tore
        my hamstring 3 years ago, fully healed") are not today's: what is said of them is set aside
        (read as negated), unless the message says a problem is back ("flared up again"). Returns the
        mentions and whether a sign was set aside."""
        if not self._people and not self._eras:
            return mentions, False
        kept_at, count = [], 0  # for each raw word, the kept word at or after it
        for word in raw:
            kept_at.append(count)
            count += word not in self._skip
        people = [
            (kept_at[start], role) for start, _end, role in _phrases_in([self._stem(w) for w in raw], self._people)
        ]
        counted = [i for i, word in enumerate(words) if not self._number(word)]
        keys = [self._stem(words[i]) for i in counted]
        eras = [(counted[start], counted[end - 1] + 1, role) for start, end, role in _phrases_in(keys, self._eras)]
        # "it's back" is a problem returned, "my back" a body part: a guarded word after its owner
        before = self._owners(raw)
        eras = [
            (start, end, role)
            for start, end, role in eras
            if not (
                role == "returned"
                and end - start == 1
                and (guard := self.lexicon.guards.get(words[start])) is not None
                and before[start][0] in guard.before
            )
        ]
        if any(role == "healed" for *_, role in eras):
            # a year beside a word of healing is when the old injury was ("back in 2018, all healed
            # now"): the story's time, and no "back" just before it is a problem returned
            years = [i for i, word in enumerate(words) if _YEAR.fullmatch(word)]
            eras = [e for e in eras if not (e[2] == "returned" and any(0 <= y - e[1] <= 1 for y in years))]
            eras = sorted(eras + [(y, y + 1, "past") for y in years])
        said_then = {p for start, end, role in eras if role in ("past", "healed") for p in range(start, end)}

        def told(start: int) -> set[int]:
            """The story a word of healing closes: its list item and the one before, up to it ("locked
            up all the time, not anymore"), or the sentence before when it opens its own ("... all the
            time. Not anymore!"). What lasted in it lasted then."""
            opening = start == 0 or words[start - 1] in self._breaks
            return {
                p
                for p in range(start)
                if clauses[p] == clauses[start]
                and items[p] >= items[start] - 1
                or opening
                and clauses[p] == clauses[start] - 1
            }

        said_then |= {p for start, _end, role in eras if role == "healed" for p in told(start)}
        returned = any(role == "returned" for *_, role in eras) or any(
            m.kind == Kind.TIME and m.id in RETURNING and not m.negated and m.start not in said_then for m in mentions
        )
        present = [start for start, _end, role in eras if role == "present"]
        # someone else's: from another person up to the writer ("my wife pulled her back so I went
        # light"), a report ("my mate reckons it's pulled") or the end of the list item; how bad it
        # is stays ("had to borrow my husband's stick to walk")
        aside: set[int] = set()
        for k, (at, role) in enumerate(people):
            if role != "other" or at >= len(words):
                continue
            stop = next((p for p, who in people[k + 1 :] if who != "other"), len(words))
            aside.update(p for p in range(at, stop) if items[p] == items[at] and clauses[p] == clauses[at])
        over: set[int] = set()  # long over: all of it
        for start, end, role in eras if not returned else ():
            if role not in ("past", "healed") or any(w in self._negators for w in words[max(0, start - 2) : start]):
                continue  # "not fully healed", "never really recovered"
            said = {items[start], items[start] - 1} if role == "healed" else {items[start]}
            # up to a word of today: "herniated a disc years ago and now my leg is numb"
            now = min((p for p in present if p >= end), default=len(words))
            over.update(p for p in range(now) if items[p] in said and clauses[p] == clauses[start])
            over.update(told(start) if role == "healed" else ())
        changed, signs = [], False
        for m in mentions:
            keep = m.kind in KEPT_ASIDE or m.kind == Kind.REGION and m.id in GOOD_REGIONS
            said = range(m.start, max(m.end, m.start + 1))  # "did his back in": a phrase around the person
            theirs = m.kind != Kind.SEVERITY and any(p in aside for p in said)
            if (m.start in over or theirs) and not keep and not m.negated:
                signs = signs or m.kind not in (Kind.REGION, Kind.QUALITY, Kind.MORE, Kind.LESS)
                m = Mention(m.kind, m.id, m.start, m.end, m.clause, m.item, negated=True)
            changed.append(m)
        return changed, signs

    def _screened(self, text: str) -> bool:
        """The second line of defence: the trained screen's view of the whole message, for the
        injury reports in words no lexicon lists yet."""
        return self._screen is not None and self._screen.flags(text[:MAX_CHARS])

    def _owners(self, raw: list[str]) -> list[tuple[str, str, bool]]:
        """For each kept word: the raw word before it, the raw word after it, whether it stands alone."""
        kept = [i for i, w in enumerate(raw) if w not in self._skip]
        return [(raw[i - 1] if i > 0 else "", raw[i + 1] if i + 1 < len(raw) else "", len(raw) == 1) for i in kept]

    def _guarded(self, word: str, context: tuple[str, str, bool], at_start: bool) -> bool:
        """A bare 'back' counts as the back only with an owner or a state beside it."""
        guard = self.lexicon.guards.get(word)
        if guard is None:
            return True
        previous, following, alone = context
        return (
            (guard.alone and (alone or at_start and following in ("", ",", ".", "!", "?")))
            or previous in guard.before
            or following in guard.after
            or self._stem(following) in self._state_words
        )

    def _owned(self, phrase: tuple[str, ...], context: tuple[str, str, bool], following: str) -> bool:
        """A phrase to ignore that holds a body part after all: 'my back on the last rep' (an owner
        before it), 'get back pain' (a feeling after it; praise is not one: 'hips shot back nice')."""
        first, last = self.lexicon.guards.get(phrase[0]), self.lexicon.guards.get(phrase[-1])
        owner = first is not None and context[0] in first.before and len(phrase) > 1 and phrase[1] in self._places
        return owner or last is not None and self._stem(following) in self._feeling_words

    def _starts_time(self, words: list[str], keys: list[str], at: int) -> bool:
        """Whether a negator at `at` opens a phrase about time ("не проходит", "no se pasa"): then the
        denial a phrase to ignore ends on belongs to that phrase instead."""
        if at < 0 or words[at] not in self._negators:
            return False
        return any(
            tuple(keys[at : at + len(phrase)]) == phrase and any(kind == Kind.TIME for kind, _ in concepts)
            for phrase, concepts in self._phrases.get(keys[at], ())
        )

    def _match(
        self, words: list[str], clauses: list[int], items: list[int], context: list[tuple[str, str, bool]]
    ) -> tuple[list[Mention], list[int]]:
        """Longest phrase first at each word; words no phrase covers may be negators."""
        mentions: list[Mention] = []
        negators: list[int] = []
        keys = [self._stem(word) for word in words]
        i = 0
        while i < len(words):
            for phrase, concepts in self._phrases.get(keys[i], ()):
                end = i + len(phrase)
                if tuple(keys[i:end]) != phrase or len(phrase) == 1 and words[i] in self._negators:
                    continue
                if len(phrase) == 1 and not self._guarded(words[i], context[i], i == 0):
                    continue
                following = words[end] if end < len(words) else ""
                if concepts == ((Kind.IGNORE, Kind.IGNORE.value),) and self._owned(phrase, context[i], following):
                    continue  # "my back on the last rep" is the back, "back on track" is not
                if concepts == ((Kind.IGNORE, Kind.IGNORE.value),) and self._starts_time(words, keys, end - 1):
                    continue  # "боли не было" is calm, "боль не проходит" is pain that stays
                if concepts == ((Kind.DENIAL, Kind.DENIAL.value),) or (
                    (Kind.QUALITY, "little") in concepts and any(w in self._negators for w in words[i:end])
                ):
                    # "used to get back pain" denies like "no back pain"; "didn't feel anything pull,
                    # tear or pop" denies the list after it
                    negators.append(end - 1)
                mentions += [Mention(kind, concept, i, end, clauses[i], items[i]) for kind, concept in concepts]
                i = end
                break
            else:
                if words[i] in self._negators:
                    negators.append(i)
                i += 1
        return mentions, negators

    def _negate(
        self, words: list[str], clauses: list[int], items: list[int], mentions: list[Mention], negators: list[int]
    ) -> tuple[list[Mention], bool]:
        """Each negation covers what follows it up to the end of its list: feelings, injury words and
        the places they are in ('no pain in my back or hams'); a new subject, 'but', 'just' end it."""
        # "пока нога не подломилась": "until the leg gave way" says the event happened ("пока не болит",
        # "not hurting for now", still denies)
        events = {m.start for m in mentions if m.kind == Kind.EVENT}
        negators = [
            p for p in negators if not (p + 1 in events and any(w in self._until for w in words[max(0, p - NEAR) : p]))
        ]
        negators, affirmed = self._affirmed(words, items, mentions, negators)
        starting = defaultdict(list)
        for index, mention in enumerate(mentions):
            if mention.kind != Kind.TRAVEL:  # "went", "from" are plain words to a negation
                starting[mention.start].append(index)
        denied: set[int] = set()
        bare_no = False
        felt_little: list[Mention] = []
        reach = 0  # where the last negation's list ended: "no sharp pains or nothing" is one list
        for position in negators:
            inside = position < reach
            covered: list[int] = []
            j, last_region = position + 1, False
            while j < len(words) and j <= position + SCOPE_LIMIT:
                word = words[j]
                if word in self._breaks or word in self._ends:
                    break
                if starting.get(j):
                    here = [mentions[k] for k in starting[j]]
                    if any(m.kind == Kind.REGION for m in here):
                        previous = words[j - 1] if j > 0 else ""
                        end = max(m.end for m in here)
                        following = words[end] if end < len(words) else ","
                        described = (  # "no sore back or tingly bits": a feeling said of the part, in the list
                            bool(covered)
                            and mentions[covered[-1]].kind == Kind.SENSATION
                            and mentions[covered[-1]].end == j
                            and following in self._joins
                        )
                        owned = (
                            j == position + 1
                            or previous in self._places
                            or (last_region and previous in self._joins and previous != ",")
                            or described
                        )
                        if not owned:
                            break
                        last_region = True
                    elif any(m.kind in (Kind.IGNORE, Kind.ANSWER) for m in here):
                        break
                    elif words[j - 1] == "," and covered and mentions[covered[-1]].kind == Kind.REGION:
                        break  # "pelvic floor: no leaks, felt it in the hams": a new item, not the list
                    elif words[j - 1] == "," and any(m.kind == Kind.SENSATION and m.id in WORKED for m in here):
                        break  # "back didn't hurt, worked the hams hard": the work is said, not denied
                    covered += starting[j]
                    j = max(m.end for m in here)
                    continue
                if j > 0 and words[j - 1] == ",":
                    break  # after a comma only another item of the list: "no numbness, tingling or pain"
                if word in self._joins or word in self._fillers or word in self._places:
                    j += 1
                    continue
                break
            reach = max(reach, j)
            unable = self._unable_at(words, position)
            denied.update(k for k in covered if not (unable and mentions[k].kind == Kind.SEVERITY))
            if not any(mentions[k].kind == Kind.REGION or mentions[k].kind == Kind.SENSATION for k in covered):
                if words[position] in self._little and not inside:
                    felt_little.append(
                        Mention(Kind.QUALITY, "little", position, position + 1, clauses[position], items[position])
                    )
                elif not covered and j == position + 1 and words[position] in self._negators:
                    bare_no = True
        after = frozenset(self.lexicon.negation.after)
        denied.update(i for i, m in enumerate(mentions) if m.end < len(words) and words[m.end] in after)
        denied.update(self._answered_no(words, clauses, mentions))
        denied -= affirmed
        changed = [
            Mention(m.kind, m.id, m.start, m.end, m.clause, m.item, negated=True) if i in denied else m
            for i, m in enumerate(mentions)
        ]
        return changed + felt_little, bare_no

    def _affirmed(
        self, words: list[str], items: list[int], mentions: list[Mention], negators: list[int]
    ) -> tuple[list[int], set[int]]:
        """Two negations with nothing read between them cancel out: "I can't say it didn't shoot down
        my leg", "not that it wasn't numb" say it did. Returns the negators left and the mentions
        the pair covers, which stay affirmed."""
        said = [  # "can't say", "not sure" deny as well
            m.end - 1
            for m in mentions
            if m.kind == Kind.ANSWER and any(w in self._negators for w in words[m.start : m.end])
        ]
        outer = sorted({p for p in negators if words[p] in self._negators} | set(said))
        pairs = [
            (a, b)
            for a in outer
            for b in negators
            if 2 <= b - a <= 5
            and items[a] == items[b]
            and words[b] in self._negators
            and not any(a < m.start < b and m.kind not in (Kind.PRONOUN, Kind.REGION) for m in mentions)
        ]
        cancelled = {p for pair in pairs for p in pair}
        affirmed = {
            k
            for _a, b in pairs
            for k, m in enumerate(mentions)
            if b < m.start and items[m.start] == items[b] and m.start - b <= SCOPE_LIMIT
        }
        return [p for p in negators if p not in cancelled], affirmed

    def _answered_no(self, words: list[str], clauses: list[int], mentions: list[Mention]) -> set[int]:
        """Signs asked and answered: "shooting? no. numb? nope" denies each sign before its no."""
        noes = {m.start for m in mentions if m.kind == Kind.ANSWER and m.id == "no"}
        asked = {
            clauses[p] - 1
            for p, word in enumerate(words[:-1])
            if word == "?" and (words[p + 1] in self._negators or p + 1 in noes)
        }
        return {k for k, m in enumerate(mentions) if m.clause in asked and m.kind != Kind.ANSWER}

    def _unable_at(self, words: list[str], position: int) -> bool:
        """A negating word beside a word of ability is an inability, not a denial: "could not",
        "no puedo", "не могу"."""
        if words[position] not in self._negators:
            return False
        beside = [words[i] for i in (position - 1, position + 1) if 0 <= i < len(words)]
        return any(word in self._unable or self._stem(word) in self._unable for word in beside)

    def _attach(self, mentions: list[Mention]) -> tuple[dict[str, Felt], set[str]]:
        """Each feeling and quality goes to the nearest region named with it; the qualities
        with no region there are returned apart."""
        regions = [m for m in mentions if m.kind == Kind.REGION]
        # "hams sore, the normal DOMS kind, lower back fine": a part with a feeling of its own in its
        # list item does not take the feeling of the item beside it
        feelings = [m for m in mentions if m.kind in (Kind.SENSATION, Kind.QUALITY)]
        owners = {near.start for m in feelings if (near := _nearest(m, [r for r in regions if r.item == m.item]))}
        felt: dict[str, Felt] = {}
        loose: set[str] = set()
        # "pelvic floor: no leaking": a part named as a heading, then denied in its own words
        headings = {
            r.start for r in regions for d in regions if d.negated and d.id == r.id and 0 < d.start - r.end <= 2
        }
        for region in regions:
            entry = felt.setdefault(region.id, Felt(region.id, weight=0.0, negated=True))
            entry.negated = entry.negated and (region.negated or region.start in headings)
            entry.weight = max(entry.weight, self._weight(region, mentions))
        for mention in mentions:
            if mention.kind not in (Kind.SENSATION, Kind.QUALITY):
                continue
            # a denial reaches only the parts of its own list item: "никакой острой боли, просто поясница"
            near = _nearest(
                mention,
                [r for r in regions if r.item == mention.item or r.start not in owners and not mention.negated],
            )
            if near is None:
                if mention.kind == Kind.QUALITY and not mention.negated:
                    loose.add(mention.id)
                continue
            entry = felt[near.id]
            if mention.kind == Kind.QUALITY:
                if not mention.negated:
                    entry.qualities.add(mention.id)
            elif mention.negated:
                entry.denied.add(mention.id)
            else:
                entry.sensations.add(mention.id)
        return felt, loose

    @staticmethod
    def _weight(region: Mention, mentions: list[Mention]) -> float:
        """'mostly hams' weighs double, 'a touch of lower back' half."""
        weight = 1.0
        for other in mentions:
            if other.clause == region.clause and 0 < region.start - other.end + 1 <= 3:
                if other.kind == Kind.MORE:
                    weight = 2.0
                elif other.kind == Kind.LESS:
                    weight = 0.5
        return weight

    def _red_flags(
        self, words: list[str], mentions: list[Mention], felt: dict[str, Felt], scores: list[int]
    ) -> tuple[list[str], bool]:
        """Every sign of a red flag in the whole message, in any clause, item and order. The signs
        are a tier of their own: what else is said (a region, a fault, praise) never cancels one;
        only a negation of the sign itself, or a reading of the word that is not about the body
        ("knees shooting forward", "sharp focus"), does. Also whether an injury word or a time of
        pain was said of a part other than the working muscles without making a sign: a doubt that
        asks the pain-check question rather than give advice."""
        live = [m for m in mentions if not m.negated]
        regions = [m for m in live if m.kind == Kind.REGION]
        region_starts = {m.start for m in regions}
        region_ends = {m.end for m in regions}  # "hips kept shooting back": a part moving, not a back
        by_clause: dict[int, list[Mention]] = defaultdict(list)
        for mention in live:
            by_clause[mention.clause].append(mention)

        cue_starts = {m.start for m in mentions if m.kind in (Kind.MOVEMENT, Kind.IGNORE)}
        hedged = {p for m in mentions if m.kind in (Kind.MORE, Kind.LESS) for p in range(m.start, m.end)}

        def directed(position: int) -> bool:
            while position in hedged:  # "se me torcía un poco hacia afuera": how much, then where
                position += 1
            return any(tuple(words[position : position + len(d)]) == d for d in self._directions)

        def moving(mention: Mention) -> bool:
            """A body part moving, not hurt: 'shot up', 'knees shooting forward' (a direction after it,
            not a body part), 'snapping my hips forward', 'hips through with a snap' (a part sent in a
            direction), 'shooting my hips back' (a cue)."""
            if directed(mention.end) and (mention.end not in region_starts or mention.start in region_ends):
                return True
            sent = [r for r in regions if r.item == mention.item and directed(r.end)]
            if any(r.start == mention.end or 0 <= mention.start - r.end <= NEAR for r in sent):
                return True
            return mention.end in cue_starts

        # "таз стрелял вверх", "hips shot up": a part sent somewhere is a movement, not a pain, in
        # every reading that follows (a pain said with it keeps it a pain)
        pains = {m.item for m in live if m.kind == Kind.SENSATION and m.id in NAMED_PAIN}

        def mover(shot: Mention) -> bool:  # "sharp" as said of a part, or one "shot" word just after a part
            return (
                shot.id == "sharp"
                or shot.end - shot.start == 1
                and any(r.item == shot.item and 0 <= shot.start - r.end < NEAR for r in regions)
            )

        sent = {
            id(m)
            for m in live
            if m.kind == Kind.SENSATION and m.id in SHOTS and m.item not in pains and mover(m) and moving(m)
        }
        live = [m for m in live if id(m) not in sent]
        by_clause = defaultdict(list)
        for mention in live:
            by_clause[mention.clause].append(mention)
        # "hip clicks, always has, doesn't hurt": a noise with the pain denied is a joint, not an injury
        painless = any(m.kind == Kind.SENSATION and m.id in PAINFUL and m.negated for m in mentions)

        flags: list[str] = []
        doubts = False
        for mention in live:
            flag = self._sign(mention, by_clause[mention.clause], regions, words, felt, moving)
            if flag in NOISES and painless:
                continue
            if flag is not None:
                flags.append(flag)
            elif self._doubt(mention, regions, mentions) and not painless:
                doubts = doubts or not moving(mention)
        for region in regions:  # "jaw and left arm ached": any discomfort said with the part
            alarm = ALARM_PARTS.get(region.id)
            if alarm and any(
                m.kind == Kind.SENSATION and m.id in DISCOMFORT | {"heavy"} and m.item == region.item
                for m in by_clause[region.clause]
            ):
                flags.append(alarm)
        for lost in (m for m in live if m.kind == Kind.MOVEMENT and m.id == "foot-lost"):
            # an ankle rolling on the balance drill is balance; rolled and hurting, it is a sprain
            same = by_clause[lost.clause]
            hurt = any(m.kind == Kind.SENSATION and m.id in PAINFUL for m in same)
            ankle = any(w in self._feet for w in words[lost.start : lost.end])  # "rolled my ankle"
            if hurt and (ankle or any(m.kind == Kind.REGION and m.id == "feet" for m in same)):
                flags.append("event:rolled")
        problems = [f for f in felt.values() if not f.negated and f.region not in GOOD_REGIONS]
        ironic = any(m.kind == Kind.IRONY for m in live)
        sarcastic = any(m.kind == Kind.SARCASM for m in live)
        if ironic and problems or sarcastic and any(not f.fine for f in problems):
            flags.append("severe")  # "oh brilliant, lower back again", "back was totally fine 🙃"
        if any(score >= self.lexicon.severe_score for score in scores) and not _rates_the_session(live, felt):
            flags.append("severe")
        return flags, doubts

    def _sign(
        self,
        mention: Mention,
        same: list[Mention],
        regions: list[Mention],
        words: list[str],
        felt: dict[str, Felt],
        moving: Callable[[Mention], bool],
    ) -> str | None:
        """The red flag one mention raises, read with the rest of its clause, or None."""
        if mention.kind == Kind.SENSATION and mention.id in NERVE | ALARM:
            return mention.id
        if mention.kind in (Kind.SENSATION, Kind.QUALITY) and mention.id in LIMB_SIGNS:
            sign, parts = LIMB_SIGNS[mention.id]
            # the nearest part, the one an "it" stands for ("left leg feels like it's asleep from the bum
            # down"), or the one the sentence is about when its list item names none ("left arm, heavy and weak")
            earlier = [r for r in regions if r.clause == mention.clause and r.start < mention.start]
            about = earlier[-1] if earlier and not any(r.item == mention.item for r in regions) else None
            for near in (_nearest(mention, regions), _referred(mention, same, regions), about):
                if near is None:
                    continue
                one_side = self._one_sided(words, near)
                if near.id in parts or one_side and near.id in ONE_SIDED.get(mention.id, ()):
                    return sign
            return None
        if mention.kind == Kind.SENSATION and mention.id == "sharp":
            # "pain shooting over my foot" is pain; "knees shooting past my toes" is a knee moving
            pains = NAMED_PAIN
            hurting = any(m.kind == Kind.SENSATION and m.id in pains and m.item == mention.item for m in same)
            return "sharp" if (hurting or not moving(mention)) and _sharp_is_pain(mention, same) else None
        if mention.kind == Kind.SEVERITY and mention.id == REACTION:
            return "severe" if self._reacted(mention, words) else None
        if mention.kind == Kind.SEVERITY:
            return None if any(m.kind == Kind.QUALITY and m.id == "good-pain" for m in same) else "severe"
        if mention.kind == Kind.EVENT:
            return f"event:{mention.id}" if not moving(mention) and _injury(mention, same, words, self._sides) else None
        if mention.kind == Kind.TRAVEL:
            return "radiating" if self._travels(mention, same, words) else None
        if mention.kind == Kind.PATH:
            # "burning down my leg"; not "hams worked, the stretch went all the way down to my knees"
            travelling = [m for m in same if m.kind == Kind.SENSATION and m.id in TRAVELLING]
            effort = [m for m in travelling if m.id in EFFORT and m.item != mention.item]
            if any(m.kind == Kind.QUALITY and m.id == "asleep" for m in same):
                return "numb"  # "all down that leg feels like it's asleep"
            if any(m.kind == Kind.EVENT and m.item == mention.item for m in same):
                return "radiating"  # "como un latigazo que me bajaba por la pierna"
            return "radiating" if len(travelling) > len(effort) else None
        if mention.kind == Kind.TIME:
            return f"time:{mention.id}" if _persisting(mention, same, felt) else None
        return None

    @staticmethod
    def _doubt(mention: Mention, regions: list[Mention], mentions: list[Mention]) -> bool:
        """An injury word beside a part ("se me fue la rodilla"), or a time of a pain that stays said
        with one ("la zona lumbar, desde el finde"), where the part is not a working muscle and the
        clause denies nothing (not "my back used to seize up all the time")."""
        if mention.kind not in DOUBTFUL or mention.id not in DOUBTFUL[mention.kind]:
            return False
        if mention.kind == Kind.EVENT:
            regions = [r for r in regions if -NEAR <= r.start - mention.end < NEAR and r.item == mention.item]
        elif any(m.negated and m.clause == mention.clause and m.kind in (Kind.SENSATION, Kind.EVENT) for m in mentions):
            return False
        near = _nearest(mention, [r for r in regions if r.clause == mention.clause])
        return near is not None and near.id not in GOOD_REGIONS | FATIGUE_ONLY

    def _reacted(self, reaction: Mention, words: list[str]) -> bool:
        """A cry said of the person ("I screamed", "heard me scream", "screamed when I stood up"),
        not of a muscle ("hams screamed") or someone else ("coach yelled")."""
        before = words[reaction.start - 1] if reaction.start > 0 else "."
        after = words[reaction.end] if reaction.end < len(words) else "."
        return (before in self._persons or before in self._breaks or before == ",") and after not in self._aimed

    def _travels(self, travel: Mention, same: list[Mention], words: list[str]) -> bool:
        """Pain said to move along the body: "pain travelling down to behind the knee", "spreading
        into my buttock", "pain from my lower back down to my calf"; not "hurts when moving my back"."""
        feelings = {m.id for m in same if m.kind == Kind.SENSATION and m.start != travel.start}
        below = any(m.kind == Kind.REGION and m.id in NERVE_PARTS and m.start > travel.start for m in same)
        if not feelings & RADIATING and not (below and "sore" in feelings):  # an ache reaching the calf
            return False
        later = [m for m in same if m.kind == Kind.REGION and m.start >= travel.end and m.id not in FATIGUE_ONLY]
        routed = [r for r in later if any(self._stem(w) in self._routes for w in words[travel.end : r.start])]
        said = " ".join(self._stem(w) for w in words[travel.start : travel.end])
        origin = said in self._origins
        if any(w in self._movers for w in words[max(0, travel.start - (2 if origin else 1)) : travel.start]):
            return False  # "when I go from my toes to my heels", "I moved my knee up": the person moving
        if not origin and travel.end < len(words):
            following = self._stem(words[travel.end])  # "moving the bell": the person moving something
            if not (following in self._routes or following in self._origins or following in self._travel_hedges):
                return False
        if origin:  # "pain from my back to my knee": a part, a route, another; not "moving the bell from"
            led = any(m.end == travel.start and m.kind in (Kind.SENSATION, Kind.TRAVEL) for m in same)
            previous = self._stem(words[travel.start - 1]) if travel.start > 0 else ""
            if not (led or previous in self._routes or previous in self._travel_hedges):
                return False
            return bool(later) and later[0].start - travel.end <= NEAR and any(r is not later[0] for r in routed)
        return bool(routed)

    def _one_sided(self, words: list[str], part: Mention) -> bool:
        """A side named with the part, before it ("left leg") or after it ("pierna izquierda", "нога левая")."""
        around = [words[i] for i in (part.start - 1, part.start, part.end) if 0 <= i < len(words)]
        return any(word in self._one_side or self._stem(word) in self._one_side for word in around)

    @staticmethod
    def _pain(mentions: list[Mention]) -> bool:
        """Pain or hurt said and not denied, unless said to be the good kind."""
        good = {m.clause for m in mentions if m.kind == Kind.QUALITY and m.id == "good-pain" and not m.negated}
        # "not sure if good hurt or bad hurt": a good kind in doubt is no good kind
        good -= {m.clause for m in mentions if m.kind == Kind.ANSWER and m.id == "unsure" and not m.negated}
        return any(
            m.kind == Kind.SENSATION and m.id in UNCLEAR_PAIN and not m.negated and m.clause not in good
            for m in mentions
        )


def _harsh_phrases(lexicon: Lexicon) -> list[str]:
    """Severe pain said as a part in a bad state: every `harsh` part before every `harsh` word
    ("back in bits", "neck screaming"), so a new word or part covers all of its pairs."""
    return [f"{part} {word}" for part in lexicon.harsh.parts for word in lexicon.harsh.words]


def _score_pattern(numbers: Mapping[str, int], of: list[str]) -> re.Pattern[str]:
    """A pain score out of ten in digits or words: "8/10", "8 out of 10", "eight out of ten", "8 de 10"."""
    said = [r"\d{1,2}", *(re.escape(word) for word in sorted(numbers, key=len, reverse=True))]
    tens = ["10", *(re.escape(word) for word, value in numbers.items() if value == 10)]
    between = ["/", *(r"\s+".join(map(re.escape, phrase.split())) for phrase in of)]
    score, out_of, ten = "|".join(said), "|".join(between), "|".join(tens)
    return re.compile(rf"(?<!\w)({score})(?:[.,]\d)?\s*(?:{out_of})\s*(?:{ten})(?!\w)")


def _phrases_in(keys: list[str], table: Mapping[tuple[str, ...], str]) -> list[tuple[int, int, str]]:
    """The phrases of `table` found in `keys`, longest first at each word, none overlapping:
    (start, end, what the phrase stands for)."""
    longest = max((len(phrase) for phrase in table), default=0)
    found, i = [], 0
    while i < len(keys):
        for length in range(min(longest, len(keys) - i), 0, -1):
            role = table.get(tuple(keys[i : i + length]))
            if role is not None:
                found.append((i, i + length, role))
                i += length
                break
        else:
            i += 1
    return found


def _other_number(words: tuple[str, ...]) -> tuple[str, ...] | None:
    """The phrase with its last word in the other number ("knees" <-> "knee"), for longer words."""
    if not words or len(words[-1]) < 4 or not words[-1].isalpha():
        return None
    last = words[-1]
    other = last[:-1] if last.endswith("s") and not last.endswith("ss") else f"{last}s"
    return (*words[:-1], other)


def _nearest(mention: Mention, regions: list[Mention]) -> Mention | None:
    """The region a feeling is about: the nearest in its list item, else one just beside it in its clause."""
    same = [r for r in regions if r.item == mention.item] or [
        r for r in regions if r.clause == mention.clause and abs(r.start - mention.start) <= NEAR
    ]
    if not same:
        return None
    return min(same, key=lambda r: (abs(r.start - mention.start), r.start > mention.start))


def _referred(mention: Mention, same: list[Mention], regions: list[Mention]) -> Mention | None:
    """The part an 'it' beside a feeling stands for: 'my leg's gone funny, like it's asleep'."""
    if not any(m.kind == Kind.PRONOUN and m.item == mention.item for m in same):
        return None
    earlier = [r for r in regions if r.clause == mention.clause and r.start < mention.start]
    return earlier[-1] if earlier else None


def _sharp_is_pain(sharp: Mention, same: list[Mention]) -> bool:
    """'sharp' or 'shooting' is pain when its list item says anything about the body (a part, 'it',
    a pain or an injury word, how bad or how long), not in 'felt sharp and focused'."""
    for other in same:
        if other is sharp or other.item != sharp.item:
            continue
        if other.kind == Kind.SENSATION and other.id in DISCOMFORT | {"burn"}:
            return True
        if other.kind in (Kind.OBJECT, Kind.EVENT, Kind.PRONOUN, Kind.SEVERITY, Kind.TIME):
            return True
        if other.kind == Kind.REGION and other.id not in FATIGUE_ONLY:
            return True
    return False


def _injury(event: Mention, same: list[Mention], words: list[str], sides: frozenset[str]) -> bool:
    """An injury verb counts with a body part: 'pulled my hammy', 'back tweaked', not 'pulled 100kg'.
    A word that is also a movement ('twisted', 'collapsed') needs its object after it: 'twisted my
    ankle' is an injury, 'my chest twisted' is a form fault."""
    if event.id in STANDALONE_EVENTS:
        return True
    also_movement = any(m.kind == Kind.MOVEMENT and m.start == event.start for m in same)
    subject = [m for m in same if m.kind in (Kind.REGION, Kind.OBJECT, Kind.PRONOUN) and _subject_of(m, event, same)]
    if subject and not also_movement:
        if subject[-1].kind == Kind.PRONOUN:  # "my hamstring feels like it got torn", "a twinge and it locked"
            return any(
                m.kind == Kind.REGION and _can_be_hurt(event, m) or m.kind == Kind.SENSATION and m.id in DISCOMFORT
                for m in same
            )
        return _can_be_hurt(event, subject[-1])  # "grip gave out" is tired hands
    if (
        event.id == "gave-way"
        and not also_movement
        and any(
            m.kind == Kind.REGION and m.item == event.item and m.end <= event.start and m.id in GIVES_WAY for m in same
        )
    ):
        return True  # "la pierna se quedó sin fuerza de golpe y se me venció": the leg said before gave way
    if event.id in SUBJECT_EVENTS:
        return False
    for other in same:
        between = [w for w in words[event.end : other.start] if w not in sides]  # "the left side of"
        after = other.start >= event.end and len(between) <= NEAR - 1
        if other.kind == Kind.OBJECT and after:
            return True
        if other.kind == Kind.PRONOUN and other.start == event.end:  # "tweaked it", with a part named
            return any(m.kind == Kind.REGION and _can_be_hurt(event, m) for m in same)
        if other.kind == Kind.REGION and after and _can_be_hurt(event, other):
            return True
    return False


def _subject_of(body: Mention, event: Mention, same: list[Mention]) -> bool:
    """A part just before an injury word, with at most a hedge between: 'my hammy kind of let go'."""
    if body.item != event.item or not 0 <= event.start - body.end <= NEAR:
        return False
    # "my hammy twinged then went": a part that just went may have been felt first
    between = HEDGES | {Kind.SENSATION, Kind.EVENT} if event.id in SUBJECT_EVENTS else HEDGES
    return all(m.kind in between for m in same if body.end <= m.start < event.start)


def _can_be_hurt(event: Mention, body: Mention) -> bool:
    if body.kind == Kind.OBJECT:
        return True
    if event.id == "gave-way":
        return body.id in GIVES_WAY
    return body.id not in FATIGUE_ONLY


def _rates_the_session(live: list[Mention], felt: dict[str, Felt]) -> bool:
    """'10/10 would hinge again, hams smoked': a score beside only the working muscles and no
    discomfort rates the session, not a pain."""
    named = [f for f in felt.values() if not f.negated]
    discomfort = any(m.kind == Kind.SENSATION and m.id in DISCOMFORT for m in live)
    return bool(named) and not discomfort and all(f.region in GOOD_REGIONS for f in named)


def _persisting(time: Mention, same: list[Mention], felt: dict[str, Felt]) -> bool:
    """Pain that stays or worsens: any discomfort that lasts days or gets worse; pain, or soreness
    outside the hamstrings and glutes, that is still there the next day."""
    discomfort = [m for m in same if m.kind == Kind.SENSATION and m.id in DISCOMFORT]
    regions = {m.id for m in same if m.kind == Kind.REGION}
    if time.id == "recurring":  # "the same pain as last time", "back with a vengeance"
        return True
    if time.id == "lasting":  # "for a week", "since": about a discomfort, or anything felt outside the working muscles
        felt = any(m.kind == Kind.SENSATION for m in same)  # "тянет в пояснице уже неделю"
        return bool(discomfort) or felt and bool(regions - GOOD_REGIONS)
    if time.id == "whenever":  # "every time I bend": pain, or any discomfort outside the working muscles
        painful = any(m.id in PAINFUL for m in discomfort)
        return bool(discomfort) and (painful or not regions or bool(regions - GOOD_REGIONS))
    if time.id in ("unresolved", "worse"):  # "hasn't settled", "getting worse": about a problem
        lasting = any(m.kind == Kind.TIME and m.id == "lasting" for m in same)  # "a week on, still not right"
        return bool(discomfort) or bool(regions - GOOD_REGIONS) or not regions or lasting
    if any(m.id in PAINFUL for m in discomfort):
        return True
    return time.id == "still" and bool(discomfort) and bool(regions - GOOD_REGIONS - {"legs"})


class Readers:
    """One reader per language, each built the first time it is needed. A language code is read by
    its base language ("es-MX" by "es"); a language without a lexicon is read in the default one."""

    def __init__(self, lexicons: Mapping[str, Lexicon], default: str = "en") -> None:
        if default not in lexicons:
            raise ValueError(f"no lexicon for the default language '{default}'")
        self.lexicons = lexicons
        self.default = default
        self._built: dict[str, Reader] = {}

    def for_language(self, code: str | None) -> Reader:
        base = (code or "").replace("_", "-").split("-")[0].casefold()
        language = base if base in self.lexicons else self.default
        reader = self._built.get(language)
        if reader is None:
            reader = self._built[language] = Reader(self.lexicons[language])
        return reader


# ----------------------------------------------------------------------------- deciding


def decide(hearing: Hearing, question: str) -> Decision:
    """The outcome a good coach reaches for this answer to this question."""
    if question == Question.PAIN_CHECK:
        return _pain_check(hearing)
    if hearing.red_flag:
        return Decision(Outcome.RED_FLAG)
    if hearing.pain or hearing.screened:
        return Decision(Outcome.SAFETY_QUESTION)
    if "query" in hearing.answers:
        return Decision(Outcome.ASK)  # "what do you mean by drift?"
    if question == Question.LOWER_BACK_WHY:
        return _why(hearing)
    if question == Question.SINGLE_LEG:
        return _single_leg(hearing)
    return _felt_where(hearing)


def _pain_check(hearing: Hearing) -> Decision:
    """Yes in any words, or any of the signs asked about, is a red flag; a clear no lets the form
    advice follow. "Gone by the next day" is a no; "no, but it's still there" is not."""
    signs = [m for m in hearing.mentions if m.kind in (Kind.SENSATION, Kind.TIME) and m.id in ASKED_ABOUT]
    noes = {m.clause for m in hearing.live(Kind.ANSWER) if m.id == "no"}
    said_no = bool(noes) or hearing.bare_no
    gone = {m.clause for m in hearing.live(Kind.ANSWER) if m.id == "no" and m.start > 0}  # "gone by the morning"
    sore = {m.clause for m in hearing.live(Kind.SENSATION) if m.id in DISCOMFORT} - gone
    for sign in signs:
        if sign.negated:
            continue
        # "no, all fine this morning", "no, just stiff this morning" are a no; "no, still sore" is not
        lingering = sign.clause in sore and sign.id != "next-day"
        if sign.kind == Kind.SENSATION or sign.clause not in noes or lingering:
            return Decision(Outcome.RED_FLAG)
    if hearing.red_flag and not (said_no and set(hearing.red_flags) <= {f"time:{t}" for t in ASKED_ABOUT}):
        return Decision(Outcome.RED_FLAG)
    if said_no or (signs and all(m.negated for m in signs)):
        return Decision(Outcome.NO_RED_FLAG)
    if hearing.answers & {"yes", "unsure", "both"} or hearing.pain:
        return Decision(Outcome.RED_FLAG)  # "all of the above", "both, sadly"
    if any(m.id in MILD for m in hearing.live(Kind.SENSATION)) or "fine" in hearing.qualities:
        return Decision(Outcome.NO_RED_FLAG)  # "just a dull ache", "only tired", "its fine today"
    # Not the injury screen's call: an answer it cannot place is asked again with the buttons, which
    # is safe, while a screen trained on check-in answers would raise alarms on "on the train, later".
    return Decision(Outcome.ASK)


MILD = frozenset({"sore", "burn", "tight", "stretch", "heavy"})
ASKED_ABOUT = frozenset(
    {"sharp", "shooting", "numb", "tingling", "electric", "still", "next-day", "lasting", "whenever", "worse"}
)


# Parts other than the lower back that an answer to "why the lower back?" may name instead: "it was
# more my upper back" gets that part's answer.
WHY_REGIONS = {
    region: outcome
    for region, outcome in REGION_OUTCOMES.items()
    if outcome in ("upper-back", "neck", "inner-thigh", "hip-flexor", "calves", "grip")
}


def _why(hearing: Hearing) -> Decision:
    """Rounded or drifted; both, or neither known, is not sure, unless one is said to be the main
    one ("both, but mostly rounded"); another part named instead gets its own answer."""
    moves = [m for m in hearing.live(Kind.MOVEMENT) if m.id in ("rounded", "drifted")]
    weights: dict[str, float] = {}
    for move in moves:
        weights[move.id] = max(weights.get(move.id, 0.0), Reader._weight(move, list(hearing.mentions)))
    if len(weights) == 2 or "both" in hearing.answers:
        top = max(weights.values(), default=0.0)
        favoured = [move for move, weight in weights.items() if weight == top]
        if len(favoured) == 1 and (top > 1.0 or len(weights) == 2):
            return Decision(favoured[0])
        return Decision("not-sure")
    if weights:
        return Decision(next(iter(weights)))
    regions = _faults(hearing, WHY_REGIONS)
    if regions:
        return Decision(max(regions, key=lambda outcome: regions[outcome]))
    if "unsure" in hearing.answers:
        return Decision("not-sure")
    return Decision(Outcome.ASK)


def _faults(hearing: Hearing, regions: dict[str, str]) -> dict[str, float]:
    """Each fault or region outcome named, with how strongly."""
    found: dict[str, float] = {}
    for felt in hearing.felt.values():
        outcome = regions.get(felt.region)
        if outcome is None or felt.negated or felt.fine:
            continue
        found[outcome] = max(found.get(outcome, 0.0), felt.weight)
    return found


def _good(hearing: Hearing) -> tuple[float, bool, bool]:
    """(weight of working hamstrings/glutes, whether they were called quiet, tight)."""
    weight, quiet, tight = 0.0, False, False
    # hamstrings stiff the day after are soreness, not a range they stop at
    next_day = any(m.id == "next-day" for m in hearing.live(Kind.TIME))
    for region in GOOD_REGIONS:
        felt = hearing.felt.get(region)
        if felt is None:
            continue
        switched_off = felt.denied & {"burn", "stretch"} and not felt.sensations  # "glutes never fired"
        weak = "weak" in felt.sensations  # "glutes felt weak": they did not do the work
        if felt.qualities & QUIET and "burn" in felt.sensations and not weak and not felt.negated:
            weight = max(weight, felt.weight)  # "murdered the hammies 💀": worked to death, not asleep
            continue
        if felt.negated or felt.qualities & QUIET or "little" in felt.qualities or switched_off or weak:
            quiet = True
            continue
        stiff = "tight" in felt.sensations and "good-pain" not in felt.qualities and not next_day
        if stiff or "tight-range" in felt.qualities:
            tight = True
            continue
        weight = max(weight, felt.weight)
    return weight, quiet, tight


def _felt_where(hearing: Hearing) -> Decision:
    faults = _faults(hearing, REGION_OUTCOMES)
    good, quiet, tight = _good(hearing)
    if "squatted" in hearing.movements:
        faults["quads-knees"] = max(faults.get("quads-knees", 0.0), 1.0)
    if tight or "tight-range" in hearing.loose:
        faults["tight-hams"] = 1.0
    said_little = bool(hearing.qualities & ({"little"} | QUIET)) and not any(
        not felt.negated for felt in hearing.felt.values()
    )
    if quiet or said_little or ("little" in hearing.qualities and not good):
        faults["nothing-much"] = 0.5 if faults else 1.0
    return _winner(faults, good, "hams-glutes", FELT_WHERE_FAULTS)


def _single_leg(hearing: Hearing) -> Decision:
    regions = {k: v for k, v in REGION_OUTCOMES.items() if k not in ("quads", "knees", "pelvic-floor")}
    regions["feet"] = "foot-lost"
    faults = _faults(hearing, regions)
    for movement, outcome in (("turned", "turned-away"), ("hip-out", "hip-popped"), ("foot-lost", "foot-lost")):
        if movement in hearing.movements:
            faults[outcome] = max(faults.get(outcome, 0.0), 1.5)
    good, _quiet, _tight = _good(hearing)
    named = any(felt.region in regions or felt.region in GOOD_REGIONS for felt in hearing.felt.values())
    steady = "steady" in hearing.qualities and not named
    return _winner(faults, good or (1.0 if steady else 0.0), "standing-glute", SINGLE_LEG_FAULTS)


def _winner(faults: dict[str, float], good: float, clean: str, tree_faults: tuple[str, ...]) -> Decision:
    """The lower back wins, then the strongest fault; two equal faults of the tree are asked about."""
    if "lower-back" in faults:
        return Decision("lower-back", good_too=good > 0)
    if faults:
        ranked = sorted(faults, key=lambda o: (-faults[o], _priority(o, tree_faults)))
        top = ranked[0]
        tied = [o for o in ranked if faults[o] == faults[top] and o in tree_faults]
        if len(tied) > 1 and top in tree_faults:
            return Decision(Outcome.ASK, candidates=tuple(tied))
        return Decision(top, good_too=good > 0)
    if good:
        return Decision(clean)
    return Decision(Outcome.ASK)


def _priority(outcome: str, tree_faults: tuple[str, ...]) -> int:
    """Between equally strong answers, a fault of the tree before a region of its own."""
    return tree_faults.index(outcome) if outcome in tree_faults else len(tree_faults)
