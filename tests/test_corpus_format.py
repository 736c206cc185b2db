"""The check-in corpus files keep the shared format of CHECKIN_LABELS.md.

A malformed or mislabelled row would silently skew the accuracy benchmark, so every row is checked
here with its file and line; the held-out file must also keep the size it was frozen at.
"""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
HELD_OUT = DATA_DIR / "checkin_heldout.yaml"
CORPUS_FILES = sorted(DATA_DIR.glob("checkin_*.yaml"))
# The C loader when PyYAML has it: every line is parsed on its own, a few thousand times per run.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ROW_KEYS = {"q", "text", "expect", "cat"}
ANY_QUESTION = {"red-flag", "safety-question", "ask"}
REGIONS = {"upper-back", "neck", "inner-thigh", "hip-flexor", "calves", "grip"}
OUTCOMES = {
    "felt-where": ANY_QUESTION
    | REGIONS
    | {"feet", "hams-glutes", "lower-back", "quads-knees", "nothing-much", "tight-hams", "pelvic-floor"},
    "felt-where-single-leg": ANY_QUESTION
    | REGIONS
    | {"standing-glute", "turned-away", "hip-popped", "foot-lost", "lower-back"},
    "lower-back-why": ANY_QUESTION | REGIONS | {"rounded", "drifted", "not-sure"},
    "pain-check": {"red-flag", "no-red-flag"},
}
CATEGORIES = {"clean", "fault", "mixed", "region", "red-flag", "pain-unclear", "near-miss", "pain-check", "noise"}
# What a category's definition in CHECKIN_LABELS.md allows as the expected outcome.
CATEGORY_OUTCOMES = {
    "clean": {"hams-glutes", "standing-glute"},
    "region": REGIONS | {"feet"},
    "red-flag": {"red-flag"},
    "pain-unclear": {"safety-question"},
    "noise": {"ask"},
    "pain-check": OUTCOMES["pain-check"],
}
MAIN_QUESTIONS = ("felt-where", "felt-where-single-leg", "lower-back-why")
HELD_OUT_MINIMUMS = {"red-flag": 85, "near-miss": 45, "pain-unclear": 20, "pain-check": 15}
HELD_OUT_MIN_ROWS = 440
HELD_OUT_MAX_NOISE = 25


def read_rows(path):
    """Each data line parsed on its own: the format is one flow mapping per line."""
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            parsed = yaml.load(stripped, Loader=YAML_LOADER)
        except yaml.YAMLError as error:
            pytest.fail(f"{path.name}:{lineno}: not YAML on one line ({error.problem})")
        assert isinstance(parsed, list) and len(parsed) == 1 and isinstance(parsed[0], dict), (
            f"{path.name}:{lineno}: not a one-line row `- {{q: ..., text: ..., expect: ..., cat: ...}}`"
        )
        rows.append((f"{path.name}:{lineno}", parsed[0]))
    return rows


def normalised(text):
    return " ".join(text.casefold().split())


def test_the_held_out_corpus_exists():
    assert HELD_OUT in CORPUS_FILES


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.name)
def test_every_line_is_one_row_and_the_file_is_plain_yaml(path):
    rows = [row for _, row in read_rows(path)]
    assert yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER) == rows


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.name)
def test_every_row_is_well_formed_and_labelled_within_its_question(path):
    problems = []
    for where, row in read_rows(path):
        if set(row) != ROW_KEYS:
            problems.append(f"{where}: keys {sorted(row)}, expected {sorted(ROW_KEYS)}")
            continue
        if not isinstance(row["text"], str) or not row["text"].strip():
            problems.append(f"{where}: text must be a non-empty string")
        if row["q"] not in OUTCOMES:
            problems.append(f"{where}: unknown question {row['q']!r}")
            continue
        if row["expect"] not in OUTCOMES[row["q"]]:
            problems.append(f"{where}: {row['expect']!r} is not an outcome of {row['q']}")
        if row["cat"] not in CATEGORIES:
            problems.append(f"{where}: unknown category {row['cat']!r}")
            continue
        allowed = CATEGORY_OUTCOMES.get(row["cat"])
        if allowed is not None and row["expect"] not in allowed:
            problems.append(f"{where}: category {row['cat']} cannot expect {row['expect']!r}")
        if row["cat"] == "near-miss" and row["expect"] == "red-flag":
            problems.append(f"{where}: a near-miss is by definition not a red flag")
        if (row["cat"] == "pain-check") != (row["q"] == "pain-check"):
            problems.append(f"{where}: category pain-check is exactly the answers to the pain-check question")
    assert not problems, "\n".join(problems)


def _language(path: Path) -> str:
    """checkin_es_dev.yaml is Spanish; a file without a language code is English."""
    code = path.stem.split("_")[1]
    return code if len(code) == 2 else "en"


def test_no_text_appears_twice_in_any_corpus_file():
    """A repeat inside the held-out file inflates a figure; one shared with the dev file leaks the test.
    Each language's files are read by that language's reader, so "🤔🤔" may stand in two of them."""
    seen = {}
    repeats = []
    for path in CORPUS_FILES:
        for where, row in read_rows(path):
            key = (_language(path), normalised(str(row.get("text", ""))))
            if key in seen:
                repeats.append(f"{where}: same text as {seen[key]}")
            else:
                seen[key] = where
    assert not repeats, "\n".join(repeats)


def test_the_held_out_corpus_keeps_its_size_and_mix():
    rows = [row for _, row in read_rows(HELD_OUT)]
    per_category = Counter(row["cat"] for row in rows)
    assert len(rows) >= HELD_OUT_MIN_ROWS
    for category, minimum in HELD_OUT_MINIMUMS.items():
        assert per_category[category] >= minimum, category
    assert per_category["noise"] <= HELD_OUT_MAX_NOISE
    for question in MAIN_QUESTIONS:
        categories = {row["cat"] for row in rows if row["q"] == question}
        assert {"red-flag", "near-miss", "pain-unclear", "fault", "mixed"} <= categories, question


def test_the_held_out_header_states_the_real_counts():
    header = "".join(line for line in HELD_OUT.read_text(encoding="utf-8").splitlines() if line.startswith("#"))
    stated = dict(re.findall(r"\b([a-z][a-z-]*) (\d+)\b", header.split("Rows per category:", 1)[1].split(".")[0]))
    actual = Counter(row["cat"] for _, row in read_rows(HELD_OUT))
    assert {category: int(count) for category, count in stated.items()} == dict(actual)
