"""Every language the coach speaks: English in `content/`, each other one an overlay tree
`content/<code>/` with the same files, ids and keys, loaded and checked against English.

What `coach content check` adds for a translation, each with file and line: a key missing from or
added to the English shape, an id that differs, a {placeholder} that differs from English, a plural
mapping without a CLDR category the language needs (or with one it has not), a button label over
the length a phone shows, and a word the language's glossary forbids.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from bot.content.loader import (
    ContentError,
    Path_,
    Problem,
    _parse,
    _Source,
    _validate,
    load_content,
    parsing_once,
)
from bot.content.models import Content, ExerciseName, Strict
from bot.domain.reader import Readers
from bot.domain.text import stemmer
from bot.domain.training import LIFTS
from bot.language import BASE_LANGUAGE, PLURAL_CATEGORIES, current_language, plural_categories

LANGUAGE_DIR = re.compile(r"^[a-z]{2}$")
CONTENT_FILES = ("course", "drills", "cues", "checkin", "texts", "miniapp")
# Values that name things rather than say them: a translation keeps them exactly as in English.
IDENTITY_KEYS = frozenset(
    {"id", "drill", "advice", "next", "checkin", "plural", "effect", "day", "button", "topics", "cues", "drills"}
)
# Lists whose length is the translator's to choose: what people say, steps a coach may split or join.
FREE_LISTS = frozenset({"phrases", "synonyms", "steps"})
# What people say rather than what the coach says: the glossary leaves their slang alone.
PEOPLES_WORDS = frozenset({"phrases", "synonyms"})
# Texts shown on a button: Telegram cuts a longer label with an ellipsis on a phone.
BUTTON_LABEL_MAX = 30
BUTTON_TEXTS = re.compile(r"(_button|_yes|_no|_partly|^profile_\w+|^cue_topic_\w+|^log_felt_(clean|back))$")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
WORD = re.compile(r"\w+")
NOT_READ = re.compile(r"<code>.*?</code>|\{\w+\}|</?\w+>", re.DOTALL)


class GlossaryTerm(Strict):
    """One term: the English words, the one way this language says them (under the language's
    code: `es: bisagra de cadera`), the ways it must not."""

    en: str
    use: str
    avoid: list[str] = Field(default=[])


class Glossary(Strict):
    terms: list[GlossaryTerm] = Field(min_length=1)


@dataclass(frozen=True)
class Library:
    """The content of every language by code. `current` is the language being spoken now
    (bot.language.current_language); a code we do not have reads as the base language."""

    contents: dict[str, Content]
    # The check-in reader of each language, built once per library (a reader takes long to build)
    readers: Readers = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "readers", Readers(self.base.lexicons, default=BASE_LANGUAGE))

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.contents)

    def __getitem__(self, language: str) -> Content:
        return self.contents.get(language) or self.contents[BASE_LANGUAGE]

    @property
    def current(self) -> Content:
        return self[current_language.get()]

    @property
    def base(self) -> Content:
        return self.contents[BASE_LANGUAGE]


def overlay_languages(root: Path) -> list[str]:
    """The language trees under `root`: two-letter folders (the lexicons and lessons folders are not)."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and LANGUAGE_DIR.match(p.name))


def load_library(root: Path) -> Library:
    """English and every overlay language, each checked on its own and against English; one
    ContentError lists every problem in every language. A tree read before and unchanged on disk
    since is not read again (a test run builds hundreds of bots from one tree)."""
    root = root.resolve()
    files = sorted([*root.rglob("*.yaml"), *root.rglob("*.screen.json")])
    return _load_library(root, tuple((str(path), path.stat().st_mtime_ns, path.stat().st_size) for path in files))


@functools.lru_cache(maxsize=16)
def _load_library(root: Path, fingerprint: tuple[tuple[str, int, int], ...]) -> Library:
    with parsing_once():  # English is read for itself and against each translation: parse each file once
        return _load_languages(root)


