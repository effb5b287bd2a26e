"""The Flutterwave v3 HTTP client: a hosted link, verify (by id and by reference), refunds, and a key check.

It speaks the wire and nothing else: no retries, no state. Errors are FlutterwaveError (a ProviderError) with our
own stable ``code``:

====================  =========  ==============================================================================
code                  retryable  when
====================  =========  ==============================================================================
invalid_key           no         401/403: a missing or wrong secret key (the merchant is alerted)
not_found             no         404, or a 400 whose message says no transaction was found
rejected              no         any other 4xx, or 2xx with ``status: error``
rate_limited          yes        429: Flutterwave turned the call away before doing anything
provider_unavailable  yes        5xx
bad_response          yes        an answer that is not Flutterwave's envelope
timeout / network     yes        no answer: the request may have reached Flutterwave
====================  =========  ==============================================================================

The secret key appears only in the Authorization header: never in a message or a repr."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from core.money import Money
from core.vault import Secret
from payments.base import RATE_LIMITED, InvalidCallback, ProviderError
from payments.flutterwave.wire import (
    BALANCES_PATH,
    LIVE_HOST,
    PAYMENTS_PATH,
    REFUND_FETCH_PATH,
    REFUND_PATH,
    VERIFY_BY_REFERENCE_PATH,
    VERIFY_PATH,
    Envelope,
    Refund,
    Transaction,
    amount_out,
    is_test_key,
    parse_envelope,
    parse_refund,
    parse_transaction,
)
from payments.http_call import send

_T = TypeVar("_T")
_MAX_MESSAGE = 200


class FlutterwaveError(ProviderError):
    misconfigured_codes = frozenset({"invalid_key"})


class FlutterwaveClient:
    def __init__(self, http: httpx.AsyncClient, *, secret_key: str, base_url: str = LIVE_HOST) -> None:
        if not secret_key.strip():
            raise ValueError("a Flutterwave secret key is required")
        self._http = http
        self._key = Secret(secret_key.strip())
        self.base_url = base_url.rstrip("/")
        self.mode = "test" if is_test_key(secret_key) else "live"

    def __repr__(self) -> str:
        return f"FlutterwaveClient(base_url={self.base_url!r}, mode={self.mode!r})"

    async def hosted_link(self, body: Mapping[str, Any]) -> str:
        """POST /v3/payments: the checkout link of one payment (``body`` as :func:`payment_body` makes it)."""
        envelope = await self._call("payments", "POST", PAYMENTS_PATH, json=body)
        return self._parse("payments", lambda data: _link(data), envelope)

    async def verify(self, transaction_id: str) -> Transaction:
        path = VERIFY_PATH.format(id=_digits(transaction_id))
        envelope = await self._call("verify", "GET", path)
        return self._parse("verify", parse_transaction, envelope)

    async def verify_by_reference(self, tx_ref: str) -> Transaction:
        envelope = await self._call("verify", "GET", VERIFY_BY_REFERENCE_PATH, params={"tx_ref": tx_ref})
        return self._parse("verify", parse_transaction, envelope)

    async def refund(self, transaction_id: str, amount: Money | None, comments: str) -> Refund:
        """POST /v3/transactions/{id}/refund; the whole payment when ``amount`` is None."""
        body: dict[str, Any] = {"comments": comments[:200]}
        if amount is not None:
            body["amount"] = amount_out(amount)
        currency = amount.currency if amount is not None else ""
        path = REFUND_PATH.format(id=_digits(transaction_id))
        envelope = await self._call("refund", "POST", path, json=body)
        return self._parse("refund", lambda data: parse_refund(data, currency), envelope)

    async def fetch_refund(self, refund_id: str, currency: str) -> Refund:
        envelope = await self._call("refund fetch", "GET", REFUND_FETCH_PATH.format(id=_digits(refund_id)))
        return self._parse("refund fetch", lambda data: parse_refund(data, currency), envelope)

    async def check_key(self) -> str:
        await self._call("balances", "GET", BALANCES_PATH)
        return self.mode

    # --- plumbing --------------------------------------------------------------------------------------------

    def _clean(self, text: str) -> str:
        return text.replace(self._key.reveal(), "<secret>")[:_MAX_MESSAGE]

    def _parse(self, operation: str, parser: Callable[[Any], _T], envelope: Envelope) -> _T:
        try:
            return parser(envelope.data)
        except InvalidCallback as error:
            raise FlutterwaveError(
                f"Flutterwave {operation}: unexpected answer ({self._clean(error.reason)})",
                code="bad_response",
                retryable=True,
            ) from None

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Envelope:
        headers = {"Authorization": f"Bearer {self._key.reveal()}", "Accept": "application/json"}
        response = await send(
            self._http,
            f"Flutterwave {operation}",
            method,
            self.base_url + path,
            error=FlutterwaveError,
            json=json,
            params=params,
            headers=headers,
            timeout=20,
        )
        status = response.status_code
        try:
            envelope: Envelope | None = parse_envelope(response.content)
        except InvalidCallback:
            envelope = None
        said = self._clean(envelope.message) if envelope and envelope.message else "no message"
        message = f"Flutterwave {operation}: {said} (HTTP {status})"
        if 200 <= status < 300:
            if envelope is None:
                raise FlutterwaveError(message, code="bad_response", retryable=True, http_status=status)
            if not envelope.ok:
                raise FlutterwaveError(message, code="rejected", http_status=status)
            return envelope
        if status in (401, 403):
            raise FlutterwaveError(message, code="invalid_key", http_status=status)
        if status == 429:  # turned away before anything was done: asking later cannot do it twice
            raise FlutterwaveError(message, code=RATE_LIMITED, retryable=True, http_status=status)
        if status >= 500:
            raise FlutterwaveError(message, code="provider_unavailable", retryable=True, http_status=status)
        if status == 404 or "no transaction" in said.lower() or "not found" in said.lower():
            raise FlutterwaveError(message, code="not_found", http_status=status)
        raise FlutterwaveError(message, code="rejected", http_status=status)


def _link(data: Any) -> str:
    link = data.get("link") if isinstance(data, Mapping) else None
    if not isinstance(link, str) or not link.startswith(("https://", "http://")):
        raise InvalidCallback("data.link is missing or not a URL")
    return link


def _digits(ident: str) -> str:
    """Flutterwave's ids are numbers: anything else never reaches a URL path."""
    if not ident.isascii() or not ident.isdigit() or len(ident) > 20:
        raise FlutterwaveError(f"not a Flutterwave id: {ident[:24]!r}", code="not_found")
    return ident
