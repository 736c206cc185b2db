"""`coach`: run the bot, migrate the database, check the content."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from bot.settings import SettingsError, load_settings


def _configure_logging(level: str) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    # httpx logs every request URL, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _content_check(args: argparse.Namespace) -> int:
    from bot.content import ContentError, load_content

    try:
        content = load_content(Path(args.path))
    except ContentError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{len(exc.problems)} problem(s) in {args.path}", file=sys.stderr)
        return 1
    print(
        f"content OK: {content.days} lessons, {len(content.drills)} drills, {len(content.cues)} cues, "
        f"{len(content.checkin.nodes)} check-in questions, {len(content.checkin.advice)} pieces of advice"
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from bot.storage.migrate import upgrade

    settings = load_settings()
    _configure_logging(settings.log_level)
    upgrade(settings.database_url)
    print("database is up to date")
    return 0


def _run(args: argparse.Namespace) -> int:
    from bot.app import run_polling

    settings = load_settings()
    settings.require_token()
    _configure_logging(settings.log_level)
    run_polling(settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from bot.app import CONTENT_DIR

    parser = argparse.ArgumentParser(prog="coach", description="Hinge Coach, a Telegram bot for the hip hinge.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="start the bot (long polling)").set_defaults(handler=_run)
    commands.add_parser("migrate", help="create or upgrade the database schema").set_defaults(handler=_migrate)
    content = commands.add_parser("content", help="work with the course content")
    content_commands = content.add_subparsers(dest="content_command", required=True, metavar="ACTION")
    check = content_commands.add_parser("check", help="validate content/, print file:line for each problem")
    check.add_argument("path", nargs="?", default=str(CONTENT_DIR), help="content folder (default: %(default)s)")
    check.set_defaults(handler=_content_check)
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