def _load_languages(root: Path) -> Library:
    problems: list[Problem] = []
    contents: dict[str, Content] = {}
    try:
        contents[BASE_LANGUAGE] = load_content(root)
    except ContentError as exc:
        problems += exc.problems
    english_texts = _parse(root / "texts.yaml", [])
    if english_texts is not None and isinstance(english_texts.data, dict):
        problems += _long_buttons(english_texts)
    for language in overlay_languages(root):
        tree = root / language
        problems += check_against_english(root, tree, language)
        try:
            base = contents.get(BASE_LANGUAGE)
            lexicons = base.lexicons if base is not None else None  # parsed once, for every language
            contents[language] = load_content(
                tree, language=language, lexicons_dir=root / "lexicons", lexicons=lexicons
            )
        except ContentError as exc:
            problems += exc.problems
    if BASE_LANGUAGE in contents:
        base = contents[BASE_LANGUAGE]
        for language in sorted(set(contents) - {BASE_LANGUAGE}):
            contents[language] = _with_english_names(contents[language], base, tree=root / language, problems=problems)
    if problems:
        raise ContentError(_unique(problems))
    return Library(contents)


def _with_english_names(content: Content, base: Content, *, tree: Path, problems: list[Problem]) -> Content:
    """/log in a translation understands the English names too: each drill's English name becomes
    an alias of its translated one. A name for an exercise /log does not know is an error."""
    known = set(base.drills) | {lift.key for lift in LIFTS}
    for key in sorted(set(content.exercise_names) - known):
        problems.append(
            Problem(
                tree / "exercises.yaml",
                1,
                f"unknown exercise '{key}' (a drill id or {sorted(known - set(base.drills))})",
            )
        )
    names = dict(content.exercise_names)
    for drill_id, drill in base.drills.items():
        mine = names.get(drill_id, ExerciseName())
        names[drill_id] = ExerciseName(name=mine.name, aliases=[*mine.aliases, drill.name])
    return content.model_copy(update={"exercise_names": names})


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _relative_files(root: Path) -> list[Path]:
    return [Path(f"{name}.yaml") for name in CONTENT_FILES] + sorted(
        p.relative_to(root) for p in (root / "lessons").glob("*.yaml")
    )


def check_against_english(root: Path, tree: Path, language: str) -> list[Problem]:
    """Every file of the English tree has its twin in `tree` with the same shape (see the module's
    docstring), and no file the English tree lacks; then the glossary."""
    problems: list[Problem] = []
    english_files = _relative_files(root)
    for relative in english_files:
        if not (tree / relative).exists():
            problems.append(Problem(tree / relative, 1, f"missing: the {language} twin of {root / relative}"))
            continue
        english, translated = _parse(root / relative, []), _parse(tree / relative, problems)
        if english is not None and translated is not None:
            _Twin(english, translated, language, problems).compare(english.data, translated.data, ())
    translated_texts = _parse(tree / "texts.yaml", []) if (tree / "texts.yaml").exists() else None
    if translated_texts is not None and isinstance(translated_texts.data, dict):
        problems += _long_buttons(translated_texts)
    for extra in sorted(set(_relative_files(tree)) - set(english_files)):
        problems.append(Problem(tree / extra, 1, "extra file: English has no such file"))
    glossary_file = tree / "glossary.yaml"
    if not glossary_file.exists():
        problems.append(Problem(glossary_file, 1, f"missing: every language has a glossary ({language})"))
    else:
        problems += _check_glossary(glossary_file, [tree / relative for relative in english_files], language)
    return problems


