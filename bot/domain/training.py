"""The training log: reading a typed log line, matching exercise names, units, and progression advice.

Pure functions only: the handlers read and store, this module decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal

from rapidfuzz import fuzz, process

from bot.domain.strength import estimate_1rm

Unit = Literal["kg", "lb"]
UNITS: tuple[Unit, ...] = ("kg", "lb")
KG_PER_LB = 0.45359237
STEP: dict[str, float] = {"kg": 2.5, "lb": 5.0}  # the smallest sensible jump: a pair of small plates
INCREASE: dict[str, tuple[float, float]] = {"kg": (2.5, 5.0), "lb": (5.0, 10.0)}  # the brief's 5-10 lb a week
MAX_SETS, MAX_REPS, MAX_KG = 20, 100, 500.0
PAIR_SETS_LIMIT = 10  # "3x12" reads as sets x reps; "35x12" (or "8kgx12") as weight x reps
STALL_AFTER = timedelta(days=21)
ACCEPT_SCORE, CLEAR_LEAD, SUGGEST_SCORE = 80, 8, 55


# ----------------------------------------------------------------------------- units


def unit_for_language(language: str) -> Unit:
    """A new person's unit until they choose one: pounds in English, as the course's brief counts,
    kilograms in the languages whose lifters load in kilograms (Spanish, Russian)."""
    return "lb" if language == "en" else "kg"


def to_kg(value: float, unit: str) -> float:
    return value if unit == "kg" else value * KG_PER_LB


def from_kg(kg: float, unit: str) -> float:
    return kg if unit == "kg" else kg / KG_PER_LB


def round_to_step(value: float, unit: str) -> float:
    """Round to the nearest load a gym can actually make: 2.5 kg or 5 lb."""
    step = STEP[unit]
    return round(value / step) * step


def format_number(value: float) -> str:
    """35.0 -> '35', 22.5 -> '22.5', 61.2349 -> '61.2': what a person would write."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"


# ----------------------------------------------------------------------------- exercises


@dataclass(frozen=True)
class Exercise:
    key: str  # a drill id from content/drills.yaml or a lift key below
    name: str
    aliases: tuple[str, ...] = ()


LIFTS: tuple[Exercise, ...] = (
    Exercise("deadlift", "Deadlift", ("deadlift", "dl", "conventional deadlift", "barbell deadlift", "conventional")),
    Exercise("rdl", "Romanian deadlift", ("rdl", "romanian deadlift", "romanian", "barbell rdl", "bb rdl")),
    Exercise(
        "trap-bar-deadlift", "Trap-bar deadlift", ("trap bar", "trap bar deadlift", "hex bar", "hex bar deadlift")
    ),
    Exercise("sumo-deadlift", "Sumo deadlift", ("sumo", "sumo deadlift")),
    Exercise("hip-thrust", "Hip thrust", ("hip thrust", "barbell hip thrust", "thrust")),
    Exercise("good-morning", "Good morning", ("good morning",)),
    Exercise("kb-swing", "Kettlebell swing", ("kb swing", "kettlebell swing", "swing")),
)

# Everyday names for the drills in content/drills.yaml, beside their own name and id.
DRILL_ALIASES: dict[str, tuple[str, ...]] = {
    "kb-rdl": ("kb rdl", "kettlebell rdl", "db rdl", "dumbbell rdl", "kb deadlift", "kettlebell deadlift"),
    "glute-bridge": ("bridge", "glute bridge", "single leg bridge", "bridge march"),
    "single-leg-rdl": ("single leg rdl", "sl rdl", "slrdl", "one leg rdl", "single leg deadlift"),
    "dowel-hinge": ("dowel", "dowel hinge", "stick hinge", "broomstick hinge"),
    "hip-extension-march": ("hip extension", "hip extension march", "bench march"),
    "tempo-kb-hinge": ("tempo hinge", "tempo rdl"),
    "band-hinge": ("band hinge", "banded hinge"),
    "standing-hip-abduction": ("hip abduction", "abduction"),
    "barbell-deadlift-setup": ("deadlift setup", "deadlift set up"),
}

