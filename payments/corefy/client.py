"""The Corefy Commerce private API client: invoices (create, fetch, find by our reference), refunds, a key check.

It speaks the wire and nothing else: no retries, no state. Errors are CorefyError (a ProviderError) with our own
stable ``code``:

====================  =========  ==============================================================================
code                  retryable  when
====================  =========  ==============================================================================
invalid_key           no         401/403: a wrong account id or API key (the merchant is alerted)
not_found             no         404
rejected              no         any other 4xx (422: Corefy refused the request's content)
rate_limited          yes        429: Corefy turned the call away before doing anything
provider_unavailable  yes        5xx
bad_response          yes        an answer that is not Corefy's JSON:API document
timeout / network     yes        no answer: the request may have reached Corefy
====================  =========  ==============================================================================

The API key appears only in the Authorization header: never in a message or a repr."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from core.money import Money
from core.vault import Secret
from payments.base import RATE_LIMITED, InvalidCallback, ProviderError
from payments.corefy.signature import basic_auth
from payments.corefy.wire import (
    INVOICE_PATH,
    INVOICES_PATH,
    REFERENCE_FILTER,
    REFUND_FETCH_PATH,
    REFUND_PATH,
    Invoice,
    Refund,
    document,
    error_message,
    parse_invoice,
    parse_invoices,
    parse_refund,
    refund_body,
)
from payments.http_call import send

_T = TypeVar("_T")
_MAX_MESSAGE = 200


class CorefyError(ProviderError):
    misconfigured_codes = frozenset({"invalid_key"})


class CorefyClient:
    def __init__(self, http: httpx.AsyncClient, *, account_id: str, api_key: str, base_url: str, mode: str) -> None:
        if not account_id.strip() or not api_key.strip():
            raise ValueError("a Corefy account id and API key are required")
        self._http = http
        self._auth = Secret(basic_auth(account_id.strip(), api_key.strip()))
        self._key = Secret(api_key.strip())
        self.base_url = base_url.rstrip("/")
        self.mode = mode

    def __repr__(self) -> str:
        return f"CorefyClient(base_url={self.base_url!r}, mode={self.mode!r})"

    async def create_invoice(self, body: Mapping[str, Any]) -> Invoice:
        """POST /api/payment-invoices (``body`` as :func:`payments.corefy.wire.invoice_body` makes it)."""
        data = await self._call("invoice", "POST", INVOICES_PATH, json=body)
        return self._parse("invoice", parse_invoice, data)

    async def invoice(self, invoice_id: str) -> Invoice:
        data = await self._call("invoice fetch", "GET", INVOICE_PATH.format(id=_ident(invoice_id)))
        return self._parse("invoice fetch", parse_invoice, data)

    async def invoices_by_reference(self, reference_id: str) -> list[Invoice]:
        data = await self._call("invoice fetch", "GET", INVOICES_PATH, params={REFERENCE_FILTER: reference_id})
        return self._parse("invoice fetch", parse_invoices, data)

    async def refund(self, invoice_id: str, amount: Money, reference_id: str, description: str) -> Refund:
        """POST /api/payment-invoices/{id}/refund; ``reference_id`` is ours and unique (Corefy requires it)."""
        body = refund_body(invoice_id, amount, reference_id, description)
        data = await self._call("refund", "POST", REFUND_PATH.format(id=_ident(invoice_id)), json=body)
        return self._parse("refund", lambda raw: parse_refund(raw, amount.currency), data)

    async def fetch_refund(self, refund_id: str, currency: str) -> Refund:
        data = await self._call("refund fetch", "GET", REFUND_FETCH_PATH.format(id=_ident(refund_id)))
        return self._parse("refund fetch", lambda raw: parse_refund(raw, currency), data)

    async def check_key(self) -> str:
        await self._call("key check", "GET", INVOICES_PATH, params={REFERENCE_FILTER: "dukabot-doctor"})
        return self.mode

    # --- plumbing --------------------------------------------------------------------------------------------

    def _clean(self, text: str) -> str:
        return text.replace(self._key.reveal(), "<secret>")[:_MAX_MESSAGE]

    def _parse(self, operation: str, parser: Callable[[Any], _T], data: Any) -> _T:
        try:
            return parser(data)
        except InvalidCallback as error:
            raise CorefyError(
                f"Corefy {operation}: unexpected answer ({self._clean(error.reason)})",
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
    ) -> Any:
        headers = {"Authorization": self._auth.reveal(), "Accept": "application/json"}
        response = await send(
            self._http,
            f"Corefy {operation}",
            method,
            self.base_url + path,
            error=CorefyError,
            json=json,
            params=params,
            headers=headers,
            timeout=20,
        )
        status = response.status_code
        if 200 <= status < 300:
            try:
                return document(response.content)
            except InvalidCallback as error:
                raise CorefyError(
                    f"Corefy {operation}: {self._clean(error.reason)} (HTTP {status})",
                    code="bad_response",
                    retryable=True,
                    http_status=status,
                ) from None
        said = self._clean(error_message(response.content)) or "no message"
        message = f"Corefy {operation}: {said} (HTTP {status})"
        if status in (401, 403):
            raise CorefyError(message, code="invalid_key", http_status=status)
        if status == 429:  # turned away before anything was done: asking later cannot do it twice
            raise CorefyError(message, code=RATE_LIMITED, retryable=True, http_status=status)
        if status >= 500:
            raise CorefyError(message, code="provider_unavailable", retryable=True, http_status=status)
        if status == 404:
            raise CorefyError(message, code="not_found", http_status=status)
        raise CorefyError(message, code="rejected", http_status=status)


def _ident(ident: str) -> str:
    """Corefy's ids are short words (``cpi_yv1RgJ2l8ty2AxIs``, ``ref_…``): anything else never reaches a URL path."""
    if not ident or len(ident) > 64 or not ident.isascii() or not all(ch.isalnum() or ch in "_-" for ch in ident):
        raise CorefyError(f"not a Corefy id: {ident[:24]!r}", code="not_found")
    return ident
