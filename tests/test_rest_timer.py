"""Rest lengths as plain calls; the timer itself end to end is in tests/test_lifting_e2e.py."""

import pytest

from bot.domain.rest import read_rest, rest_text

LENGTHS = [
    ("3m", 180),
    ("3 min", 180),
    ("3 minutes", 180),
    ("90s", 90),
    ("90 sec", 90),
    ("2:30", 150),
    ("1m30s", 90),
    ("1m 30s", 90),
    ("3", 180),  # a bare small number is minutes
    ("90", 90),  # a bigger one is seconds
    ("15:00", 900),
    ("10s", 10),
    ("0", None),
    ("5s", None),
    ("16m", None),
    ("-3m", None),
    ("−90s", None),
    ("3:75", None),
    ("２m", None),
    ("3²", None),
    ("", None),
    ("m", None),
    ("soon", None),
    ("99999999999999", None),
]


@pytest.mark.parametrize(("text", "seconds"), LENGTHS, ids=[t or "empty" for t, _ in LENGTHS])
def test_rest_lengths(text, seconds):
    assert read_rest(text) == seconds


def test_rest_is_shown_as_a_gym_clock():
    assert [rest_text(s) for s in (90, 180, 300, 65)] == ["1:30", "3:00", "5:00", "1:05"]
