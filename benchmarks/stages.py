"""Where a fan-out's CPU goes, by stage: a sampling profile of the bot process.

Every millisecond of the process's CPU time (SIGPROF) the main thread's stack is looked at, and
the sample goes to the innermost stage function on it: claim, render, send (pacing shown apart),
record. Samples without one are the event loop's own work and the HTTP and database callbacks it
runs; a sample taken while the main thread waits in the selector is CPU that other threads spent
(aiosqlite runs SQLite in a thread of its own). SQLAlchemy's statements run in greenlets: their
samples go to the stage of the coroutine that started the greenlet. A sample costs 5-11 µs here (one
a millisecond of CPU, on a warm cache: about 1 % of what it measures).
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path
from types import FrameType

import greenlet

INTERVAL = 0.001
BOT = str(Path(__file__).resolve().parent.parent / "bot")
# (file, function) -> stage; the innermost frame found on the stack decides
MARKERS = {
    ("delivery/engine.py", "claim"): "claim",
    ("delivery/lean.py", "messages"): "render",
    ("delivery/compose.py", "compose"): "render",
    ("delivery/paced.py", "_post"): "send",
    ("delivery/paced.py", "_answered"): "send",
    ("delivery/engine.py", "send"): "send",
    ("delivery/lean.py", "do_request"): "send",
    ("delivery/keepalive.py", "post"): "send",
    ("delivery/keepalive.py", "data_received"): "send",
    ("delivery/keepalive.py", "connection_lost"): "send",
    ("delivery/ratelimit.py", "process_request"): "send",
    ("delivery/ratelimit.py", "_wait_turn"): "send: pacing",
    ("delivery/ratelimit.py", "_run"): "send: pacing",
    ("delivery/ratelimit.py", "_book"): "send: pacing",
    ("delivery/paced.py", "_send_due"): "send: pacing",
    ("delivery/paced.py", "_next_wake"): "send: pacing",
    ("delivery/paced.py", "_sleep"): "send: pacing",
    ("delivery/engine.py", "flush_outcomes"): "record",
    ("delivery/engine.py", "outcome"): "record",
    ("delivery/paced.py", "_write"): "record",
    ("delivery/engine.py", "_advance"): "record",
    ("delivery/engine.py", "_write_outcomes"): "record",
    ("delivery/engine.py", "_retry"): "record",
    ("delivery/engine.py", "_unreachable"): "record",
    ("delivery/engine.py", "_fail"): "record",
}
LIBRARIES = {"httpx": "send", "httpcore": "send"}
STAGES = ("claim", "render", "send", "send: pacing", "record", "event loop, callbacks", "other threads")


class StageProfile:
    def __init__(self) -> None:
        self.samples: Counter[str] = Counter()
        self._markers = {(f"{BOT}/{file}", name): stage for (file, name), stage in MARKERS.items()}
        # Each file's library, found once: a Path built for every frame of every sample made a
        # sample cost 50-110 µs, 5-10 % of the CPU it measured, counted as the bot's.
        self._libraries: dict[str, str | None] = {}

    def start(self) -> None:
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, INTERVAL, INTERVAL)

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)

    def _sample(self, signum: int, frame: FrameType | None) -> None:
        self.samples[self._stage(frame)] += 1

    def _stage(self, frame: FrameType | None) -> str:
        innermost, runner = frame, greenlet.getcurrent()
        while frame is not None:
            code = frame.f_code
            stage = self._markers.get((code.co_filename, code.co_name))
            if stage is not None:
                return stage
            frame = frame.f_back
            if frame is None and runner.parent is not None:  # SQLAlchemy's sync code, in a greenlet
                runner = runner.parent  # started from the coroutine whose stage it belongs to
                frame = runner.gr_frame
        if innermost is None:
            return "event loop, callbacks"
        if innermost.f_code.co_name == "select" and innermost.f_code.co_filename.endswith("selectors.py"):
            return "other threads"
        frame = innermost
        while frame is not None:  # a callback of a library: the HTTP client's answers and writes
            filename = frame.f_code.co_filename
            if filename not in self._libraries:
                parts = Path(filename).parts[-3:]
                self._libraries[filename] = next((LIBRARIES[part] for part in parts if part in LIBRARIES), None)
            if (stage := self._libraries[filename]) is not None:
                return stage
            frame = frame.f_back
        return "event loop, callbacks"

    def shares(self) -> dict[str, float]:
        total = sum(self.samples.values()) or 1
        return {stage: self.samples[stage] / total for stage in STAGES}
