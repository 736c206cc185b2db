"""Normalising what people type, shared by every matcher in the core."""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = re.compile(r"['’‘`´]")
_NOT_A_WORD = re.compile(r"[^a-z0-9]+")


def normalise(text: str, limit: int | None = 400) -> str:
    """Lower case, accents and apostrophes dropped, anything else that is not a letter or digit a
    single space: "Don’t round the Lower-BACK!!" -> "dont round the lower back". Only the first
    `limit` characters are read (None: all)."""
    decomposed = unicodedata.normalize("NFKD", text[:limit])
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(_NOT_A_WORD.sub(" ", _APOSTROPHES.sub("", plain)).split())
