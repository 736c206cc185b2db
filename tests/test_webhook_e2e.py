"""Webhook mode end to end: the real Application behind its own webhook server. The fake Bot API
records what the bot sends; httpx plays Telegram posting updates, with and without the secret."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import build_application, serve
from bot.context import CoachApplication
from bot.demo.fake_telegram import FakeBotApi
from bot.settings import SettingsError, load_settings
from bot.storage.models import ProcessedUpdate
from tests.conftest import FakeClock, buttons, lesson_days, make_settings

SECRET = "webhook-Secret_42"
WEBHOOK_URL = "https://coach.example.org/telegram"  # what Telegram is told; nothing connects to it


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class WebhookBot:
    app: CoachApplication
    client: httpx.AsyncClient

    async def post(self, update: dict, secret: str | None = SECRET) -> int:
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        response = await self.client.post("/telegram", json=update, headers=headers)
        return response.status_code

    async def metric(self, name: str) -> float:
        """The value of one sample line of /metrics, e.g. 'coach_active_people'."""
        text = (await self.client.get("/metrics")).text
        return float(next(line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")))


async def _wait_healthy(client: httpx.AsyncClient) -> None:
    for _ in range(200):
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("the webhook server never became healthy")


async def _start(telegram: FakeBotApi, url: str, clock: FakeClock) -> tuple[WebhookBot, asyncio.Event, asyncio.Task]:
    port = free_port()
    settings = make_settings(
        telegram,
        url,
        webhook_url=WEBHOOK_URL,
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        webhook_port=port,
    )
    app = build_application(settings, clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop=stop))
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5)
    await _wait_healthy(client)
    return WebhookBot(app, client), stop, task


async def _stop(bot: WebhookBot, stop: asyncio.Event, task: asyncio.Task) -> None:
    await bot.client.aclose()
    stop.set()
    await asyncio.wait_for(task, 20)


@pytest.fixture
async def webhook_bot(telegram: FakeBotApi, sqlite_url: str, clock: FakeClock) -> AsyncIterator[WebhookBot]:
    bot, stop, task = await _start(telegram, sqlite_url, clock)
    try:
        yield bot
    finally:
        await _stop(bot, stop, task)


async def test_start_up_sets_the_webhook_with_its_secret(webhook_bot, telegram):
    [call] = [c for c in telegram.calls if c.method == "setWebhook"]
    assert call.params["url"] == WEBHOOK_URL and call.params["secret_token"] == SECRET
    assert not [c for c in telegram.calls if c.method == "getUpdates"], "a webhook process must not poll"


async def test_a_person_onboards_through_the_webhook_and_gets_day_one(webhook_bot, telegram):
    alex = telegram.user(1001, "Alex")
    assert await webhook_bot.post(telegram.send_text(alex, "/start")) == 200
    _, question = await telegram.wait_for_messages(1001, 2)
    assert await webhook_bot.post(telegram.press_button(alex, question, "onb:profile:runner")) == 200
    await telegram.wait_for_messages(1001, 3)
    assert await webhook_bot.post(telegram.send_text(alex, "7am")) == 200
    await telegram.wait_for_messages(1001, 4)
    assert await webhook_bot.post(telegram.send_text(alex, "Berlin")) == 200
    messages = await telegram.wait_for_messages(1001, 6)
    assert lesson_days(messages) == [1]
    assert await webhook_bot.metric("coach_active_people") == 1
    assert await webhook_bot.metric('coach_lessons_total{outcome="sent"}') >= 1


async def test_requests_without_the_right_secret_are_refused_and_never_processed(webhook_bot, telegram):
    alex = telegram.user(1001, "Alex")
    missing, wrong = telegram.send_text(alex, "/start"), telegram.send_text(alex, "/start")
    assert await webhook_bot.post(missing, secret=None) == 403
    assert await webhook_bot.post(wrong, secret="not-the-secret") == 403
    assert await webhook_bot.post(wrong, secret=SECRET + "x") == 403
    # Updates are handled in order, so once a later one is answered the refused ones would have been too.
    assert await webhook_bot.post(telegram.send_text(alex, "/help")) == 200
    [reply] = await telegram.wait_for_messages(1001, 1)
    await asyncio.sleep(0.2)
    assert telegram.messages_to(1001) == [reply], "a refused /start was processed"
    assert not buttons(reply) and "/today" in reply["text"]
    async with webhook_bot.app.services.db.session() as session:
        seen = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
    assert seen == 1


async def test_an_update_delivered_twice_is_processed_once(webhook_bot, telegram):
    alex = telegram.user(1001, "Alex")
    start = telegram.send_text(alex, "/start")
    skipped_before = await webhook_bot.metric("coach_duplicate_updates_total")
    assert await webhook_bot.post(start) == 200
    assert await webhook_bot.post(start) == 200  # Telegram missed our answer and sends it again
    assert await webhook_bot.post(telegram.send_text(alex, "/help")) == 200
    messages = await telegram.wait_for_messages(1001, 3)
    await asyncio.sleep(0.2)
    assert len(telegram.messages_to(1001)) == 3, [m["text"][:40] for m in messages]
    assert await webhook_bot.metric("coach_duplicate_updates_total") == skipped_before + 1


async def test_a_body_that_is_not_an_update_is_a_bad_request(webhook_bot):
    response = await webhook_bot.client.post(
        "/telegram",
        content=b"not json",
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert (await webhook_bot.client.get("/telegram")).status_code == 405


async def test_two_processes_on_one_database_handle_a_shared_update_once(telegram, database_url, clock):
    """A fleet behind a proxy: the same update reaching two processes is answered by one of them."""
    first, stop_first, task_first = await _start(telegram, database_url, clock)
    second, stop_second, task_second = await _start(telegram, database_url, clock)
    try:
        alex = telegram.user(1001, "Alex")
        start = telegram.send_text(alex, "/start")
        assert await first.post(start) == 200
        assert await second.post(start) == 200
        await telegram.wait_for_messages(1001, 2)
        for bot in (first, second):
            assert await bot.post(telegram.send_text(alex, "/help")) == 200
        await telegram.wait_for_messages(1001, 4)
        await asyncio.sleep(0.2)
        assert len(telegram.messages_to(1001)) == 4
    finally:
        await _stop(first, stop_first, task_first)
        await _stop(second, stop_second, task_second)


def test_a_webhook_needs_its_secret():
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        load_settings(_env_file=None, bot_token="1:x", webhook_url=WEBHOOK_URL)
    with pytest.raises(SettingsError, match="WEBHOOK_URL"):
        load_settings(_env_file=None, bot_token="1:x", webhook_url="http://coach.example.org/t", webhook_secret="s")
    assert load_settings(_env_file=None, webhook_url=WEBHOOK_URL, webhook_secret="s").webhook_path == "/telegram"
