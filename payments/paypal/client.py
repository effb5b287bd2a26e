"""The PayPal HTTP client: OAuth token, create / show / capture an order, refund a capture and show a refund, and
the webhook verification call. It speaks the wire and nothing else: no retries of its own, no state but the token
cache it is given. Errors become PayPalError (a ProviderError) with a stable ``code``:

=======================  =========  ========================================================================
code                     retryable  when
=======================  =========  ========================================================================
invalid_client           no         401 from the token endpoint: wrong client id or secret (misconfigured)
not_authorized           no         403: the app lacks the permission
not_found                no         404 (an order or refund PayPal does not know)
<ISSUE>                  no         422 with PayPal's ``details[0].issue`` (INSTRUMENT_DECLINED, ORDER_NOT_APPROVED,
                                    ORDER_ALREADY_CAPTURED, ...), lower-cased; otherwise ``unprocessable``
invalid_request          no         other 4xx
rate_limited             yes        429
provider_unavailable     yes        5xx
timeout / network        yes        no answer: the request may have been taken
bad_response             yes        an answer that is not PayPal's
=======================  =========  ========================================================================

The client secret and tokens appear only in the Authorization header: never in a message or an exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from core.money import Money
from core.vault import Secret
from payments.base import InvalidCallback, ProviderError
from payments.http_call import send
from payments.paypal.currencies import check_amount
from payments.paypal.tokens import PayPalTokens
from payments.paypal.wire import (
    ORDERS_PATH,
    REQUEST_ID_HEADER,
    TOKEN_PATH,
    VERIFY_PATH,
    Capture,
    Order,
    Refund,
    loads,
    parse_capture,
    parse_error,
    parse_order,
    parse_refund,
    parse_token,
    refund_body,
    verification_status,
    verify_body,
)

_T = TypeVar("_T")
RATE_LIMITED = "rate_limited"  # payments.refunding: a refund refused so that it surely did not arrive


class PayPalError(ProviderError):
    misconfigured_codes = frozenset({"invalid_client"})


class PayPalClient:
    def __init__(
        self, http: httpx.AsyncClient, *, base_url: str, client_id: str, client_secret: str, tokens: PayPalTokens
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._secret = Secret(client_secret)
        self._tokens = tokens
        # Two shops may name one client id with different secrets: a token is shared only by the same credentials.
        self._token_key = (self.base_url, client_id, hashlib.sha256(client_secret.encode()).hexdigest()[:16])

    def __repr__(self) -> str:
        return f"PayPalClient(base_url={self.base_url!r})"

    @property
    def has_credentials(self) -> bool:
        return bool(self._client_id and self._secret.reveal())

    # --- calls ---------------------------------------------------------------------------------------------

    async def token(self) -> str:
        return await self._tokens.get(self._token_key, self._fetch_token)

    async def create_order(self, body: Mapping[str, Any], request_id: str) -> Order:
        data = await self._call("create order", "POST", ORDERS_PATH, json=body, request_id=request_id)
        return self._parse("create order", parse_order, data)

    async def show_order(self, order_id: str) -> Order:
        data = await self._call("show order", "GET", f"{ORDERS_PATH}/{_safe(order_id)}")
        return self._parse("show order", parse_order, data)

    async def capture(self, order_id: str, request_id: str) -> Order:
        """Capture an approved order. PayPal answers with the order, its capture inside."""
        path = f"{ORDERS_PATH}/{_safe(order_id)}/capture"
        data = await self._call("capture", "POST", path, json={}, request_id=request_id)
        return self._parse("capture", parse_order, data)

    async def refund(
        self, capture_id: str, amount: Money, *, request_id: str, reference: str, invoice_id: str, note: str
    ) -> Refund:
        body = refund_body(amount, check_amount(amount), reference, invoice_id, note)
        path = f"/v2/payments/captures/{_safe(capture_id)}/refund"
        data = await self._call("refund", "POST", path, json=body, request_id=request_id)
        return self._parse("refund", parse_refund, data)

    async def show_refund(self, refund_id: str) -> Refund:
        data = await self._call("show refund", "GET", f"/v2/payments/refunds/{_safe(refund_id)}")
        return self._parse("show refund", parse_refund, data)

    async def show_capture(self, capture_id: str) -> Capture:
        data = await self._call("show capture", "GET", f"/v2/payments/captures/{_safe(capture_id)}")
        return self._parse("show capture", parse_capture, data)

    async def verify_webhook(self, fields: Mapping[str, str], webhook_id: str, event: Mapping[str, Any]) -> str:
        """PayPal's word on a delivery's signature: ``SUCCESS`` or ``FAILURE``."""
        data = await self._call("verify webhook", "POST", VERIFY_PATH, json=verify_body(fields, webhook_id, event))
        return verification_status(data)

    # --- plumbing ------------------------------------------------------------------------------------------

    async def _fetch_token(self) -> tuple[str, int]:
        response = await send(
            self._http,
            "PayPal token",
            "POST",
            self.base_url + TOKEN_PATH,
            error=PayPalError,
            data={"grant_type": "client_credentials"},
            auth=(self._client_id, self._secret.reveal()),
            headers={"Accept": "application/json"},
        )
        if response.status_code in (400, 401):
            raise PayPalError("PayPal refused the client id or secret", code="invalid_client", http_status=401)
        if response.status_code != 200:
            raise self._error("token", response)
        try:
            token = parse_token(loads(response.content, "token"))
        except InvalidCallback as exc:
            raise PayPalError(f"PayPal token: {exc.reason}", code="bad_response", retryable=True) from None
        return token.token, token.expires_in

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        again: bool = True,
    ) -> Mapping[str, Any]:
        token = await self.token()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if request_id is not None:
            headers[REQUEST_ID_HEADER] = request_id
        if method == "POST":
            headers["Prefer"] = "return=representation"
        response = await send(
            self._http,
            f"PayPal {operation}",
            method,
            self.base_url + path,
            error=PayPalError,
            json=json,
            headers=headers,
        )
        if response.status_code == 401 and again:  # the token expired early or was revoked: one fresh try
            self._tokens.invalidate(self._token_key)
            return await self._call(operation, method, path, json=json, request_id=request_id, again=False)
        if not 200 <= response.status_code < 300:
            raise self._error(operation, response)
        try:
            return loads(response.content, operation)
        except InvalidCallback as exc:
            raise PayPalError(f"PayPal {operation}: {exc.reason}", code="bad_response", retryable=True) from None

    def _parse(self, operation: str, parser: Callable[[Mapping[str, Any]], _T], data: Mapping[str, Any]) -> _T:
        try:
            return parser(data)
        except InvalidCallback as exc:
            raise PayPalError(
                f"PayPal {operation}: unexpected answer ({exc.reason})", code="bad_response", retryable=True
            ) from None

    def _error(self, operation: str, response: httpx.Response) -> PayPalError:
        status = response.status_code
        error = parse_error(response.content)
        said = f"{error.name} {error.message}".strip() or "no message"
        message = f"PayPal {operation}: {said[:200]} (HTTP {status}, debug id {error.debug_id or '-'})"
        if status == 429:
            return PayPalError(message, code=RATE_LIMITED, retryable=True, http_status=status)
        if status >= 500:
            return PayPalError(message, code="provider_unavailable", retryable=True, http_status=status)
        if status == 401:
            return PayPalError(message, code="invalid_client", http_status=status)
        if status == 403:
            return PayPalError(message, code="not_authorized", http_status=status)
        if status == 404:
            return PayPalError(message, code="not_found", http_status=status)
        if status == 422:
            return PayPalError(message, code=(error.issue or "unprocessable").lower(), http_status=status)
        return PayPalError(message, code="invalid_request", http_status=status)


def _safe(ident: str) -> str:
    """An id PayPal made, checked before it goes into a path."""
    if not ident or len(ident) > 64 or not ident.replace("-", "").isalnum():
        raise PayPalError(f"not a PayPal id: {ident[:20]!r}", code="invalid_request")
    return ident
