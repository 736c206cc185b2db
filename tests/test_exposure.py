"""What the bot exposes to the machine and the network: file modes, listening addresses, and what
its HTTP servers accept before they read a request."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import telegram as tg
from sqlalchemy import text

from bot.app import _web_servers, build_application
from bot.incoming import NotAnUpdate, parse_update
from bot.storage.db import Database
from bot.storage.migrate import upgrade_async
from bot.storage.poller_lock import PollerLock
from bot.web import MAX_BODY_BYTES, SECRET_HEADER
from tests import test_webhook_e2e as webhook
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


# ----------------------------------------------------------------- webhook input


def _real_updates() -> list[dict]:
    """Every kind of update the bot handles, built by python-telegram-bot from its own objects."""
    when = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    alex = tg.User(1001, "Alex", False, last_name="Ng", username="alex_ng", language_code="en")
    private = tg.Chat(1001, tg.constants.ChatType.PRIVATE, first_name="Alex")
    group = tg.Chat(-1001234567890, tg.constants.ChatType.SUPERGROUP, title="Club", is_forum=True)
    channel = tg.Chat(-1009876543210, tg.constants.ChatType.CHANNEL, title="News")
    lesson = tg.Message(7, when, private, from_user=tg.User(42, "Coach", True), text="<b>Day 1</b>")
    command = tg.Message(
        8,
        when,
        private,
        from_user=alex,
        text="/log rdl 35 3x12",
        entities=[tg.MessageEntity(tg.MessageEntity.BOT_COMMAND, 0, 4)],
        reply_to_message=lesson,
    )
    member = tg.ChatMemberMember(alex)
    admin = tg.ChatMemberAdministrator(tg.User(42, "Coach", True), False, *[True] * 11)
    objects = [
        tg.Update(1, message=command),
        tg.Update(2, message=tg.Message(9, when, private, from_user=alex, location=tg.Location(13.4, 52.5))),
        tg.Update(
            3,
            message=tg.Message(
                10, when, private, from_user=alex, sticker=None, photo=(tg.PhotoSize("f", "u", 90, 90),)
            ),
        ),
        tg.Update(4, edited_message=tg.Message(8, when, private, from_user=alex, text="edited", edit_date=when)),
        tg.Update(5, message=tg.Message(11, when, group, from_user=alex, text="/cue back", message_thread_id=3)),
        tg.Update(6, channel_post=tg.Message(12, when, channel, sender_chat=channel, text="/groupcourse start")),
        tg.Update(7, callback_query=tg.CallbackQuery("q1", alex, "ci-1", message=lesson, data="ci:1:1:n:o")),
        tg.Update(
            8,
            callback_query=tg.CallbackQuery(
                "q2", alex, "ci-1", message=tg.InaccessibleMessage(private, 3), data="onb:profile:runner"
            ),
        ),
        tg.Update(9, inline_query=tg.InlineQuery("i1", alex, "lower back", "", chat_type="sender")),
        tg.Update(10, my_chat_member=tg.ChatMemberUpdated(group, alex, when, tg.ChatMemberLeft(admin.user), admin)),
        tg.Update(11, chat_member=tg.ChatMemberUpdated(group, alex, when, tg.ChatMemberLeft(alex), member)),
        tg.Update(12, chat_join_request=tg.ChatJoinRequest(group, alex, when, 1001)),
    ]
    return [update.to_dict() for update in objects]


def _message_update(update_id: str = "5", message: str = '{"message_id": 1, "date": 1, "chat": CHAT}') -> bytes:
    """A raw body with the update id and the message written as given (JSON text, not Python)."""
    chat = '{"id": 1, "type": "private"}'
    return f'{{"update_id": {update_id}, "message": {message.replace("CHAT", chat)}}}'.encode()


def _nested(depth: int) -> dict:
    return functools.reduce(lambda inner, _: {"a": inner}, range(depth), {})


NOT_UPDATES = {
    "update id as a string": _message_update('"5"'),
    "update id 1e400": _message_update("1e400"),
    "update id 2**70": _message_update(str(2**70)),
    "negative update id": _message_update("-1"),
    "update id NaN": _message_update("NaN"),
    "message without a chat": _message_update(message='{"message_id": 1, "date": 1, "text": "/start"}'),
    "chat id a float": _message_update(message='{"message_id": 1, "date": 1, "chat": {"id": 1.5, "type": "group"}}'),
    "unknown chat type": _message_update(message='{"message_id": 1, "date": 1, "chat": {"id": 1, "type": "x"}}'),
    "message as a list": _message_update(message="[]"),
    "press without a sender": b'{"update_id": 5, "callback_query": {"id": "1", "chat_instance": "c", "data": "x"}}',
    "two kinds": b'{"update_id": 5, "poll": {}, "inline_query": {}}',
    "no kind": b'{"update_id": 5}',
    "an array": b"[1, 2]",
    "a string": b'"update"',
    "null": b"null",
    "not JSON": b"update_id=5",
    "not UTF-8": b'{"update_id": 5, "\xff": 1}',
    "nested 100,000 deep": _message_update(message="[" * 100_000 + "]" * 100_000),
    "nested 40 deep in a field": json.dumps({"update_id": 5, "poll": _nested(40)}).encode(),
}  # fmt: skip


async def test_every_real_update_passes_the_model_and_every_fake_one_is_refused():
    for update in _real_updates():
        assert parse_update(json.dumps(update).encode()) == update
        assert tg.Update.de_json(update, None).update_id == update["update_id"]
    for name, body in NOT_UPDATES.items():
        with pytest.raises(NotAnUpdate):
            parse_update(body)
            pytest.fail(name)


@pytest.fixture
async def webhook_bot(telegram, sqlite_url, clock):
    bot, stop, task = await webhook._start(telegram, sqlite_url, clock)
    try:
        yield bot
    finally:
        await webhook._stop(bot, stop, task)


async def test_the_webhook_answers_400_for_what_is_not_an_update_and_never_logs_an_error(webhook_bot, telegram, caplog):
    caplog.set_level(logging.WARNING)
    for name, body in NOT_UPDATES.items():
        assert await _post_raw(webhook_bot, body) == 400, name
    assert await webhook_bot.post(telegram.send_text(telegram.user(1002, "Bo"), "/help")) == 200
    await telegram.wait_for_messages(1002, 1)  # still serving
    serious = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not serious, [r.getMessage()[:200] for r in serious]


async def _post_raw(bot, body: bytes) -> int:
    headers = {SECRET_HEADER: webhook.SECRET, "Content-Type": "application/json"}
    return (await bot.client.post("/telegram", content=body, headers=headers)).status_code


# ----------------------------------------------------------------- body limits


async def _raw_request(port: int, head: str, body_chunks=()) -> tuple[int, int]:
    """Send the head, then body chunks until the server answers; (status, body bytes sent)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = 0
    try:
        writer.write(head.encode())
        await writer.drain()
        response = asyncio.ensure_future(reader.readline())
        for chunk in body_chunks:
            await asyncio.wait([response], timeout=0.005)
            if response.done():
                break
            try:
                writer.write(chunk)
                await writer.drain()
            except ConnectionError:
                break
            sent += len(chunk)
        status_line = await asyncio.wait_for(response, 10)
        return int(status_line.split()[1]), sent
    finally:
        writer.close()


