"""The reader is ready for other languages: the lexicon is data per language, a lexicon may name a
Snowball stemmer so base words match inflected forms, words in any script are read, and
`coach content check` validates every lexicons/<lang>.yaml present. The Spanish and Russian
lexicons here are tiny test fixtures, not the product's."""

import shutil
from pathlib import Path

import pytest
import yaml

from bot.app import CONTENT_DIR
from bot.content import ContentError, load_content
from bot.content.models import Lexicon
from bot.domain.reader import Outcome, Readers, decide
from tests.test_content import _line_of

FIXTURES = Path(__file__).resolve().parent / "data" / "lexicons"
CONTENT = load_content(CONTENT_DIR)


def _fixture(language: str) -> Lexicon:
    return Lexicon.model_validate(yaml.safe_load((FIXTURES / f"{language}.yaml").read_text(encoding="utf-8")))


READERS = Readers({**CONTENT.lexicons, "es": _fixture("es"), "ru": _fixture("ru")})


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("es", "hormigueos en las piernas", Outcome.RED_FLAG),  # "hormigueo" listed, plural read
        ("es-MX", "me duelen los glúteos", Outcome.SAFETY_QUESTION),  # a region code, a verb form
        ("es", "Los gluteos trabajaron mucho", "hams-glutes"),  # typed without the accent
        ("es", "sin hormigueo, los glúteos trabajaron", "hams-glutes"),  # negation in Spanish
        ("ru", "покалывание в ноге", Outcome.RED_FLAG),  # Cyrillic, a case ending on "нога"
        ("ru", "ягодицами работал", "hams-glutes"),
        ("ru", "нет онемения, ягодицы работали", "hams-glutes"),
        ("ru", "онемела нога", Outcome.RED_FLAG),
    ],
)
def test_a_stemmed_lexicon_matches_inflected_forms_of_its_base_words(language, text, expected):
    assert decide(READERS.for_language(language).read(text), "felt-where").outcome == expected


def test_a_language_without_a_lexicon_is_read_in_english():
    assert READERS.for_language("fr").lexicon.language == "en"
    assert READERS.for_language(None).lexicon.language == "en"
    assert READERS.for_language("es_ES") is READERS.for_language("es")  # built once


def test_words_in_any_script_keep_their_letters():
    reader = READERS.for_language("ru")
    assert reader.read("Ягодицы работали, всё хорошо").words[:2] == ("ягодицы", "работали")
    assert READERS.for_language("es").read("niño, año").words[:3] == ("nino", ",", "ano")


def test_english_has_no_stemmer_and_reads_as_before():
    assert CONTENT.lexicons["en"].stemmer is None


def _with_lexicon(tmp_path: Path, language: str, text: str) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root)
    (root / "lexicons" / f"{language}.yaml").write_text(text, encoding="utf-8")
    return root


def test_content_check_validates_every_lexicon_present(tmp_path):
    root = _with_lexicon(tmp_path, "es", (FIXTURES / "es.yaml").read_text(encoding="utf-8"))
    assert set(load_content(root).lexicons) >= {"en", "es"}  # and every other language shipped


def test_an_unknown_stemmer_is_reported_with_file_and_line(tmp_path):
    text = (FIXTURES / "es.yaml").read_text(encoding="utf-8").replace("stemmer: spanish", "stemmer: klingon")
    root = _with_lexicon(tmp_path, "es", text)
    with pytest.raises(ContentError) as caught:
        load_content(root)
    line = _line_of(root / "lexicons/es.yaml", "stemmer: klingon")
    assert f"es.yaml:{line}" in str(caught.value) and "unknown stemmer 'klingon'" in str(caught.value)


def test_two_meanings_of_one_stem_are_reported(tmp_path):
    text = (FIXTURES / "es.yaml").read_text(encoding="utf-8").replace("numb: [entumecido]", "numb: [hormigueos]")
    root = _with_lexicon(tmp_path, "es", text)
    with pytest.raises(ContentError) as caught:
        load_content(root)
    assert "'hormigueos' (read as 'hormigueo') is under both sensations.tingling and sensations.numb" in str(
        caught.value
    )