_STOPWORDS = frozenset({"at", "of", "for", "with", "and", "the", "a", "on"})


def normalise_name(name: str) -> str:
    """Lower case, hyphens as spaces, filler words and plural s dropped: 'Glute-Bridges' -> 'glute bridge'."""
    words = re.sub(r"[-_/.]", " ", name.lower()).split()
    return " ".join(_singular(w) for w in words if w not in _STOPWORDS)


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


@dataclass(frozen=True)
class Match:
    exercise: Exercise | None
    suggestions: tuple[Exercise, ...] = ()


class Catalogue:
    """Every exercise a log line may name: the course's drills plus the common hinge lifts."""

    def __init__(self, exercises: Iterable[Exercise]) -> None:
        self.exercises: dict[str, Exercise] = {}
        self._alias_to_key: dict[str, str] = {}
        for exercise in exercises:
            self.exercises[exercise.key] = exercise
            for alias in (exercise.key, exercise.name, *exercise.aliases):
                self._alias_to_key.setdefault(normalise_name(alias), exercise.key)

    def name_of(self, key: str) -> str:
        exercise = self.exercises.get(key)
        return exercise.name if exercise else key

    def short_name(self, key: str) -> str:
        """The shortest way to type it, for examples: 'kb rdl' rather than 'Kettlebell RDL'."""
        exercise = self.exercises[key]
        return min((normalise_name(a) for a in (exercise.name, *exercise.aliases)), key=len)

    def exact(self, name: str) -> Exercise | None:
        """The exercise with this name or alias, no typo allowed: for names a program wrote."""
        key = self._alias_to_key.get(normalise_name(name))
        return None if key is None else self.exercises[key]

    def key_of(self, name: str) -> str | None:
        """The key of the exercise a typed name means (typos tolerated), or None when it means none."""
        exercise = self.match(name).exercise
        return None if exercise is None else exercise.key

    def match(self, name: str) -> Match:
        """The exercise a typed name means, typos tolerated; otherwise the closest few to offer."""
        wanted = normalise_name(name)
        if not wanted:
            return Match(None)
        if wanted in self._alias_to_key:
            return Match(self.exercises[self._alias_to_key[wanted]])
        best: dict[str, float] = {}
        for alias, score, _ in process.extract(
            wanted, list(self._alias_to_key), scorer=fuzz.token_sort_ratio, limit=20
        ):
            key = self._alias_to_key[alias]
            best[key] = max(best.get(key, 0.0), score)
        ranked = sorted(best.items(), key=lambda item: -item[1])
        if ranked and ranked[0][1] >= ACCEPT_SCORE and (len(ranked) == 1 or ranked[1][1] <= ranked[0][1] - CLEAR_LEAD):
            return Match(self.exercises[ranked[0][0]])
        return Match(None, tuple(self.exercises[key] for key, score in ranked[:3] if score >= SUGGEST_SCORE))


def build_catalogue(
    drill_names: Mapping[str, str], translated: Mapping[str, tuple[str | None, tuple[str, ...]]] | None = None
) -> Catalogue:
    """The catalogue for a course: its drills (id -> name) with their everyday names, then the lifts.
    `translated` (key -> its name in another language, or None for the drill's, and aliases there)
    puts that language's names first and keeps the English ones understood: 'rdl' works everywhere."""
    drills = [Exercise(key, name, DRILL_ALIASES.get(key, ())) for key, name in drill_names.items()]
    exercises = [*drills, *(lift for lift in LIFTS if lift.key not in drill_names)]
    for i, exercise in enumerate(exercises):
        if translated and exercise.key in translated:
            name, aliases = translated[exercise.key]
            english = (exercise.name, *exercise.aliases) if name else exercise.aliases
            exercises[i] = Exercise(exercise.key, name or exercise.name, (*aliases, *english))
    return Catalogue(exercises)


