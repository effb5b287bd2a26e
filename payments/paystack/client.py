"""The Paystack HTTP client: initialize, verify, refund, fetch refund, and a key check for ``dukabot doctor``.

It speaks the wire and nothing else: no retries of its own (every error says whether a retry may help), no
state. Errors become PaystackError (a ProviderError) with a stable ``code``:

=======================  =========  ==========================================================================
code                     retryable  when
=======================  =========  ==========================================================================
invalid_key              no         401: missing or bad secret key
duplicate_reference      no         400: the reference was used before (make a new one)
not_found                no         404, or 400 "Transaction reference not found"
invalid_amount, …        no         400 with Paystack's own ``code``; otherwise ``invalid_request``
rejected                 no         2xx with ``status: false``
rate_limited             yes        429 (``retry_after`` from the Retry-After header when given)
provider_unavailable     yes        5xx
timeout / network        yes        no answer; after an initialize, verify the reference before starting again
bad_response             yes        an answer that is not Paystack's envelope
invalid_reference        no         refused before any call (characters Paystack does not allow)
amount_*, currency_*     no         refused before any call (limits.AmountNotAllowed)
=======================  =========  ==========================================================================

The secret key appears only in the Authorization header: never in a message, a repr or an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from core.money import Money
from core.vault import Secret
from payments.base import InvalidCallback, ProviderError
from payments.http_call import send
from payments.paystack.keys import key_mode
from payments.paystack.limits import AmountNotAllowed, check_amount, to_subunits
from payments.paystack.reference import InvalidReference, validate_reference
from payments.paystack.wire import (
    Envelope,
    InitializeResult,
    Refund,
    Transaction,
    parse_envelope,
    parse_initialize,
    parse_refund_response,
    parse_verify,
)

DEFAULT_BASE_URL = "https://api.paystack.co"
_MAX_MESSAGE = 200
_T = TypeVar("_T")


class PaystackError(ProviderError):
    """A Paystack call that failed. ``code`` is ours (stable); ``paystack_code``/``error_type`` are
    Paystack's."""

    misconfigured_codes = frozenset({"invalid_key"})

    def __init__(
        self,
        message: str,
        *,
        code: str,
        retryable: bool = False,
        http_status: int | None = None,
        paystack_code: str | None = None,
        error_type: str | None = None,
        next_step: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, retryable=retryable, http_status=http_status)
        self.paystack_code = paystack_code
        self.error_type = error_type
        self.next_step = next_step
        self.retry_after = retry_after


