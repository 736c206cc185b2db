"""The scheduler's idle cost: with a million enrollments and nothing due, how long one delivery tick
takes (release stale claims, look for due lessons, look for due reminders), and whether the due
query is answered from the partial index rather than a scan.

Run: .venv/bin/python benchmarks/tick.py [--enrollments 1000000] [--ticks 50] [--database-url URL]
     (default: a fresh SQLite file; a PostgreSQL URL is emptied first)
Target: a tick under 10 ms (median) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from sqlalchemy import text  # noqa: E402

from benchmarks.seed import TOKEN, fresh_database, seed_people  # noqa: E402
from bot.app import CONTENT_DIR  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.content.languages import load_library  # noqa: E402
from bot.delivery.engine import DeliveryEngine  # noqa: E402
from bot.services.languages import Languages  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.storage import deliveries  # noqa: E402
from bot.storage.db import Database  # noqa: E402

TARGET_MS = 10.0
DUE = (
    "SELECT delivery.id FROM delivery JOIN enrollment ON enrollment.id = delivery.enrollment_id"
    " JOIN subscriber ON subscriber.chat_id = enrollment.chat_id"
    " WHERE delivery.status = 'pending' AND delivery.due_at <= :now AND enrollment.status = 'active'"
    " AND subscriber.reachable ORDER BY delivery.due_at LIMIT 200"
)


class NoTelegram:
    """Stands in for the bot: with nothing due, a tick must not call Telegram at all."""

    def __getattr__(self, name: str) -> None:
        raise AssertionError(f"nothing is due, yet the tick used bot.{name}")


async def plan(db: Database, now: datetime) -> list[str]:
    """How the database answers the due query (EXPLAIN QUERY PLAN / EXPLAIN)."""
    explain = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    now_value = now.replace(tzinfo=None).isoformat(sep=" ") if db.is_sqlite else now.replace(tzinfo=None)
    async with db.engine.connect() as connection:
        rows = await connection.execute(text(explain + DUE), {"now": now_value})
        lines = [str(row[-1]) for row in rows]
    return [line.strip() for line in lines if "SCAN" in line.upper() or "SEARCH" in line]


def timed(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms, max {ordered[-1]:.2f} ms"


async def main(args: argparse.Namespace) -> None:
    folder = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite+aiosqlite:///{Path(folder.name) / 'tick.db'}"
    await fresh_database(url)
    db = Database(url)
    now = datetime.now(UTC)
    started = time.perf_counter()
    await seed_people(db, args.enrollments, now=now, due_at=now + timedelta(hours=20))
    if not db.is_sqlite:
        async with db.engine.connect() as connection:
            await (await connection.execution_options(isolation_level="AUTOCOMMIT")).execute(text("VACUUM ANALYZE"))
    seeded = time.perf_counter() - started
    settings = Settings(bot_token=TOKEN, database_url=url, _env_file=None)
    library = load_library(CONTENT_DIR)
    languages = Languages(db=db, available=library.languages)
    engine = DeliveryEngine(settings=settings, library=library, languages=languages, db=db, clock=SystemClock())
    await engine.tick(NoTelegram())  # warm: connections opened, statements compiled
    ticks, due = [], []
    for _ in range(args.ticks):
        begun = time.perf_counter()
        report = await engine.tick(NoTelegram())
        ticks.append((time.perf_counter() - begun) * 1000)
        assert report.claimed == 0 and report.reminded == 0
        begun = time.perf_counter()
        async with db.session() as session:
            await deliveries.claim_due(session=session, now=datetime.now(UTC), limit=200, worker="benchmark")
        due.append((time.perf_counter() - begun) * 1000)
    lines = await plan(db, datetime.now(UTC))
    await db.dispose()
    folder.cleanup()
    verdict = "met" if statistics.median(ticks) < TARGET_MS else "MISSED"
    print(f"{db.engine.dialect.name}: {args.enrollments:,} enrollments seeded in {seeded:.1f} s, nothing due")
    print(f"due query (claim_due) {timed(due)}")
    print(f"whole tick            {timed(ticks)}  (target < {TARGET_MS:.0f} ms: {verdict})")
    print("due query plan:")
    for line in lines:
        print(f"  {line}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrollments", type=int, default=1_000_000)
    parser.add_argument("--ticks", type=int, default=50)
    parser.add_argument("--database-url", help="PostgreSQL URL to use (emptied!); default a temporary SQLite file")
    asyncio.run(main(parser.parse_args()))