@dataclass
class _Twin:
    english: _Source
    translated: _Source
    language: str
    problems: list[Problem]

    def _say(self, path: Path_, message: str) -> None:
        self.problems.append(Problem(self.translated.file, self.translated.line(path), message))

    def compare(self, english: Any, translated: Any, path: Path_) -> None:
        where = ".".join(str(p) for p in path) or "file"
        if isinstance(english, dict) and "plural" in english:
            self._plural(english, translated, path)
        elif isinstance(english, dict):
            if not isinstance(translated, dict):
                self._say(path, f"{where}: expected a mapping as in English")
                return
            for key in english:
                if key not in translated:
                    self._say(path, f"missing key '{'.'.join(str(p) for p in (*path, key))}'")
            for key in translated:
                if key not in english:
                    self._say((*path, key), f"extra key '{'.'.join(str(p) for p in (*path, key))}': English has none")
            for key in english.keys() & translated.keys():
                self.compare(english[key], translated[key], (*path, key))
        elif isinstance(english, list):
            self._list(english, translated, path, where)
        elif not isinstance(english, str) or path and path[-1] in IDENTITY_KEYS and SLUG.match(english):
            if translated != english:
                self._say(path, f"{where}: must stay {english!r} as in English")
        elif not isinstance(translated, str):
            self._say(path, f"{where}: expected a text as in English")
        else:
            self._text(english, translated, path, where)

    def _list(self, english: list[Any], translated: Any, path: Path_, where: str) -> None:
        if not isinstance(translated, list):
            self._say(path, f"{where}: expected a list as in English")
            return
        if path and path[-1] in FREE_LISTS:
            return
        if english and all(isinstance(e, str) and SLUG.match(e) for e in english):  # ids: cues, drills, topics
            if translated != english:
                self._say(path, f"{where}: must list {english} as in English")
            return
        ids = [item.get("id") for item in english if isinstance(item, dict)]
        if ids and all(ids) and all(isinstance(item, dict) for item in translated):
            theirs = {item.get("id"): i for i, item in enumerate(translated)}
            for item in english:
                if item["id"] not in theirs:
                    self._say(path, f"{where}: missing '{item['id']}'")
                else:
                    self.compare(item, translated[theirs[item["id"]]], (*path, theirs[item["id"]]))
            for ident, i in theirs.items():
                if ident not in ids:
                    self._say((*path, i), f"{where}: extra '{ident}': English has none")
            return
        if len(translated) != len(english):
            self._say(path, f"{where}: {len(translated)} items, English has {len(english)}")
        for i, (mine, theirs) in enumerate(zip(english, translated, strict=False)):
            self.compare(mine, theirs, (*path, i))

    def _text(self, english: str, translated: str, path: Path_, where: str) -> None:
        mine, theirs = _placeholders(english), _placeholders(translated)
        if mine != theirs:
            self._say(path, f"{where}: placeholders {sorted(theirs)} differ from English {sorted(mine)}")

    def _plural(self, english: dict[str, Any], translated: Any, path: Path_) -> None:
        where = ".".join(str(p) for p in path)
        if not isinstance(translated, dict) or "plural" not in translated:
            self._say(path, f"{where}: needs plural forms (plural: {english['plural']}, then one of each category)")
            return
        if translated["plural"] != english["plural"]:
            self._say((*path, "plural"), f"{where}: the count is {{{english['plural']}}} as in English")
        needed = plural_categories(self.language)
        given = {key for key in translated if key in PLURAL_CATEGORIES}
        for category in sorted(needed - given):
            self._say(path, f"{where}: missing the '{category}' form {self.language} needs")
        for category in sorted(given - needed):
            self._say((*path, category), f"{where}: '{category}' is no plural form of {self.language}")
        for key in sorted(set(translated) - set(PLURAL_CATEGORIES) - {"plural"}):
            self._say((*path, key), f"{where}: '{key}' is not a plural category")
        expected = _placeholders(str(english["other"]))
        for category in sorted(given):
            found = _placeholders(str(translated[category]))
            # 'one' (and zero, two) may say the number in words: "a set", "один подход"
            missing = expected - found - ({english["plural"]} if category in ("zero", "one", "two") else set())
            if found - expected or missing:
                self._say(
                    (*path, category),
                    f"{where}.{category}: placeholders {sorted(found)} differ from English {sorted(expected)}",
                )


