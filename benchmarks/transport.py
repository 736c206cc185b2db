"""What one lesson's send costs the bot, by HTTP client and JSON library: the measurements behind the
lean fan-out's own keep-alive client and msgspec (README, "Scaling and reliability").

Run: .venv/bin/python benchmarks/transport.py [--requests 5000] [--in-flight 32]
The fake Telegram runs in a process of its own; this process posts one prepared lesson body per
request over a keep-alive pool, `--in-flight` at a time, and prints its own CPU microseconds per
request for each client: python-telegram-bot's `send_message` (form data in, `Message` out),
httpx and aiohttp posting the same JSON and reading only the message id, the lean path's keep-alive
client (bot/delivery/keepalive.py) alone, and its `LeanRequest` (that client under python-telegram-bot's
error handling, the answer read by msgspec). Then the JSON
libraries on the same body and answer (microseconds per call, best of five).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import timeit
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

import aiohttp  # noqa: E402
import httpx  # noqa: E402
import msgspec  # noqa: E402
import orjson  # noqa: E402
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from benchmarks.seed import TOKEN  # noqa: E402
from bot.delivery.keepalive import KeepAlivePool  # noqa: E402
from bot.delivery.lean import LeanRequest, PreparedMessage  # noqa: E402
from bot.demo.fake_telegram import FakeBotApi  # noqa: E402

CHAT = 42
TEXT = "<b>Day 1 of 7: the hip hinge</b>\n" + "A line of the lesson, as long as a real one is. " * 60
KEYBOARD = [[{"text": f"Option {i}", "callback_data": f"ci:12345:1:node:option{i}"} for i in (1, 2)]] * 2
BODY = {
    "chat_id": CHAT,
    "text": TEXT,
    "parse_mode": "HTML",
    "reply_markup": {"inline_keyboard": KEYBOARD},
    "link_preview_options": {"is_disabled": True},
    "allow_paid_broadcast": True,
}
ANSWER = json.dumps(
    {
        "ok": True,
        "result": {
            "message_id": 123,
            "date": 1_700_000_000,
            "chat": {"id": CHAT, "type": "private", "first_name": "P"},
            "from": {"id": 123456, "is_bot": True, "first_name": "Hinge Coach", "username": "HingeCoachBot"},
            "text": TEXT,
            "reply_markup": {"inline_keyboard": KEYBOARD},
        },
    }
).encode()


class Sent(msgspec.Struct):
    message_id: int


class Answer(msgspec.Struct):
    ok: bool
    result: Sent | None = None


async def serve() -> None:
    """The fake Telegram, in this (child) process until its standard input closes."""
    async with FakeBotApi(TOKEN) as telegram:
        telegram.private_chat(telegram.user(CHAT, "P"))
        print(telegram.base_url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def cpu_per_request(post: Callable[[], Awaitable[object]], requests: int, in_flight: int) -> float:
    """This process's CPU microseconds per request, `in_flight` requests at a time."""
    for _ in range(50):  # connections opened, code warmed
        await post()
    left = requests

    async def lane() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await post()

    started = time.process_time()
    await asyncio.gather(*(lane() for _ in range(in_flight)))
    return (time.process_time() - started) / requests * 1e6


async def measure(base_url: str, args: argparse.Namespace) -> dict[str, float]:
    url = f"{base_url}{TOKEN}/sendMessage"
    body = orjson.dumps(BODY)
    headers = {"Content-Type": "application/json"}
    figures = {}

    bot = Bot(TOKEN, base_url=base_url, request=HTTPXRequest(connection_pool_size=args.in_flight))
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(**button) for button in row] for row in KEYBOARD])
    async with bot:

        async def ptb() -> object:
            return await bot.send_message(
                CHAT,
                TEXT,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_paid_broadcast=True,
            )

        figures["python-telegram-bot send_message (httpx)"] = await cpu_per_request(ptb, args.requests, args.in_flight)

    limits = httpx.Limits(max_connections=args.in_flight, max_keepalive_connections=args.in_flight)
    async with httpx.AsyncClient(limits=limits) as client:

        async def with_httpx() -> object:
            answer = await client.post(url, content=body, headers=headers)
            return orjson.loads(answer.content)["result"]["message_id"]

        figures["httpx, prepared JSON"] = await cpu_per_request(with_httpx, args.requests, args.in_flight)

    connector = aiohttp.TCPConnector(limit=args.in_flight, keepalive_timeout=30)
    async with aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent",)) as session:

        async def with_aiohttp() -> object:
            async with session.post(url, data=body, headers=headers) as answer:
                return orjson.loads(await answer.read())["result"]["message_id"]

        figures["aiohttp, prepared JSON"] = await cpu_per_request(with_aiohttp, args.requests, args.in_flight)

    pool = KeepAlivePool(url, connections=args.in_flight, connect_timeout=5.0, read_timeout=5.0, idle_seconds=30)
    try:

        async def with_keepalive() -> object:
            return orjson.loads((await pool.post(url, body))[1])["result"]["message_id"]

        figures["keepalive.py, prepared JSON"] = await cpu_per_request(with_keepalive, args.requests, args.in_flight)
    finally:
        await pool.close()

    lean = LeanRequest(url=url, connections=args.in_flight, read_timeout=5.0)
    await lean.initialize()
    try:
        message = PreparedMessage(body)

        async def with_lean() -> object:
            return (await lean.post(url, message)).message_id

        figures["the lean path's LeanRequest (keepalive, msgspec)"] = await cpu_per_request(
            with_lean, args.requests, args.in_flight
        )
    finally:
        await lean.shutdown()
    return figures


def json_figures() -> dict[str, float]:
    """Microseconds to encode the lesson body and to read the answer's message id, per library."""
    encoder, decoder = msgspec.json.Encoder(), msgspec.json.Decoder()

    typed = msgspec.json.Decoder(Answer)
    calls = {
        "json.dumps": lambda: json.dumps(BODY).encode(),
        "orjson.dumps": lambda: orjson.dumps(BODY),
        "msgspec encode": lambda: encoder.encode(BODY),
        "json.loads": lambda: json.loads(ANSWER),
        "orjson.loads": lambda: orjson.loads(ANSWER),
        "msgspec decode": lambda: decoder.decode(ANSWER),
        "msgspec decode into a Struct": lambda: typed.decode(ANSWER),
    }
    return {name: min(timeit.repeat(call, number=2000, repeat=5)) / 2000 * 1e6 for name, call in calls.items()}


async def main(args: argparse.Namespace) -> None:
    server = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    base_url = (await server.stdout.readline()).decode().strip()
    try:
        figures = await measure(base_url, args)
    finally:
        server.stdin.close()
        await server.wait()
    print(f"{args.requests} sends, {args.in_flight} in flight, the fake Telegram in another process")
    for name, micros in figures.items():
        print(f"  {name:50} {micros:6.0f} µs CPU per send")
    print("JSON, on a lesson body and a sendMessage answer")
    for name, micros in json_figures().items():
        print(f"  {name:50} {micros:6.1f} µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    asyncio.run(serve() if arguments.serve else main(arguments))
