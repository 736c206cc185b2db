"""Normalising what people type, shared by every matcher in the core; and Telegram HTML as plain
text (an alert, an inline result's title, the demo's terminal)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache, lru_cache
from html.parser import HTMLParser

import snowballstemmer

from bot.language import BASE_LANGUAGE, locale

_APOSTROPHES = re.compile(r"['’‘`´]")
_NOT_A_WORD = re.compile(r"[\W_]+")  # letters of any alphabet are words: Cyrillic too
_LATIN_END = 0x250  # accents are dropped from Latin letters only: "й" is not "и"


def normalise(text: str, limit: int | None = 400) -> str:
    """Lower case, accents and apostrophes dropped, anything else that is not a letter or digit a
    single space: "Don’t round the Lower-BACK!!" -> "dont round the lower back". Only the first
    `limit` characters are read (None: all)."""
    decomposed = unicodedata.normalize("NFKD", text[:limit])
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(_NOT_A_WORD.sub(" ", _APOSTROPHES.sub("", plain)).split())


def fold_latin(text: str) -> str:
    """Case folded, accents dropped from Latin letters only: "Glúteos" -> "gluteos", while a mark
    that makes another letter in another script stays ("й", "ё")."""
    kept: list[str] = []
    base = 0
    for ch in unicodedata.normalize("NFKD", text):
        if not unicodedata.combining(ch):
            base = ord(ch)
            kept.append(ch)
        elif base >= _LATIN_END:
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept)).casefold()


@cache
def stem_word(algorithm: str) -> Callable[[str], str]:
    """One word to its stem by the Snowball `algorithm` ("spanish", "russian"), each word stemmed
    once: a language's words repeat, and the reader, the content check and the matchers share it."""
    return lru_cache(maxsize=1 << 16)(snowballstemmer.stemmer(algorithm).stemWord)


@lru_cache(maxsize=8)
def stemmer(language: str) -> Callable[[list[str]], list[str]]:
    """Words to their stems in `language` (Snowball, found by the language's English name), so
    'espalda'/'espaldas' and 'спина'/'спину'/'спины' are one word. English keeps its words: its
    matchers have their own suffix rules, tuned on the English corpora."""
    name = locale(language).english_name.lower()
    if language == BASE_LANGUAGE or name not in snowballstemmer.algorithms():
        return list
    one = stem_word(name)
    return lambda words: [one(word) for word in words]


class _PlainText(HTMLParser):
    def __init__(self, bold: tuple[str, str]) -> None:
        super().__init__(convert_charrefs=True)  # entities come back as the characters they stand for
        self.bold = bold
        self.parts: list[str] = []
        self._links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("b", "strong"):
            self.parts.append(self.bold[0])
        if tag == "a":
            self._links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("b", "strong"):
            self.parts.append(self.bold[1])
        if tag == "a" and self._links and (href := self._links.pop()):
            self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str, *, bold: tuple[str, str] = ("", "")) -> str:
    """Telegram HTML as plain text: tags dropped (bold marked with `bold`'s pair, if any), entities
    decoded, links spelled out after their text. The one HTML-to-text reading in the bot."""
    parser = _PlainText(bold)
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)
