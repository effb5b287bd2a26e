"""Errors the fake answers with, worded as the real Bot API words them.

The wording matters: aiogram maps the HTTP status to an exception class, and our own code (and its tests) match on
descriptions such as "message is not modified" or "bot was blocked by the user".
"""

from __future__ import annotations

from typing import Any

DEFAULT_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request: scripted failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: scripted failure",
    413: "Request Entity Too Large",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class ApiError(Exception):
    """A Bot API failure; `envelope()` is the exact JSON body Telegram sends with HTTP status `error_code`."""

    def __init__(self, error_code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body

    @classmethod
    def scripted(cls, error_code: int, description: str | None, retry_after: int | None) -> ApiError:
        """Builds a failure for `FakeTelegram.fail_next`, filling in Telegram's usual description."""
        if error_code == 429:
            retry_after = 1 if retry_after is None else retry_after
            # aiogram only raises TelegramRetryAfter when retry_after is truthy; 0 would surface as a plain error.
            if retry_after < 1:
                raise ValueError("retry_after must be at least 1 second for a 429")
        elif retry_after is not None:
            raise ValueError("Telegram sends retry_after only with error_code 429")
        if description is None:
            template = DEFAULT_DESCRIPTIONS.get(error_code, "Scripted failure")
            description = template.format(retry_after=retry_after)
        return cls(error_code, description, retry_after=retry_after)


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    return ApiError(403, f"Forbidden: {detail}")


def conflict(detail: str) -> ApiError:
    return ApiError(409, f"Conflict: {detail}")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized")


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def too_large() -> ApiError:
    return ApiError(413, "Request Entity Too Large")
