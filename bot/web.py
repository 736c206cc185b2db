"""The bot's HTTP side: Telegram's webhook, /healthz and /metrics, the Mini App's routes (bot/miniapp/api.py),
and once-only update handling.

Following python-telegram-bot's custom webhook example, the server is our own (on tornado, which
python-telegram-bot's webhook extra already brings) so the health and metrics routes can sit beside
the webhook: the updates go onto `application.update_queue` exactly as PTB's own server puts them.
It refuses, like PTB's, any request without the secret header Telegram sends (compared in constant
time). Telegram re-sends a webhook update it thinks was lost; `once_per_update` drops the second
copy, across all processes, by recording each update id in the database. (Polling needs no record:
getUpdates' offset hands each update out once, to the one process allowed to poll.)
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import socket
from datetime import timedelta
from http import HTTPStatus

import tornado.web
from sqlalchemy import text
from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot import metrics
from bot.context import CoachApplication, CoachContext
from bot.incoming import NotAnUpdate, parse_update
from bot.logs import bind_update
from bot.miniapp.api import routes as miniapp_routes
from bot.storage import operations

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are far smaller: a message is at most 4,096 characters (about 50 kB as escaped
# JSON even with a quoted reply beside it). 1 MiB is nginx's default `client_max_body_size` too,
# and bounds what any request can make the process hold.
MAX_BODY_BYTES = 1024 * 1024
KEEP_PROCESSED_UPDATES = timedelta(days=2)  # Telegram keeps an undelivered update for at most a day
HEALTH_TIMEOUT_SECONDS = 2.0


@tornado.web.stream_request_body
class _CoachHandler(tornado.web.RequestHandler):
    """Every route decides from the headers whether to read a body at all, and reads at most
    MAX_BODY_BYTES of it: a bigger one is refused with 413 and the connection closed unread."""

    def initialize(self, coach: CoachApplication, secret: str = "") -> None:
        self.coach = coach
        self.secret = secret
        self.body = bytearray()
        self.refused = False

    def prepare(self) -> None:
        self.check_headers()
        declared = self.request.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise tornado.web.HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)

    def check_headers(self) -> None:
        """What a route requires of the headers, checked before any byte of the body is read."""

    def data_received(self, chunk: bytes) -> None:
        if self.refused:
            return
        if len(self.body) + len(chunk) > MAX_BODY_BYTES:  # a chunked body that keeps coming
            self.refused = True
            self.body.clear()
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return
        self.body += chunk


class TelegramUpdates(_CoachHandler):
    """POST <webhook path>: one update from Telegram, shape checked, queued for the Application."""

    SUPPORTED_METHODS = ("POST",)

    def check_headers(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN, reason="wrong or missing secret token")

    async def post(self) -> None:
        try:
            update = Update.de_json(parse_update(bytes(self.body)), self.coach.bot)
        except NotAnUpdate as exc:
            log.warning("webhook body is not an update: %s", exc)
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST, reason="not an update") from None
        except Exception as exc:  # python-telegram-bot could not read what passed the model
            log.warning("webhook update not readable: %s: %s", type(exc).__name__, str(exc)[:200])
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST, reason="not an update") from None
        await self.coach.update_queue.put(update)
        self.set_status(HTTPStatus.OK)


class Health(_CoachHandler):
    """GET /healthz: 200 while the bot runs and its database answers, 503 otherwise."""

    SUPPORTED_METHODS = ("GET",)

    async def get(self) -> None:
        healthy = self.coach.running and await _database_answers(self.coach)
        self.set_status(HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE)
        self.write({"status": "ok" if healthy else "unavailable"})


class Metrics(_CoachHandler):
    """GET /metrics: Prometheus text format, with the active-people gauge read just now."""

    SUPPORTED_METHODS = ("GET",)

    async def get(self) -> None:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), self.coach.services.db.session() as session:
                metrics.set_active_people(await operations.count_active_people(session=session))
        except Exception as exc:  # the counters are still worth serving without the gauge
            log.warning("metrics: active people not counted: %s: %s", type(exc).__name__, exc)
        body, content_type = metrics.exposition()
        self.set_header("Content-Type", content_type)
        self.write(body)


async def _database_answers(application: CoachApplication) -> bool:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), application.services.db.session() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("health check: database did not answer: %s: %s", type(exc).__name__, exc)
        return False
    return True


class WebServer:
    """/healthz and /metrics, plus the webhook route when `webhook_path` is given and the Mini App's
    pages and API (bot/miniapp/api.py) under `mini_app_path`."""

    def __init__(
        self,
        application: CoachApplication,
        *,
        listen: str,
        port: int,
        webhook_path: str | None = None,
        secret: str = "",
        mini_app_path: str | None = None,
    ) -> None:
        routes: list[tuple] = [
            (r"/healthz", Health, {"coach": application}),
            (r"/metrics", Metrics, {"coach": application}),
        ]
        if webhook_path is not None:
            path = re.escape(webhook_path.rstrip("/"))
            routes.append((rf"{path}/?", TelegramUpdates, {"coach": application, "secret": secret}))
        if mini_app_path is not None:
            routes += miniapp_routes(application, mini_app_path)
        # The handlers refuse bodies over MAX_BODY_BYTES with 413; tornado's own limit, twice that,
        # closes a connection whose chunked body declares more without reading it.
        self._server = HTTPServer(tornado.web.Application(routes), xheaders=True, max_body_size=2 * MAX_BODY_BYTES)
        self.listen = listen
        self.port = port
        self._sockets: list[socket.socket] = []

    def start(self) -> int:
        """Bind and serve; returns the port (useful when 0 asked for any free one)."""
        self._sockets = bind_sockets(self.port, address=self.listen)
        self._server.add_sockets(self._sockets)
        self.port = self._sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop accepting (Telegram retries elsewhere or later), then close open connections."""
        self._server.stop()
        await self._server.close_all_connections()


async def once_per_update(update: Update, context: CoachContext) -> None:
    """Runs before every other handler: tags log lines with the update, skips a re-delivered webhook one."""
    chat = update.effective_chat
    bind_update(update.update_id, chat.id if chat is not None else None)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("update received: %s", _kind(update))
    services = context.services
    if services.settings.webhook_url is None:  # polling: getUpdates' offset hands each update out once
        return
    async with services.db.session() as session:
        first = await operations.first_sighting(session=session, update_id=update.update_id, now=services.clock.now())
    if not first:
        metrics.duplicate_update()
        log.info("delivered again, already handled: skipped")
        raise ApplicationHandlerStop


def _kind(update: Update) -> str:
    """What arrived, without what anyone wrote: the update type, the command or the button data."""
    message = update.effective_message
    if update.callback_query is not None:
        return f"button {update.callback_query.data}"
    if message is not None and message.text and message.text.startswith("/"):
        return f"command {message.text.split()[0][:40]}"
    return next((key for key in update.to_dict() if key != "update_id"), "update")


async def forget_old_updates(context: CoachContext) -> None:
    """An hourly job: drop update records older than Telegram could re-deliver."""
    services = context.services
    try:
        async with services.db.session() as session:
            await operations.forget_processed_updates(
                session=session, before=services.clock.now() - KEEP_PROCESSED_UPDATES
            )
    except Exception as exc:  # the database may be briefly away; the next run catches up
        log.warning("pruning processed updates failed: %s: %s", type(exc).__name__, exc)


def register(application: Application) -> None:
    application.add_handler(TypeHandler(Update, once_per_update), group=-2)  # first of all, before the button gate
