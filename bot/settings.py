"""Settings from environment variables (and `.env`), validated once at start-up."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./coach.db"


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it in one line."""


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
        problems = [f"{'.'.join(str(part) for part in err['loc']).upper()}: {err['msg']}" for err in exc.errors()]
        raise SettingsError("invalid setting " + "; ".join(problems)) from None
