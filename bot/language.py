"""Which language the bot is speaking right now, and the locale rules (plurals, dates) it speaks by.

The language of the update being handled is a context variable, set once per update by the
language gate (bot/handlers/language.py) and per recipient by the lesson delivery, so the many
call sites that read `services.content` need not pass a language around: asyncio copies the
variable into each task, so two updates or two recipients never see each other's language.
Plural forms and date formats come from Babel (CLDR data), never from rules written here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date
from functools import lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

BASE_LANGUAGE = "en"  # content/ itself; every other language is an overlay tree content/<code>/
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")

current_language: ContextVar[str] = ContextVar("current_language", default=BASE_LANGUAGE)


@contextlib.contextmanager
def speaking(language: str) -> Iterator[None]:
    """Speak `language` inside the block (one recipient of a fan-out, one member's private advice)."""
    token = current_language.set(language)
    try:
        yield
    finally:
        current_language.reset(token)


@lru_cache(maxsize=16)
def locale(language: str) -> Locale:
    return Locale.parse(language)


def plural_categories(language: str) -> frozenset[str]:
    """The CLDR plural categories `language` needs for whole numbers ('other' always among them)."""
    return frozenset({*locale(language).plural_form.tags, "other"})


def plural_category(language: str, count: float) -> str:
    return locale(language).plural_form(count)


def from_telegram(language_code: str | None, available: tuple[str, ...]) -> str | None:
    """The language we speak for a Telegram `language_code` ('es-419' -> 'es'), None when we have none."""
    if not language_code:
        return None
    primary = language_code.replace("_", "-").split("-")[0].lower()
    return primary if primary in available else None


def language_name(language: str) -> str:
    """The language's own name ('Español', 'Русский'): what a person picks from, in any language."""
    name = locale(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def number_text(value: float, places: int = 1, language: str | None = None) -> str:
    """A number as people of the language write it, in the language being spoken unless one is
    given: 117.6 is '117.6' in English and '117,6' in Spanish and Russian; 35.0 is '35'."""
    spoken = locale(language or current_language.get())
    return format_decimal(round(value, places), format="0." + "#" * places, locale=spoken)


def whole_number_text(value: float, language: str | None = None) -> str:
    """A whole number with the language's thousands grouping: '2,400', '2400', '12 345'."""
    return format_decimal(round(value), locale=locale(language or current_language.get()))


def date_text(on: date, language: str) -> str:
    """A short day and month in the language's own way: '3 Mar', '3 mar', '3 мар.'."""
    return format_date(on, "d MMM", locale=locale(language))


def weekday_date_text(on: date, language: str) -> str:
    """A day with its weekday: 'Mon 3 Mar', 'lun 3 mar', 'пн 3 мар.'."""
    return format_date(on, "EEE d MMM", locale=locale(language))
