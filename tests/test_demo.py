"""`coach demo`, driven through its standard input like a person at a terminal: onboarding by
number and by typing, day 1 at once, day 2 one short course day later, /quit."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl

from bot.demo.terminal import BOLD, DEMO_GROUP_ID, PLAIN, choices_of
from bot.domain.text import plain_text

DAY_SECONDS = 5


class Demo:
    """`coach demo` in a subprocess; every wait is bounded."""

    def __init__(self, folder: Path, *extra: str) -> None:
        # This checkout's bot, whatever an installed copy says
        checkout = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PTB_TIMEDELTA": "true", "PYTHONPATH": checkout}
        for name in ("BOT_TOKEN", "DATABASE_URL", "WEBHOOK_URL", "LOG_LEVEL"):
            env.pop(name, None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", "--day-seconds", str(DAY_SECONDS), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            cwd=folder,
            env=env,
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def type(self, text: str) -> None:
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def wait_for(self, pattern: str, timeout: float = 15.0) -> str:
        """The first line from now on matching `pattern`."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.output.append(line)
            if re.search(pattern, line):
                return line
        tail = "\n".join(self.output[-15:])
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s; last lines:\n{tail}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._reader.join(timeout=10)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            stream.close()


def test_the_demo_runs_the_course_in_a_terminal(tmp_path):
    demo = Demo(tmp_path)
    try:
        demo.wait_for(r"Hinge Coach demo", timeout=30)
        demo.type("/start")
        demo.wait_for(r"do you mainly run, lift, or both")
        assert re.search(r"\[1\] .*Runner.*\[2\] .*Lifter.*\[3\] Both", demo.wait_for(r"\[1\]"))
        demo.type("1")  # presses the first button
        demo.wait_for(r"You: \[.*Runner\]")
        demo.wait_for(r"What time of day")
        demo.wait_for(r"\[2\] 07:00")
        demo.type("7am")  # typed, as in Telegram
        demo.wait_for(r"time zone")
        demo.type("Berlin")
        demo.wait_for(r"All set: lessons arrive at 07:00 \(Europe/Berlin")
        demo.wait_for(r"Day 1 of 7")
        started = time.monotonic()
        demo.wait_for(r"Day 2 of 7", timeout=2 * DAY_SECONDS + 15)
        assert time.monotonic() - started <= 2 * DAY_SECONDS + 15
        demo.type("/quit")
        demo.wait_for(r"Bye!")
        assert demo.process.wait(timeout=20) == 0
        errors = demo.process.stderr.read()
        assert "Traceback" not in errors and "ERROR" not in errors, errors
    finally:
        demo.close()


def test_the_demo_speaks_the_language_it_is_given(tmp_path):
    """`coach demo --language ru`: the demo person's Telegram is in Russian, and so are the coach
    and the demo's own words."""
    demo = Demo(tmp_path, "--language", "ru")
    try:
        demo.wait_for(r"Демо Hinge Coach", timeout=30)
        demo.type("/start")
        demo.wait_for(r"Привет")
        demo.wait_for(r"\[1\]")
        demo.type("2")
        demo.wait_for(r"Во сколько")
        demo.type("7:00")
        demo.wait_for(r"часовой пояс")
        demo.type("Europe/Berlin")
        demo.wait_for(r"День 1 из 7")
        demo.type("/quit")
        demo.wait_for(r"Пока!")
        assert demo.process.wait(timeout=20) == 0
    finally:
        demo.close()


def test_the_end_of_input_ends_the_demo_after_the_last_answer(tmp_path):
    demo = Demo(tmp_path)
    try:
        demo.process.stdin.write("/start\n")
        demo.process.stdin.close()
        demo.wait_for(r"do you mainly run, lift, or both", timeout=30)
        assert demo.process.wait(timeout=20) == 0
    finally:
        demo.close()


def test_the_demo_prints_signed_links_to_the_mini_app_pages(tmp_path):
    """The learner's and the coach's page of the demo open from the printed links: the initData in
    their fragment is signed for the demo's person, who coaches the demo group."""
    demo = Demo(tmp_path)
    try:
        learner = demo.wait_for(r"your course: http://127\.0\.0\.1:\d+/app/#tgWebAppData=", timeout=30)
        coach = demo.wait_for(r"coach page of the demo group: http://")
        for line, path in ((learner, "api/learner"), (coach, f"api/coach?chat={DEMO_GROUP_ID}")):
            url = line.split(": ", 1)[1]
            page, fragment = url.split("#", 1)
            signed = dict(parse_qsl(fragment))["tgWebAppData"]
            api = page.split("/app/", 1)[0] + "/app/" + path
            request = urllib.request.Request(api, headers={"Authorization": f"tma {signed}"})
            with urllib.request.urlopen(request, timeout=10) as response:
                data = json.load(response)
            assert "funnel" not in data or [row["day"] for row in data["funnel"]] == [1, 2, 3]
        assert data["attention"]["red_flags"][0]["name"] == "Chen"
        demo.type("/quit")
        assert demo.process.wait(timeout=20) == 0
    finally:
        demo.close()


def test_telegram_html_reads_as_plain_text():
    assert (
        plain_text("<b>Day 1</b> &lt;3 <a href='https://example.org'>more</a>") == "Day 1 <3 more (https://example.org)"
    )
    assert plain_text("<b>bold</b>", bold=(BOLD, PLAIN)) == "\033[1mbold\033[0m"


def test_buttons_become_numbered_choices_and_location_requests_are_left_out():
    inline = {"message_id": 7, "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}}
    [choice] = choices_of(inline)
    assert (choice.label, choice.message_id, choice.data) == ("A", 7, "a")
    keyboard = {"keyboard": [[{"text": "📍 Share location", "request_location": True}, {"text": "Later"}]]}
    [later] = choices_of({"message_id": 8, "reply_markup": keyboard})
    assert later.text == "Later"
    assert choices_of({"message_id": 9}) == []
