"""The composition root: builds the Application from settings. Nothing is built at import."""

from __future__ import annotations

import logging
from pathlib import Path

from telegram import BotCommand, Update
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes

from bot.clock import Clock, SystemClock
from bot.content import Content, load_content
from bot.context import CoachApplication, CoachContext, Services
from bot.delivery.engine import DeliveryEngine
from bot.handlers import register_all
from bot.settings import Settings
from bot.storage.db import Database

log = logging.getLogger(__name__)

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"
COMMANDS = [
    BotCommand("today", "Send today's lesson again"),
    BotCommand("settings", "Lesson time, time zone, runner or lifter"),
    BotCommand("pause", "Hold the course"),
    BotCommand("resume", "Carry on after a pause"),
    BotCommand("restart", "Start over at day 1"),
    BotCommand("stop", "Unsubscribe"),
    BotCommand("help", "Everything I can do"),
]


def build_application(
    settings: Settings, *, clock: Clock | None = None, content: Content | None = None, content_dir: Path = CONTENT_DIR
) -> CoachApplication:
    content = content or load_content(content_dir)
    clock = clock or SystemClock()
    db = Database(settings.database_url)
    services = Services(
        settings=settings,
        content=content,
        db=db,
        clock=clock,
        delivery=DeliveryEngine(settings=settings, content=content, db=db, clock=clock),
    )
    base_url = settings.telegram_api_base_url.rstrip("/")
    application = (
        ApplicationBuilder()
        .application_class(CoachApplication, kwargs={"services": services})
        .token(settings.require_token())
        .base_url(base_url)
        .base_file_url(base_url.removesuffix("/bot") + "/file/bot")
        .context_types(ContextTypes(context=CoachContext))
        .rate_limiter(AIORateLimiter(max_retries=2))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    register_all(application)
    return application


async def delivery_tick(context: CoachContext) -> None:
    """The one repeating job: send whatever is due. A failing tick logs one line; the next catches up."""
    try:
        report = await context.services.delivery.tick(context.bot)
    except Exception as exc:  # the database may be briefly away; never let the job die
        log.error("delivery tick failed: %s: %s", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        return
    if report.claimed or report.released:
        log.info(
            "delivery tick: claimed %s, sent %s, uncertain %s, retried %s, failed %s, released %s",
            report.claimed,
            report.sent,
            report.uncertain,
            report.retried,
            report.failed,
            report.released,
        )


async def _post_init(application: CoachApplication) -> None:
    await application.bot.set_my_commands(COMMANDS)
    application.job_queue.run_repeating(
        delivery_tick,
        interval=application.services.settings.delivery_tick_seconds,
        first=0.1,
        name="delivery-tick",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )


async def _post_shutdown(application: CoachApplication) -> None:
    await application.services.db.dispose()


def run_polling(settings: Settings) -> None:
    application = build_application(settings)
    application.run_polling(allowed_updates=Update.ALL_TYPES)
