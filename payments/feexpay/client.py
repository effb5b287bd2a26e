"""The FeexPay HTTP client: a request-to-pay on one network, the status of one reference, and a key check.

It speaks the wire and nothing else: no retries, no state. Errors are FeexPayError (a ProviderError) with our own
stable ``code``:

====================  =========  ==============================================================================
code                  retryable  when
====================  =========  ==============================================================================
invalid_key           no         401/403: a missing or wrong API key (the merchant is alerted)
not_found             no         404: FeexPay does not know the reference (or the network's path)
rejected              no         any other 4xx (an amount, a number or a shop FeexPay refuses)
rate_limited          yes        429: FeexPay turned the call away before doing anything
provider_unavailable  yes        5xx
bad_response          yes        an answer that is not FeexPay's
timeout / network     yes        no answer: the request may have reached FeexPay
====================  =========  ==============================================================================

The API key appears only in the Authorization header: never in a message or a repr."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from core.vault import Secret
from payments.base import RATE_LIMITED, InvalidCallback, ProviderError
from payments.feexpay.wire import (
    LIVE_HOST,
    REQUEST_PATH,
    STATUS_PATH,
    Transaction,
    error_message,
    parse_started,
    parse_status,
)
from payments.http_call import send

_MAX_MESSAGE = 200
_T = TypeVar("_T")
# A reference that cannot be FeexPay's: asking its status checks the key without touching a payment.
KEY_CHECK_REFERENCE = "dukabot-key-check"


class FeexPayError(ProviderError):
    misconfigured_codes = frozenset({"invalid_key"})


class FeexPayClient:
    def __init__(self, http: httpx.AsyncClient, *, api_key: str, base_url: str = LIVE_HOST) -> None:
        if not api_key.strip():
            raise ValueError("a FeexPay API key is required")
        self._http = http
        self._key = Secret(api_key.strip())
        self.base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"FeexPayClient(base_url={self.base_url!r})"

    async def request_to_pay(self, network: str, body: Mapping[str, Any]) -> str:
        """POST …/requesttopay/{network}: FeexPay's reference of the request pushed to the phone."""
        response = await self._call("request-to-pay", "POST", REQUEST_PATH.format(network=network), json=body)
        return self._read("request-to-pay", lambda: parse_started(response.content))

    async def status(self, reference: str) -> Transaction:
        response = await self._call("status", "GET", STATUS_PATH.format(reference=reference))
        return self._read("status", lambda: parse_status(response.content))

    async def check_key(self) -> None:
        """The status of a reference no payment has: a key FeexPay knows is told "not found", a wrong one 401."""
        try:
            await self._call("status", "GET", STATUS_PATH.format(reference=KEY_CHECK_REFERENCE))
        except FeexPayError as error:
            if error.code != "not_found":
                raise

    # --- plumbing --------------------------------------------------------------------------------------------

    def _clean(self, text: str) -> str:
        return text.replace(self._key.reveal(), "<secret>")[:_MAX_MESSAGE]

    def _read(self, operation: str, parse: Callable[[], _T]) -> _T:
        try:
            return parse()
        except InvalidCallback as error:
            said = self._clean(error.reason)
            raise FeexPayError(
                f"FeexPay {operation}: unexpected answer ({said})", code="bad_response", retryable=True
            ) from None

    async def _call(
        self, operation: str, method: str, path: str, *, json: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._key.reveal()}", "Accept": "application/json"}
        response = await send(
            self._http,
            f"FeexPay {operation}",
            method,
            self.base_url + path,
            error=FeexPayError,
            json=json,
            headers=headers,
            timeout=30,
        )
        status = response.status_code
        if 200 <= status < 300:
            return response
        said = self._clean(error_message(response.content)) or "no message"
        message = f"FeexPay {operation}: {said} (HTTP {status})"
        if status in (401, 403):
            raise FeexPayError(message, code="invalid_key", http_status=status)
        if status == 429:  # turned away before anything was done: asking later cannot do it twice
            raise FeexPayError(message, code=RATE_LIMITED, retryable=True, http_status=status)
        if status >= 500:
            raise FeexPayError(message, code="provider_unavailable", retryable=True, http_status=status)
        if status == 404:
            raise FeexPayError(message, code="not_found", http_status=status)
        raise FeexPayError(message, code="rejected", http_status=status)
