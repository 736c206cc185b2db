"""Logging for operators: one line per event, the update and chat it concerns, never a secret and
never what people wrote or who they are.

Bot API URLs contain the token (httpx logs them at DEBUG and INFO, and exceptions quote them), and
python-telegram-bot logs every update and every request's parameters at DEBUG (messages, names,
usernames, phone numbers, locations). Every record passes `RedactSecrets` before it is written,
tracebacks included: the secrets go, the values of personal fields go, and the line is capped.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from typing import TextIO

REDACTED = "<redacted>"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log every request at INFO; the bot's own lines say what matters.
CHATTY = ("httpx", "apscheduler", "tornado.access")
# Loggers whose DEBUG lines are made of people's data: aiosqlite logs every statement with its
# bound parameters (names, check-in notes). Kept at INFO even at LOG_LEVEL=DEBUG.
PAYLOAD_LOGGERS = ("aiosqlite",)

# Fields of Bot API objects that carry what a person wrote or who they are. They are redacted
# wherever they appear as `key: value` (dicts, JSON) or `key=value` (python-telegram-bot's reprs).
PERSONAL_FIELDS = (
    "text", "caption", "quote", "first_name", "last_name", "full_name", "username", "title", "bio",
    "phone_number", "email", "vcard", "address", "latitude", "longitude", "query", "file_name",
    "question", "explanation", "description", "message_text", "invite_link", "emoji",
)  # fmt: skip
_PERSONAL_KEY = r"""(?<![\w])['"]?(?:""" + "|".join(PERSONAL_FIELDS) + r""")['"]?\s*[:=]\s*"""
_QUOTED_OR_NUMBER = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"""
_PERSONAL_VALUE = re.compile(f"(?P<key>{_PERSONAL_KEY})(?:{_QUOTED_OR_NUMBER})")
# A line carries an event, not a payload: a 5 MB update must not become a 5 MB line.
MAX_LINE_CHARACTERS = 8000

_current_update: ContextVar[str] = ContextVar("current_update", default="")


def bind_update(update_id: int, chat_id: int | None) -> None:
    """Tag every line logged while this update is handled (set by the first handler to run)."""
    chat = f" chat {chat_id}" if chat_id is not None else ""
    _current_update.set(f"[update {update_id}{chat}] ")


def secret_variants(secret: str) -> list[str]:
    """The token and its secret half: either is enough to act as the bot."""
    secret = secret.strip()
    variants = [secret]
    if ":" in secret and secret.split(":", 1)[1]:
        variants.append(secret.split(":", 1)[1])
    return [v for v in variants if len(v) >= 4]


class RedactSecrets(logging.Filter):
    """Renders the message and any traceback, replaces the secrets, and prefixes the update ids."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({v for s in secrets if s for v in secret_variants(s)}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _PERSONAL_VALUE.sub(rf"\g<key>{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        tag = _current_update.get()
        record.msg = _capped(self.redact(message if message.startswith(tag) else tag + message))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _capped(self.redact(record.exc_text))
        if record.stack_info:
            record.stack_info = _capped(self.redact(record.stack_info))
        return True


def _capped(text: str) -> str:
    if len(text) <= MAX_LINE_CHARACTERS:
        return text
    return f"{text[:MAX_LINE_CHARACTERS]}… [{len(text) - MAX_LINE_CHARACTERS} more characters not logged]"


class OneLineFormatter(logging.Formatter):
    """A traceback folds into its event's line, so log shippers never split one event in two."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "").replace("\n", " | ")


class CoachLogHandler(logging.StreamHandler):
    """The handler `configure_logging` installs; configuring again replaces it instead of doubling lines."""


def configure_logging(level: str, *, secrets: Iterable[str] = (), stream: TextIO | None = None) -> logging.Handler:
    """Install the bot's one handler on the root logger; returns it so tests can remove it."""
    handler = CoachLogHandler(stream or sys.stderr)
    handler.setFormatter(OneLineFormatter(FORMAT))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, CoachLogHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in CHATTY:
        # At DEBUG everything is shown (redacted); otherwise request-by-request lines are noise.
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLevelName(level)))
    return handler
