"""Logging: text or JSON lines, and a last line of defence that masks anything shaped like a secret."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import IO

# Bot tokens (123456:AA..., also inside a Bot API URL's /bot<token>/, its colon maybe %3A), providers' API keys
# (sk_live_..., pk_test_...), Fernet tokens and keys, Basic/Bearer credentials, 64-hex passkeys: shapes, so that
# redaction depends on no provider's module being imported.
_SECRET_SHAPES = re.compile(
    r"((?:(?<=bot)|\b)\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{30,}\b|\b[sp]k_(?:test|live)_[A-Za-z0-9]+|\bgAAAA[A-Za-z0-9_=-]{20,}|"
    r"(?i:(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}|\b[0-9a-f]{64}\b|\b[A-Za-z0-9_-]{43}=)"
)
# Ids a log line may carry (``log.info(..., extra={"tenant": 3, "order": "K7Q2XA"})``), in both formats.
CONTEXT = ("tenant", "order", "payment")


def redact(text: str) -> str:
    return _SECRET_SHAPES.sub("[redacted]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """One line per record, with the tenant, order and payment ids when the record carries them."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(f"{key}={getattr(record, key)}" for key in CONTEXT if hasattr(record, key))
        line = f"{line} [{ids}]" if ids else line
        return redact(line) if record.exc_info else line


def handler(log_format: str = "text", stream: IO[str] | None = None) -> logging.Handler:
    """A handler that redacts and formats as DUKABOT_LOG_FORMAT says (``text`` or ``json``)."""
    made = logging.StreamHandler(stream)
    made.addFilter(RedactingFilter())
    made.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return made


def configure(log_format: str = "text", level: int = logging.INFO) -> None:
    handler_ = handler(log_format)
    root = logging.getLogger()
    root.handlers[:] = [handler_]
    root.setLevel(level)
    # aiohttp's access log would print every webhook path; keep it at warning.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
