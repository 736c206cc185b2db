"""Reading times and time zones the way people type them."""

from datetime import time

import pytest

from bot.domain.timeparse import parse_lesson_time
from bot.domain.timezones import resolve_timezone, timezone_at


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", time(7)),
        ("7am", time(7)),
        ("7 AM", time(7)),
        ("7:30", time(7, 30)),
        ("7:30 pm", time(19, 30)),
        ("7.30pm", time(19, 30)),
        ("18:30", time(18, 30)),
        ("0630", time(6, 30)),
        ("6h45", time(6, 45)),
        ("at 6", time(6)),
        ("noon", time(12)),
        ("12am", time(0)),
        ("12pm", time(12)),
        ("midnight", time(0)),
        ("  07:05  ", time(7, 5)),
    ],
)
def test_times_people_type(text, expected):
    assert parse_lesson_time(text) == expected


@pytest.mark.parametrize("text", ["", "25:00", "7:75", "13pm", "0am", "tomorrow", "seven", "7:3", "🙂", "9" * 50])
def test_not_a_time(text):
    assert parse_lesson_time(text) is None


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("São Paulo", "America/Sao_Paulo"),
        ("sao paulo", "America/Sao_Paulo"),
        ("Mumbai", "Asia/Kolkata"),
        ("UTC", "Etc/UTC"),
        ("UTC+2", "Etc/GMT-2"),
        ("gmt-5", "Etc/GMT+5"),
        ("+05:30", "Asia/Kolkata"),
        ("UTC+5:45", "Asia/Kathmandu"),
        ("Tokyo", "Asia/Tokyo"),
    ],
)
def test_zones_people_type(text, zone):
    choices = resolve_timezone(text)
    assert choices and choices[0].zone == zone


def test_an_ambiguous_city_offers_each_zone_biggest_first():
    zones = [choice.zone for choice in resolve_timezone("Portland")]
    assert zones[0] == "America/Los_Angeles"
    assert "America/New_York" in zones


@pytest.mark.parametrize("text", ["", "nowhere at all", "UTC+15", "x" * 500, "🏋️"])
def test_unknown_zones(text):
    assert resolve_timezone(text) == []


def test_a_shared_location_resolves_offline():
    assert timezone_at(52.52, 13.40) == "Europe/Berlin"
    assert timezone_at(-33.87, 151.21) == "Australia/Sydney"
    assert timezone_at(200, 0) is None
