"""Languages as content: every translation checked against English with file and line, plurals by
CLDR's rules, Telegram's language codes, dates in the language, and cue search in each one."""

import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.app import CONTENT_DIR
from bot.content import ContentError
from bot.content.languages import load_library
from bot.domain.cue_search import build_cue_index
from bot.domain.timezones import resolve_timezone
from bot.language import date_text, from_telegram, number_text, plural_categories, speaking, whole_number_text

LIBRARY = load_library(CONTENT_DIR)


def test_every_shipped_language_has_the_english_shape():
    assert set(LIBRARY.languages) >= {"en", "es", "ru"}
    for content in LIBRARY.contents.values():
        assert [lesson.day for lesson in content.lessons] == [lesson.day for lesson in LIBRARY.base.lessons]
        assert list(content.drills) == list(LIBRARY.base.drills)
        assert list(content.cues) == list(LIBRARY.base.cues)
        assert [n.id for n in content.checkin.nodes] == [n.id for n in LIBRARY.base.checkin.nodes]


@pytest.mark.parametrize(
    ("language", "counts"),
    [
        ("en", {1: "1 rep", 2: "2 reps", 5: "5 reps", 21: "21 reps"}),
        ("ru", {1: "1 повтор", 2: "2 повтора", 5: "5 повторов", 21: "21 повтор", 22: "22 повтора", 11: "11 повторов"}),
    ],
)
def test_plural_forms_follow_each_languages_rules(language, counts):
    texts = LIBRARY[language].texts
    for count, expected in counts.items():
        assert texts.record_reps_many.format(reps=count) == expected


def test_cldr_decides_which_forms_a_language_needs():
    assert plural_categories("en") == {"one", "other"}
    assert plural_categories("ru") == {"one", "few", "many", "other"}
    assert "many" in plural_categories("es")  # a million: "1 000 000 de series"


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("es", "es"),
        ("es-MX", "es"),
        ("es_419", "es"),
        ("ru", "ru"),
        ("RU-ru", "ru"),
        ("en-GB", "en"),
        ("de", None),
        ("", None),
        (None, None),
    ],
)
def test_telegram_language_codes_map_to_the_languages_we_speak(code, language):
    assert from_telegram(code, LIBRARY.languages) == language


def test_dates_are_written_the_languages_way():
    on = date(2026, 3, 3)
    assert [date_text(on, language) for language in ("en", "es", "ru")] == ["3 Mar", "3 mar", "3 мар."]


@pytest.mark.parametrize(
    ("language", "query", "expected_topic"),
    [
        ("es", "me duele la espalda baja", "back"),
        ("es", "rodillas hacia delante", "knees"),
        ("ru", "болит поясница", "back"),
        ("ru", "колени уходят вперёд", "knees"),
    ],
)
def test_cue_search_finds_cues_in_each_language_in_any_word_form(language, query, expected_topic):
    content = LIBRARY[language]
    hits = build_cue_index(content, language).search(query)
    assert hits, query
    assert expected_topic in content.cues[hits[0].cue_id].topics


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root)
    return root


def _replace(file: Path, old: str, new: str) -> int:
    """Replace text in a file; returns the 1-based line where it was."""
    text = file.read_text(encoding="utf-8")
    assert old in text, old
    file.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def test_a_translation_that_drifts_from_english_fails_with_file_and_line(tree):
    texts, checkin = tree / "ru" / "texts.yaml", tree / "ru" / "checkin.yaml"
    renamed = _replace(texts, "start_intro: ", "start_intro_gone: ")
    plural = _replace(texts, 'few: "{reps} повтора", ', "")
    text = texts.read_text(encoding="utf-8")
    texts.write_text(text.replace("{text}", "{текст}", 1) + "extra_key: лишнее\n", encoding="utf-8")
    label = checkin.read_text(encoding="utf-8").split("label: ", 1)[1].split("\n", 1)[0]
    long_label = _replace(checkin, f"label: {label}", "label: очень длинная подпись кнопки, не влезет")
    glossary = _replace(tree / "ru" / "lessons" / "day-1.yaml", "title: ", "title: Хип-хинж и ")

    with pytest.raises(ContentError) as caught:
        load_library(tree)
    problems = [str(p) for p in caught.value.problems]

    def reported(file: Path, fragment: str) -> list[str]:
        return [p for p in problems if p.startswith(f"{file}:") and fragment in p]

    assert reported(texts, "missing key 'start_intro'")
    assert f"{texts}:{renamed}: extra key 'start_intro_gone': English has none" in problems
    assert reported(texts, "extra key 'extra_key'")
    assert reported(texts, "placeholders ['текст']")
    assert f"{texts}:{plural}: record_reps_many: missing the 'few' form ru needs" in problems
    assert reported(checkin, "at most 30 characters")[0].startswith(f"{checkin}:{long_label}:")
    lesson = tree / "ru" / "lessons" / "day-1.yaml"
    assert any(p.startswith(f"{lesson}:{glossary}:") and "'хип-хинж' is not our word" in p for p in problems), problems


def test_a_missing_translation_file_and_a_missing_glossary_are_reported(tree):
    (tree / "es" / "cues.yaml").unlink()
    (tree / "es" / "glossary.yaml").unlink()
    with pytest.raises(ContentError) as caught:
        load_library(tree)
    problems = [str(p) for p in caught.value.problems]
    assert any(p.startswith(f"{tree / 'es' / 'cues.yaml'}:1: missing") for p in problems)
    assert any(p.startswith(f"{tree / 'es' / 'glossary.yaml'}:1: missing") for p in problems)


def test_a_fourth_language_is_a_folder(tree):
    """Adding a language is copying a tree and translating it: nothing in Python changes."""
    shutil.copytree(tree / "es", tree / "pt")
    glossary = tree / "pt" / "glossary.yaml"
    glossary.write_text(glossary.read_text(encoding="utf-8").replace("es: ", "pt: "), encoding="utf-8")
    library = load_library(tree)
    assert "pt" in library.languages and library["pt"].lesson(1).title == LIBRARY["es"].lesson(1).title


@pytest.mark.parametrize(
    ("city", "zone"),
    [("Москва", "Europe/Moscow"), ("санкт-петербург", "Europe/Moscow"), ("Ciudad de México", "America/Mexico_City")],
)
def test_a_big_city_is_found_by_its_name_in_other_languages(city, zone):
    assert [choice.zone for choice in resolve_timezone(city)] == [zone]


@pytest.mark.parametrize(
    ("language", "value", "places", "expected"),
    [
        ("en", 117.6, 1, "117.6"),
        ("es", 117.6, 1, "117,6"),
        ("ru", 117.6, 1, "117,6"),
        ("es", 35.0, 1, "35"),
        ("ru", 61.2349, 1, "61,2"),
        ("ru", 1.25, 2, "1,25"),
        ("es", 1.25, 2, "1,25"),
    ],
)
def test_numbers_people_read_are_written_the_languages_way(language, value, places, expected):
    assert number_text(value, places, language) == expected


def test_the_language_being_spoken_writes_the_number_and_groups_thousands():
    with speaking("ru"):
        assert number_text(117.5) == "117,5"
        assert whole_number_text(12345) == "12\u00a0345"
    with speaking("es"):
        assert whole_number_text(12345) == "12.345"
    assert number_text(117.5) == "117.5" and whole_number_text(2400) == "2,400"
