"""The composition root: builds the Application from settings. Nothing is built at import."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults, JobQueue
from telegram.request import BaseRequest

from bot import metrics, web
from bot.clock import Clock, SystemClock
from bot.content.languages import Library, load_library
from bot.content.models import Texts
from bot.context import CoachApplication, CoachContext, Services
from bot.delivery.engine import DeliveryEngine
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.timers import TIMER_TICK_SECONDS
from bot.domain.checkin import CheckinMatcher
from bot.domain.cue_search import build_cue_index
from bot.handlers import register_all
from bot.http import POOL_SIZE, PooledRequest
from bot.language import BASE_LANGUAGE
from bot.miniapp.buttons import announce_mini_app
from bot.services.access import Access
from bot.services.answers import AnswerWriter
from bot.services.course import CourseService
from bot.services.groups import GroupCoaching
from bot.services.languages import Languages
from bot.services.privacy import Privacy
from bot.services.reports import Reports
from bot.services.training_log import TrainingLog
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.poller_lock import PollerLock
from bot.update_order import PerChatUpdateProcessor

log = logging.getLogger(__name__)

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"
COMMANDS = (  # in the menu of a private chat, in this order; described in content/texts.yaml
    "today",
    "cue",
    "drill",
    "checkins",
    "settings",
    "language",
    "pause",
    "resume",
    "restart",
    "stop",
    "help",
    "log",
    "progress",
    "undo",
    "records",
    "plates",
    "rest",
    "export",
    "forget",
    "units",
    "weekly",
)


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    library: Library | None = None,
    content_dir: Path = CONTENT_DIR,
    request: BaseRequest | None = None,
) -> CoachApplication:
    """`request` replaces the HTTP client for every Bot API call: the demo's in-process Telegram."""
    library = library or load_library(content_dir)
    clock = clock or SystemClock()
    db = Database(settings.database_url)
    languages = Languages(db=db, available=library.languages)
    delivery = DeliveryEngine(
        settings=settings, library=library, languages=languages, db=db, clock=clock, lean=request is None
    )
    services = Services(
        settings=settings,
        library=library,
        db=db,
        clock=clock,
        delivery=delivery,
        matchers={
            language: CheckinMatcher(content.checkin, functools.partial(library.readers.for_language, language))
            for language, content in library.contents.items()
        },
        cue_indexes={language: build_cue_index(content, language) for language, content in library.contents.items()},
        answers=AnswerWriter(db, library.base.question_of),
        access=Access(db=db, clock=clock, groups=delivery.groups),
        languages=languages,
        course=CourseService(settings=settings, db=db, clock=clock, deliver_now=delivery.deliver_now),
        groups=GroupCoaching(
            delivery=delivery.groups,
            composer=delivery.composer,
            send=delivery.send,
            db=db,
            clock=clock,
            content=library.base,
        ),
        training_log=TrainingLog(settings=settings, db=db, clock=clock),
        privacy=Privacy(db=db, clock=clock),
        reports=Reports(db=db, days=library.base.days),
    )
    base_url = settings.telegram_api_base_url.rstrip("/")
    builder = (
        ApplicationBuilder()
        .application_class(CoachApplication, kwargs={"services": services})
        .token(settings.require_token())
        .base_url(base_url)
        .base_file_url(base_url.removesuffix("/bot") + "/file/bot")
        .context_types(ContextTypes(context=CoachContext))
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(RateLimiter(settings, db))
        .concurrent_updates(PerChatUpdateProcessor())
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:  # room for every lesson in flight, and for replies beside them
        builder = builder.request(PooledRequest(connections=services.delivery.concurrency + POOL_SIZE))
    application = builder.build()
    web.register(application)
    register_all(application)
    return application


Tick = Callable[[CoachContext], Awaitable[None]]


def failing_in_one_line(label: str) -> Callable[[Tick], Tick]:
    """A tick that fails logs one line and returns: the database may be briefly away, and the next
    run catches up. Never a traceback, never a dead chain of runs."""

    def wrap(tick: Tick) -> Tick:
        @functools.wraps(tick)
        async def guarded(context: CoachContext) -> None:
            try:
                await tick(context)
            except Exception as exc:
                log.error("%s failed: %s: %s", label, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")

        return guarded

    return wrap


@failing_in_one_line("delivery tick")
async def delivery_tick(context: CoachContext) -> None:
    """The lessons' tick: send whatever is due."""
    with metrics.tick_timer():
        report = await context.services.delivery.tick(context.bot)
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


@failing_in_one_line("rest timers")
async def rest_timers(context: CoachContext) -> None:
    """The rest timers' own short tick (bot/delivery/timers.py)."""
    await context.services.delivery.timers.send_due(context.bot)


def run_paced(job_queue: JobQueue, tick: Tick, every: float, name: str) -> None:
    """Run `tick` now, and each time again `every` seconds after its last run began (at once if that
    run took longer). One run at a time per process, by construction: a fan-out longer than a tick
    is normal work, not a job the scheduler has to skip (and warn about) at every interval."""

    async def job(context: CoachContext) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await tick(context)
        finally:
            if context.application.running:  # stopping: the job queue waits for this run, books no more
                book(max(0.0, every - (loop.time() - started)))

    def book(seconds: float) -> None:
        # No misfire grace: a run that starts late (a busy event loop) still runs, or the chain of
        # runs would end there (APScheduler drops a one-off job more than a second late by default).
        job_queue.run_once(job, when=seconds, name=name, job_kwargs={"misfire_grace_time": None})

    book(0.1)


# In groups members see only what works there; admins also see the coach commands.
GROUP_COMMANDS = ("cue", "drill")
GROUP_ADMIN_COMMANDS = ("groupcourse", "summary", *GROUP_COMMANDS)


def bot_commands(texts: Texts, names: tuple[str, ...]) -> list[BotCommand]:
    """The menu of commands, each described by its `command_<name>` text."""
    return [BotCommand(name, getattr(texts, f"command_{name}")) for name in names]


async def set_profile(bot: Bot, library: Library) -> None:
    """The command menus and the bot's profile texts, once per language: Telegram shows a person the
    set for their app's language code, and the base language's to everyone else."""
    for language, content in library.contents.items():
        code, texts = None if language == BASE_LANGUAGE else language, content.texts
        await bot.set_my_commands(
            bot_commands(texts, GROUP_COMMANDS), scope=BotCommandScopeAllGroupChats(), language_code=code
        )
        await bot.set_my_commands(
            bot_commands(texts, GROUP_ADMIN_COMMANDS), scope=BotCommandScopeAllChatAdministrators(), language_code=code
        )
        await bot.set_my_commands(bot_commands(texts, COMMANDS), language_code=code)
        await bot.set_my_description(texts.bot_description.strip(), language_code=code)
        await bot.set_my_short_description(texts.bot_short_description.strip(), language_code=code)


async def _post_init(application: CoachApplication) -> None:
    await set_profile(application.bot, application.services.library)
    await announce_mini_app(application.bot, application.services)
    every = application.services.settings.delivery_tick_seconds
    run_paced(application.job_queue, delivery_tick, every, "delivery-tick")
    run_paced(application.job_queue, rest_timers, min(TIMER_TICK_SECONDS, every), "rest-timers")
    application.job_queue.run_repeating(web.forget_old_updates, interval=3600, first=60, name="forget-updates")


async def _post_stop(application: CoachApplication) -> None:
    """Whatever ran the application, no claim of this process outlives it."""
    await application.services.delivery.shutdown(application.services.settings.shutdown_grace_seconds)


async def _post_shutdown(application: CoachApplication) -> None:
    await application.services.db.dispose()


def run(settings: Settings) -> None:
    """`coach run`: serve until SIGTERM or Ctrl+C."""
    application = build_application(settings)
    settle_heap()
    asyncio.run(serve(application))


def settle_heap() -> None:
    """Once built, the content and its indexes live as long as the process: the garbage collector
    stops scanning them (`gc.freeze`). A full collection over them took about 100 ms, a pause that
    held up every send of a fan-out under way and cost it its slots. The check-in readers are built
    by the first typed answer in their language, after this (about 40,000 objects each, 13 ms for a
    full collection over all three)."""
    gc.collect()
    gc.freeze()


async def serve(application: CoachApplication, *, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM or SIGINT (or until `stop` is set): long polling, or a webhook with WEBHOOK_URL.

    Stopping takes no new work first (the poller or the web server stops), lets the lessons in
    flight finish and hands back the claims not yet sent, lets the handlers finish, then closes.
    """
    settings = application.services.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    lock = None if settings.webhook_url else PollerLock(application.services.db)
    servers = _web_servers(application)
    try:
        if lock is not None:
            await lock.acquire()
        if not await _initialize_once_reachable(application, stop):
            return
        await application.post_init(application)
        for server in servers:
            server.start()
        await _start_updates(application, servers)
        await application.start()
        await stop.wait()
        log.info("stopping: taking no new updates; lessons in flight finish or go back to the queue")
    finally:  # the one way down, whether `stop` was set or something failed
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if application.updater.running:
            await application.updater.stop()
        for server in servers:
            await server.stop()
        if application.running:
            # post_stop shuts delivery down once (lessons in flight finish, unsent claims go back)
            # while the handlers still run; the application stops after it
            await application.post_stop(application)
            await application.stop()
        await application.shutdown()
        if lock is not None:
            await lock.release()
        await application.post_shutdown(application)
    log.info("stopped cleanly")


STARTUP_RETRY_FIRST_SECONDS = 1.0
STARTUP_RETRY_CAP_SECONDS = 60.0


async def _initialize_once_reachable(application: CoachApplication, stop: asyncio.Event) -> bool:
    """Initialize (python-telegram-bot asks Telegram who the bot is), waiting out a Bot API that cannot
    be reached with one line per attempt and a doubling pause of at most a minute. A refused token is
    no weather to wait out: `InvalidToken` goes up to `coach run`. False if told to stop meanwhile."""
    api = urlsplit(application.services.settings.telegram_api_base_url)
    pause = STARTUP_RETRY_FIRST_SECONDS
    while True:
        try:
            await application.initialize()
            return True
        except BadRequest:
            raise
        except NetworkError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning(
                "Telegram Bot API at %s://%s not reachable (%s); trying again in %.0f s",
                api.scheme,
                api.netloc,
                reason,
                pause,
            )
        try:
            await asyncio.wait_for(stop.wait(), pause)
            return False
        except TimeoutError:
            pause = min(pause * 2, STARTUP_RETRY_CAP_SECONDS)


def _web_servers(application: CoachApplication) -> list[web.WebServer]:
    """The webhook server (with /healthz, /metrics and the Mini App), or when polling the Mini App's
    server (with /healthz and /metrics); and the metrics port when METRICS_PORT is set."""
    settings = application.services.settings
    mini_app = settings.mini_app_path if settings.mini_app_url else None
    servers = []
    if settings.webhook_url:
        servers.append(
            web.WebServer(
                application,
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                webhook_path=settings.webhook_path,
                secret=settings.webhook_secret.get_secret_value(),
                mini_app_path=mini_app,
            )
        )
    elif mini_app is not None:  # polling: the Mini App still needs a server of its own
        servers.append(
            web.WebServer(
                application, listen=settings.mini_app_listen, port=settings.mini_app_port, mini_app_path=mini_app
            )
        )
    if settings.metrics_port is not None:
        servers.append(web.WebServer(application, listen=settings.metrics_listen, port=settings.metrics_port))
    return servers


async def _start_updates(application: CoachApplication, servers: list[web.WebServer]) -> None:
    """Tell Telegram where updates go (a webhook) or start fetching them (polling); say which, once."""
    settings = application.services.settings
    ports = ", ".join(f"{server.listen}:{server.port}" for server in servers)
    if settings.webhook_url:
        await application.bot.set_webhook(
            settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=Update.ALL_TYPES,
        )
        log.info(
            "webhook mode: Telegram posts to %s; serving it, /healthz and /metrics on %s", settings.webhook_url, ports
        )
        return
    await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
    metrics_note = f"; /healthz and /metrics on {ports}" if servers else ""
    log.info("polling mode: this process is the one poller for its database%s", metrics_note)