class PaystackClient:
    def __init__(self, http: httpx.AsyncClient, *, base_url: str = DEFAULT_BASE_URL, secret_key: str) -> None:
        if not secret_key or not secret_key.strip():
            raise ValueError("a Paystack secret key is required")
        if key_mode(secret_key) == "unknown":
            raise ValueError(
                "a Paystack secret key starts with sk_test_ or sk_live_ (public pk_ keys do not work here)"
            )
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._key = Secret(secret_key.strip())
        self.mode = key_mode(secret_key)

    def __repr__(self) -> str:
        return f"PaystackClient(base_url={self._base_url!r}, mode={self.mode!r})"

    @property
    def base_url(self) -> str:
        return self._base_url

    # --- calls ------------------------------------------------------------------------------------

    async def initialize(
        self,
        *,
        amount: Money,
        email: str,
        reference: str | None = None,
        callback_url: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        channels: Sequence[str] | None = None,
    ) -> InitializeResult:
        """Create a transaction and its single-use ``authorization_url``. The amount is checked against
        Paystack's limits and sent in subunits, with its currency."""
        body: dict[str, Any] = {"email": email, "amount": check_amount(amount), "currency": amount.currency}
        if reference is not None:
            body["reference"] = self._reference(reference)
        if callback_url is not None:
            body["callback_url"] = callback_url
        if metadata:
            body["metadata"] = dict(metadata)
        if channels:
            body["channels"] = list(channels)
        envelope = await self._call("initialize", "POST", "/transaction/initialize", json=body)
        return self._parse("initialize", parse_initialize, envelope)

    async def verify(self, reference: str) -> Transaction:
        """What Paystack knows of a transaction. HTTP 200 does not mean paid: look at ``status``, amount,
        currency."""
        ref = self._reference(reference)
        envelope = await self._call("verify", "GET", f"/transaction/verify/{ref}")
        return self._parse("verify", parse_verify, envelope)

    async def refund(
        self,
        transaction: str | int,
        amount: Money | None = None,
        *,
        customer_note: str | None = None,
        merchant_note: str | None = None,
    ) -> Refund:
        """Refund a completed transaction (by reference or id); the full amount when ``amount`` is None."""
        target: str | int = transaction if isinstance(transaction, int) else self._reference(transaction)
        body: dict[str, Any] = {"transaction": target}
        if amount is not None:
            subunits = to_subunits(amount)
            if subunits <= 0:
                raise AmountNotAllowed(f"refund amount must be positive, got {amount}", code="amount_not_positive")
            body["amount"] = subunits
            body["currency"] = amount.currency
        if customer_note:
            body["customer_note"] = customer_note
        if merchant_note:
            body["merchant_note"] = merchant_note
        envelope = await self._call("refund", "POST", "/refund", json=body)
        return self._parse("refund", parse_refund_response, envelope)

    async def fetch_refund(self, refund_id: int | str | None) -> Refund:
        ident = "" if refund_id is None else str(refund_id).strip()
        if not ident.isdigit():
            raise PaystackError("Paystack refund ids are numbers", code="invalid_reference")
        envelope = await self._call("fetch refund", "GET", f"/refund/{ident}")
        return self._parse("fetch refund", parse_refund_response, envelope)

    async def check_key(self) -> str:
        """Prove the key works with the cheapest authenticated read (one row of the refund list); returns the
        key's mode (``test``/``live``). Raises PaystackError ``invalid_key`` when Paystack refuses it."""
        await self._call("check key", "GET", "/refund", params={"perPage": 1, "page": 1})
        return self.mode

    # --- plumbing ---------------------------------------------------------------------------------

    def _reference(self, reference: str) -> str:
        try:
            return validate_reference(reference)
        except InvalidReference as exc:
            raise PaystackError(str(exc), code="invalid_reference") from None

    def _clean(self, text: str) -> str:
        """Paystack's text, shortened, and never carrying our key even if something echoed it."""
        return text.replace(self._key.reveal(), "<secret>")[:_MAX_MESSAGE]

    def _parse(self, operation: str, parser: Callable[[Envelope], _T], envelope: Envelope) -> _T:
        try:
            return parser(envelope)
        except InvalidCallback as exc:
            raise PaystackError(
                f"Paystack {operation}: unexpected answer ({self._clean(exc.reason)})",
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
        params: Mapping[str, Any] | None = None,
    ) -> Envelope:
        headers = {"Authorization": f"Bearer {self._key.reveal()}", "Accept": "application/json"}
        response = await send(
            self._http,
            f"Paystack {operation}",
            method,
            self._base_url + path,
            error=PaystackError,
            json=json,
            params=params,
            headers=headers,
        )
        try:
            envelope: Envelope | None = parse_envelope(response.content)
        except InvalidCallback:
            envelope = None
        status = response.status_code
        if 200 <= status < 300:
            if envelope is None:
                raise PaystackError(
                    f"Paystack {operation}: HTTP {status} without a Paystack envelope",
                    code="bad_response",
                    retryable=True,
                    http_status=status,
                )
            if not envelope.status:
                raise self._error(operation, status, envelope, "rejected", retryable=False)
            return envelope
        raise self._error_for(operation, status, envelope, response.headers)

    def _error_for(
        self, operation: str, status: int, envelope: Envelope | None, headers: httpx.Headers
    ) -> PaystackError:
        message = (envelope.message if envelope else "").lower()
        if status == 401:
            return self._error(operation, status, envelope, "invalid_key", retryable=False)
        if status == 429:
            retry_after = _retry_after(headers)
            return self._error(operation, status, envelope, "rate_limited", True, retry_after=retry_after)
        if status >= 500:
            return self._error(operation, status, envelope, "provider_unavailable", retryable=True)
        if status == 404 or "not found" in message:
            return self._error(operation, status, envelope, "not_found", retryable=False)
        paystack_code = envelope.code if envelope else None
        if paystack_code == "duplicate_reference" or "duplicate transaction reference" in message:
            return self._error(operation, status, envelope, "duplicate_reference", retryable=False)
        if status == 408:
            return self._error(operation, status, envelope, "timeout", retryable=True)
        return self._error(operation, status, envelope, paystack_code or "invalid_request", retryable=False)

    def _error(
        self,
        operation: str,
        status: int,
        envelope: Envelope | None,
        code: str,
        retryable: bool,
        *,
        retry_after: float | None = None,
    ) -> PaystackError:
        said = self._clean(envelope.message) if envelope and envelope.message else "no message"
        next_step = envelope.next_step if envelope else None
        return PaystackError(
            f"Paystack {operation}: {said} (HTTP {status})",
            code=code,
            retryable=retryable,
            http_status=status,
            paystack_code=envelope.code if envelope else None,
            error_type=envelope.type if envelope else None,
            next_step=self._clean(next_step) if next_step else None,
            retry_after=retry_after,
        )


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