def _head(method: str, path: str, headers: dict[str, str]) -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return "\r\n".join(lines) + "\r\n\r\n"


BIG = 90 * 1024 * 1024
PIECE = b"x" * 65536


async def test_a_body_over_the_limit_is_refused_before_it_is_read(webhook_bot, caplog):
    caplog.set_level(logging.WARNING)
    port = int(str(webhook_bot.client.base_url).rsplit(":", 1)[1].strip("/"))
    declared = {"Content-Length": str(BIG), "Content-Type": "application/json"}
    # The server answers before any of the 90 MB declared is sent: it never waits for (or holds) them.
    assert await _raw_request(port, _head("POST", "/telegram", {**declared, SECRET_HEADER: webhook.SECRET})) == (413, 0)
    # The secret is checked first, from the headers.
    assert await _raw_request(port, _head("POST", "/telegram", {**declared, SECRET_HEADER: "wrong"})) == (403, 0)
    # A chunked body is cut off once it passes the limit, long before 90 MB.
    chunked = {"Transfer-Encoding": "chunked", SECRET_HEADER: webhook.SECRET}
    pieces = (b"%x\r\n%s\r\n" % (len(PIECE), PIECE) for _ in range(BIG // len(PIECE)))
    status, sent = await _raw_request(port, _head("POST", "/telegram", chunked), pieces)
    assert status == 413 and sent < 2 * MAX_BODY_BYTES
    # Routes without a body refuse one as early.
    assert await _raw_request(port, _head("POST", "/metrics", declared)) == (405, 0)
    assert await _raw_request(port, _head("GET", "/healthz", declared)) == (413, 0)
    assert (await webhook_bot.client.get("/healthz")).status_code == 200
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
