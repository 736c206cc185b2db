"""How well the check-in reader hears people: accuracy per category, red-flag recall, false
alarms, needless questions, the confusions, and the time per message, for the development corpus,
the held-out corpus and the blind sets (written after the reader, never tuned on) separately, and
for each other language's development and held-out corpora with the reader for that language.

    .venv/bin/python benchmarks/checkin_accuracy.py [--examples 3]

Targets on the held-out part: red-flag recall 100 %, false alarms <= 1 %, overall >= 95 %,
questions <= 10 % where the expected outcome is not a question, under 2 ms a message.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # measure this tree's reader, not an installed one

from bot.app import CONTENT_DIR  # noqa: E402
from bot.content.languages import load_library  # noqa: E402
from bot.domain.reader import Outcome, Reader, decide  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
# name: (language of the reader, corpus file)
ENGLISH_BLIND = "ABCDEFGHI"  # blind sets, in the order they were written (tests/data/checkin_blind_<letter>.yaml)
OTHER_BLIND = 5  # each other language's blind sets: checkin_<lang>_blind.yaml, then _blind_2 ... _blind_5
CORPORA = {
    "dev": ("en", DATA / "checkin_dev.yaml"),
    "held-out": ("en", DATA / "checkin_heldout.yaml"),
}
CORPORA |= {f"blind {letter}": ("en", DATA / f"checkin_blind_{letter.lower()}.yaml") for letter in ENGLISH_BLIND}
CORPORA |= {  # each other language: its development, held-out and blind sets, read by its own reader
    f"{language} {part}": (language, DATA / f"checkin_{language}_{suffix}.yaml")
    for language in ("es", "ru")
    for part, suffix in (
        ("dev", "dev"),
        ("held-out", "heldout"),
        ("blind", "blind"),
        *((f"blind {n}", f"blind_{n}") for n in range(2, OTHER_BLIND + 1)),
    )
}
QUESTIONS = {Outcome.ASK.value, Outcome.SAFETY_QUESTION.value}
SAFE = {Outcome.RED_FLAG.value, Outcome.SAFETY_QUESTION.value}  # no form advice, praise or load before safety


@dataclass(frozen=True)
class Row:
    q: str
    text: str
    expect: str
    cat: str


def load_rows(path: Path) -> list[Row]:
    """The rows of a corpus file: a list at the top, or under `rows:`."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = data["rows"] if isinstance(data, dict) else data
    return [Row(str(r["q"]), str(r["text"]), str(r["expect"]), str(r["cat"])) for r in rows]


@dataclass(frozen=True)
class Result:
    row: Row
    got: str
    ms: float


def run(reader: Reader, rows: list[Row]) -> list[Result]:
    results = []
    for row in rows:
        start = time.perf_counter()
        got = decide(reader.read(row.text), row.q).outcome
        results.append(Result(row, str(got), (time.perf_counter() - start) * 1000))
    return results


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100 * part / whole:.1f} %" if whole else "n/a"


def report(name: str, results: list[Result], examples: int) -> str:
    lines = [f"== {name}: {len(results)} rows"]
    by_cat: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_cat[result.row.cat].append(result)
    for cat in sorted(by_cat):
        items = by_cat[cat]
        lines.append(f"  {cat:13} {_share(sum(r.got == r.row.expect for r in items), len(items))}")
    right = sum(r.got == r.row.expect for r in results)
    flags = [r for r in results if r.row.expect == Outcome.RED_FLAG]
    others = [r for r in results if r.row.expect != Outcome.RED_FLAG]
    not_questions = [r for r in results if r.row.expect not in QUESTIONS]
    lines += [
        f"  overall       {_share(right, len(results))}",
        f"  red-flag recall            {_share(sum(r.got == Outcome.RED_FLAG for r in flags), len(flags))}",
        f"  red flags answered safely  {_share(sum(r.got in SAFE for r in flags), len(flags))}"
        " (the safety answer, or the pain-check question first)",
        f"  false alarms               {_share(sum(r.got == Outcome.RED_FLAG for r in others), len(others))}",
        f"  questions where not due    {_share(sum(r.got in QUESTIONS for r in not_questions), len(not_questions))}",
    ]
    confusions: dict[tuple[str, str], list[Result]] = defaultdict(list)
    for result in results:
        if result.got != result.row.expect:
            confusions[(result.row.expect, result.got)].append(result)
    if confusions:
        lines.append("  confusions (expected -> got: count, examples)")
        for (expect, got), items in sorted(confusions.items(), key=lambda kv: -len(kv[1])):
            shown = "; ".join(f'[{r.row.q}] "{r.row.text}"' for r in items[:examples])
            lines.append(f"    {expect} -> {got}: {len(items)}  {shown}")
    times = sorted(r.ms for r in results)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    lines.append(f"  ms per message: median {statistics.median(times):.3f}, p99 {p99:.3f}, max {times[-1]:.3f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=3, help="examples shown per confusion")
    parser.add_argument("--rounds", type=int, default=5, help="times each corpus is read, for the timings")
    parser.add_argument("--language", action="append", help="only these languages (default: every one)")
    args = parser.parse_args()
    lexicons = load_library(CONTENT_DIR).base.lexicons
    wanted = set(args.language or lexicons)
    readers: dict[str, Reader] = {}
    for language in sorted({language for language, _path in CORPORA.values()} & set(lexicons) & wanted):
        start = time.perf_counter()
        readers[language] = Reader(lexicons[language])
        print(f"reader for '{language}' built in {(time.perf_counter() - start) * 1000:.1f} ms")
    for name, (language, path) in CORPORA.items():
        if language not in wanted:
            continue
        if not path.exists() or language not in readers:
            print(f"== {name}: {path.name} or the '{language}' lexicon not found")
            continue
        reader = readers[language]
        rows = load_rows(path)
        rounds = [run(reader, rows) for _ in range(max(1, args.rounds))]
        fastest = [min((rr[i] for rr in rounds), key=lambda r: r.ms) for i in range(len(rows))]
        print(report(name, fastest, args.examples))
    counts = Counter(r.cat for r in load_rows(CORPORA["dev"][1]))
    print(f"dev rows per category: {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()
