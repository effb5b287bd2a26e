"""The Bot API methods of Telegram Payments, as plain JSON through the process's httpx client, with the shop's own
bot token (never logged: errors name the method, not the URL). In test mode Stars go through Telegram's test
environment (``/bot<token>/test/<method>``), where Stars cost nothing.

Wire shapes (Bot API, "Payments" and "Telegram Stars"): ``sendInvoice`` takes chat_id, title (1-32 characters),
description (1-255), payload (1-128 bytes), currency, prices (a JSON array of LabeledPrice) and provider_token
(empty for XTR, and only one price); ``refundStarPayment`` user_id and telegram_payment_charge_id;
``getStarTransactions`` offset and limit (1-100), answering StarTransactions{transactions: [StarTransaction]}, where a
customer's payment is a StarTransaction whose ``id`` is the SuccessfulPayment's telegram_payment_charge_id and whose
``source`` is a TransactionPartnerUser with the ``invoice_payload``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from payments.base import RATE_LIMITED, ProviderError

PAGE = 100  # getStarTransactions' largest page
TITLE_LIMIT, DESCRIPTION_LIMIT = 32, 255


@dataclass(frozen=True, slots=True)
class StarTransaction:
    """One movement of the bot's Stars: a customer's payment (``payload`` set, ``user_id`` the payer) or a refund
    (``refund``: it went back to ``user_id``)."""

    id: str
    amount: int
    date: int
    user_id: int | None
    payload: str | None
    refund: bool
    raw: Mapping[str, Any] = field(default_factory=dict)


def read_transaction(raw: Mapping[str, Any]) -> StarTransaction:
    """A StarTransaction as the Bot API gives it: a payment has a user as its ``source``, a refund as its
    ``receiver``."""
    source, receiver = raw.get("source"), raw.get("receiver")
    partner = source if isinstance(source, Mapping) else receiver if isinstance(receiver, Mapping) else {}
    user = partner.get("user") if partner.get("type") == "user" else None
    payload = partner.get("invoice_payload") if isinstance(source, Mapping) else None
    return StarTransaction(
        id=str(raw.get("id", "")),
        amount=int(raw.get("amount", 0)),
        date=int(raw.get("date", 0)),
        user_id=int(user["id"]) if isinstance(user, Mapping) and "id" in user else None,
        payload=str(payload) if payload is not None else None,
        refund=not isinstance(source, Mapping) and isinstance(receiver, Mapping),
        raw=dict(raw),
    )


class BotPayments:
    def __init__(self, http: httpx.AsyncClient, api: str, token: str | None, *, test_environment: bool) -> None:
        self.http = http
        self.api = api.rstrip("/")
        self.token = token
        self.test_environment = test_environment

    def __repr__(self) -> str:
        return f"BotPayments({self.api!r}, test_environment={self.test_environment})"

    async def call(self, method: str, params: Mapping[str, Any]) -> Any:
        if not self.token:
            raise ProviderError("Telegram: the shop has no bot token", code="not_configured", misconfigured=True)
        where = (
            f"{self.api}/bot{self.token}/test/{method}"
            if self.test_environment
            else f"{self.api}/bot{self.token}/{method}"
        )
        try:
            response = await self.http.post(where, json=dict(params))
        except httpx.TimeoutException:
            raise ProviderError(f"Telegram: {method} timed out", code="timeout", retryable=True) from None
        except httpx.HTTPError:
            raise ProviderError(f"Telegram: {method} failed on the network", code="network", retryable=True) from None
        try:
            answer = response.json()
        except json.JSONDecodeError:
            answer = {}
        if response.status_code == 200 and isinstance(answer, dict) and answer.get("ok") is True:
            return answer.get("result")
        description = str(answer.get("description", "")) if isinstance(answer, dict) else ""
        raise _refusal(method, response.status_code, description)

    async def send_invoice(self, params: Mapping[str, Any]) -> int:
        """The invoice message's id in the chat."""
        sent = await self.call("sendInvoice", params)
        return int(sent["message_id"])

    async def refund_stars(self, user_id: int, charge_id: str) -> None:
        await self.call("refundStarPayment", {"user_id": user_id, "telegram_payment_charge_id": charge_id})

    async def star_transactions(self, offset: int) -> list[StarTransaction]:
        """One page of the bot's Stars movements, in the order Telegram lists them (chronological)."""
        page = await self.call("getStarTransactions", {"offset": offset, "limit": PAGE})
        return [read_transaction(item) for item in page.get("transactions", []) if isinstance(item, Mapping)]

    async def me(self) -> str:
        found = await self.call("getMe", {})
        return str(found.get("username", ""))


def _refusal(method: str, status: int, description: str) -> ProviderError:
    # Telegram's words are short codes ("CHARGE_ALREADY_REFUNDED"): kept as the code, never with the token.
    code = description.rpartition(": ")[2].strip() or f"http_{status}"
    if status == 429:
        return ProviderError(f"Telegram: {method} rate limited", code=RATE_LIMITED, retryable=True)
    if status >= 500:
        return ProviderError(f"Telegram: {method} answered {status}", code="unavailable", retryable=True)
    return ProviderError(f"Telegram refused {method}: {code}", code=code, misconfigured=status in (401, 403, 404))
