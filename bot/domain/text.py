"""Normalising what people type, shared by every matcher in the core."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import snowballstemmer

from bot.language import BASE_LANGUAGE, locale

_APOSTROPHES = re.compile(r"['’‘`´]")
_NOT_A_WORD = re.compile(r"[\W_]+")  # letters of any alphabet are words: Cyrillic too


def normalise(text: str, limit: int | None = 400) -> str:
    """Lower case, accents and apostrophes dropped, anything else that is not a letter or digit a
    single space: "Don’t round the Lower-BACK!!" -> "dont round the lower back". Only the first
    `limit` characters are read (None: all)."""
    decomposed = unicodedata.normalize("NFKD", text[:limit])
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(_NOT_A_WORD.sub(" ", _APOSTROPHES.sub("", plain)).split())


@lru_cache(maxsize=8)
def stemmer(language: str) -> Callable[[list[str]], list[str]]:
    """Words to their stems in `language` (Snowball, found by the language's English name), so
    'espalda'/'espaldas' and 'спина'/'спину'/'спины' are one word. English keeps its words: its
    matchers have their own suffix rules, tuned on the English corpora."""
    name = locale(language).english_name.lower()
    if language == BASE_LANGUAGE or name not in snowballstemmer.algorithms():
        return list
    algorithm = snowballstemmer.stemmer(name)
    one = lru_cache(maxsize=1 << 16)(algorithm.stemWord)  # a language's words repeat: stem each once
    return lambda words: [one(word) for word in words]
