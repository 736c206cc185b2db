"""Train the check-in reader's injury screen and estimate how it does on wordings it never saw.

    PYTHONPATH=. .venv/bin/python benchmarks/injury_screen.py            # cross-validate only
    PYTHONPATH=. .venv/bin/python benchmarks/injury_screen.py --write    # and write the weights

The screen (bot/domain/injury_screen.py) learns "this reports an injury" (a row expected to be a
red flag) from the development corpus and the blind sets, never from a held-out file, which stays
a measurement. `--write` stores the weights in content/lexicons/<language>.screen.json, where the
content loader finds them: a generated file, so the bot starts without training and the same
corpora always give the same file.

The estimate leaves one blind set out at a time, trains on the rest, and reads the left-out set
as the bot would (the rules first, the screen only where they found no red flag and no pain). The
rules were tuned on every blind set, so the figure that matters is the screen's: of the left-out
set's injury reports, how many it flags on its own, and how many answers that are not injury
reports and get no question from the rules it would turn into the pain-check question.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this tree's reader, not an installed one

from benchmarks.checkin_accuracy import CORPORA, QUESTIONS, SAFE, Row, load_rows  # noqa: E402
from bot.app import CONTENT_DIR  # noqa: E402
from bot.content.languages import load_library  # noqa: E402
from bot.domain.injury_screen import long_enough, scores, train  # noqa: E402
from bot.domain.reader import Outcome, Question, Reader, decide  # noqa: E402

# Where the log-odds that a message reports an injury is high enough to ask, per language; chosen
# by the leave-one-blind-set-out estimate below on the blind sets only (a lower one asks more for
# few more injuries caught). Russian at 0.5: at 0.0 the left-out sets gained no injury report
# caught and lost a point of needless questions (first-read rules: 4/4 caught either way, 3.3 %
# asked at both; current rules: 72.8 % flagged alone, 3.2 % asked, against 78.2 % and 3.8 %).
THRESHOLDS = {"en": 0.0, "es": 0.0, "ru": 0.5}


def training_sets(language: str) -> dict[str, list[Row]]:
    """Every corpus of the language but the held-out ones, by name."""
    return {
        name: load_rows(path)
        for name, (lang, path) in CORPORA.items()
        if lang == language and "held-out" not in name and path.exists()
    }


def examples(rows: list[Row], leave_out: set[str] = frozenset()) -> list[tuple[str, bool]]:
    """Each answer and whether it reports an injury; answers to the pain-check question are left
    out, as the screen never reads them (a bare "yeah" is a red flag there, and only there)."""
    return [
        (r.text, r.expect == Outcome.RED_FLAG) for r in rows if r.text not in leave_out and r.q != Question.PAIN_CHECK
    ]


def cross_validate(language: str, reader: Reader, thresholds: list[float]) -> None:
    sets = training_sets(language)
    blind = [name for name in sets if "blind" in name]
    if len(blind) < 2:
        print(f"{language}: fewer than two blind sets, no cross-validated estimate")
        return
    print(f"{language}: leave one blind set out, train on the rest ({', '.join(sets)})")
    scored: dict[str, list[tuple[Row, float, str]]] = {}
    for name in blind:
        texts = {r.text for r in sets[name]}
        rows = [r for other, part in sets.items() if other != name for r in part]
        weights, bias = train(examples(rows, texts))
        outcomes = [str(decide(reader.read(r.text), r.q).outcome) for r in sets[name]]
        scored[name] = list(zip(sets[name], scores(weights, bias, [r.text for r in sets[name]]), outcomes, strict=True))
    for threshold in thresholds:
        cells, caught, injuries, asked, answered = [], 0, 0, 0, 0
        for name in blind:
            flagged = [(r, s >= threshold and long_enough(r.text), got) for r, s, got in scored[name]]
            hurt = [f for r, f, _ in flagged if r.expect == Outcome.RED_FLAG]
            # answers the rules give advice, praise or an option to, that are no injury report
            advised = [
                f
                for r, f, got in flagged
                if r.expect != Outcome.RED_FLAG
                and r.expect not in QUESTIONS
                and got not in QUESTIONS | SAFE
                and r.q != Question.PAIN_CHECK
            ]
            caught, injuries = caught + sum(hurt), injuries + len(hurt)
            asked, answered = asked + sum(advised), answered + len(advised)
            cells.append(f"{name.split()[-1]} {sum(hurt)}/{len(hurt)} +{sum(advised)}")
        print(
            f"  threshold {threshold:5.2f}: screen alone flags {caught}/{injuries} = {100 * caught / injuries:.1f} % of"
            f" left-out injury reports; would ask {asked}/{answered} = {100 * asked / answered:.1f} % of left-out"
            f" answers the rules advise  ({', '.join(cells)})"
        )


# The reader each blind set first met, before anyone had seen the set (README, "How well it reads"):
# its misses are the wordings a reader tuned on everything before still did not know.
FIRST_READ = {
    "en": {
        "blind A": "ac2014b^",
        "blind B": "ac2014b^",
        "blind C": "2a20183^",
        "blind D": "6e05b89",
        "blind E": "1ff517d",
        "blind F": "99c1fd7",
        "blind G": "2f0f9ee",
    },
    "es": {"es blind 2": "99c1fd7", "es blind 3": "2f0f9ee"},
    "ru": {"ru blind 2": "99c1fd7", "ru blind 3": "2f0f9ee"},
}
_OLD_READER = """
import json, sys
from pathlib import Path
root = Path(sys.argv[1]); sys.path.insert(0, str(root))
from bot.content import load_content
from bot.domain.reader import Reader, decide
reader = Reader(load_content(root / "content").lexicons[sys.argv[2]].model_copy(update={"screen": None}))
rows = json.load(sys.stdin)
print(json.dumps([str(decide(reader.read(text), q).outcome) for q, text in rows]))
"""


def first_reads(language: str, sets: dict[str, list[Row]]) -> dict[str, list[str]]:
    """Each blind set read by the rules of the commit it was first measured at (from git history)."""
    found: dict[str, list[str]] = {}
    root = Path(__file__).resolve().parent.parent
    for name, commit in FIRST_READ[language].items():
        with tempfile.TemporaryDirectory() as tree:
            archive = subprocess.run(
                ["git", "archive", commit, "bot", "content"], cwd=root, capture_output=True, check=True
            )
            subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
            rows = json.dumps([(r.q, r.text) for r in sets[name]])
            command = [sys.executable, "-c", _OLD_READER, tree, language]
            done = subprocess.run(command, input=rows, capture_output=True, text=True, check=True, cwd=tree)
            found[name] = json.loads(done.stdout)
    return found


def first_read_estimate(language: str, thresholds: list[float]) -> None:
    """The whole design on wordings nobody had tuned for: each blind set's first-read rules, with a
    screen trained without that set behind them."""
    sets = training_sets(language)
    outcomes = first_reads(language, sets)
    print("  with the rules each blind set first met (from git history) and a screen trained without that set:")
    scored = {}
    for name in outcomes:
        texts = {r.text for r in sets[name]}
        rows = [r for other, part in sets.items() if other != name for r in part]
        weights, bias = train(examples(rows, texts))
        scored[name] = scores(weights, bias, [r.text for r in sets[name]])
    for threshold in thresholds:
        cells, missed, caught, asked, answered = [], 0, 0, 0, 0
        for name, got in outcomes.items():
            m = c = a = n = 0
            for row, outcome, score in zip(sets[name], got, scored[name], strict=True):
                flagged = score >= threshold and long_enough(row.text) and outcome not in SAFE
                flagged = flagged and row.q != Question.PAIN_CHECK
                if row.expect == Outcome.RED_FLAG and outcome not in SAFE:
                    m, c = m + 1, c + flagged
                elif row.expect not in QUESTIONS | SAFE and outcome not in QUESTIONS:
                    n, a = n + 1, a + flagged
            cells.append(f"{name.split()[-1]} {c}/{m} +{a}")
            missed, caught, asked, answered = missed + m, caught + c, asked + a, answered + n
        print(
            f"  threshold {threshold:5.2f}: of the injury reports the rules missed, the screen asks about"
            f" {caught}/{missed}; it asks about {asked}/{answered} = {100 * asked / answered:.1f} % of the other"
            f" answers  ({', '.join(cells)})"
        )


def write(language: str) -> Path:
    sets = training_sets(language)
    weights, bias = train(examples([r for rows in sets.values() for r in rows]))
    target = CONTENT_DIR / "lexicons" / f"{language}.screen.json"
    screen = {
        "language": language,
        "trained_on": sorted(CORPORA[name][1].name for name in sets),
        "threshold": THRESHOLDS[language],
        "bias": bias,
        "weights": weights,
    }
    target.write_text(json.dumps(screen, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n", "utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="en")
    parser.add_argument("--write", action="store_true", help="write content/lexicons/<language>.screen.json")
    parser.add_argument("--threshold", type=float, action="append", help="thresholds to estimate (default: a sweep)")
    parser.add_argument("--first-read", action="store_true", help="also with each blind set's first-read rules")
    args = parser.parse_args()
    lexicon = load_library(CONTENT_DIR).base.lexicons[args.language].model_copy(update={"screen": None})
    thresholds = args.threshold or sorted({-0.25, THRESHOLDS[args.language], 0.25, 0.5, 1.0})
    cross_validate(args.language, Reader(lexicon), thresholds)
    if args.first_read and args.language in FIRST_READ:
        first_read_estimate(args.language, thresholds)
    if args.write:
        print(f"wrote {write(args.language)}")


if __name__ == "__main__":
    main()
