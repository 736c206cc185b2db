"""What the bot exposes to the machine and the network: file modes, listening addresses, and what
its HTTP servers accept before they read a request."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import _web_servers, build_application
from bot.storage.db import Database
from bot.storage.migrate import upgrade_async
from bot.storage.poller_lock import PollerLock
from tests.conftest import make_settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The loosest umask there is: whatever the bot creates must still be private."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


async def test_the_sqlite_database_and_its_companion_files_are_private_whatever_the_umask(tmp_path, open_umask):
    url = f"sqlite+aiosqlite:///{tmp_path / 'coach.db'}"
    await upgrade_async(url)  # `coach migrate` creates the file first
    db = Database(url)
    lock = PollerLock(db)
    try:
        await lock.acquire()
        async with db.session() as session:  # a write leaves the WAL and the shared-memory index
            await session.execute(text("CREATE TABLE scratch (x INTEGER)"))
        files = sorted(p.name for p in tmp_path.iterdir())
        assert {"coach.db", "coach.db-wal", "coach.db-shm", "coach.db.poller.lock"} <= set(files), files
        assert {name: _mode(tmp_path / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        await lock.release()
        await db.dispose()


async def test_a_database_left_world_readable_by_an_older_version_is_tightened(tmp_path, open_umask):
    path = tmp_path / "coach.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url)
    for name in ("coach.db", "coach.db-wal"):
        (tmp_path / name).touch()
        (tmp_path / name).chmod(0o644)
    db = Database(url)
    await db.dispose()
    assert _mode(path) == 0o600 and _mode(tmp_path / "coach.db-wal") == 0o600


async def test_the_metrics_port_listens_on_loopback_unless_opened_on_purpose(telegram, sqlite_url):
    closed = build_application(make_settings(telegram, sqlite_url, metrics_port=0))
    opened = build_application(make_settings(telegram, sqlite_url, metrics_port=0, metrics_listen="0.0.0.0"))
    try:
        [server] = _web_servers(closed)
        assert server.listen == "127.0.0.1"
        assert server.start() and {s.getsockname()[0] for s in server._sockets} == {"127.0.0.1"}
        await server.stop()
        assert [s.listen for s in _web_servers(opened)] == ["0.0.0.0"]
    finally:
        await closed.services.db.dispose()
        await opened.services.db.dispose()