def _long_buttons(texts: _Source) -> list[Problem]:
    """Button labels of texts.yaml that a phone would cut."""
    return [
        Problem(
            texts.file,
            texts.line((key,)),
            f"{key}: a button label of {len(value.strip())} characters; at most {BUTTON_LABEL_MAX}",
        )
        for key, value in texts.data.items()
        if BUTTON_TEXTS.search(key) and isinstance(value, str) and len(value.strip()) > BUTTON_LABEL_MAX
    ]


def _placeholders(text: str) -> set[str]:
    """The {names} a text is filled with; a stray brace shows as one that English lacks."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:
        return {"{unbalanced brace}"}


def _words(text: str) -> list[str]:
    """The words a person reads: not {placeholders}, tags, or <code> examples to type."""
    return WORD.findall(NOT_READ.sub(" ", text).lower())


@dataclass(frozen=True)
class _Variant:
    """A forbidden variant, matched in any word form: a word matches when it is the variant's word,
    or shares a stem long enough to mean something (5 letters: 'del' is no 'deload') that the
    preferred term does not share ('bisagrear' and 'bisagra' are one stem, so only the word counts)."""

    words: tuple[str, ...]
    stems: tuple[str, ...]
    preferred: frozenset[str]

    def may_be_in(self, words: set[str], stems: set[str]) -> bool:
        """A cheap look at a text's words first: most texts hold no word of the variant at all."""
        return self.words[0] in words or (self._stem_counts(0) and self.stems[0] in stems)

    def found_in(self, words: list[str], stems: list[str]) -> bool:
        n = len(self.words)
        return any(all(self._same(words[i + k], stems[i + k], k) for k in range(n)) for i in range(len(words) - n + 1))

    def _same(self, word: str, stem: str, k: int) -> bool:
        return word == self.words[k] or (self._stem_counts(k) and stem == self.stems[k])

    def _stem_counts(self, k: int) -> bool:
        mine = self.stems[k]
        return len(mine) >= 5 and mine not in self.preferred


def _check_glossary(file: Path, files: list[Path], language: str) -> list[Problem]:
    """No text the coach says in the language uses a variant its glossary forbids, in any word form.
    What people say (check-in phrases, cue synonyms) is left alone: slang is what they type."""
    problems: list[Problem] = []
    source = _parse(file, problems)
    data = source.data if source is not None else None
    if isinstance(data, dict) and isinstance(data.get("terms"), list):
        # the preferred term sits under the language's own code; the parsed file itself is left as read
        terms = [
            {k: v for k, v in term.items() if k != language} | {"use": term[language]}
            if isinstance(term, dict) and language in term
            else term
            for term in data["terms"]
        ]
        data = {**data, "terms": terms}
    glossary = _validate(Glossary, source, problems, data) if source is not None else None
    if glossary is None:
        return problems
    stem = stemmer(language)
    forbidden = [
        (
            _Variant(tuple(_words(variant)), tuple(stem(_words(variant))), frozenset(stem(_words(term.use)))),
            variant,
            term,
        )
        for term in glossary.terms
        for variant in term.avoid
        if _words(variant)
    ]
    for path in files:
        text_source = _parse(path, []) if path.exists() else None
        if text_source is None:
            continue
        for at, text in _texts(text_source.data, ()):
            words = _words(text)
            stems = stem(words)
            word_set, stem_set = set(words), set(stems)
            for variant, said, term in forbidden:
                if variant.may_be_in(word_set, stem_set) and variant.found_in(words, stems):
                    problems.append(
                        Problem(
                            path,
                            text_source.line(at),
                            f"'{said}' is not our word for '{term.en}': the glossary ({file.name}) says '{term.use}'",
                        )
                    )
    return problems


def _texts(value: Any, path: Path_) -> list[tuple[Path_, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [
            found
            for key, item in value.items()
            if key not in IDENTITY_KEYS | PEOPLES_WORDS
            for found in _texts(item, (*path, key))
        ]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in _texts(item, (*path, i))]
    return []
