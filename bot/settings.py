"""Settings from environment variables (and `.env`), validated once at start-up."""

from __future__ import annotations

import json
import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./coach.db"
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it in one line."""


def _https_unless_local(value: str | None, info: ValidationInfo) -> bool:
    """Telegram reaches the bot (and opens Mini Apps) only over https; a local Bot API (the tests,
    the demo) may use plain http. An empty value is fine: the feature is off."""
    if not value:
        return True
    official = urlsplit(info.data.get("telegram_api_base_url", "")).hostname == "api.telegram.org"
    return value.startswith("https://") or (value.startswith("http://") and not official)


class Settings(BaseSettings):
    """Every knob of the bot. The README's settings table documents each one."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    course_day_seconds: int = Field(default=86400, ge=1, le=86400)
    delivery_tick_seconds: float = Field(default=30.0, gt=0, le=3600)
    delivery_batch_size: int = Field(default=200, ge=1, le=10000)
    delivery_lease_seconds: int = Field(default=300, ge=10)
    checkin_reminder_hours: float = Field(default=4.0, ge=0, le=23)
    log_level: str = "INFO"
    # Webhook mode (WEBHOOK_URL set) instead of long polling; see deploy/README.md.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port
    metrics_port: int | None = Field(default=None, ge=0, le=65535)  # /healthz and /metrics in polling mode
    # Metrics of a private bot stay on this machine unless the operator opens them on purpose.
    metrics_listen: str = "127.0.0.1"
    # The Mini App (bot/miniapp/): the public https:// address a reverse proxy forwards to this
    # process. Served beside the webhook in webhook mode, on MINI_APP_LISTEN:MINI_APP_PORT when polling.
    mini_app_url: str | None = None
    mini_app_listen: str = "0.0.0.0"
    mini_app_port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=600)
    admin_ids: Annotated[list[int], NoDecode] = []  # Telegram user ids allowed to use /stats
    # Telegram's limits, kept for the whole deployment (every process on one PostgreSQL database).
    global_rate: float = Field(default=30, gt=0, le=1000)  # messages a second, all chats together
    private_chat_rate: float = Field(default=1, gt=0, le=30)  # messages a second in one private chat
    group_rate_per_minute: int = Field(default=20, ge=5, le=600)  # messages and edits a minute in one group
    allow_paid_broadcast: bool = False  # lessons go out as paid broadcast (Telegram Stars per message)
    broadcast_rate: float = Field(default=1000, gt=0, le=1000)  # messages a second with paid broadcast
    group_tally_seconds: float = Field(default=5.0, gt=0, le=60)  # at most one tally edit per group lesson per this

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        """ADMIN_IDS as people write it, "1,2,3" (or a JSON list)."""
        if not isinstance(value, str):
            return value
        if value.strip().startswith("["):
            return json.loads(value)
        return [part.strip() for part in value.split(",") if part.strip()]

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith(("postgres://", "postgresql://")):
            # Hosting providers hand out plain URLs; the bot needs the async driver.
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if "://" not in value:
            raise ValueError("must be an SQLAlchemy URL such as sqlite+aiosqlite:///./coach.db")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_https(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not _https_unless_local(value, info):
            raise ValueError("must be an https:// URL that reaches this bot (Telegram refuses plain http)")
        return value or None

    @field_validator("mini_app_url")
    @classmethod
    def _mini_app_https(cls, value: str | None, info: ValidationInfo) -> str | None:
        """https:// for Telegram; plain http only for a local Bot API or this machine (the demo's
        pages open in a desktop browser, not in Telegram)."""
        on_this_machine = urlsplit(value or "").hostname in ("127.0.0.1", "localhost")
        if not on_this_machine and not _https_unless_local(value, info):
            raise ValueError("must be the https:// address of the Mini App (Telegram opens no other)")
        return value.rstrip("/") + "/" if value else None

    @field_validator("webhook_secret", mode="after")
    @classmethod
    def _secret_with_webhook(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """Without the secret anyone who finds the URL could post updates as any user."""
        secret = value.get_secret_value().strip() if value is not None else ""
        if info.data.get("webhook_url") and not secret:
            raise ValueError("required with WEBHOOK_URL: 1-256 characters of A-Z, a-z, 0-9, _ and -")
        if secret and not WEBHOOK_SECRET_PATTERN.fullmatch(secret):
            raise ValueError("use 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return SecretStr(secret) if secret else None

    @property
    def webhook_path(self) -> str:
        """The path Telegram posts to, as the reverse proxy passes it on: the URL's own path."""
        return urlsplit(self.webhook_url or "").path.rstrip("/") or "/"

    @model_validator(mode="after")
    def _mini_app_beside_webhook(self) -> Settings:
        """In webhook mode one server serves both: the Mini App needs a path of its own."""
        if self.webhook_url and self.mini_app_url and (self.mini_app_path or "/") == self.webhook_path:
            raise ValueError("MINI_APP_URL needs a path of its own beside WEBHOOK_URL's, e.g. https://host/app")
        return self

    @property
    def mini_app_path(self) -> str:
        """Where the Mini App lives on this server, as the reverse proxy passes it on ("" for the root)."""
        return urlsplit(self.mini_app_url or "").path.rstrip("/")

    @property
    def checkin_reminder_seconds(self) -> float:
        """The reminder delay scales with a shortened course day, like everything else."""
        return self.checkin_reminder_hours * 3600 * self.course_day_seconds / 86400

    def require_token(self) -> str:
        if self.bot_token is None or not self.bot_token.get_secret_value().strip():
            raise SettingsError("BOT_TOKEN is not set: get one from @BotFather and export it")
        return self.bot_token.get_secret_value().strip()


def load_settings(**overrides: object) -> Settings:
    """Read the environment, turning pydantic's report into one line per bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in err['loc']).upper()}: {err['msg']}" if err["loc"] else err["msg"]
            for err in exc.errors()
        ]
        raise SettingsError("invalid setting " + "; ".join(problems)) from None