# ----------------------------------------------------------------------------- the log line


@dataclass(frozen=True)
class SetDone:
    """One set as done: its reps and, when given, its effort as RPE (RIR is stored as 10 - RIR)."""

    reps: int
    rpe: float | None = None


@dataclass(frozen=True)
class LogLine:
    """What a line said before its exercise name is matched."""

    name: str
    weight: float | None  # None: body weight
    unit: Unit | None  # None: the person's own unit
    sets: int
    reps: int  # the most reps in one set
    rpe: float | None = None  # the line's effort: the hardest set's
    each: tuple[SetDone, ...] = ()  # set by set, when the sets differ in reps or effort

    def sets_done(self) -> tuple[SetDone, ...]:
        return self.each or (SetDone(self.reps, self.rpe),) * self.sets


@dataclass(frozen=True)
class LogEntry:
    """A line ready to store: a known exercise, the weight in kg and the unit it was given in."""

    exercise: Exercise
    weight_kg: float | None
    unit: Unit
    sets: int
    reps: int
    rpe: float | None = None
    each: tuple[SetDone, ...] = ()

    def sets_done(self) -> tuple[SetDone, ...]:
        return self.each or (SetDone(self.reps, self.rpe),) * self.sets


def set_groups(sets: Sequence[SetDone]) -> list[tuple[int, SetDone]]:
    """Runs of identical sets, as (how many, the set): '8,8,7 @8' stores as 2 x 8 @8 and 1 x 7 @8."""
    groups: list[tuple[int, SetDone]] = []
    for done in sets:
        if groups and groups[-1][1] == done:
            groups[-1] = (groups[-1][0] + 1, done)
        else:
            groups.append((1, done))
    return groups


Problem = Literal[
    "empty", "no_exercise", "no_reps", "bad_numbers", "out_of_range", "negative", "bad_digits", "unknown_exercise"
]


@dataclass(frozen=True)
class LogError:
    """Why a line was not logged, with a corrected line to copy, built from what was typed."""

    problem: Problem
    example: str
    suggestions: tuple[Exercise, ...] = ()
    line: LogLine | None = None  # set for an unknown exercise, so a chosen suggestion can finish it


