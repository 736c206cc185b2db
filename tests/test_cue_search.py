"""Cue search, as plain calls on the index built from the shipped content."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import CONTENT_DIR
from bot.content import load_content
from bot.domain.cue_search import CueIndex, build_cue_index
from bot.domain.text import normalise


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT_DIR)


@pytest.fixture(scope="module")
def index(content) -> CueIndex:
    return build_cue_index(content)


def first(index: CueIndex, query: str) -> str | None:
    hits = index.search(query)
    return hits[0].cue_id if hits else None


# (what someone types, the cue that must come first)
QUERY_TABLE = [
    # the words of the course brief and the cue library
    ("hips back", "hips-back"),
    ("send your hips back", "hips-back"),
    ("hinge", "hips-back"),
    ("how to start", "hips-back"),
    ("long backside", "long-backside"),
    ("lengthen", "long-backside"),
    ("sit bones", "sit-bones-wide"),
    ("pelvic floor", "breathe-low"),
    ("belly breathing", "breathe-low"),
    ("hips first", "hips-before-knees"),
    ("car door", "car-door"),
    ("close the door", "car-door"),
    ("spine grows", "spine-grows"),
    ("keep the bar close", "bar-close"),
    ("bar path", "bar-close"),
    ("shave your legs", "bar-slides-legs"),
    ("soft knees", "soft-knees"),
    ("whole foot", "whole-foot"),
    ("heels", "whole-foot"),
    ("where to put my weight", "whole-foot"),
    ("hip extension", "hips-lead-up"),
    ("lockout", "hips-lead-up"),
    ("squeeze", "squeeze-drive"),
    ("hip thrust", "squeeze-drive"),
    ("glutes", "squeeze-drive"),
    ("push the floor away", "push-floor"),
    ("brace", "brace-punch"),
    ("core", "brace-punch"),
    ("abs", "brace-punch"),
    ("how do I breathe", "inhale-exhale"),
    ("exhale", "inhale-exhale"),
    ("chest up", "long-spine"),
    ("posture", "long-spine"),
    ("neck", "neutral-neck"),
    ("where to look", "neutral-neck"),
    ("where should I look", "neutral-neck"),
    ("kettlebell", "close-is-light"),
    ("leverage", "close-is-light"),
    ("paper", "paper-squeeze"),
    ("glutes while running", "paper-squeeze"),
    ("tired", "paper-squeeze"),
    ("midstance", "running-midstance"),
    ("running", "running-midstance"),
    ("single leg", "stand-on-leg"),
    ("wobbly", "stand-on-leg"),
    ("knee over laces", "knee-over-laces"),
    ("tripod", "tripod-foot"),
    ("hip drop", "pelvis-level"),
    ("don't arch", "glutes-not-back"),
    ("how low", "flat-back-depth"),
    ("how far down", "flat-back-depth"),
    ("tight hamstrings", "flat-back-depth"),
    ("hamstrings", "slow-stretch-pause"),
    ("tempo", "slow-stretch-pause"),
    ("can't feel it", "slow-stretch-pause"),
    ("down", "hips-back"),
    ("up", "whole-foot"),
    # body parts and faults
    ("lower back", "brace-punch"),
    ("low back", "brace-punch"),
    ("lumbar", "brace-punch"),
    ("knees", "soft-knees"),
    ("knees forward", "hips-before-knees"),
    ("quads", "hips-before-knees"),
    ("squatting", "hips-before-knees"),
    ("rounding", "long-spine"),
    ("butt", "long-backside"),
    ("twisting", "stand-on-leg"),
    ("lost my balance", "tripod-foot"),
    # typos, case, accents and punctuation
    ("lower bak", "brace-punch"),
    ("lwoer back", "brace-punch"),
    ("lowerback", "brace-punch"),
    ("Lower Back!!!", "brace-punch"),
    ("LÖWER BÄCK", "brace-punch"),
    ("hammys", "slow-stretch-pause"),
    ("hamstirngs", "slow-stretch-pause"),
    ("brase", "brace-punch"),
    ("brething", "breathe-low"),
    ("glutse", "squeeze-drive"),
    ("squeze glutes", "squeeze-drive"),
    ("kneees", "soft-knees"),
    ("neutrl neck", "neutral-neck"),
    ("pelvic flor", "breathe-low"),
    ("tripd foot", "tripod-foot"),
    ("sit bonez", "sit-bones-wide"),
    ("sitbones", "sit-bones-wide"),
    ("hipsback", "hips-back"),
    ("hips-back", "hips-back"),
    ("  car   door  ", "car-door"),
    ("deadlfit", "bar-close"),
    ("lenghten spine", "spine-grows"),
    ("kettlebel swinging away", "close-is-light"),
    # fault phrases, as people answer the check-in
    ("I feel it in my back", "close-is-light"),
    ("felt it in my lower back", "brace-punch"),
    ("my back hurts", "brace-punch"),
    ("bent over", "brace-punch"),
    ("butt wink", "brace-punch"),
    ("the weight swung out", "bar-slides-legs"),
    ("bar drifts away from me", "bar-close"),
    ("it went into my quads", "hips-before-knees"),
    ("front of my thighs", "hips-back"),
    ("can't feel my glutes", "squeeze-drive"),
    ("dead butt", "slow-stretch-pause"),
    ("ankle rolled", "tripod-foot"),
    ("my hip pops out", "stand-on-leg"),
    ("hips opened", "stand-on-leg"),
    ("bladder leaks", "breathe-low"),
    ("hold my breath", "inhale-exhale"),
    ("get the bar off the floor", "push-floor"),
]


@pytest.mark.parametrize(("query", "expected"), QUERY_TABLE)
def test_query_table(index, query, expected):
    assert first(index, query) == expected


def test_the_table_is_big_enough_and_covers_every_topic(content):
    assert len(QUERY_TABLE) >= 50
    expected = {cue_id for _, cue_id in QUERY_TABLE}
    for topic in ("down", "up", "brace", "back", "knees", "glutes", "running"):
        assert expected & {c.id for c in content.cues.values() if topic in c.topics}, topic


BRIEF_CUES = [  # the Cues section of the course brief, in its order
    "hips-back",
    "long-backside",
    "sit-bones-wide",
    "breathe-low",
    "hips-before-knees",
    "car-door",
    "spine-grows",
    "bar-close",
    "whole-foot",
    "hips-lead-up",
    "squeeze-drive",
    "push-floor",
    "brace-punch",
    "inhale-exhale",
    "paper-squeeze",
]


def test_every_cue_of_the_brief_is_in_the_library_and_found_by_its_own_words(content, index):
    assert set(BRIEF_CUES) <= set(content.cues)
    for cue in content.cues.values():
        assert first(index, cue.text) == cue.id


def test_every_synonym_finds_its_cue(content, index):
    for cue in content.cues.values():
        for synonym in cue.synonyms:
            assert cue.id in [hit.cue_id for hit in index.search(synonym, limit=len(content.cues))], synonym


def test_a_fault_phrase_finds_the_cues_its_advice_gives(content, index):
    lower_back_advice = {"back-rounding", "weight-drift", "back-not-sure"}
    corrective = {c for a in content.checkin.advice if a.id in lower_back_advice for c in a.cues}
    hits = [hit.cue_id for hit in index.search("I feel it in my back")]
    assert len(hits) == 3 and corrective & set(hits)
    squatting = next(a for a in content.checkin.advice if a.id == "squatting")
    assert {hit.cue_id for hit in index.search("my knees shot forward")} <= set(squatting.cues) | {"soft-knees"}


def test_red_flag_words_are_not_answered_with_a_cue(index):
    assert index.search("sharp pain") == []
    assert index.search("numbness") == []


def test_results_are_at_most_the_limit_best_first(index):
    hits = index.search("back", limit=5)
    assert len(hits) == 5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(index.search("back")) == 3


def test_exact_synonym_hits_rank_above_fuzzy_ones(index):
    exact = index.search("sit bones")[0]
    fuzzy = index.search("sitbones")[0]
    assert exact.cue_id == fuzzy.cue_id == "sit-bones-wide"
    assert exact.score > fuzzy.score


GARBAGE = [
    "",
    "   ",
    "🙂🙂",
    "!!!???",
    "...,,,;;;",
    "12345",
    "0 0 0",
    "x" * 4000,
    "🙂" * 4000,
    "asdfghjkl",
    "qwerty",
    "lorem ipsum dolor sit amet",
    "the",
    "what is it",
    "thanks",
    "Привет",
    "<script>alert(1)</script>",
]


@pytest.mark.parametrize("query", GARBAGE, ids=range(len(GARBAGE)))
def test_empty_and_garbage_find_nothing(index, query):
    assert index.search(query) == []


def test_a_very_long_query_is_cut_not_scanned(index):
    assert first(index, "lower back " * 400) == "brace-punch"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_at_most_three_sorted_hits(index, query):
    hits = index.search(query)
    assert len(hits) <= 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_normalise_folds_case_accents_apostrophes_and_punctuation():
    assert normalise("  Don’t  ARCH!!  ") == "dont arch"
    assert normalise("Lower-BÄCK?") == "lower back"
    assert normalise("🙂🙂") == ""


@pytest.mark.parametrize("topic", ["down", "up", "brace", "back", "knees", "glutes", "running"])
def test_topics_list_their_cues_in_library_order(content, index, topic):
    assert index.topic(topic) == [c.id for c in content.cues.values() if topic in c.topics]
    assert index.topic(topic)


def test_an_unknown_topic_has_no_cues(index):
    assert index.topic("nonsense") == []


def test_starters_offer_one_cue_per_topic(content, index):
    starters = index.starters()
    assert len(starters) == len(set(starters)) == 7
    assert starters[0] == "hips-back"


@pytest.mark.parametrize(
    ("name", "drill_id"),
    [
        ("wall tap", "wall-tap"),
        ("Wall Tap", "wall-tap"),
        ("wal tap", "wall-tap"),
        ("dowl", "dowel-hinge"),
        ("dowel rod hinge", "dowel-hinge"),
        ("kb rdl", "kb-rdl"),
        ("kettlebell rdl", "kb-rdl"),
        ("glute brigde", "glute-bridge"),
        ("single leg rdl", "single-leg-rdl"),
        ("hip abduction", "standing-hip-abduction"),
        ("march", "hip-extension-march"),
        ("foam roller", "staggered-roller-hinge"),
        ("pulses", "glute-pulses"),
    ],
)
def test_drills_are_found_by_name_with_typos(index, name, drill_id):
    assert index.drill(name) == drill_id


@pytest.mark.parametrize("name", ["", "🙂", "!!!", "banana", "plank", "the", "x" * 4000])
def test_unknown_drills_are_none(index, name):
    assert index.drill(name) is None
