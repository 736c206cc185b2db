"""Russian typed in Latin letters, read back in Cyrillic.

People on a phone without a Russian keyboard write "spina ne otpuskaet", "potyanul poyasnicu",
"v noge murashki", "bol'no": the reader's Russian words only match once the message is in Cyrillic
again. Chat transliteration is loose (ya/ja, shch/sch, c/ts, h/kh/x, soft sign as an apostrophe or left
out), so the letters are read in context, longest group first; a missing soft sign is left to the
reader's typo fixing, except at the end of a reflexive past ("kruzhilas" is "кружилась"), and a
final "oi"/"ei" is "ой"/"ей" ("opornoi"). A message is read back only when most of its letters are
Latin and it is not English, and English words the lexicon knows ("hamstrings", "rdl") stay as they
are.
"""

from __future__ import annotations

import re

# Letter groups, longest first: what each stands for wherever it is.
_GROUPS = (
    ("shch", "щ"),
    ("tsya", "тся"),  # "boitsya": the reflexive ending, not "ц"
    ("sch", "щ"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("ts", "ц"),
    ("yu", "ю"),
    ("ju", "ю"),
    ("ya", "я"),
    ("ja", "я"),
    ("yo", "е"),
    ("jo", "е"),
    ("ye", "е"),
    ("je", "е"),
)
_LETTERS = {
    "a": "а",
    "b": "б",
    "v": "в",
    "w": "в",
    "g": "г",
    "d": "д",
    "e": "е",
    "z": "з",
    "i": "и",
    "k": "к",
    "q": "к",
    "l": "л",
    "m": "м",
    "n": "н",
    "o": "о",
    "p": "п",
    "r": "р",
    "s": "с",
    "t": "т",
    "u": "у",
    "f": "ф",
    "h": "х",
    "x": "х",
    "c": "ц",
}
_VOWELS = frozenset("aeiouy")
# Words that start with "э", which a plain "e" would spell "е".
_E_WORDS = frozenset({"eto", "eta", "etot", "etu", "eti", "etoj", "etoi", "etogo", "etom", "etih", "etix"})
# Latin words that are as often Russian: read back even when the lexicon knows them in English
# ("no v noge" is "но в ноге").
_RUSSIAN_TOO = frozenset({"no", "on", "to", "a", "i", "ya", "net", "da"})
# Common English words: a message mostly of these is English, and is left alone. Words that are as
# often Russian in Latin letters ("no" is "но", "on" is "он", "to" is "то") are not listed.
_ENGLISH_WORDS = """
    the my me it its it's is was were am are be been and but or of in at with for from by up down out
    off over this that these those there here what when where why how which who not don't didn't can't
    can could would should will just very really bit little lot some any all felt feel feeling feels
    hurt hurts hurting pain painful sore tight back lower upper leg legs knee knees hip hips glutes glute
    hams hamstring hamstrings butt neck foot feet arm arms hand calf calves today yesterday morning night
    after before still again like kinda sort kind good great fine okay ok bad worse better day days week
    went got get go going done did does lift lifts lifted set sets rep reps weight heavy light
    pulled tweaked strained numb tingling shooting sharp stiff your you we they he she his her them
"""
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
_WORD = re.compile(r"[a-z'’ʼ`´]+")
_REFLEXIVE_PAST = ("las", "los", "lis")  # "-лась", "-лось", "-лись"
_SOFT = str.maketrans({mark: "ь" for mark in "'’ʼ`´"})  # "bol'no": the soft sign


def is_romanized(text: str, english: frozenset[str] = frozenset()) -> bool:
    """Whether `text` is Russian written in Latin letters: more Latin letters than Cyrillic ones,
    and fewer than half of its Latin words common English ones or the `english` words given."""
    latin = sum(1 for ch in text if "a" <= ch.casefold() <= "z")
    cyrillic = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff")
    if latin <= cyrillic:
        return False
    words = _WORD.findall(text.casefold())
    english_words = sum(1 for word in words if word in _ENGLISH or word in english)
    return english_words * 2 < len(words)


def to_cyrillic(text: str, keep: frozenset[str] = frozenset()) -> str:
    """`text` with each Latin word not in `keep` read back in Cyrillic; other characters unchanged."""
    return _WORD.sub(lambda match: _word(match.group(0), keep), text.casefold())


def romanized_to_cyrillic(text: str, known: frozenset[str] = frozenset(), spelled: frozenset[str] = frozenset()) -> str:
    """`text` in Cyrillic when it is Russian in Latin letters, else unchanged. `known`: the Latin
    words a lexicon reads as they are ("hamstrings", "no"), English to tell the language and kept;
    `spelled`: the Latin words it respells itself ("poyasnica"), kept but not English."""
    return to_cyrillic(text, known | spelled) if is_romanized(text, known) else text


def _word(word: str, keep: frozenset[str]) -> str:
    marks = "'’ʼ`´"
    # a mark before a word is a quote; after it, the soft sign ("den'"), unless it closes a quote
    stripped = word.strip(marks) if word[0] in marks else word
    if not stripped or stripped in keep and stripped not in _RUSSIAN_TOO:
        return word
    if stripped in _E_WORDS:
        stripped = "э" + stripped[1:]
    out: list[str] = []
    i = 0
    while i < len(stripped):
        for group, letters in _GROUPS:
            if stripped.startswith(group, i):
                out.append(letters)
                i += len(group)
                break
        else:
            ch = stripped[i]
            if ch in "yj":  # after a vowel "й" ("levoy", "moj"), else "ы" ("vy", "byl")
                previous = stripped[i - 1] if i > 0 else ""
                out.append("й" if previous in _VOWELS or ch == "j" else "ы")
            else:
                out.append(_LETTERS.get(ch, ch))
            i += 1
    read = "".join(out).translate(_SOFT)
    if len(stripped) >= 6 and stripped.endswith(_REFLEXIVE_PAST):
        read += "ь"  # "kruzhilas", "podkosilos": the reflexive past, its soft sign left out
    elif len(stripped) >= 5 and stripped.endswith(("oi", "ei")):
        read = read[:-1] + "й"  # "opornoi", "levei": "ой", "ей" with the "й" typed as "i"
    return read
