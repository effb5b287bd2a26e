"""Settings from the environment (prefix ``DUKABOT_``) or a ``.env`` file. Names are part of the public surface."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUKABOT_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None
    secret_keys: SecretStr | None = None
    public_url: str | None = None
    telegram_api: str = "https://api.telegram.org"
    telegram_library: Literal["aiogram", "ptb"] = "aiogram"  # which library carries Telegram (bot/channels.py)
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    metrics_token: SecretStr | None = None  # who may scrape /metrics from elsewhere: webhooks/metrics_access.py
    redis_url: str | None = None
    log_format: Literal["text", "json"] = "text"

    @field_validator("database_url")
    @classmethod
    def _database_url_for_our_drivers(cls, value: str | None) -> str | None:
        """``postgresql://`` and ``sqlite:///`` mean asyncpg and aiosqlite; another driver is refused here, in one
        line, instead of failing to import when the engine starts."""
        from core.db.urls import DatabaseUrlError, normalise_database_url

        if value is None or not value.strip():
            return None
        try:
            return normalise_database_url(value)
        except DatabaseUrlError as exc:
            # A custom error keeps pydantic's "Value error, " prefix out of the one line the operator reads.
            raise PydanticCustomError("database_url", str(exc)) from None

    @field_validator("public_url", "telegram_api")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("public_url")
    @classmethod
    def _public_url_is_https_or_local(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://127.", "http://localhost")):
            raise ValueError("DUKABOT_PUBLIC_URL must be https:// (Telegram and the providers call it)")
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'dukabot.sqlite3').resolve()}"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def proofs_dir(self) -> Path:
        return self.data_dir / "proofs"
