"""Running it for real: clean SIGTERM, one poller per database, logs without the token, database
upgrades that keep every row, and deploy/ files that their tools accept."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.logs import CHATTY, MAX_LINE_CHARACTERS, PAYLOAD_LOGGERS, configure_logging
from bot.settings import Settings
from bot.storage import courses, deliveries, operations
from bot.storage.db import Database
from bot.storage.migrate import upgrade_async
from bot.storage.models import Delivery
from bot.storage.poller_lock import AlreadyPolling, PollerLock
from bot.web import KEEP_PROCESSED_UPDATES
from tests.conftest import TOKEN, Person, RunningBot, make_settings
from tests.test_webhook_e2e import free_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


# ----------------------------------------------------------------- `coach run` as a process


def _coach_env(telegram, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "METRICS_", "BOT_"))}
    env.update(
        BOT_TOKEN=TOKEN,
        DATABASE_URL=database_url,
        TELEGRAM_API_BASE_URL=telegram.base_url,
        DELIVERY_TICK_SECONDS="0.2",
        LOG_LEVEL="INFO",
        PTB_TIMEDELTA="true",
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),  # this checkout's bot, not an installed one
        **extra,
    )
    return env


async def _coach(env: dict[str, str], folder: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=folder,  # no stray .env
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _seed_due_lessons(url: str, count: int) -> None:
    """`count` onboarded people whose day 1 is due now, for the fan-out: started longer ago than a
    promise of "right away" holds a lesson back from it (deliveries.ASKED_GRACE)."""
    db, now = Database(url), datetime.now(UTC) - deliveries.ASKED_GRACE
    async with db.session() as session:
        for chat_id in range(5001, 5001 + count):
            subscriber, _ = await courses.get_or_create_subscriber(
                session=session, chat_id=chat_id, name=f"P{chat_id}", kind="private", now=now
            )
            subscriber.profile, subscriber.lesson_time, subscriber.timezone = "runner", "07:00", "Europe/Berlin"
            subscriber.onboarded = True
            await courses.begin_run(session=session, chat_id=chat_id, now=now)
    await db.dispose()


async def _statuses(url: str, day: int) -> dict[str, int]:
    """How many of the lessons of `day` are in each status."""
    db = Database(url)
    async with db.session() as session:
        rows = await session.execute(
            select(Delivery.status, func.count()).where(Delivery.day == day).group_by(Delivery.status)
        )
        counts = dict(rows.all())
    await db.dispose()
    return counts


async def test_sigterm_lets_sends_in_flight_finish_hands_back_the_rest_and_exits_zero(telegram, sqlite_url, tmp_path):
    people = 80
    await _seed_due_lessons(sqlite_url, people)
    telegram.delay_next("sendMessage", 1.0, times=10_000)  # every answer comes a second late
    metrics_port = free_port()
    env = _coach_env(telegram, sqlite_url, METRICS_PORT=str(metrics_port), WEBHOOK_LISTEN="127.0.0.1")
    process = await _coach(env, tmp_path)
    try:
        await telegram.wait_for(lambda: any(c.method == "sendMessage" for c in telegram.calls), timeout=30)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{metrics_port}", timeout=5) as client:
            health = await client.get("/healthz")
            assert health.status_code == 200 and health.json() == {"status": "ok"}
            assert "coach_delivery_tick_seconds_bucket" in (await client.get("/metrics")).text
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log and "stopped cleanly" in log
    statuses = await _statuses(sqlite_url, day=1)
    assert "sending" not in statuses and "sending" not in await _statuses(sqlite_url, day=2), statuses
    assert statuses.get("sent", 0) + statuses.get("pending", 0) == people, statuses
    sent_to = {c.params["chat_id"] for c in telegram.calls if c.method == "sendMessage"}
    assert statuses.get("sent", 0) == len(sent_to), "a send in flight was not recorded as sent"
    assert statuses.get("pending", 0) > 0, "nothing was left to hand back: SIGTERM came too late to test it"
    assert re.search(r"shutdown: \d+ claimed lesson\(s\) handed back unsent", log)


async def test_a_second_poller_on_the_same_database_stops_with_one_clear_line(telegram, sqlite_url, tmp_path):
    env = _coach_env(telegram, sqlite_url)
    first = await _coach(env, tmp_path)
    try:
        await telegram.wait_for(lambda: any(c.method == "getUpdates" for c in telegram.calls), timeout=30)
        second = await _coach(env, tmp_path)
        _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)
        assert second.returncode == 3
        [line] = stderr.decode().strip().splitlines()
        assert line.startswith("coach: another process is already polling Telegram with")
        first.send_signal(signal.SIGTERM)
        await asyncio.wait_for(first.communicate(), timeout=30)
        assert first.returncode == 0
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()


async def test_the_poller_lock_admits_one_holder_at_a_time(database_url):
    first, second = Database(database_url), Database(database_url)
    lock, rival = PollerLock(first), PollerLock(second)
    try:
        await lock.acquire()
        with pytest.raises(AlreadyPolling, match="already polling"):
            await rival.acquire()
        await lock.release()
        await rival.acquire()
        await rival.release()
    finally:
        await lock.release()
        await first.dispose()
        await second.dispose()


async def test_update_records_are_kept_two_days_then_forgotten(database_url):
    db, now = Database(database_url), datetime(2026, 6, 10, tzinfo=UTC)
    try:
        async with db.session() as session:
            assert await operations.first_sighting(session=session, update_id=1, now=now - timedelta(days=3))
            assert await operations.first_sighting(session=session, update_id=2, now=now - timedelta(hours=1))
            assert not await operations.first_sighting(session=session, update_id=2, now=now)
        async with db.session() as session:
            forgotten = await operations.forget_processed_updates(session=session, before=now - KEEP_PROCESSED_UPDATES)
        assert forgotten == 1
        async with db.session() as session:
            assert not await operations.first_sighting(session=session, update_id=2, now=now)
    finally:
        await db.dispose()


# ----------------------------------------------------------------- logs


@pytest.fixture
def log_stream():
    """The bot's own log handler at DEBUG, writing to a string; the logging setup restored after."""
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in (*CHATTY, *PAYLOAD_LOGGERS, "")}
    stream = io.StringIO()
    handler = configure_logging("DEBUG", secrets=[TOKEN], stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def test_the_token_never_appears_in_the_logs_of_a_full_run(telegram, sqlite_url, clock, log_stream):
    too_many_before = REGISTRY.get_sample_value("coach_telegram_429_total")
    bot = RunningBot(make_settings(telegram, sqlite_url), clock)
    await bot.start()
    try:
        alex = Person(telegram, bot=bot)
        await alex.onboard()
        telegram.fail_next("sendMessage", error_code=500, description="Internal Server Error")
        [sorry] = await alex.say("/help")  # the handler fails; the error handler logs the traceback
        assert "went wrong" in sorry["text"]
        telegram.fail_next("sendMessage", error_code=429, description="Too Many Requests: retry after 1", retry_after=1)
        await bot.at(datetime(2026, 6, 2, 5, 0, tzinfo=UTC))
        await alex.expect(1)
    finally:
        await bot.stop()
    assert REGISTRY.get_sample_value("coach_telegram_429_total") == too_many_before + 1
    logs = log_stream.getvalue()
    assert TOKEN not in logs and TOKEN.split(":", 1)[1] not in logs
    assert "/bot<redacted>/getUpdates" in logs, "the request lines were not logged at all"
    assert "[update " in logs and " chat 1001] " in logs
    lines = logs.splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+: ", line) for line in lines)
    assert any("Traceback (most recent call last)" in line for line in lines), "no traceback to fold"


async def test_what_people_write_and_who_they_are_never_reach_the_log_even_at_debug(
    telegram, sqlite_url, clock, log_stream
):
    private = ["Zebulonia", "Quartermaine", "zeb_hidden_handle", "SECRETPHRASE", "+49 1512 3456789", "52.5213"]
    bot = RunningBot(make_settings(telegram, sqlite_url), clock)
    await bot.start()
    try:
        zeb = Person(telegram, user_id=2002, name="Zebulonia", bot=bot)
        zeb.user.update(last_name="Quartermaine", username="zeb_hidden_handle")
        await zeb.say("/start", expect=2)
        await zeb.say("my back hurts SECRETPHRASE")
        await zeb.say("/cue SECRETPHRASE")
        await zeb.say("/log SECRETPHRASE 35 3x12")
        telegram.share_location(zeb.user, 52.5213, 13.4049)
        await zeb.expect(1)
        contact = {"phone_number": "+49 1512 3456789", "first_name": "Zebulonia", "user_id": 2002}
        telegram.push_update(
            {
                "message": telegram._incoming_message(
                    telegram.private_chat(zeb.user), {"from": zeb.user, "contact": contact}
                )
            }
        )
        await zeb.expect(1)
        huge = {"from": zeb.user, "text": "/help", "x_unknown_field": "y" * 5_000_000}  # a 5 MB update
        telegram.push_update({"message": telegram._incoming_message(telegram.private_chat(zeb.user), huge)})
        await zeb.expect(1)
    finally:
        await bot.stop()
    logs = log_stream.getvalue()
    assert "Calling Bot API endpoint `sendMessage`" in logs and "Processing update" in logs, "DEBUG was not on"
    assert [line[:300] for line in logs.splitlines() if any(w in line for w in private)] == []
    assert max(len(line) for line in logs.splitlines()) <= MAX_LINE_CHARACTERS + 200


def test_redaction_covers_arguments_and_tracebacks():
    stream = io.StringIO()
    handler = configure_logging("INFO", secrets=["42:abcdef-secret"], stream=stream)
    try:
        log = logging.getLogger("test.redaction")
        log.info("calling %s", "https://api.telegram.org/bot42:abcdef-secret/getMe")
        try:
            raise RuntimeError("url was /bot42:abcdef-secret/sendMessage\nsecond line")
        except RuntimeError:
            log.exception("request failed")
    finally:
        logging.getLogger().removeHandler(handler)
    logs = stream.getvalue()
    assert "abcdef-secret" not in logs
    assert len(logs.splitlines()) == 2


# ----------------------------------------------------------------- migrations


async def _empty_database(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{folder / 'old.db'}"
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        pytest.skip("PostgreSQL tests need TEST_POSTGRES_URL (CI sets it; see README)")
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return url


OLD_ROWS = {
    "subscriber": [
        "(1001, 'private', 'Alex', 'runner', '07:00', 'Europe/Berlin', NULL, TRUE, TRUE, '2026-06-01 04:00:00')",
        "(1002, 'private', 'Sam', 'lifter', '18:30', 'America/New_York', NULL, TRUE, FALSE, '2026-06-01 05:00:00')",
        "(1003, 'private', 'Kim', NULL, NULL, NULL, 'time', FALSE, TRUE, '2026-06-02 06:00:00')",
    ],
    "enrollment": [
        "(1, 1001, 'replaced', 1, '2026-05-01 04:00:00', NULL)",
        "(2, 1001, 'active', 3, '2026-06-01 04:00:00', '2026-06-03 05:00:00')",
        "(3, 1002, 'paused', 1, '2026-06-01 05:00:00', '2026-06-01 05:00:01')",
    ],
    "delivery": [
        "(1, 2, 1, '2026-06-01 04:00:00', 'sent', 1, 'w1', '2026-06-01 04:00:00', '2026-06-01 04:00:01', 11, NULL)",
        "(2, 2, 2, '2026-06-02 05:00:00', 'uncertain', 2, 'w1', '2026-06-02 05:00:00', '2026-06-02 05:00:09', NULL,"
        " 'read timeout')",
        "(3, 2, 3, '2026-06-03 05:00:00', 'sent', 1, 'w2', '2026-06-03 05:00:00', '2026-06-03 05:00:00', 31, NULL)",
        "(4, 2, 4, '2026-06-04 05:00:00', 'pending', 0, NULL, NULL, NULL, NULL, NULL)",
        "(5, 3, 1, '2026-06-01 05:00:00', 'failed', 8, 'w1', '2026-06-01 05:00:00', NULL, NULL, 'chat not found')",
    ],
}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_upgrading_a_database_from_the_first_schema_keeps_every_row(kind, tmp_path):
    url = await _empty_database(kind, tmp_path)
    await upgrade_async(url, "0001")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for table, rows in OLD_ROWS.items():
                await connection.execute(text(f"INSERT INTO {table} VALUES {', '.join(rows)}"))
            before = {t: (await connection.execute(text(f"SELECT * FROM {t} ORDER BY 1"))).all() for t in OLD_ROWS}
        await upgrade_async(url)
        async with engine.connect() as connection:
            head = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
            for table, rows in before.items():
                columns = ", ".join((await connection.execute(text(f"SELECT * FROM {table} LIMIT 0"))).keys())
                assert len(rows) == len(OLD_ROWS[table])
                old_columns = len(rows[0])
                after = (await connection.execute(text(f"SELECT {columns} FROM {table} ORDER BY 1"))).all()
                assert [tuple(row)[:old_columns] for row in after] == [tuple(row) for row in rows], table
            assert (await connection.execute(text("SELECT count(*) FROM processed_update"))).scalar_one() == 0
    finally:
        await engine.dispose()
    assert head == _head_revision()
    db = Database(url)  # and the bot reads the old rows through its models
    async with db.session() as session:
        subscriber = await courses.get_subscriber(session=session, chat_id=1002)
        enrollment = await courses.current_enrollment(session=session, chat_id=1001)
    await db.dispose()
    assert (subscriber.timezone, subscriber.reachable) == ("America/New_York", False)
    assert enrollment.current_day == 3 and enrollment.last_sent_at == datetime(2026, 6, 3, 5, tzinfo=UTC)


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from bot.storage.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


# ----------------------------------------------------------------- deploy/


def _compose_commands() -> list[list[str]]:
    commands = []
    if shutil.which("docker-compose"):
        commands.append(["docker-compose"])
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        commands.append(["docker", "compose"])
    return commands


@pytest.mark.skipif(not _compose_commands(), reason="neither docker-compose nor the docker compose plugin is installed")
def test_docker_compose_accepts_the_compose_file(tmp_path):
    # A copy beside a .env made from the example, since the file names deploy/.env, which is not in git.
    (tmp_path / "deploy").mkdir()
    shutil.copy(DEPLOY / "compose.yaml", tmp_path / "deploy" / "compose.yaml")
    example = (DEPLOY / ".env.example").read_text()
    (tmp_path / "deploy" / ".env").write_text(example + "\nPOSTGRES_PASSWORD=checkonly\nBOT_TOKEN=1:x\n")
    for command in _compose_commands():
        result = subprocess.run(
            [*command, "-f", "deploy/compose.yaml", "config", "-q"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, f"{' '.join(command)}: {result.stderr}"


def test_the_env_example_names_every_setting_and_parses():
    example = (DEPLOY / ".env.example").read_text()
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, flags=re.M))
    missing = {name.upper() for name in Settings.model_fields} - named
    assert not missing, f"deploy/.env.example does not mention {sorted(missing)}"
    Settings(_env_file=DEPLOY / ".env.example")  # and, as shipped, it is valid


def test_the_dockerfile_runs_as_a_user_with_a_health_check():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, flags=re.M)
    assert re.search(r"^USER (?!root)\w+", dockerfile, flags=re.M)
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert "coach migrate && exec coach run" in dockerfile


@pytest.mark.skipif(not shutil.which("nginx") or not shutil.which("openssl"), reason="nginx or openssl not installed")
def test_nginx_accepts_the_example_config(tmp_path):
    """With a throwaway certificate in place of Let's Encrypt's, `nginx -t` passes the example."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=coach.example.org"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    site = (DEPLOY / "nginx.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/coach.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/coach.example.org/privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; include {tmp_path}/site.conf; }}\n"
    )
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
