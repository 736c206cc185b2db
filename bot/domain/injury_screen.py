"""A second line of defence behind the reader's rules: a small model that says "this may be an
injury report" in wordings no lexicon lists yet ("crutches since Saturday", "physio reckons I've
strained it").

It is a logistic regression over the message's words, word pairs, the letter runs inside each
word and the words after an (English) negation, trained at build time from the labelled check-in
corpora (`benchmarks/injury_screen.py` writes the weights to
`content/lexicons/<language>.screen.json`). Reading is a sum of weights of the features present:
pure, deterministic, a few hundredths of a millisecond. The rules still
decide every red flag; the screen only turns what they would answer with form advice, praise or a
button into the one short pain-check question.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.domain.text import fold_latin

_WORD = re.compile(r"[^\W_]+")
_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_DIGITS = re.compile(r"\d")
_NOT = re.compile(r"\b(can)['’]t\b|n['’]t\b|\bcannot\b|\bcannae\b")  # "couldn't", "can't": "could not", "can not"
_CLAUSE = re.compile(r"[^\W_]+|[,.;:!?()]")
_NEGATORS = frozenset({"no", "not", "never", "without", "nothing", "zero", "none", "nor", "barely", "hardly"})
SCOPE = 4  # words a negation reaches
GRAMS = (3, 4, 5)  # letter runs inside a word, its edges marked: "<crut", "tches>"
# A message with fewer features counts as if it had this many: a short one says too little for its
# few words to outweigh the rules ("my back", "twisted" are plain answers).
FLOOR = 100
# Shorter messages are left to the rules: every injury report they missed in five blind sets had
# eight words or more, while the plainest answers ("can't touch my toes") are short.
MIN_WORDS = 5


def normalise(text: str) -> str:
    """Lower case, Latin accents and apostrophes dropped, every digit a 0: "I've 2" -> "ive 0"."""
    return _DIGITS.sub("0", _APOSTROPHES.sub("", fold_latin(text)))


def features(text: str) -> set[str]:
    """What the model sees of a message: its words, neighbouring word pairs, letter runs, and the
    words a negation or an inability stands before ("couldn't put my socks on", "no pain")."""
    plain = normalise(_NOT.sub(lambda m: f"{m.group(1) or ''} not ", text.casefold()))
    words = _WORD.findall(plain)
    found = {f"w {w}" for w in words}
    scope = 0
    for word in _CLAUSE.findall(plain):
        if word in _NEGATORS:
            scope = SCOPE
        elif not _WORD.fullmatch(word):
            scope = 0
        elif scope:
            found.add(f"n {word}")
            scope -= 1
    found.update(f"p {a} {b}" for a, b in zip(words, words[1:], strict=False))
    for word in set(words):
        marked = f"<{word}>"
        for n in GRAMS:
            found.update(f"c {marked[i : i + n]}" for i in range(len(marked) - n + 1))
    return found


@dataclass(frozen=True)
class InjuryScreen:
    """Weights per feature, a bias and the score above which a message may be an injury report."""

    weights: Mapping[str, float]
    bias: float
    threshold: float

    def score(self, text: str) -> float:
        """The model's log-odds that `text` reports an injury."""
        return _score(self.weights, self.bias, features(text))

    def flags(self, text: str) -> bool:
        return long_enough(text) and self.score(text) >= self.threshold


def long_enough(text: str) -> bool:
    """Whether the message has words enough for the screen to read."""
    return len(_WORD.findall(normalise(text))) >= MIN_WORDS  # "can't" is one word


def train(
    examples: Sequence[tuple[str, bool]],
    *,
    epochs: int = 12,
    l2: float = 1e-3,
    rate: float = 0.5,
    seed: int = 12,
    keep: float = 0.01,
) -> tuple[dict[str, float], float]:
    """Logistic regression by AdaGrad over shuffled rows (a fixed seed: the same corpora give the
    same weights). The classes are not reweighted: the corpora already hold far more injury reports
    than a week of real answers, and weighting them up again made the screen ask about plain
    answers. Weights smaller than `keep` are dropped: they change no decision and would only make
    the stored file larger."""
    rows = [(sorted(features(text)), label) for text, label in examples]
    positives = sum(label for _, label in rows)
    if not 0 < positives < len(rows):
        raise ValueError("training needs examples of both classes")
    weights: dict[str, float] = {}
    squares: dict[str, float] = {}
    bias, bias_square = 0.0, 0.0
    order = list(range(len(rows)))
    shuffle = random.Random(seed).shuffle
    for _ in range(epochs):
        shuffle(order)
        for index in order:
            feats, label = rows[index]
            size = 1.0 / math.sqrt(max(len(feats), FLOOR))
            z = _score(weights, bias, feats)
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            error = p - label
            for f in feats:
                w = weights.get(f, 0.0)
                g = error * size + l2 * w
                squares[f] = squares.get(f, 0.0) + g * g
                weights[f] = w - rate * g / math.sqrt(squares[f])
            bias_square += error * error
            bias -= rate * error / math.sqrt(bias_square)
    kept = {f: round(w, 4) for f, w in sorted(weights.items()) if abs(w) >= keep}
    return kept, round(bias, 4)


def scores(screen_weights: Mapping[str, float], bias: float, texts: Iterable[str]) -> list[float]:
    """Scores of many texts under weights not yet made into a screen (to choose its threshold)."""
    return [_score(screen_weights, bias, features(t)) for t in texts]


def _score(weights: Mapping[str, float], bias: float, found: Iterable[str]) -> float:
    """Log-odds from the features present, their sum scaled by the root of their number: a long
    message counts each feature for less, so its length alone never tips it over the threshold."""
    found = list(found)
    return bias + sum(weights.get(f, 0.0) for f in found) / math.sqrt(max(len(found), FLOOR))
