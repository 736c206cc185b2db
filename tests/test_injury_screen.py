"""Issue 12, the class rather than the example: injury reports in wordings no corpus holds reach the
safety answer or the pain-check question, by the wider lexicon classes or by the injury screen
behind the rules, and the near-misses beside them keep their own outcome.

Every row below was written for these tests; `test_the_rows_here_are_in_no_corpus` keeps it so."""

import json
import time
from pathlib import Path

import pytest

from benchmarks.checkin_accuracy import CORPORA, load_rows
from benchmarks.injury_screen import THRESHOLDS, examples, training_sets
from bot.app import CONTENT_DIR
from bot.content import ContentError, load_content
from bot.domain.injury_screen import InjuryScreen, features, train
from bot.domain.reader import Outcome, Reader, decide
from tests.test_content import _broken_copy

CONTENT = load_content(CONTENT_DIR)
READER = Reader(CONTENT.lexicons["en"])
RULES = Reader(CONTENT.lexicons["en"].model_copy(update={"screen": None}))
FELT, WHY, CHECK = "felt-where", "lower-back-why", "pain-check"
RED, SAFETY, ASK, NO_FLAG = Outcome.RED_FLAG, Outcome.SAFETY_QUESTION, Outcome.ASK, Outcome.NO_RED_FLAG
SAFE = {RED, SAFETY}

# The lexicon's classes: each a red flag by the rules alone.
CLASSES = [
    # assistive devices, a clinician's verdict, time off, scans, strapping
    (FELT, "on crutches since the weekend, knee's not great"),
    (FELT, "physio thinks it's a grade 1 tear"),
    (WHY, "my GP says it's a disc thing, off lifting for a month"),
    (FELT, "doc reckons I've done my groin"),
    (FELT, "booked in for an MRI next week"),
    (FELT, "been strapping it every day, hams fine otherwise"),
    # incapacity: a floor to lie on, someone else driving, a clutch, Scots negatives
    (FELT, "spent the evening lying on the bathroom floor"),
    (FELT, "had to get my husband to drive me to work today"),
    (FELT, "couldn't press the clutch this morning"),
    (FELT, "couldnae put ma socks on"),
    # a part that carries no load, in a state only severe pain puts it in
    (FELT, "neck's in bits since the swings"),
    (FELT, "lower back is pure murder"),
    (FELT, "knee's been screaming all day"),
    (FELT, "spine's absolute agony when I sit"),
    # a part that went on a rep, or went and...
    (FELT, "my back went on the final rep"),
    (FELT, "my adductor went halfway through set two"),
    (FELT, "my lower back went and I couldn't stand up for ages"),
    # nerve signs said as a current or ants along a limb
    (FELT, "pain like a current running to my toes"),
    (FELT, "like ants under the skin of my left calf"),
]

# Near-misses beside those classes: the words are there, the injury is not.
NEAR_MISSES = [
    (FELT, "glutes were numb to it all, never switched on", "nothing-much"),
    (FELT, "my physio cleared me to lift again, hams felt great", "hams-glutes"),
    (FELT, "hams were screaming by the last set", "hams-glutes"),
    (FELT, "calves were screaming on the single leg ones", "calves"),
    (FELT, "killed it, glutes were on fire", "hams-glutes"),
    (FELT, "the kettlebell cracked against the floor, hams did the work", "hams-glutes"),
    (FELT, "nothing hurt, hamstrings a bit tired", "hams-glutes"),
    (FELT, "back was solid, glutes took it all", "hams-glutes"),
]

# Wordings no lexicon lists: the rules alone give advice, praise or a button; the screen turns each
# into the pain-check question. Written without retraining the screen on them.
SCREENED = [
    (FELT, "right buttock has a hot spot that won't calm down"),
    (FELT, "lower back feels unstable, like it might go any second"),
    (FELT, "my groin's got a horrible pulling feeling every step"),
    (FELT, "it's like my leg is somebody else's now"),
    (FELT, "my hip feels out of its socket"),
    (FELT, "got a dead spot on the outside of my thigh"),
]

# Answers to the pain-check question: yes in any words is a red flag, no in any words is not.
PAIN_CHECK = [
    ("all of the above sadly", RED),
    ("100 percent, still there", RED),
    ("mhm", RED),
    ("yh", RED),
    ("indeed", RED),
    ("both sadly", RED),
    ("unfortunately", RED),
    ("it's like a current going down", RED),
    ("kind of fizzy in my calf", RED),
    ("nope, all good", NO_FLAG),
    ("nah just a normal ache", NO_FLAG),
    ("none of those, just stiff", NO_FLAG),
    ("eh? what does that even mean", ASK),
]


@pytest.mark.parametrize(("question", "text"), CLASSES, ids=[t[:40] for _, t in CLASSES])
def test_each_class_of_injury_words_is_a_red_flag_by_the_rules(question, text):
    assert decide(RULES.read(text), question).outcome == RED


@pytest.mark.parametrize(("question", "text", "expected"), NEAR_MISSES, ids=[t[:40] for _, t, _ in NEAR_MISSES])
def test_near_misses_beside_the_classes_keep_their_outcome(question, text, expected):
    assert decide(READER.read(text), question).outcome == expected


@pytest.mark.parametrize(("question", "text"), SCREENED, ids=[t[:40] for _, t in SCREENED])
def test_the_screen_asks_about_injury_reports_the_rules_do_not_read(question, text):
    assert decide(RULES.read(text), question).outcome not in SAFE
    hearing = READER.read(text)
    assert hearing.screened and not hearing.red_flag
    assert decide(hearing, question).outcome == SAFETY


