"""`coach demo`: chat with the coach in a terminal. No token, no network.

The real application runs against the fake Telegram of `fake_telegram` (the one the tests use),
answered in process, on a fresh SQLite database in a temporary folder, with a short course day so
the week passes in minutes. Lessons
arrive through the real delivery engine. Buttons show as numbered choices: typing the number
presses the button; anything else is sent as a message; /quit leaves.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from telegram.ext import Application

from bot.app import build_application, serve
from bot.content.models import Texts
from bot.demo.fake_telegram import FakeBotApi, InProcessRequest, JSONDict
from bot.demo.mini_app import free_port, page_link, seed_group
from bot.domain.chats import ChatKind
from bot.domain.text import plain_text
from bot.logs import configure_logging
from bot.settings import load_settings
from bot.storage.db import Database
from bot.storage.migrate import upgrade_async

DEMO_TOKEN = "100000001:demo-token-not-a-real-one"
PERSON_ID = 424242
DEMO_GROUP_ID = -1000000000042  # a group the person coaches, so the Mini App's coach page has a group
QUIET_SECONDS = 1.5  # no call from the bot for this long: it has answered everything
SETTLE_LIMIT_SECONDS = 30.0
BOLD, PLAIN = "\033[1m", "\033[0m"


@dataclass(frozen=True)
class Choice:
    """One numbered button: a callback to press, a text to send (reply keyboard) or a link to show."""

    label: str
    message_id: int
    data: str | None = None
    text: str | None = None
    url: str | None = None


def choices_of(message: JSONDict) -> list[Choice]:
    """The numbered choices under a message: its inline buttons, or its reply keyboard's text buttons."""
    markup = message.get("reply_markup") or {}
    choices: list[Choice] = []
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if "callback_data" in button:
                choices.append(Choice(button["text"], message["message_id"], data=button["callback_data"]))
            elif "url" in button:
                choices.append(Choice(button["text"], message["message_id"], url=button["url"]))
    for row in markup.get("keyboard", []):
        for button in row:
            button = {"text": button} if isinstance(button, str) else button
            if len(button) == 1:  # a plain text button; location and contact requests need a phone
                choices.append(Choice(button["text"], message["message_id"], text=button["text"]))
    return choices


class Terminal:
    """Shows what the bot sends and turns typed lines into messages and button presses."""

    def __init__(
        self, out: TextIO, *, echo: bool, bold: bool, telegram: FakeBotApi, person: JSONDict, texts: Texts
    ) -> None:
        self.out = out
        self.texts = texts  # the terminal's own words: who speaks, what a link opens
        self.speaker = f"{texts.demo_coach}: "
        self.echo = echo  # piped input is not shown by a terminal, so say what was sent
        self.bold = bold
        self.choices: list[Choice] = []
        self._choices_from: int | None = None
        self.telegram = telegram
        self.person = person
        self.files = Path(tempfile.mkdtemp(prefix="hinge-demo-files-"))  # photos and documents land here
        telegram.observer = self

    def _print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def message(self, message: JSONDict, *, edited: bool) -> None:
        """A new message's buttons replace the numbered choices; an edit changes them only if they are its own."""
        if message["chat"]["id"] != self.person["id"]:
            return
        prefix = f"{self.texts.demo_coach_edited}: " if edited else self.speaker
        marks = (BOLD, PLAIN) if self.bold else ("", "")
        text = message.get("text") or message.get("caption") or ""
        if message.get("_file_bytes") is not None:  # a chart or an export: saved where the person can open it
            path = self.files / f"{message['message_id']}-{Path(message['_file_name'] or 'file').name}"
            path.write_bytes(message["_file_bytes"])
            text = f"{text}\n{path}" if text else str(path)
        lines = plain_text(text, bold=marks).strip().splitlines() or [""]
        self._print()
        for i, line in enumerate(lines):
            self._print(((prefix if i == 0 else " " * len(prefix)) + line).rstrip())
        if not edited or message["message_id"] == self._choices_from:
            self._offer(message, indent=len(prefix))

    def buttons_changed(self, message: JSONDict) -> None:
        """Buttons edited under a message: only those under the current choices matter."""
        if message["message_id"] == self._choices_from:
            self._offer(message, indent=len(self.speaker))

    def _offer(self, message: JSONDict, *, indent: int) -> None:
        self.choices, self._choices_from = choices_of(message), message["message_id"]
        if self.choices:
            self._print(" " * indent + "   ".join(f"[{n}] {c.label}" for n, c in enumerate(self.choices, 1)))

    def notice(self, text: str) -> None:
        self._print(f"       ({text})")

    def handle(self, line: str) -> bool:
        """One typed line; False when the person leaves."""
        line = line.strip()
        if not line:
            return True
        if line == "/quit":
            return False
        if line.isdigit() and 1 <= int(line) <= len(self.choices):
            self.choose(self.choices[int(line) - 1])
            return True
        if self.echo:
            self._print(f"{self.texts.demo_you}: {line}")
        self.telegram.send_text(self.person, line)
        return True

    def choose(self, choice: Choice) -> None:
        self._print(f"{self.texts.demo_you}: [{choice.label}]")
        if choice.url is not None:
            self.notice(self.texts.demo_opens.format(url=choice.url))
        elif choice.text is not None:
            self.telegram.send_text(self.person, choice.text)
        else:
            message = self.telegram.bot_message(self.person["id"], choice.message_id)
            self.telegram.press_button(self.person, message, choice.data, chat_instance="demo")

    async def chat(self, stdin: TextIO, stop: asyncio.Event) -> None:
        """Read lines until /quit or the end of input (then let the bot answer first), and stop the bot."""
        lines = _lines_of(stdin)
        try:
            while (line := await lines.get()) is not None:
                if not self.handle(line):
                    return
                if self.echo:  # piped input: answer each line before reading the next, as a person would
                    await self.telegram.quiet(QUIET_SECONDS, SETTLE_LIMIT_SECONDS)
            await self.telegram.quiet(QUIET_SECONDS, SETTLE_LIMIT_SECONDS)
        finally:
            stop.set()


