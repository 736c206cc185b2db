"""Fill a fresh database with many onboarded people in seconds, for the benchmarks: one
INSERT ... SELECT per table over a generated series of numbers, on SQLite or PostgreSQL."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import bindparam, text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bot.storage.db import Database  # noqa: E402
from bot.storage.migrate import upgrade_async  # noqa: E402
from bot.storage.models import UTCDateTime  # noqa: E402

FIRST_CHAT = 10_000_000  # people's chat ids are FIRST_CHAT + 1 ... FIRST_CHAT + count
TOKEN = "123456:BENCH-TOKEN"


async def fresh_database(url: str) -> None:
    """An empty schema at the newest migration (PostgreSQL: the public schema is dropped first)."""
    if url.startswith("postgresql"):
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    await upgrade_async(url)


def _series(dialect: str) -> str:
    if dialect == "postgresql":
        return "WITH series AS (SELECT generate_series(1, :count) AS i) "
    return "WITH RECURSIVE series(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM series WHERE i < :count) "


async def seed_people(db: Database, count: int, *, now: datetime, due_at: datetime) -> None:
    """`count` people in private chats on day 0 of an active course, their day 1 due at `due_at`."""
    series = _series(db.engine.dialect.name)
    statements = [
        "INSERT INTO subscriber (chat_id, kind, name, profile, lesson_time, timezone, onboarded, reachable,"
        f" created_at) SELECT {FIRST_CHAT} + i, 'private', 'P' || i, 'runner', '07:00', 'Europe/Berlin',"
        " TRUE, TRUE, :now FROM series",
        f"INSERT INTO enrollment (id, chat_id, status, current_day, started_at) SELECT i, {FIRST_CHAT} + i,"
        " 'active', 0, :now FROM series",
        "INSERT INTO delivery (enrollment_id, day, due_at, status, attempts) SELECT i, 1, :due, 'pending', 0"
        " FROM series",
    ]
    params = {"count": count, "now": now, "due": due_at}
    async with db.engine.begin() as connection:
        for statement in statements:
            query = text(series + statement)
            used = [name for name in ("now", "due") if f":{name}" in statement]
            query = query.bindparams(*(bindparam(name, type_=UTCDateTime()) for name in used))
            await connection.execute(query, {name: params[name] for name in ("count", *used)})
        if db.engine.dialect.name == "postgresql":
            await connection.execute(text("SELECT setval('enrollment_id_seq', :count)"), {"count": count})