# Every number a person types or a button carries is checked against these, here and nowhere else.
MIN_RPE, MAX_RPE, MAX_RIR = 1.0, 10.0, 9.0
# A dash or minus right before a digit: "-20", "−20", "–20", "3x-12" and ranges like "3-5".
_DASH_DIGIT = re.compile(r"[-‐‑‒–—―−﹣－]\s*\d")
# Name words are letters of any alphabet ('glúteos', 'румынская'); a Cyrillic х is the x of 3х12.
_TOKEN = re.compile(r"[0-9]+(?:\.[0-9]+)?|[^\W\d_]+(?:['-][^\W\d_]+)*|[x×*@#,]")
_TIMES = re.compile(r"([0-9]|kgs?|lbs?|кг|#)\s*[xх×*]\s*(?=[0-9])")  # "8kgx12" -> "8kg x 12": the x is its own token
_UNIT_WORDS = {
    **dict.fromkeys(("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "k", "кг", "кило"), "kg"),
    **dict.fromkeys(("lb", "lbs", "pound", "pounds", "#", "libras", "фунт", "фунта", "фунтов"), "lb"),
}
_BODYWEIGHT = {"bw", "bodyweight"}
_WORDS = {
    **dict.fromkeys(("set", "sets"), "sets"),
    **dict.fromkeys(("rep", "reps"), "reps"),
    **dict.fromkeys(_BODYWEIGHT, "bw"),
    "rpe": "rpe",
    "rir": "rir",
    "@": "at",
    ",": "comma",
}


def foreign_digits(text: str) -> bool:
    """Digits other than 0-9 (superscripts, fractions, other scripts): refused, never half-read."""
    return any((ch.isdigit() or ch.isnumeric()) and ch not in "0123456789" for ch in text)


def read_number(text: str) -> float | None:
    """A plain decimal number, 0-9 with one '.' or ',' at most; anything else (signs, exponents,
    'nan', other scripts) is None. The one reader for numbers from buttons and files."""
    if not re.fullmatch(r"[0-9]{1,7}(?:[.,][0-9]{1,9})?", text.strip()):  # apps write 225 lb as 224.98767
        return None
    return float(text.strip().replace(",", "."))


def valid_effort(rpe: float) -> bool:
    """RPE 1-10 in half steps."""
    return MIN_RPE <= rpe <= MAX_RPE and (rpe * 2) == int(rpe * 2)


def valid_weight(weight: float, unit: str) -> bool:
    return 0 < weight <= from_kg(MAX_KG, unit)


def valid_volume(sets: float, reps: float) -> bool:
    return sets == int(sets) and reps == int(reps) and 1 <= sets <= MAX_SETS and 1 <= reps <= MAX_REPS


Token = tuple[str, object]


@dataclass
class _Reading:
    names: list[str] = field(default_factory=list)
    weights: list[tuple[float, Unit | None]] = field(default_factory=list)
    volumes: list[tuple[float | None, float | None]] = field(default_factory=list)  # (sets, reps); None: not said
    each: list[tuple[float, float | None]] = field(default_factory=list)  # reps and effort, set by set
    efforts: list[float] = field(default_factory=list)  # RPE for the whole line
    bodyweight: bool = False


def _tokens(text: str) -> list[Token]:
    """Classify each token: number, unit, the 'x' of 3x12, set/rep/effort words, body weight or a name word."""
    text = _TIMES.sub(r"\1 x ", text.lower().replace("body weight", "bodyweight"))
    out: list[Token] = []
    for raw in _TOKEN.findall(text):
        if raw[0].isdigit():
            out.append(("num", raw))
        elif raw in _UNIT_WORDS:
            out.append(("unit", _UNIT_WORDS[raw]))
        elif raw in ("x", "×", "*"):
            out.append(("x", raw))
        elif raw in _WORDS:
            out.append((_WORDS[raw], raw))
        elif raw in _STOPWORDS:
            out.append(("skip", raw))
        else:
            out.append(("word", raw))
    return _join_lists(out)


def _join_lists(tokens: list[Token]) -> list[Token]:
    """Numbers joined by commas: '22,5kg' (or '22,5' beside a '3x10') is one decimal weight; otherwise
    '8,8,7' lists the reps set by set, each with an optional effort: '8@8,8@8.5,7@9'."""
    has_volume = any(kind in ("x", "sets", "reps") for kind, _ in tokens)
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        if tokens[i][0] != "num" or i + 2 >= len(tokens) or not _list_follows(tokens, i):
            out.append(tokens[i])
            i += 1
            continue
        items: list[tuple[str, str | None]] = []
        j = i
        while True:
            reps, effort, j = str(tokens[j][1]), None, j + 1
            if j + 1 < len(tokens) and tokens[j][0] == "at" and tokens[j + 1][0] == "num":
                effort, j = str(tokens[j + 1][1]), j + 2
            items.append((reps, effort))
            if j + 1 < len(tokens) and tokens[j][0] == "comma" and tokens[j + 1][0] == "num":
                j += 1
                continue
            break
        trailing = None
        if len(items) > 1 and items[-1][1] is not None and not any(e for _, e in items[:-1]):
            trailing, items[-1] = items[-1][1], (items[-1][0], None)  # '8,8,7 @8.5': the whole line's effort
        after = tokens[j][0] if j < len(tokens) else None
        decimal = len(items) == 2 and not any(e for _, e in items) and "." not in items[0][0] + items[1][0]
        if decimal and (after == "unit" or has_volume):
            out.append(("num", f"{items[0][0]}.{items[1][0]}"))
        else:
            out.append(("list", items))
        if trailing is not None:
            out += [("at", "@"), ("num", trailing)]
        i = j
    return out


def _list_follows(tokens: list[Token], i: int) -> bool:
    """Whether a comma joins the number at i (or its '@8') to another number."""
    j = i + 1
    if j + 1 < len(tokens) and tokens[j][0] == "at" and tokens[j + 1][0] == "num":
        j += 2
    return j + 1 < len(tokens) and tokens[j][0] == "comma" and tokens[j + 1][0] == "num"


def _read(tokens: list[Token]) -> _Reading:
    reading = _Reading()

    def kind_at(index: int) -> str | None:
        return tokens[index][0] if index < len(tokens) else None

    def number_at(index: int) -> float:
        return float(str(tokens[index][1]))

    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "word":
            reading.names.append(str(value))
        elif kind == "bw":
            reading.bodyweight = True
        elif kind == "list":
            items = [(float(reps), None if effort is None else float(effort)) for reps, effort in value]
            reading.each.extend(items)
            reading.volumes.append((float(len(items)), max(reps for reps, _ in items)))
        elif kind in ("rpe", "rir") and kind_at(i + 1) == "num":  # rpe 8, rir 2
            reading.efforts.append(_as_rpe(kind, number_at(i + 1)))
            i += 2
            continue
        elif kind == "at" and kind_at(i + 1) in ("rpe", "rir") and kind_at(i + 2) == "num":  # @rpe 8
            reading.efforts.append(_as_rpe(str(tokens[i + 1][0]), number_at(i + 2)))
            i += 3
            continue
        elif kind == "at" and kind_at(i + 1) == "num" and kind_at(i + 2) != "unit" and number_at(i + 1) <= MAX_RPE:
            reading.efforts.append(number_at(i + 1))  # @8 is effort; @35 or @8kg is a weight
            i += 2
            continue
        if kind != "num":
            i += 1
            continue
        first, unit, j = float(str(value)), None, i + 1
        if kind_at(j) in ("rpe", "rir"):  # 8 rpe, 2 rir
            reading.efforts.append(_as_rpe(str(tokens[j][0]), first))
            i = j + 1
            continue
        if kind_at(j) == "unit":
            unit, j = tokens[j][1], j + 1
        if kind_at(j) == "x" and kind_at(j + 1) == "num":
            second, j = number_at(j + 1), j + 2
            if kind_at(j) == "x" and kind_at(j + 1) == "num":  # weight x reps x sets: 135x5x3
                reading.weights.append((first, unit))
                reading.volumes.append((number_at(j + 1), second))
                j += 2
            elif unit is not None or first != int(first) or first > PAIR_SETS_LIMIT:  # weight x reps: 135x5
                reading.weights.append((first, unit))
                reading.volumes.append((None, second))
            else:  # sets x reps: 3x12
                reading.volumes.append((first, second))
        elif kind_at(j) == "sets" and unit is None:  # 3 sets of 12 (reps)
            j += 1
            if kind_at(j) in ("skip", "x"):
                j += 1
            reps = None
            if kind_at(j) == "num":
                reps, j = number_at(j), j + 1
            reading.volumes.append((first, reps))
        elif kind_at(j) == "reps" and unit is None:  # 12 reps
            reading.volumes.append((None, first))
            j += 1
        else:
            reading.weights.append((first, unit))
        i = j
    return reading


def _as_rpe(kind: str, value: float) -> float:
    """RIR counts down from the limit: RIR 2 is RPE 8. A RIR out of range stays out of range."""
    if kind == "rir":
        return MAX_RPE - value if 0 <= value <= MAX_RIR else -1.0
    return value


def read_log_line(text: str) -> LogLine | LogError:
    """Read '/log' arguments in the forgiving forms people type: 'rdl 35 3x12', 'deadlift 135x5x3',
    'kb rdl 16kg 3x12', 'bridge 3x15' (body weight), '3 sets of 12 at 35 lb', with effort 'rdl 100x8 @8',
    'rdl 100 8,8,7 @8.5', 'rdl 100 3x8 rir 2' or set by set 'rdl 100 8@8,8@9,7@9.5'.
    A minus sign, a dash or a digit outside 0-9 is refused, never dropped."""
    if foreign_digits(text):
        return LogError("bad_digits", "rdl 35 3x12")
    reading = _read(_tokens(text))
    name = " ".join(reading.names)
    if not text.strip():
        return LogError("empty", _example(None, reading))
    if _DASH_DIGIT.search(text):
        return LogError("negative", _example(name or None, reading))
    if not name:
        return LogError("no_exercise", _example(None, reading))
    if (
        len(reading.weights) > 1
        or len(reading.volumes) > 1
        or len(reading.efforts) > 1
        or (reading.bodyweight and reading.weights)
    ):
        return LogError("bad_numbers", _example(name, reading))
    if not reading.volumes or reading.volumes[0][1] is None:
        return LogError("no_reps", _example(name, reading))
    weight, unit = reading.weights[0] if reading.weights else (None, None)
    sets, reps = reading.volumes[0]
    sets = 1 if sets is None else sets
    line_effort = reading.efforts[0] if reading.efforts else None
    efforts = [e for _, e in reading.each if e is not None] + ([line_effort] if line_effort is not None else [])
    if not valid_volume(sets, reps) or not all(valid_volume(1, r) for r, _ in reading.each):
        return LogError("out_of_range", _example(name, reading))
    if (weight is not None and not valid_weight(weight, unit or "lb")) or not all(map(valid_effort, efforts)):
        return LogError("out_of_range", _example(name, reading))
    each = tuple(SetDone(int(r), line_effort if e is None else e) for r, e in reading.each)
    line = LogLine(name=name, weight=weight, unit=unit, sets=int(sets), reps=int(reps), rpe=line_effort, each=each)
    if each:
        hardest = [s.rpe for s in each if s.rpe is not None]
        uniform = len(set(each)) == 1
        line = replace(line, rpe=max(hardest) if hardest else None, each=() if uniform else each)
    return line


def _example(name: str | None, reading: _Reading) -> str:
    """A corrected line from the typed parts, with sensible defaults for the missing ones."""
    parts = [name or "rdl"]
    if reading.weights and valid_weight(reading.weights[0][0], reading.weights[0][1] or "lb"):
        weight, unit = reading.weights[0]
        parts.append(format_number(weight) + (unit or ""))
    elif not reading.bodyweight:
        parts.append("35")
    sets, reps = reading.volumes[0] if reading.volumes else (3, 12)
    plausible = sets is not None and reps is not None and valid_volume(sets, reps)
    parts.append(f"{format_number(sets)}x{format_number(reps)}" if plausible else "3x12")
    if reading.efforts and valid_effort(reading.efforts[0]):
        parts.append(f"@{format_number(reading.efforts[0])}")
    return " ".join(parts)


def entry_from(line: LogLine, exercise: Exercise, default_unit: Unit) -> LogEntry:
    """A read line with its exercise: explicit units win over the person's own."""
    unit = line.unit or default_unit
    weight_kg = None if line.weight is None else to_kg(line.weight, unit)
    return LogEntry(exercise, weight_kg, unit, line.sets, line.reps, line.rpe, line.each)


def parse_log_line(text: str, catalogue: Catalogue, default_unit: Unit) -> LogEntry | LogError:
    """A whole '/log' line: read it, then match its exercise against the catalogue."""
    line = read_log_line(text)
    if isinstance(line, LogError):
        return line
    match = catalogue.match(line.name)
    if match.exercise is not None:
        return entry_from(line, match.exercise, default_unit)
    weight = "" if line.weight is None else f" {format_number(line.weight)}{line.unit or ''}"
    name = catalogue.short_name(match.suggestions[0].key) if match.suggestions else "rdl"
    example = f"{name}{weight} {line.sets}x{line.reps}"
    return LogError("unknown_exercise", example, match.suggestions, line)


# ----------------------------------------------------------------------------- progression

Effect = str  # clean | regress | activate | none | red_flag, as in content/checkin.yaml; "hard": clean above RPE 8
_SEVERITY = {"clean": 0, "none": 1, "activate": 2, "regress": 3, "red_flag": 4}


@dataclass(frozen=True)
class LoggedSet:
    """One stored log line as the rules see it."""

    at: datetime
    on: date  # the person's local date: lines on one date make one session
    weight_kg: float | None
    sets: int
    reps: int
    effect: Effect | None = None  # how it felt: its check-in answer, or the person's own mark
    rpe: float | None = None  # how hard it was, when logged


@dataclass(frozen=True)
class FormCheck:
    """A check-in answer not tied to any logged set: still a word on how the form is going."""

    at: datetime
    effect: Effect


@dataclass(frozen=True)
class Session:
    """One exercise on one date: its heaviest line, its total volume and how it felt."""

    on: date
    first_at: datetime
    last_at: datetime
    top_kg: float | None  # None: body weight only
    sets: int  # of the top line
    reps: int
    volume: float  # kg x reps, or total reps for body weight
    effect: Effect | None  # the worst of the lines' marks: one lower-back set marks the session
    rpe: float | None = None  # the hardest effort logged at the top weight
    e1rm_kg: float | None = None  # the best estimated one-rep max of its sets (bot/domain/strength.py)

    @property
    def measure(self) -> float:
        """What 'progress' means here: a heavier top set, or more reps for body weight."""
        return self.top_kg if self.top_kg is not None else self.volume


def sessions_of(entries: Sequence[LoggedSet]) -> list[Session]:
    """Group one exercise's lines by date, oldest first."""
    by_date: dict[date, list[LoggedSet]] = {}
    for entry in sorted(entries, key=lambda e: e.at):
        by_date.setdefault(entry.on, []).append(entry)
    sessions = []
    for on, lines in sorted(by_date.items()):
        weighted = [line for line in lines if line.weight_kg is not None]
        top = max(weighted, key=lambda line: line.weight_kg) if weighted else max(lines, key=lambda e: e.sets * e.reps)
        volume = (
            sum(line.weight_kg * line.sets * line.reps for line in weighted)
            if weighted
            else float(sum(line.sets * line.reps for line in lines))
        )
        marks = [line.effect for line in lines if line.effect is not None]
        effect = max(marks, key=lambda e: _SEVERITY.get(e, 1)) if marks else None
        efforts = [line.rpe for line in lines if line.rpe is not None and line.weight_kg == top.weight_kg]
        estimates = [e for line in weighted if (e := estimate_1rm(line.weight_kg, line.reps, line.rpe)) is not None]
        sessions.append(
            Session(
                on,
                lines[0].at,
                lines[-1].at,
                top.weight_kg,
                top.sets,
                top.reps,
                volume,
                effect,
                max(efforts) if efforts else None,
                max(estimates) if estimates else None,
            )
        )
    return sessions


AdviceKind = Literal["stop", "back_off", "deload", "increase", "hold", "grind", "hard"]
EASY_ENOUGH_RPE = 8.0  # clean sessions count toward more load only at this effort or easier
GRIND_RPE = 9.5  # a hinge this close to failure holds the load, whatever the form says


@dataclass(frozen=True)
class Advice:
    """What to do next time, numbers in the person's unit (None for body weight)."""

    kind: AdviceKind
    unit: Unit
    current: float | None = None  # this session's top set
    low: float | None = None  # the suggested load for next time, a range for an increase
    high: float | None = None
    sets: int | None = None  # for a deload: the reduced number of sets
    clean_run: int = 0  # clean sessions in a row at the current load, for "hold"
    rpe: float | None = None  # the last session's effort, for "grind" and "hard"

    @property
    def bodyweight(self) -> bool:
        return self.current is None

    @property
    def next_load(self) -> float | None:
        """The load to put on the bar next time: the low end of an increase or a deload, the
        current load otherwise; none after a red flag."""
        if self.kind == "stop":
            return None
        return self.low if self.kind in ("increase", "deload") else self.current


def advise(
    entries: Sequence[LoggedSet],
    checks: Sequence[FormCheck],
    *,
    unit: Unit,
    now: datetime,
    stall_after: timedelta = STALL_AFTER,
) -> Advice | None:
    """Progression advice from one exercise's log and the check-in answers not tied to a logged set.

    In order: a red flag stops the load; a lower-back answer holds or reduces it and sends the person
    back to the dowel drill; clean form twice running at the current load earns 5-10 lb (2.5-5 kg)
    more, but only sessions at RPE 8 or easier count when effort is logged; RPE 9.5-10 on the last
    session holds the load whatever the form; three weeks without progress (and no clean run to build
    on) call for a deload week; otherwise hold. Answers older than the stall window before the latest
    session are ignored.
    """
    sessions = sessions_of(entries)
    if not sessions:
        return None
    last = sessions[-1]
    current = None if last.top_kg is None else from_kg(last.top_kg, unit)
    recent_enough = last.first_at - stall_after  # an answer from months ago says little about today's form
    signals = sorted(
        [(s.last_at, _signal(s)) for s in sessions if s.effect is not None]
        + [(c.at, c.effect) for c in checks if c.at >= recent_enough]
    )
    latest = signals[-1][1] if signals else None
    if latest == "red_flag":
        return Advice("stop", unit, current)
    if latest == "regress":
        return Advice("back_off", unit, current, low=_lighter(current, unit, 0.8), high=current)
    if last.rpe is not None and last.rpe >= GRIND_RPE:
        return Advice("grind", unit, current, rpe=last.rpe)
    reached = _reached_current_load(sessions)
    run = 0
    for at, effect in reversed(signals):
        if at < reached or effect != "clean":
            break
        run += 1
    if run >= 2:
        if current is None:
            return Advice("increase", unit, clean_run=run)
        low, high = (round_to_step(current + step, unit) for step in INCREASE[unit])
        return Advice("increase", unit, current, low=low, high=high, clean_run=run)
    if _stalled(sessions, now, stall_after):
        return Advice("deload", unit, current, low=_lighter(current, unit, 0.8), sets=max(1, last.sets // 2))
    if latest == "hard":
        return Advice("hard", unit, current, clean_run=run, rpe=last.rpe)
    return Advice("hold", unit, current, clean_run=run)


def _signal(session: Session) -> Effect:
    """A clean session logged harder than RPE 8 is clean but hard: it earns no more load yet."""
    if session.effect == "clean" and session.rpe is not None and session.rpe > EASY_ENOUGH_RPE:
        return "hard"
    return session.effect


def _lighter(current: float | None, unit: Unit, factor: float) -> float | None:
    if current is None:
        return None
    return max(STEP[unit], round_to_step(current * factor, unit))


def _stalled(sessions: Sequence[Session], now: datetime, window: timedelta) -> bool:
    """Logged for longer than the window, yet nothing in the window beat what came before it."""
    start = now - window
    before = [s.measure for s in sessions if s.last_at < start]
    recent = [s.measure for s in sessions if s.last_at >= start]
    return bool(before) and len(recent) >= 2 and max(recent) <= max(before) + 1e-9


def _reached_current_load(sessions: Sequence[Session]) -> datetime:
    """When the current load was first reached: clean sessions before an increase do not count after it."""
    current = sessions[-1].measure
    reached = sessions[-1].first_at
    for session in reversed(sessions):
        if session.measure + 1e-9 < current:
            break
        reached = session.first_at
    return reached
