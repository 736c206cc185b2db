"""Fan-out at scale: N people whose lesson falls due at the same instant, sent by the real delivery
engine and rate limiter to a fake Telegram that enforces the limits (429 over them).

Run: .venv/bin/python benchmarks/fanout.py [--users 10000] [--rate 30] [--paid] [--processes 1]
     [--latency 0.05] [--runs 1] [--uvloop] [--database-url URL]
     (default: a fresh SQLite file; a PostgreSQL URL is emptied first)
--rate is the limit the bot is configured with and the fake enforces: the global one, or with
--paid the paid broadcast one. --latency is how long the fake takes to answer a send (a message
counts from its arrival), as Telegram does over the network. The bot runs in its own process(es),
the fake in this one, so the bot's CPU figures are its own.
Prints delivered, duplicates, missed, 429s received (beside the fake's longest event-loop stall,
which bunches the arrivals it stamps), messages a second as a share of the limit,
the bot's CPU milliseconds per lesson during the fan-out (start-up excluded) split by stage from a
sampling profile (benchmarks/stages.py), CPU seconds per 1,000 messages for the whole process
(start-up included) and the peak RSS of a bot process. With --runs N, each run's figures and the
median of CPU per lesson, share of the limit and CPU per 1,000 lessons.
Targets: at least 95 % of the limit; 0 duplicates, 0 missed, 0 429s; peak RSS under 200 MB; paid
fan-out at most 0.5 ms of CPU per lesson; at 30/s at most 1 s of CPU per 1,000 lessons.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import gc
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from sqlalchemy import func, select  # noqa: E402

from benchmarks.seed import FIRST_CHAT, TOKEN, fresh_database, seed_people  # noqa: E402
from benchmarks.stages import STAGES, StageProfile  # noqa: E402
from bot.app import build_application, settle_heap  # noqa: E402
from bot.demo.fake_telegram import FakeBotApi, RateLimits  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.models import Delivery  # noqa: E402

TARGET_SHARE = 0.95
TARGET_RSS_MB = 200


def bot_settings(args: argparse.Namespace) -> Settings:
    rates = {"broadcast_rate": args.rate, "allow_paid_broadcast": True} if args.paid else {"global_rate": args.rate}
    return Settings(
        bot_token=TOKEN,
        database_url=args.database_url,
        telegram_api_base_url=args.api,
        checkin_reminder_hours=0,
        log_level="WARNING",
        _env_file=None,
        **rates,
    )


async def unfinished(db: Database) -> int:
    """Day 1 lessons still waiting or being sent (day 2 waits for tomorrow)."""
    async with db.session() as session:
        return await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.day == 1, Delivery.status.in_(("pending", "sending")))
        )


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def context_switches() -> int:
    """Times a thread of this process waited and was woken (an event loop, a database thread): at
    30/s each is a wake from idle, which costs more CPU than the work it wakes for."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw


