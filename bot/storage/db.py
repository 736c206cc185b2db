"""The async engine and session factory, built from settings (never at import time)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel


def dialect_insert(session: AsyncSession, model: type[SQLModel]):
    """INSERT in the session's dialect, which knows ON CONFLICT."""
    return (pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert)(model)


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        options: dict = {"echo": echo}
        if self.is_sqlite:
            options["connect_args"] = {"timeout": 30}
            create_private_sqlite_file(self.url)
        else:
            options.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine = create_async_engine(self.url, **options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any error."""
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """One unit of work on a bare connection, for Core statements over many rows (the fan-out's
        claims and outcomes): no session to set up; commits on success, rolls back on any error."""
        async with self.engine.begin() as connection:
            yield connection

    async def dispose(self) -> None:
        await self.engine.dispose()


PRIVATE_FILE_MODE = 0o600


def open_private(path: Path, flags: int = os.O_RDWR) -> int:
    """Open (creating if need be) a file only its owner may read: 0600 whatever the umask, so
    the people's health notes in the database never become readable by other users."""
    descriptor = os.open(path, flags | os.O_CREAT, PRIVATE_FILE_MODE)
    if os.fstat(descriptor).st_mode & 0o777 != PRIVATE_FILE_MODE:
        with contextlib.suppress(PermissionError):  # another user's file: its owner decides
            os.fchmod(descriptor, PRIVATE_FILE_MODE)
    return descriptor


def create_private_sqlite_file(url: URL | str) -> None:
    """Create the SQLite file 0600 before SQLite does; SQLite gives the WAL, SHM and journal files
    it creates the database file's mode. Existing files, from before, are tightened the same way."""
    url = make_url(url)
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():  # a missing folder is SQLite's error to report, in its own words
        return
    os.close(open_private(path))
    for companion in ("-wal", "-shm", "-journal"):
        existing = path.with_name(path.name + companion)
        if existing.exists():
            os.close(open_private(existing))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets readers run beside the one writer; busy_timeout waits instead of failing.
    synchronous=NORMAL is WAL's recommended pairing: no fsync per commit, and still no corruption
    or lost commit when the bot crashes; only a power cut may undo the last moments' commits."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
