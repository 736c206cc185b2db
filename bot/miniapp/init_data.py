"""Telegram's signature on a Mini App's `initData`, checked as its Web Apps documentation says
(https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):

    secret = HMAC_SHA256(key="WebAppData", msg=bot_token)
    hash   = hex(HMAC_SHA256(key=secret, msg=data_check_string))

where the data-check-string is every received field but `hash`, as `key=value` lines sorted by key.
The page sends the string untouched; only what it signs is believed (the user id above all), and
only for a day after Telegram signed it. Pure: no Telegram library, no database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode

MAX_AGE = timedelta(days=1)
CLOCK_SKEW = timedelta(minutes=5)  # a phone whose clock runs a little ahead is no forger
MAX_LENGTH = 8192  # Telegram's initData is a few hundred bytes; anything far bigger is not from it


class Refused(StrEnum):
    """Why an initData was not believed (said in the log, never with the data itself)."""

    MISSING = "missing"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad signature"
    STALE = "stale"
    NO_USER = "no user"


class InitDataRefused(Exception):
    def __init__(self, reason: Refused) -> None:
        self.reason = reason
        super().__init__(reason.value)


@dataclass(frozen=True)
class WebAppUser:
    """The person Telegram vouches for."""

    id: int
    first_name: str
    language: str  # the IETF tag their Telegram app uses ("en", "pt-br"); "" when not given


def _secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def sign(fields: dict[str, str], bot_token: str) -> str:
    """An initData string as Telegram builds it (for the tests and the demo's local links)."""
    digest = hmac.new(_secret(bot_token), data_check_string(fields).encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


def verify(init_data: str | None, bot_token: str, *, now: datetime) -> WebAppUser:
    """The signed user, or InitDataRefused saying why not."""
    if not init_data:
        raise InitDataRefused(Refused.MISSING)
    if len(init_data) > MAX_LENGTH:
        raise InitDataRefused(Refused.MALFORMED)
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataRefused(Refused.MALFORMED) from None
    fields = dict(pairs)
    if len(fields) != len(pairs) or "hash" not in fields:  # a key given twice could sign one and mean another
        raise InitDataRefused(Refused.MALFORMED)
    expected = hmac.new(_secret(bot_token), data_check_string(fields).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), fields["hash"].encode()):
        raise InitDataRefused(Refused.BAD_SIGNATURE)
    try:
        signed_at = datetime.fromtimestamp(int(fields.get("auth_date", "")), tz=now.tzinfo)
    except (ValueError, OverflowError, OSError):
        raise InitDataRefused(Refused.MALFORMED) from None
    if not now - MAX_AGE <= signed_at <= now + CLOCK_SKEW:
        raise InitDataRefused(Refused.STALE)
    try:
        user = json.loads(fields.get("user", ""))
        user_id = user["id"]
    except (ValueError, TypeError, KeyError):
        raise InitDataRefused(Refused.NO_USER) from None
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise InitDataRefused(Refused.NO_USER)
    return WebAppUser(
        id=user_id, first_name=str(user.get("first_name", "")), language=str(user.get("language_code", ""))
    )