async def worker(args: argparse.Namespace) -> None:
    """One bot process: tick until no lesson is waiting or being sent, then report its resources
    and where the fan-out's CPU went."""
    application = build_application(bot_settings(args))
    settle_heap()  # as `coach run` does
    await application.initialize()
    engine, db = application.services.delivery, application.services.db
    profile, started, switches = StageProfile(), cpu_seconds(), context_switches()
    profile.start()
    try:
        while await unfinished(db):
            report = await engine.tick(application.bot)
            if not report.claimed:
                await asyncio.sleep(0.05)
    finally:
        profile.stop()
        fan_out, switches = cpu_seconds() - started, context_switches() - switches
        await application.shutdown()
        await db.dispose()
    figures = {"cpu": cpu_seconds(), "fan_out_cpu": fan_out, "switches": switches, "stages": profile.shares()}
    print(json.dumps(figures | {"rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's own peak resident set. Linux's `ru_maxrss` carries the parent's peak across
    fork and exec (here the benchmark's, whose fake Telegram grows run after run), so it is read
    from /proc (VmHWM, reset by exec) where there is one."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def lesson_parts(args: argparse.Namespace) -> int:
    """How many messages day 1 takes: a person gets their lesson when all of them arrived."""
    application = build_application(bot_settings(args))
    messages = await application.services.delivery.composer.compose(enrollment_id=1, day=1, profile="runner")
    await application.services.db.dispose()
    return len(messages)


async def main(args: argparse.Namespace) -> None:
    # The bot's modules compiled as an install leaves them: else each bot process compiles them
    # again at start-up (0.15 s of CPU) wherever PYTHONDONTWRITEBYTECODE is set.
    compileall.compile_dir(ROOT / "bot", quiet=1)
    figures = [await one_run(argparse.Namespace(**vars(args))) for _ in range(args.runs)]
    if args.runs > 1:
        print(f"median of {args.runs} runs:")
        print(f"  bot CPU per lesson  {statistics.median(f['cpu_ms'] for f in figures):.2f} ms")
        print(f"  share of the limit  {statistics.median(f['share'] for f in figures):.1%}")
        print(f"  CPU per 1,000       {statistics.median(f['cpu_per_1000'] for f in figures):.2f} s")


class StallWatch:
    """The fake's event loop, watched: it stamps a message's arrival when its loop reads it, so a
    stall of its own bunches the stamps of what arrived meanwhile into a burst, and a 429 can follow
    that the bot did not cause. The longest stall during the fan-out is printed beside the 429s."""

    TICK = 0.002

    def __init__(self) -> None:
        self.stalls: list[tuple[float, float]] = []  # (when it ended, how long), over a millisecond
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    def stop(self) -> None:
        self._task.cancel()

    def longest(self, since: float) -> tuple[float, float]:
        """The longest stall that ended after `since`: (when, how long), or (since, 0)."""
        later = [stall for stall in self.stalls if stall[0] >= since]
        return max(later, key=lambda stall: stall[1], default=(since, 0.0))

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.TICK)
            if (late := loop.time() - before - self.TICK) > 0.001:
                self.stalls.append((time.monotonic(), late))


async def one_run(args: argparse.Namespace) -> dict[str, float]:
    folder = tempfile.TemporaryDirectory()
    args.database_url = args.database_url or f"sqlite+aiosqlite:///{Path(folder.name) / 'fanout.db'}"
    await fresh_database(args.database_url)
    now = datetime.now(UTC)
    db = Database(args.database_url)
    await seed_people(db, args.users, now=now, due_at=now - timedelta(seconds=1))
    await db.dispose()
    limits = RateLimits(paid_per_second=args.rate) if args.paid else RateLimits(global_per_second=int(args.rate))
    # The fake stamps a message's arrival when its event loop reads it: a pause of its garbage
    # collector (90 ms once its call log is large) would bunch arrivals and look like a burst.
    gc.disable()
    async with FakeBotApi(TOKEN, limits=limits) as telegram:
        args.api = telegram.base_url
        if args.latency:
            telegram.delay_next("sendMessage", args.latency, times=sys.maxsize)
        parts = await lesson_parts(args)
        stalls = StallWatch()
        stalls.start()
        command = [sys.executable, __file__, "--worker", "--rate", str(args.rate), "--api", args.api]
        command += ["--database-url", args.database_url] + (["--paid"] if args.paid else [])
        command += ["--uvloop"] if args.uvloop else []
        started = time.monotonic()
        workers = [
            await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
            for _ in range(args.processes)
        ]
        outputs = [await process.communicate() for process in workers]
        elapsed = time.monotonic() - started
        stalls.stop()
        usages = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
        figures = report(args, telegram, parts, usages, elapsed, stalls)
    folder.cleanup()
    return figures


def report(
    args: argparse.Namespace, telegram: FakeBotApi, parts: int, usages: list[dict], elapsed: float, stalls: StallWatch
) -> dict[str, float]:
    accepted = [c.at for c in telegram.calls if c.method == "sendMessage"]
    per_chat = telegram.counts_per_chat()
    duplicates = 0
    for chat_id in per_chat:
        texts = Counter(message["text"] for message in telegram.messages_to(chat_id))
        duplicates += sum(count - 1 for count in texts.values())
    delivered = sum(
        1 for chat_id in range(FIRST_CHAT + 1, FIRST_CHAT + args.users + 1) if per_chat.get(chat_id, 0) >= parts
    )
    messages = sum(per_chat.values())
    span = (max(accepted) - min(accepted)) if len(accepted) > 1 else float("nan")
    rate = (len(accepted) - 1) / span
    cpu = sum(usage["cpu"] for usage in usages)
    mode = "paid broadcast" if args.paid else "global"
    print(
        f"people {args.users}, {parts} message(s) each, {mode} limit {args.rate:g}/s, {args.processes} process(es),"
        f" Telegram answering in {args.latency * 1000:.0f} ms"
    )
    print(f"delivered        {delivered}")
    print(f"duplicates       {duplicates}")
    print(f"missed           {args.users - delivered}")
    first = min(accepted, default=0.0)
    stalled_at, stall = stalls.longest(since=first)
    print(
        f"429s received    {telegram.rate_limited_count} (the fake's longest stall: {stall * 1000:.0f} ms,"
        f" {stalled_at - first:.1f} s into the fan-out)"
    )
    print(f"messages/second  {rate:.1f} = {rate / args.rate:.1%} of the limit ({messages} messages in {span:.1f} s)")
    fan_out = sum(usage["fan_out_cpu"] for usage in usages)
    cpu_ms = fan_out / messages * 1000
    print(f"bot CPU/lesson   {cpu_ms:.3f} ms during the fan-out ({fan_out:.1f} s, start-up excluded), by stage:")
    for stage in STAGES:
        share = statistics.fmean(usage["stages"][stage] for usage in usages)
        print(f"  {stage:22} {share * cpu_ms:6.3f} ms  {share:6.1%}")
    switches = sum(usage["switches"] for usage in usages)
    print(f"wakes/lesson     {switches / messages:.2f} (threads of the bot woken from a wait, during the fan-out)")
    cpu_per_1000 = cpu / messages * 1000
    print(
        f"CPU per 1,000    {cpu_per_1000:.2f} s (bot processes, {cpu:.1f} s in all,"
        f" {cpu - fan_out:.1f} s of it start-up and shutdown; wall {elapsed:.1f} s)"
    )
    print(f"peak RSS         {max(usage['rss_mb'] for usage in usages):.0f} MB (largest bot process)")
    return {"cpu_ms": cpu_ms, "share": rate / args.rate, "cpu_per_1000": cpu_per_1000}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30.0, help="the configured and enforced limit, messages/s")
    parser.add_argument("--paid", action="store_true", help="lessons as paid broadcast (ALLOW_PAID_BROADCAST)")
    parser.add_argument("--processes", type=int, default=1, help="bot processes sharing the database")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the fake takes to answer a send")
    parser.add_argument("--database-url", help="PostgreSQL URL to use (emptied!); default a temporary SQLite file")
    parser.add_argument("--runs", type=int, default=1, help="runs to take the median of")
    parser.add_argument("--uvloop", action="store_true", help="bot processes run on uvloop")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.worker and arguments.uvloop:
        import uvloop

        uvloop.run(worker(arguments))
    else:
        asyncio.run(worker(arguments) if arguments.worker else main(arguments))