def _lines_of(stream: TextIO) -> asyncio.Queue[str | None]:
    """Lines from a blocking stream, read by a daemon thread so Ctrl+C never waits for Enter."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        for line in stream:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="demo-stdin", daemon=True).start()
    return queue


async def _once_serving(application: Application, then: Callable[[], None]) -> None:
    """Call `then` once the application (and so its Mini App server) is up; give up after a minute."""
    for _ in range(600):
        if application.running:
            then()
            return
        await asyncio.sleep(0.1)


def mini_app_links(mini_app_url: str, person: JSONDict, now: datetime, texts: Texts) -> str:
    """The Mini App's pages for this demo's person, to open in a desktop browser."""
    links = [
        (texts.demo_link_course, mini_app_url),
        (texts.demo_link_coach, f"{mini_app_url}coach?chat={DEMO_GROUP_ID}"),
        (texts.demo_link_operator, f"{mini_app_url}operator"),
    ]
    lines = [texts.demo_links_heading]
    lines += [f"  {label}: {page_link(url, DEMO_TOKEN, person, now)}" for label, url in links]
    return "\n".join(lines)


def _person_name(fallback: str) -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        return fallback
    return name.capitalize() if name and name != "root" else fallback


async def demo(*, day_seconds: int, stdin: TextIO, out: TextIO, language: str = "en") -> None:
    with tempfile.TemporaryDirectory(prefix="hinge-coach-demo-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'coach.db'}"
        port = free_port()
        settings = load_settings(
            _env_file=None,
            bot_token=DEMO_TOKEN,
            database_url=url,
            course_day_seconds=day_seconds,
            delivery_tick_seconds=1.0,
            webhook_url=None,
            webhook_secret=None,
            metrics_port=None,
            mini_app_url=f"http://127.0.0.1:{port}/app",
            mini_app_listen="127.0.0.1",
            mini_app_port=port,
            admin_ids=[PERSON_ID],  # the person sees the operator's page too
            log_level=os.environ.get("LOG_LEVEL", "WARNING"),
        )
        configure_logging(settings.log_level, secrets=[DEMO_TOKEN])
        await upgrade_async(url)
        telegram = FakeBotApi(DEMO_TOKEN, bot_username="HingeCoachDemoBot")
        application = build_application(settings, request=InProcessRequest(telegram))
        texts, now = application.services.library[language].texts, application.services.clock.now()
        person = telegram.user(PERSON_ID, _person_name(texts.demo_person), language_code=language)
        terminal = Terminal(
            out, echo=not _is_tty(stdin), bold=_is_tty(out), telegram=telegram, person=person, texts=texts
        )
        telegram.add_chat(DEMO_GROUP_ID, ChatKind.SUPERGROUP, texts.demo_group_title)
        telegram.set_admins(DEMO_GROUP_ID, [person])
        database = Database(url)
        try:
            await seed_group(
                database,
                group_id=DEMO_GROUP_ID,
                title=texts.demo_group_title,
                coach_id=PERSON_ID,
                coach_name=person["first_name"],
                now=now,
            )
        finally:
            await database.dispose()
        print(texts.demo_banner.format(day_seconds=day_seconds), file=out, flush=True)
        links = mini_app_links(settings.mini_app_url, person, now, texts)
        announce = asyncio.create_task(_once_serving(application, lambda: print(links, file=out, flush=True)))
        stop = asyncio.Event()
        chat = asyncio.create_task(terminal.chat(stdin, stop))
        try:
            await serve(application, stop=stop)
        finally:
            chat.cancel()
            announce.cancel()
        print(texts.demo_bye, file=out, flush=True)


def _is_tty(stream: Any) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


def run_demo(
    *, day_seconds: int = 20, stdin: TextIO | None = None, out: TextIO | None = None, language: str = "en"
) -> int:
    """`language` is the demo person's Telegram language: the coach speaks it from the first word."""
    asyncio.run(demo(day_seconds=day_seconds, stdin=stdin or sys.stdin, out=out or sys.stdout, language=language))
    return 0
