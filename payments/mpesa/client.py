"""Daraja over HTTP: OAuth (one shared token per app), STK push, STK query, C2B Register URL, Transaction Status.

The client speaks wire values only; mapping a payment row to these calls is the provider adapter's job.
Every failure is a :class:`DarajaError` (a :class:`~payments.base.ProviderError`, :mod:`payments.mpesa.errors`)
whose message never holds the consumer secret, the passkey, the STK password or a bearer token. Requests that Daraja
would refuse (amount, phone, lengths, callback URL) raise :class:`DarajaRequestError` before any HTTP call
(:mod:`payments.mpesa.request_checks`). Both, and the amount limits, are re-exported here.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal

import httpx

from core.clock import Clock
from core.money import Money
from core.vault import Secret
from payments.base import InvalidCallback
from payments.mpesa import request_checks as checks
from payments.mpesa import status
from payments.mpesa.codes import Call, ErrorKind, classify_error
from payments.mpesa.errors import DarajaError, DarajaRequestError, local_error
from payments.mpesa.fields import load_json, password, timestamp
from payments.mpesa.request_checks import MAX_AMOUNT, MIN_AMOUNT
from payments.mpesa.tokens import TokenCache, TokenKey
from payments.mpesa.wire import (
    AccessToken,
    RegisterUrlResponse,
    StkPushAccepted,
    StkQueryResult,
    parse_error,
    parse_register_url_response,
    parse_stk_push_response,
    parse_stk_query,
    parse_token,
)

__all__ = [
    "MAX_AMOUNT",
    "MIN_AMOUNT",
    "DarajaClient",
    "DarajaError",
    "DarajaRequestError",
    "TokenCache",
    "password",
    "timestamp",
]

log = logging.getLogger(__name__)


class DarajaClient:
    """One Daraja app (consumer key and secret) on one host (sandbox, production or a simulator).

    Shortcode, passkey and till are per call, so one client serves every shortcode of the app.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        token_cache: TokenCache,
        clock: Clock,
        c2b_version: Literal["v1", "v2"] = "v2",
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._consumer_key = consumer_key
        self._consumer_secret = Secret(consumer_secret)
        self._cache = token_cache
        self._clock = clock
        self.c2b_version = c2b_version

    def __repr__(self) -> str:
        key = self._consumer_key[:4] + "…" if self._consumer_key else ""
        return f"DarajaClient(base_url={self._base_url!r}, consumer_key={key!r}, c2b_version={self.c2b_version!r})"

    @property
    def base_url(self) -> str:
        return self._base_url

    # --- public calls ---

    async def stk_push(
        self,
        *,
        shortcode: str,
        passkey: str,
        amount: Money,
        phone: str,
        callback_url: str,
        account_reference: str,
        description: str = "Payment",
        till: str | None = None,
        party_a: str | None = None,
    ) -> StkPushAccepted:
        """Send an M-Pesa Express prompt to ``phone`` (already normalised, ``2547XXXXXXXX``).

        Paybill: ``CustomerPayBillOnline`` with PartyB = ``shortcode``. Till: pass ``till`` for
        ``CustomerBuyGoodsOnline`` with PartyB = the till number (``shortcode`` is then the store number).
        ``account_reference`` (1-12 characters) is refused when too long: it is the account number the customer
        sees and types for Paybill, so cutting it would break matching. ``description`` is cut to 13 characters.
        """
        reference = checks.account_reference(account_reference)
        phone_number = checks.msisdn(phone, "phone")
        stamp = timestamp(self._clock.now())
        secret_password = password(shortcode, passkey, stamp)
        body: dict[str, Any] = {
            "BusinessShortCode": checks.digits(shortcode, checks.SHORTCODE, "shortcode"),
            "Password": secret_password,
            "Timestamp": stamp,
            "TransactionType": "CustomerBuyGoodsOnline" if till else "CustomerPayBillOnline",
            "Amount": checks.whole_shillings(amount),
            "PartyA": checks.msisdn(party_a, "party_a") if party_a else phone_number,
            "PartyB": checks.digits(till, checks.TILL, "till") if till else int(shortcode),
            "PhoneNumber": phone_number,
            "CallBackURL": checks.check_url(callback_url, "callback_url"),
            "AccountReference": reference,
            "TransactionDesc": (description.strip() or "Payment")[: checks.TRANSACTION_DESC_MAX],
        }
        status, content, token = await self._post("stk_push", "/mpesa/stkpush/v1/processrequest", body)
        hidden = (passkey, secret_password, token)
        if status != 200:
            raise self._error("stk_push", status, content, hidden)
        try:
            accepted = parse_stk_push_response(content)
        except InvalidCallback as exc:  # the push may have gone out: do not invite a blind retry
            raise self._bad_response("stk_push", status, exc, retryable=False) from None
        if accepted.response_code != "0":
            info = classify_error(accepted.response_code, accepted.response_description, http_status=status)
            raise DarajaError(
                self._redact(f"M-Pesa stk_push: {accepted.response_code} {accepted.response_description}", hidden),
                code=info.code,
                retryable=info.retryable,
                kind=info.kind,
                reason=info.reason,
                http_status=status,
            )
        return accepted

    async def stk_query(self, *, shortcode: str, passkey: str, checkout_request_id: str) -> StkQueryResult:
        """Ask what became of a push. Pending ("The transaction is being processed") is a result, not an error."""
        stamp = timestamp(self._clock.now())
        secret_password = password(shortcode, passkey, stamp)
        body = {
            "BusinessShortCode": checks.digits(shortcode, checks.SHORTCODE, "shortcode"),
            "Password": secret_password,
            "Timestamp": stamp,
            "CheckoutRequestID": checkout_request_id,
        }
        status, content, token = await self._post("stk_query", "/mpesa/stkpushquery/v1/query", body)
        hidden = (passkey, secret_password, token)
        try:
            answer = parse_stk_query(content, checkout_request_id=checkout_request_id, http_status=status)
        except InvalidCallback as exc:
            if status != 200:
                raise self._error("stk_query", status, content, hidden) from None
            raise self._bad_response("stk_query", status, exc, retryable=True) from None
        if isinstance(answer, StkQueryResult):
            return answer
        raise self._error("stk_query", status, content, hidden)

    async def register_c2b_urls(
        self,
        *,
        shortcode: str,
        confirmation_url: str,
        validation_url: str,
        response_type: Literal["Completed", "Cancelled"] = "Completed",
        version: Literal["v1", "v2"] | None = None,
    ) -> RegisterUrlResponse:
        """Register the C2B URLs of ``shortcode`` on ``/mpesa/c2b/{version}/registerurl`` (default: the client's)."""
        body = {
            "ShortCode": str(checks.digits(shortcode, checks.TILL, "shortcode")),
            "ResponseType": response_type,
            "ConfirmationURL": checks.check_url(confirmation_url, "confirmation_url"),
            "ValidationURL": checks.check_url(validation_url, "validation_url"),
        }
        path = f"/mpesa/c2b/{version or self.c2b_version}/registerurl"
        status, content, token = await self._post("register_urls", path, body)
        if status != 200:
            raise self._error("register_urls", status, content, (token,))
        try:
            return parse_register_url_response(content)
        except InvalidCallback as exc:
            raise self._bad_response("register_urls", status, exc, retryable=True) from None

    async def transaction_status(
        self,
        *,
        initiator: str,
        security_credential: str,
        receipt: str,
        shortcode: str,
        result_url: str,
        timeout_url: str,
    ) -> status.StatusAccepted:
        """Ask Daraja about one receipt (Transaction Status); the answer comes later, POSTed to ``result_url``."""
        body = status.request_body(
            initiator=initiator,
            security_credential=security_credential,
            receipt=receipt,
            shortcode=str(checks.digits(shortcode, checks.TILL, "shortcode")),
            result_url=checks.check_url(result_url, "result_url"),
            timeout_url=checks.check_url(timeout_url, "timeout_url"),
        )
        code, content, token = await self._post("transaction_status", status.PATH, body)
        hidden = (security_credential, token)
        if code != 200:
            raise self._error("transaction_status", code, content, hidden)
        try:
            accepted = status.parse_accepted(content)
        except InvalidCallback as exc:
            raise self._bad_response("transaction_status", code, exc, retryable=True) from None
        if accepted.response_code != "0":
            raise self._error("transaction_status", code, content, hidden)
        return accepted

    async def c2b_simulate(
        self, *, shortcode: str, amount: Money, msisdn: str, bill_ref: str = "", buy_goods: bool = False
    ) -> dict[str, Any]:
        """Sandbox only: make Daraja (or the simulator) send a C2B payment to the registered URLs."""
        body = {
            "ShortCode": checks.digits(shortcode, checks.TILL, "shortcode"),
            "CommandID": "CustomerBuyGoodsOnline" if buy_goods else "CustomerPayBillOnline",
            "Amount": checks.whole_shillings(amount),
            "Msisdn": checks.msisdn(msisdn, "msisdn"),
            "BillRefNumber": bill_ref,
        }
        status, content, token = await self._post("c2b_simulate", f"/mpesa/c2b/{self.c2b_version}/simulate", body)
        if status != 200:
            raise self._error("c2b_simulate", status, content, (token,))
        try:
            return load_json(content, "c2b simulate response")
        except InvalidCallback as exc:
            raise self._bad_response("c2b_simulate", status, exc, retryable=False) from None

    async def check_credentials(self) -> int:
        """A fresh OAuth call (not the cached token): the token's lifetime in seconds when the consumer key and
        secret work; DarajaError otherwise. The new token replaces the cached one (Daraja may revoke the old)."""
        token = await self._fetch_token()
        self._cache.invalidate(self._key)
        await self._cache.get(self._key, self._cached(token))
        return token.expires_in

    @staticmethod
    def _cached(token: AccessToken) -> Callable[[], Awaitable[AccessToken]]:
        async def fetch() -> AccessToken:
            return token

        return fetch

    # --- plumbing ---

    @property
    def _key(self) -> TokenKey:
        return (self._base_url, self._consumer_key)

    async def _fetch_token(self) -> AccessToken:
        basic = base64.b64encode(f"{self._consumer_key}:{self._consumer_secret.reveal()}".encode()).decode()
        status, content = await self._send(
            "GET", "/oauth/v1/generate", params={"grant_type": "client_credentials"}, auth=f"Basic {basic}"
        )
        if status != 200:
            raise self._error("oauth", status, content, (basic,))
        try:
            token = parse_token(content)
        except InvalidCallback as exc:
            raise self._bad_response("oauth", status, exc, retryable=True) from None
        log.debug("daraja token fetched for %s (expires in %ss)", self._base_url, token.expires_in)
        return token

    async def _post(self, call: Call, path: str, body: dict[str, Any]) -> tuple[int, bytes, str]:
        """POST with the shared token; on an expired-token answer, refresh once and retry once.
        Returns the status, the body and the token used (to keep it out of error messages)."""
        token = await self._cache.get(self._key, self._fetch_token)
        status, content = await self._send("POST", path, json_body=body, auth=f"Bearer {token}")
        if status == 200 or not self._token_expired(call, status, content):
            return status, content, token
        log.info("daraja token refused on %s; refreshing once", call)
        self._cache.invalidate(self._key, token)
        token = await self._cache.get(self._key, self._fetch_token)
        status, content = await self._send("POST", path, json_body=body, auth=f"Bearer {token}")
        return status, content, token

    @staticmethod
    def _token_expired(call: Call, status: int, content: bytes) -> bool:
        error = parse_error(content)
        if error is None:
            return False
        info = classify_error(error.error_code, error.error_message, http_status=status, call=call)
        return info.kind is ErrorKind.TOKEN_EXPIRED

    async def _send(
        self,
        method: str,
        path: str,
        *,
        auth: str,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        try:
            response = await self._http.request(
                method, self._base_url + path, json=json_body, params=params, headers={"Authorization": auth}
            )
        except httpx.TimeoutException as exc:
            raise local_error(f"M-Pesa {path}: timed out ({type(exc).__name__})", "mpesa.timeout") from None
        except httpx.HTTPError as exc:
            raise local_error(f"M-Pesa {path}: network error ({type(exc).__name__})", "mpesa.network") from None
        return response.status_code, response.content

    def _redact(self, text: str, hidden: Iterable[str]) -> str:
        for secret in (self._consumer_secret.reveal(), *hidden):
            if secret:
                text = text.replace(secret, "***")
        return re.sub(r"(?i)(bearer|basic)\s+\S+", r"\1 ***", text)

    def _error(self, call: Call, status: int, content: bytes, hidden: Iterable[str]) -> DarajaError:
        body = parse_error(content)
        code, message = (body.error_code, body.error_message) if body else (None, None)
        info = classify_error(code, message, http_status=status, call=call)
        detail = message or info.description
        return DarajaError(
            self._redact(f"M-Pesa {call}: {info.code} {detail} (HTTP {status})", hidden),
            code=info.code,
            retryable=info.retryable,
            kind=info.kind,
            reason=info.reason,
            http_status=status,
            request_id=body.request_id if body else None,
            retry_after=info.retry_after,
        )

    def _bad_response(self, call: Call, status: int, exc: InvalidCallback, *, retryable: bool) -> DarajaError:
        return DarajaError(
            self._redact(f"M-Pesa {call}: unexpected answer (HTTP {status}): {exc.reason}", ()),
            code="mpesa.bad_response",
            retryable=retryable,
            kind=ErrorKind.RETRYABLE if retryable else ErrorKind.PERMANENT,
            reason="mpesa.bad_response",
            http_status=status,
        )
