"""`coach`: run the bot, try it in a terminal, migrate the database, check the content."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_settings


def _configure_logging(settings: Settings) -> None:
    """One line per event on stderr; the token and the webhook secret never appear in it."""
    secrets = [s.get_secret_value() for s in (settings.bot_token, settings.webhook_secret) if s is not None]
    configure_logging(settings.log_level, secrets=secrets)


def _content_check(args: argparse.Namespace) -> int:
    from bot.content import ContentError
    from bot.content.languages import load_library

    try:
        library = load_library(Path(args.path))
    except ContentError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{len(exc.problems)} problem(s) in {args.path}", file=sys.stderr)
        return 1
    content = library.base
    print(
        f"content OK: {content.days} lessons, {len(content.drills)} drills, {len(content.cues)} cues, "
        f"{len(content.checkin.nodes)} check-in questions, {len(content.checkin.advice)} pieces of advice; "
        f"languages: {', '.join(library.languages)}"
    )
    return 0


def _content_tree(args: argparse.Namespace) -> int:
    from bot.content import ContentError, load_content
    from bot.content.diagram import mermaid, outline

    try:
        content = load_content(Path(args.path))
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 1
    print((outline if args.outline else mermaid)(content.checkin), end="")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from bot.storage.migrate import upgrade

    settings = load_settings()
    _configure_logging(settings)
    upgrade(settings.database_url)
    print("database is up to date")
    return 0


def _run(args: argparse.Namespace) -> int:
    from telegram.error import InvalidToken

    from bot.app import run
    from bot.storage.poller_lock import AlreadyPolling

    settings = load_settings()
    settings.require_token()
    _configure_logging(settings)
    try:
        run(settings)
    except AlreadyPolling as exc:
        print(f"coach: {exc}", file=sys.stderr)
        return 3
    except InvalidToken:
        print("coach: Telegram refused BOT_TOKEN: check it with @BotFather", file=sys.stderr)
        return 2
    return 0


def _demo(args: argparse.Namespace) -> int:
    from bot.demo.terminal import run_demo

    return run_demo(day_seconds=args.day_seconds, language=args.language)


def _stats(args: argparse.Namespace) -> int:
    import asyncio

    from bot.app import CONTENT_DIR
    from bot.content import load_content
    from bot.services.reports import Reports
    from bot.stats import stats_png, stats_text, unmatched_text
    from bot.storage.db import Database

    settings = load_settings()
    content = load_content(CONTENT_DIR)

    async def report():
        db = Database(settings.database_url)
        try:
            return await Reports(db=db, days=content.days).stats(unmatched=args.unmatched_limit)
        finally:
            await db.dispose()

    stats = asyncio.run(report())
    if args.unmatched:
        print(unmatched_text(stats, content.texts))
        return 0
    print(stats_text(stats, content.texts))
    if args.chart:
        Path(args.chart).write_bytes(stats_png(stats, content.texts))
        print(f"chart written to {args.chart}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from bot.app import CONTENT_DIR

    parser = argparse.ArgumentParser(prog="coach", description="Hinge Coach, a Telegram bot for the hip hinge.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="start the bot (long polling, or a webhook when WEBHOOK_URL is set)").set_defaults(
        handler=_run
    )
    demo = commands.add_parser("demo", help="chat with the coach in this terminal: no token, no network")
    demo.add_argument(
        "--day-seconds", type=int, default=20, help="length of a course day in seconds (default: %(default)s)"
    )
    demo.add_argument(
        "--language", default="en", help="the language the demo person's Telegram is set to (default: %(default)s)"
    )
    demo.set_defaults(handler=_demo)
    commands.add_parser("migrate", help="create or upgrade the database schema").set_defaults(handler=_migrate)
    content = commands.add_parser("content", help="work with the course content")
    content_commands = content.add_subparsers(dest="content_command", required=True, metavar="ACTION")
    check = content_commands.add_parser("check", help="validate content/, print file:line for each problem")
    check.add_argument("path", nargs="?", default=str(CONTENT_DIR), help="content folder (default: %(default)s)")
    check.set_defaults(handler=_content_check)
    tree = content_commands.add_parser("tree", help="draw the check-in tree (Mermaid, or --outline)")
    tree.add_argument("--outline", action="store_true", help="an indented text outline instead of Mermaid")
    tree.add_argument("path", nargs="?", default=str(CONTENT_DIR), help="content folder (default: %(default)s)")
    tree.set_defaults(handler=_content_tree)
    stats = commands.add_parser("stats", help="enrolment, progress and check-in numbers for the operators")
    stats.add_argument("--chart", metavar="PNG", help="also write the stats chart to this file")
    stats.add_argument(
        "--unmatched", action="store_true", help="only the typed check-in answers the bot had to ask about, no names"
    )
    stats.add_argument(
        "--limit", dest="unmatched_limit", type=int, default=50, help="how many of them (default: %(default)s)"
    )
    stats.set_defaults(handler=_stats)
    return parser


def main(argv: list[str] | None = None) -> int:
    # python-telegram-bot 22 moves durations (RetryAfter.retry_after ...) to timedelta; opt in now
    # rather than log a deprecation warning on every 429.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except SettingsError as exc:
        print(f"coach: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
