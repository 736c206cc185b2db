"""Load `content/`, validate it against the models and check every reference between files.

Errors carry the file and line of the offending value, so `coach content check` reads like a
compiler: `content/lessons/day-3.yaml:12: unknown drill 'dowl-hinge'`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.callback_data import MAX_ROW_ID, CheckinPress
from bot.content.models import (
    PAIN_OPTION,
    CheckinTree,
    Content,
    Course,
    Cue,
    Drill,
    ExerciseNames,
    Lesson,
    Lexicon,
    MiniAppTexts,
    Plural,
    Screen,
    Texts,
)
from bot.domain.text import stem_word
from bot.language import BASE_LANGUAGE

ALLOWED_TAG = re.compile(r"</?(b|i|u|code)>")
ENTITY = re.compile(r"&(amp|lt|gt|quot|#\d+);")

Path_ = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T", Drill, Cue)


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ContentError(Exception):
    """The content does not validate; `problems` lists every error found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class _Source:
    """One parsed YAML file and the line of every value in it, keyed by its path of keys."""

    file: Path
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def _to_python(loader: yaml.SafeLoader, node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result = {}
        for key_node, value_node in node.value:
            key = key_node.value
            result[key] = _to_python(loader, value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(loader, item, (*path, i), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed: three languages parse in a blink


# The files parsed so far in this load, with the problems each parse found: a library load reads
# the English files for itself and again against every translation (None: outside a load, no memo).
_parsed: ContextVar[dict[Path, tuple[_Source | None, list[Problem]]] | None] = ContextVar("_parsed", default=None)


@contextmanager
def parsing_once() -> Iterator[None]:
    """Within it, each file is parsed once; its problems still go to every caller's list. Only for
    one load: content is read again when its files change."""
    token = _parsed.set({})
    try:
        yield
    finally:
        _parsed.reset(token)


def _parse(file: Path, problems: list[Problem]) -> _Source | None:
    memo = _parsed.get()
    if memo is None:
        return _parse_file(file, problems)
    if file not in memo:
        found: list[Problem] = []
        memo[file] = (_parse_file(file, found), found)
    source, found = memo[file]
    problems += found
    return source


def _parse_file(file: Path, problems: list[Problem]) -> _Source | None:
    try:
        loader = FastLoader(file.read_text(encoding="utf-8"))
        try:
            root = loader.get_single_node()
            source = _Source(file, None)
            source.data = _to_python(loader, root, (), source.lines) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problems.append(Problem(file, line, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
        return None
    except OSError as exc:
        problems.append(Problem(file, 1, f"cannot read: {exc.strerror}"))
        return None
    return source


def _validate(model: type[M], source: _Source, problems: list[Problem], data: Any = None, at: Path_ = ()) -> M | None:
    try:
        return model.model_validate(source.data if data is None else data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = (*at, *err["loc"])
            where = ".".join(str(part) for part in loc) or "file"
            problems.append(Problem(source.file, source.line(loc), f"{where}: {err['msg']}"))
        return None


def _html_problems(value: Any, path: Path_) -> Iterator[tuple[Path_, str]]:
    """Text is sent as Telegram HTML: only simple tags, and no bare '<' or '&'."""
    if isinstance(value, str):
        stripped = ALLOWED_TAG.sub("", ENTITY.sub("", value))
        if "<" in stripped or ">" in stripped:
            yield path, "only <b>, <i>, <u> and <code> tags are allowed; write &lt; for '<'"
        elif "&" in stripped:
            yield path, "a bare '&' breaks Telegram HTML; write 'and' or &amp;"
        else:
            for tag in ("b", "i", "u", "code"):
                if value.count(f"<{tag}>") != value.count(f"</{tag}>"):
                    yield path, f"unbalanced <{tag}> tag"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _html_problems(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _html_problems(item, (*path, i))


def _keyed(items: list[Any], model: type[T], source: _Source, key: str, problems: list[Problem]) -> dict[str, T]:
    result: dict[str, T] = {}
    for i, raw in enumerate(items):
        item = _validate(model, source, problems, raw, (key, i))
        if item is None:
            continue
        if item.id in result:
            problems.append(Problem(source.file, source.line((key, i, "id")), f"duplicate id '{item.id}'"))
        result[item.id] = item
    return result


def load_content(
    root: Path,
    *,
    language: str = BASE_LANGUAGE,
    lexicons_dir: Path | None = None,
    lexicons: dict[str, Lexicon] | None = None,
) -> Content:
    """Parse and check everything under `root` (one language's tree); raise ContentError listing
    every problem. The lexicons of every language live in one folder, `root/lexicons` by default;
    `lexicons` already loaded (by the base language) are used as they are."""
    problems: list[Problem] = []
    files = ("course", "drills", "cues", "checkin", "texts", "miniapp")
    sources = {name: _parse(root / f"{name}.yaml", problems) for name in files}
    lesson_files = sorted((root / "lessons").glob("*.yaml"))
    if not lesson_files:
        problems.append(Problem(root / "lessons", 1, "no lesson files (day-1.yaml ... day-7.yaml)"))
    lesson_sources = [s for s in (_parse(f, problems) for f in lesson_files) if s is not None]
    lexicons_dir = lexicons_dir or root / "lexicons"
    lexicon_files = sorted(lexicons_dir.glob("*.yaml")) if lexicons is None else []
    if not lexicon_files and lexicons is None:
        problems.append(Problem(lexicons_dir, 1, "no lexicon files (en.yaml ...)"))
    lexicon_sources = [s for s in (_parse(f, problems) for f in lexicon_files) if s is not None]
    for source in [*sources.values(), *lesson_sources]:
        if source is not None:
            for path, message in _html_problems(source.data, ()):
                problems.append(Problem(source.file, source.line(path), message))
    if any(s is None for s in sources.values()):
        raise ContentError(problems)  # the rest cannot be checked without every file

    def listed(name: str, key: str) -> list[Any]:
        data = sources[name].data
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            problems.append(Problem(sources[name].file, 1, f"expected a top-level '{key}:' list"))
            return []
        return data[key]

    drills = _keyed(listed("drills", "drills"), Drill, sources["drills"], "drills", problems)
    cues = _keyed(listed("cues", "cues"), Cue, sources["cues"], "cues", problems)
    course = _validate(Course, sources["course"], problems)
    checkin = _validate(CheckinTree, sources["checkin"], problems)
    texts = _validate(Texts, sources["texts"], problems)
    if texts is not None:
        texts._language = language
    for value in dict(texts or {}).values():
        if isinstance(value, Plural):
            value._language = language  # its forms are picked by this language's plural rules
    lessons: dict[int, tuple[Lesson, _Source]] = {}
    for source in lesson_sources:
        lesson = _validate(Lesson, source, problems)
        if lesson is None:
            continue
        if lesson.day in lessons:
            other = lessons[lesson.day][1].file
            problems.append(Problem(source.file, source.line(("day",)), f"day {lesson.day} is also in {other}"))
        lessons[lesson.day] = (lesson, source)
    lexicons = _lexicons(lexicon_sources, problems) if lexicons is None else lexicons
    exercise_names = None
    if (root / "exercises.yaml").exists():
        exercises_source = _parse(root / "exercises.yaml", problems)
        exercise_names = _validate(ExerciseNames, exercises_source, problems) if exercises_source else None
    miniapp = _validate(MiniAppTexts, sources["miniapp"], problems) if sources["miniapp"] else None
    missing_days = sorted(set(range(1, len(lesson_sources) + 1)) - set(lessons))
    if missing_days and len(lessons) == len(lesson_sources):
        problems.append(Problem(root / "lessons", 1, f"days must run 1..N without gaps; missing {missing_days}"))

    refs = _References(drills, cues, problems)
    refs.check_catalogues(sources["drills"], sources["cues"])
    for lesson, source in lessons.values():
        refs.check_lesson(lesson, source, checkin)
    if checkin is not None:
        refs.check_tree(checkin, sources["checkin"], days=len(lessons))

    if problems or course is None or checkin is None or texts is None or miniapp is None or "en" not in lexicons:
        if not problems:
            problems.append(Problem(lexicons_dir, 1, "no English lexicon (en.yaml)"))
        raise ContentError(problems)
    return Content(
        course=course,
        lessons=tuple(lesson for _, (lesson, _) in sorted(lessons.items())),
        drills=drills,
        cues=cues,
        checkin=checkin,
        texts=texts,
        lexicons=lexicons,
        exercise_names=exercise_names.exercises if exercise_names else {},
        miniapp=miniapp,
    )


def _lexicons(sources: list[_Source], problems: list[Problem]) -> dict[str, Lexicon]:
    """One lexicon per language, named after it (en.yaml holds language: en); a phrase listed twice
    under the same heading (after stemming, in a language with a stemmer) is a slip worth reporting."""
    found: dict[str, Lexicon] = {}
    for source in sources:
        lexicon = _validate(Lexicon, source, problems)
        if lexicon is None:
            continue
        if source.file.stem != lexicon.language:
            where = source.line(("language",))
            problems.append(
                Problem(source.file, where, f"the '{lexicon.language}' lexicon belongs in {lexicon.language}.yaml")
            )
        skip = set(lexicon.skip)
        stem = stem_word(lexicon.stemmer) if lexicon.stemmer else str
        for heading in ("regions", "sensations", "events", "times", "qualities", "movements", "answers"):
            seen: dict[tuple[str, ...], tuple[str, str]] = {}
            for concept, phrases in getattr(lexicon, heading).items():
                for i, phrase in enumerate(phrases):
                    read = tuple(stem(word) for word in phrase.split() if word not in skip)  # as the reader sees it
                    first, as_read = seen.get(read, (concept, phrase))
                    if first != concept:
                        same = f"'{phrase}'" if as_read == phrase else f"'{phrase}' (read as '{as_read}')"
                        problems.append(
                            Problem(
                                source.file,
                                source.line((heading, concept, i)),
                                f"{same} is under both {heading}.{first} and {heading}.{concept}",
                            )
                        )
                    seen.setdefault(read, (concept, phrase))
        found[lexicon.language] = _with_screen(lexicon, source.file.with_suffix(".screen.json"), problems)
    return found


def _with_screen(lexicon: Lexicon, file: Path, problems: list[Problem]) -> Lexicon:
    """The lexicon with its injury screen, when the generated weights file is there and valid."""
    if not file.exists():
        return lexicon
    try:
        screen = Screen.model_validate(json.loads(file.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:  # a ValidationError is a ValueError
        problems.append(Problem(file, 1, f"not a valid injury screen: {str(exc).splitlines()[0]}"))
        return lexicon
    if screen.language != lexicon.language:
        said = f"the screen is for '{screen.language}', the lexicon for '{lexicon.language}'"
        problems.append(Problem(file, 1, said))
        return lexicon
    return lexicon.model_copy(update={"screen": screen})


@dataclass
class _References:
    """Cross-file checks: every id named anywhere must exist, and the tree must be walkable."""

    drills: dict[str, Drill]
    cues: dict[str, Cue]
    problems: list[Problem]

    def _need(self, kind: str, ident: str, known: dict[str, Any], source: _Source, path: Path_) -> None:
        if ident not in known:
            self.problems.append(Problem(source.file, source.line(path), f"unknown {kind} '{ident}'"))

    def check_catalogues(self, drills_src: _Source, cues_src: _Source) -> None:
        for i, drill in enumerate(self.drills.values()):
            for j, cue in enumerate(drill.cues):
                self._need("cue", cue, self.cues, drills_src, ("drills", i, "cues", j))
        for i, cue in enumerate(self.cues.values()):
            for j, drill in enumerate(cue.drills):
                self._need("drill", drill, self.drills, cues_src, ("cues", i, "drills", j))

    def check_lesson(self, lesson: Lesson, source: _Source, tree: CheckinTree | None) -> None:
        for i, item in enumerate(lesson.drills):
            self._need("drill", item.drill, self.drills, source, ("drills", i, "drill"))
        for phase in ("down", "up"):
            for j, cue in enumerate(getattr(lesson.cues, phase)):
                self._need("cue", cue, self.cues, source, ("cues", phase, j))
        if lesson.checkin is not None and tree is not None and lesson.checkin not in tree.entry_points:
            self.problems.append(
                Problem(source.file, source.line(("checkin",)), f"unknown check-in question '{lesson.checkin}'")
            )

    def check_tree(self, tree: CheckinTree, source: _Source, days: int) -> None:
        nodes = {node.id: node for node in tree.nodes}
        advice = {item.id: item for item in tree.advice}
        if len(nodes) != len(tree.nodes):
            self.problems.append(Problem(source.file, source.line(("nodes",)), "duplicate node id"))
        if len(advice) != len(tree.advice):
            self.problems.append(Problem(source.file, source.line(("advice",)), "duplicate advice id"))
        for i, entry in enumerate(tree.entry_points):
            self._need("node", entry, nodes, source, ("entry_points", i))
        self._need("advice", tree.red_flag.advice, advice, source, ("red_flag", "advice"))
        self._need("node", tree.pain_check, nodes, source, ("pain_check",))
        used_advice = {tree.red_flag.advice}
        reached = set(tree.entry_points)
        for i, node in enumerate(tree.nodes):
            option_ids = [option.id for option in node.options]
            if len(set(option_ids)) != len(option_ids):
                self.problems.append(Problem(source.file, source.line(("nodes", i, "options")), "duplicate option id"))
            for j, option in enumerate(node.options):
                at = ("nodes", i, "options", j)
                if not _fits_a_button(CheckinPress(MAX_ROW_ID, days, node.id, option.id)):
                    self.problems.append(
                        Problem(
                            source.file,
                            source.line(at),
                            f"button for '{node.id}' / '{option.id}' is over 64 bytes or has ids outside a-z 0-9 _ -",
                        )
                    )
                if option.next is not None:
                    self._need("node", option.next, nodes, source, (*at, "next"))
                    reached.add(option.next)
                if option.advice is not None:
                    self._need("advice", option.advice, advice, source, (*at, "advice"))
                    used_advice.add(option.advice)
        for i, node in enumerate(tree.nodes):
            opens_check = any(o.id == PAIN_OPTION and o.next == tree.pain_check for o in node.options)
            if node.id != tree.pain_check and not opens_check:
                self.problems.append(
                    Problem(
                        source.file,
                        source.line(("nodes", i, "options")),
                        f"node '{node.id}' needs an option '{PAIN_OPTION}' with next: {tree.pain_check}",
                    )
                )
            if node.id not in reached:
                self.problems.append(
                    Problem(source.file, source.line(("nodes", i, "id")), f"node '{node.id}' is never reached")
                )
        for i, item in enumerate(tree.advice):
            if item.effect == "red_flag" and (item.cues or item.drills):
                listed = "cues" if item.cues else "drills"
                self.problems.append(
                    Problem(
                        source.file, source.line(("advice", i, listed)), "the safety answer gives no form cue or drill"
                    )
                )
            if item.id not in used_advice:
                self.problems.append(
                    Problem(source.file, source.line(("advice", i, "id")), f"advice '{item.id}' is never given")
                )
            for j, dose in enumerate(item.drills):
                self._need("drill", dose.drill, self.drills, source, ("advice", i, "drills", j, "drill"))
            for j, cue in enumerate(item.cues):
                self._need("cue", cue, self.cues, source, ("advice", i, "cues", j))
        self._check_paths_end(tree, nodes, source)

    def _check_paths_end(self, tree: CheckinTree, nodes: dict[str, Any], source: _Source) -> None:
        """A follow-up that leads back to itself would never reach advice."""
        for start in tree.entry_points:
            stack: list[tuple[str, tuple[str, ...]]] = [(start, ())]
            while stack:
                node_id, trail = stack.pop()
                if node_id in trail:
                    index = next(i for i, n in enumerate(tree.nodes) if n.id == node_id)
                    cycle = " -> ".join((*trail, node_id))
                    self.problems.append(Problem(source.file, source.line(("nodes", index)), f"cycle {cycle}"))
                    return
                node = nodes.get(node_id)
                if node is not None:
                    stack.extend((o.next, (*trail, node_id)) for o in node.options if o.next)


def _fits_a_button(press: CheckinPress) -> bool:
    """Whether a check-in button with the widest id the database holds packs within Telegram's
    64 bytes and reads back as itself."""
    try:
        return CheckinPress.unpack(press.pack()) == press
    except ValueError:
        return False