@pytest.mark.parametrize(("text", "expected"), PAIN_CHECK, ids=[t[:40] for t, _ in PAIN_CHECK])
def test_the_pain_check_hears_yes_and_no_in_any_words(text, expected):
    assert decide(READER.read(text), CHECK).outcome == expected


def test_the_screen_is_only_asked_when_the_rules_found_nothing():
    assert not READER.read("pulled my hammy on the last rep").screened  # a red flag already
    assert not READER.read("bit of pain in my back").screened  # the pain check already
    for text in ("all of the above sadly", "on the train, will answer later"):
        # the pain check never turns on the screen: an answer it cannot place is asked again
        assert decide(READER.read(text), CHECK).outcome in (RED, ASK)
    assert decide(READER.read("on the train, will answer later"), CHECK).outcome == ASK


def test_the_rows_here_are_in_no_corpus():
    corpora = {row.text.casefold() for _language, path in CORPORA.values() if path.exists() for row in load_rows(path)}
    rows = (
        [t for _, t in CLASSES + SCREENED + SCREENED_ES] + [t for _, t, _ in NEAR_MISSES] + [t for t, _ in PAIN_CHECK]
    )
    rows += [t for _, _, t, _ in DOUBTS]
    assert [t for t in rows if t.casefold() in corpora] == []


@pytest.mark.parametrize("language", sorted(THRESHOLDS))
def test_the_stored_screen_is_what_the_corpora_train_today(language):
    """A generated file: retraining from the same corpora and code gives the same weights, so a
    corpus or feature change without `benchmarks/injury_screen.py --write` fails here."""
    stored = CONTENT.lexicons[language].screen
    assert stored is not None
    sets = training_sets(language)
    weights, bias = train(examples([row for rows in sets.values() for row in rows]))
    assert stored.trained_on == sorted(CORPORA[name][1].name for name in sets)
    assert not any("heldout" in name for name in stored.trained_on)  # the held-out files stay a measurement
    assert (stored.bias, stored.threshold) == (bias, THRESHOLDS[language])
    assert stored.weights == weights


# Spanish has a screen of its own now: wordings its lexicon does not list are asked about.
SCREENED_ES = [
    (FELT, "tengo un punto muerto en la parte de fuera del muslo"),
    (FELT, "el glúteo derecho tiene un punto caliente que no se calma"),
]


@pytest.mark.parametrize(("question", "text"), SCREENED_ES, ids=[t[:40] for _, t in SCREENED_ES])
def test_the_spanish_screen_asks_about_what_its_rules_do_not_read(question, text):
    rules = Reader(CONTENT.lexicons["es"].model_copy(update={"screen": None}))
    assert decide(rules.read(text), question).outcome not in SAFE
    assert decide(Reader(CONTENT.lexicons["es"]).read(text), question).outcome == SAFETY


# The rules' own doubt, with no screen behind them: an injury word beside a part, or a time of a
# pain that stays said with one, that made no red flag, is asked about; beside a working muscle, a
# denied pain or a moving part it is not.
DOUBTS = [
    ("es", FELT, "la lumbar rara desde el sábado", SAFETY),
    ("en", FELT, "knee has been weird since saturday", SAFETY),
    ("en", FELT, "I'm 60 and my hip joint has been grinding since the session", SAFETY),  # the screen's once
    ("ru", FELT, "лодыжка странная уже с субботы", SAFETY),
    ("en", FELT, "popped the kettlebell up with my hips, glutes did it", "hams-glutes"),
    ("en", FELT, "my back used to lock up all the time, not anymore, all glutes today", "hams-glutes"),
    ("es", FELT, "la cadera se me torció hacia fuera, sin dolor, glúteos bien", "hams-glutes"),
]


@pytest.mark.parametrize(("language", "question", "text", "expected"), DOUBTS, ids=[t[:40] for _, _, t, _ in DOUBTS])
def test_the_rules_own_doubt_asks_before_advice(language, question, text, expected):
    rules = Reader(CONTENT.lexicons[language].model_copy(update={"screen": None}))
    assert decide(rules.read(text), question).outcome == expected


def test_the_screen_is_pure_and_fast():
    screen = InjuryScreen(CONTENT.lexicons["en"].screen.weights, 0.0, 0.0)
    text = "Long day, kids, work. Hams fine but my lower back feels wrong since the third set, can't explain it. " * 2
    assert screen.score(text) == screen.score(text)
    start = time.perf_counter()
    for _ in range(50):
        READER.read(text)
    assert (time.perf_counter() - start) / 50 < 0.002


def test_features_read_a_negation_and_its_scope():
    found = features("I couldn't put my socks on. Hams fine")
    assert {"n put", "n socks", "w put"} <= found
    assert "n hams" not in found  # a full stop ends the scope


def test_a_broken_screen_file_is_reported_with_its_path(tmp_path):
    root = _broken_copy(tmp_path, "lexicons/en.screen.json", '"language":"en"', '"language":"es"')
    with pytest.raises(ContentError) as caught:
        load_content(root)
    assert "en.screen.json" in str(caught.value) and "'es'" in str(caught.value)
    screen = Path(root / "lexicons/en.screen.json")
    screen.write_text(json.dumps({"language": "en"}))
    with pytest.raises(ContentError) as caught:
        load_content(root)
    assert "not a valid injury screen" in str(caught.value)
