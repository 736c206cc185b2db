"""How heavy is the Mini App on a slow connection? The page, its scripts and styles, its sentences,
and the data of a busy learner (every check-in of the course, three exercises logged for three
months), raw and gzipped as nginx sends them.

Run: .venv/bin/python -m benchmarks.miniapp_weight
Target: under 150 KB raw for page and data together; the exit status is 1 when it is missed.
"""

from __future__ import annotations

import gzip
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.content import load_content
from bot.miniapp.api import STATIC

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"
BUDGET = 150 * 1024
FILES = ("index.html", "app.js", "app.css", "uPlot.iife.min.js", "uPlot.min.css")


def busy_learner() -> dict:
    """The learner API's answer for someone at the end of the course who logs three lifts."""
    start = datetime(2026, 6, 1, 7, tzinfo=UTC)
    checkin = {"id": 1, "day": 1, "at": start.isoformat(), "question": "Where did you feel today's hinges the most?"}
    checkins = [
        {
            **checkin,
            "day": day,
            "answer": "🍑 Hamstrings and glutes",
            "advice": "That is the pattern you want",
            "fix_helped": "yes",
        }
        for day in range(1, 8)
        for _ in range(2)
    ]
    sessions = [
        {
            "id": i,
            "at": (start + timedelta(days=i * 2)).isoformat(timespec="minutes"),
            "day": None,
            "weight": 40.0 + i,
            "sets": 3,
            "reps": 8,
            "felt": "clean",
            "rpe": 7.5,
            "checkin": "🍑 Hamstrings and glutes",
        }
        for i in range(45)
    ]
    return {
        "now": start.isoformat(),
        "operator": False,
        "course": {"day": 7, "days": 7, "status": "finished", "next": None},
        "checkins": checkins,
        "exercises": [
            {"key": key, "name": key, "unit": "kg", "sessions": sessions} for key in ("rdl", "deadlift", "kb-rdl")
        ],
        "settings": {"time": "07:00", "timezone": "Europe/Berlin", "units": "kg", "weekly": True, "paused": False},
    }


def main() -> int:
    parts = {name: (STATIC / name).read_bytes() for name in FILES}
    parts["texts (api/texts)"] = json.dumps(load_content(CONTENT_DIR).miniapp.model_dump()).encode()
    parts["busy learner (api/learner)"] = json.dumps(busy_learner()).encode()
    print(f"{'part':<30} {'raw':>9} {'gzip':>9}")
    for name, body in parts.items():
        print(f"{name:<30} {len(body):>9,} {len(gzip.compress(body)):>9,}")
    raw = sum(len(body) for body in parts.values())
    packed = sum(len(gzip.compress(body)) for body in parts.values())
    print(f"{'total':<30} {raw:>9,} {packed:>9,}   (budget {BUDGET:,} raw)")
    return 0 if raw < BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
