"""Normalising what people type, shared by every matcher in the core."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9']+")


def normalise(text: str, limit: int = 400) -> str:
    """Lower case, accents and punctuation gone, single spaces: "Lower-BACK!!" -> "lower back"."""
    decomposed = unicodedata.normalize("NFKD", text[:limit])
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    plain = plain.replace("\u2019", "'")
    return " ".join(_NON_WORD.sub(" ", plain).replace("'", "").split())
