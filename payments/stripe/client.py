"""Stripe's API over the one ``httpx.AsyncClient``: form-encoded requests, JSON answers, Stripe's errors as the
contract's :class:`payments.base.ProviderError`.

No answer (a timeout, a dropped connection) is code ``timeout`` / ``network``: the request may have reached Stripe,
so the starter never sends it again. An ``Idempotency-Key`` makes a repeat of the same request the same object at
Stripe anyway (its keys last at least 24 hours)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from payments.base import RATE_LIMITED, ProviderError
from payments.http_call import send
from payments.stripe.wire import encode, parse_error

TIMEOUT_SECONDS = 15.0
# Stripe's error codes (``error.code``) that say the shop's account, not the customer, is wrong.
_MISCONFIGURED = frozenset({"api_key_expired", "secret_key_required", "platform_api_key_expired", "account_invalid"})


class StripeClient:
    def __init__(self, http: httpx.AsyncClient, *, base_url: str, key: str, account: str | None = None) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.account = account  # Connect: act on this connected account (``Stripe-Account``)

    def _headers(self, idempotency_key: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if self.account:
            headers["Stripe-Account"] = self.account
        return headers

    async def call(
        self, method: str, path: str, fields: Mapping[str, Any] | None = None, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        headers = self._headers(idempotency_key)
        content = None
        if fields is not None:
            content = encode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        answer = await send(
            self.http,
            f"Stripe {method} {path}",
            method,
            self.base_url + path,
            content=content,
            headers=headers,
            timeout=TIMEOUT_SECONDS,
        )
        if answer.status_code < 300:
            try:
                data = answer.json()
            except ValueError:
                raise ProviderError("Stripe answered something that is not JSON", code="bad_answer") from None
            if not isinstance(data, dict):
                raise ProviderError("Stripe answered something that is not an object", code="bad_answer")
            return data
        raise self._error(answer)

    @staticmethod
    def _error(answer: httpx.Response) -> ProviderError:
        error = parse_error(answer.status_code, answer.content)
        message = f"Stripe answered {error.status} {error.code}: {error.message}"
        if error.status == 401 or error.type == "authentication_error" or error.code in _MISCONFIGURED:
            return ProviderError(message, code="invalid_key", misconfigured=True)
        if error.status == 403:
            return ProviderError(message, code="not_permitted", misconfigured=True)
        if error.status == 429:  # turned away before doing anything
            return ProviderError(message, code=RATE_LIMITED, retryable=True)
        if error.status == 404:
            return ProviderError(message, code="not_found")
        if error.status >= 500:
            return ProviderError(message, code="unavailable", retryable=True)
        return ProviderError(message, code=error.code[:60])
