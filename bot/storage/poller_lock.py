"""Only one process may poll Telegram for a bot: two pollers steal each other's updates.

On PostgreSQL a session-level advisory lock, held on one connection for the life of the process
(it goes away with the process, however it ends). On SQLite an exclusive file lock beside the
database file, released by the operating system when the process ends.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.db import Database, open_private

# Any fixed 64-bit number works; this one spells "HINGE" so it is recognisable in pg_locks.
POLLER_LOCK_KEY = 0x48494E4745


class AlreadyPolling(Exception):
    """Another process holds the poller lock; the message says what to do, in one line."""


class PollerLock:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._connection: AsyncConnection | None = None
        self._file: IO[bytes] | None = None

    async def acquire(self) -> None:
        """Take the lock or raise `AlreadyPolling`; never waits."""
        if self.db.is_sqlite:
            self._file = _lock_file(self.db)
            return
        connection = await self.db.engine.connect()
        got = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": POLLER_LOCK_KEY})
        await connection.commit()  # the lock outlives the transaction; an open one would hold back vacuum
        if not got:
            await connection.close()
            raise AlreadyPolling(
                "another process is already polling Telegram with this database; run one poller, "
                "or set WEBHOOK_URL to run several processes"
            )
        self._connection = connection

    async def release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": POLLER_LOCK_KEY})
            await connection.commit()
            await connection.close()
        if self._file is not None:
            file, self._file = self._file, None
            file.close()


def _lock_file(db: Database) -> IO[bytes] | None:
    """An exclusive lock on `<database>.poller.lock`; none for in-memory databases or without fcntl."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one poller is then up to the operator
        return None
    database = db.url.database
    if not database or database == ":memory:":
        return None
    path = Path(database).with_name(Path(database).name + ".poller.lock")
    file = os.fdopen(open_private(path, os.O_WRONLY | os.O_APPEND), "ab")
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        raise AlreadyPolling(
            f"another process is already polling Telegram with {database} (it holds {path.name}); "
            "run one poller per database"
        ) from None
    return file
