"""How fast is /cue? Index build time at start-up, then median and p99 per lookup over the real library.

Run: .venv/bin/python benchmarks/cue_lookup.py [--repeat N]
Target: median under 1 ms and p99 under 5 ms per lookup; the exit status is 1 when it is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from bot.content import load_content
from bot.domain.cue_search import build_cue_index

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"
TARGET_MEDIAN_MS, TARGET_P99_MS = 1.0, 5.0

# What people type mid-set: plain words, typos, whole sentences about a fault, and junk.
QUERIES = [
    "hips back",
    "hinge",
    "long backside",
    "sit bones",
    "pelvic floor",
    "breathe low",
    "hips first",
    "car door",
    "spine grows",
    "bar close",
    "bar path",
    "soft knees",
    "whole foot",
    "heels",
    "lockout",
    "drive",
    "squeeze",
    "hip thrust",
    "push the floor",
    "brace",
    "core",
    "exhale",
    "chest up",
    "neck",
    "where to look",
    "kettlebell",
    "paper",
    "running",
    "midstance",
    "single leg",
    "tripod",
    "hip drop",
    "depth",
    "lower back",
    "low back",
    "lumbar",
    "knees",
    "quads",
    "glutes",
    "hamstrings",
    "down",
    "up",
    "back",
    "running form",
    "tempo",
    "stretch",
    "lower bak",
    "lwoer back",
    "lowerback",
    "hammys",
    "hamstirngs",
    "brase",
    "brething",
    "glutse",
    "kneees",
    "neutrl neck",
    "pelvic flor",
    "tripd foot",
    "sit bonez",
    "sitbones",
    "hipsback",
    "deadlfit",
    "lenghten spine",
    "squeze glutes",
    "kettlebel",
    "Lower Back!!!",
    *["butt wink", "chest dropped", "bladder leaks", "hold my breath", "get the bar off the floor", "ankle rolled"],
    "I feel it in my back",
    "felt it in my lower back after the second set",
    "my knees shoot forward and it feels like a squat",
    "can't feel my glutes at all",
    "the kettlebell swings away from my legs",
    "where should I look during the deadlift",
    "how do I breathe on the way up",
    "my hip pops out on the single leg one",
    "lost my balance and the foot rolled",
    "hamstrings are too tight to go low",
    "leaking a little when I run",
    "back rounds at the bottom",
    "weight on my toes",
    "how far down should I go",
    "glutes while running",
    "tired at the end of a long run",
    "",
    "🙂🙂",
    "!!!???",
    "12345",
    "asdfghjkl",
    "lorem ipsum dolor sit amet",
    "x" * 4000,
    "lower back " * 400,
    "Привет",
    "<script>alert(1)</script>",
    "thanks",
    "what",
]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="times each query is run (default 200)")
    args = parser.parse_args()

    content = load_content(CONTENT_DIR)
    builds = []
    for _ in range(10):
        started = time.perf_counter()
        index = build_cue_index(content)
        builds.append((time.perf_counter() - started) * 1000)

    for query in QUERIES:  # warm up: first calls pay for imports and caches, as the bot does once
        index.search(query)
    samples = []
    for _ in range(args.repeat):
        for query in QUERIES:
            started = time.perf_counter()
            index.search(query)
            samples.append((time.perf_counter() - started) * 1000)

    median, p99 = statistics.median(samples), percentile(samples, 0.99)
    print(
        f"library: {len(content.cues)} cues, {len(content.drills)} drills, {len(content.checkin.nodes)} check-in nodes"
    )
    print(
        f"index build at start-up: first {builds[0]:.1f} ms, median of {len(builds)} {statistics.median(builds):.1f} ms"
    )
    print(f"lookups: {len(QUERIES)} queries x {args.repeat} = {len(samples)} searches")
    print(f"per lookup: median {median:.3f} ms, p99 {p99:.3f} ms, max {max(samples):.3f} ms")
    met = median < TARGET_MEDIAN_MS and p99 < TARGET_P99_MS
    print(f"target median < {TARGET_MEDIAN_MS:g} ms, p99 < {TARGET_P99_MS:g} ms: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
