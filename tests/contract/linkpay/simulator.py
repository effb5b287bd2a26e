"""LinkPay's simulator: its API on a real local socket, in this process, and the webhooks it would send (built and
signed here; the kit delivers them when a case says). It plays ``sandbox/<name>/`` for the example provider."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.contract.linkpay.wire import REFUND_PATH, START_PATH, sign


@dataclass
class SimLink:
    id: str
    merchant_ref: str
    key: str  # the API key that made it: a test key's links are the sandbox's
    total: str
    currency: str
    state: str = "open"
    paid_at: str | None = None
    decline_reason: str | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "merchant_ref": self.merchant_ref,
            "state": self.state,
            "total": self.total,
            "currency": self.currency,
            "pay_url": f"https://pay.linkpay.example/l/{self.id}",
            "paid_at": self.paid_at,
            "decline_reason": self.decline_reason,
        }


@dataclass
class SimRefund:
    id: str
    merchant_ref: str
    total: str
    currency: str
    idempotency_key: str
    state: str = "pending"

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "merchant_ref": self.merchant_ref,
            "state": self.state,
            "total": self.total,
            "currency": self.currency,
        }


class LinkPaySimulator:
    def __init__(self, keys: dict[str, str], webhook_secret: str) -> None:
        self.keys = keys  # API key -> "live" or "test"
        self.webhook_secret = webhook_secret
        self.links: list[SimLink] = []
        self.refunds: list[SimRefund] = []
        self._ids = itertools.count(1)

    def _account(self, request: web.Request) -> str | None:
        key = request.headers.get("Authorization", "").removeprefix("Key ")
        return key if key in self.keys else None

    async def _create(self, request: web.Request) -> web.Response:
        key = self._account(request)
        if key is None:
            return web.json_response({"error": "bad key"}, status=401)
        body = await request.json()
        link = SimLink(f"lnk_{next(self._ids):04d}", body["merchant_ref"], key, body["total"], body["currency"])
        self.links.append(link)
        return web.json_response({"link": link.wire()}, status=201)

    async def _by_ref(self, request: web.Request) -> web.Response:
        key = self._account(request)
        if key is None:
            return web.json_response({"error": "bad key"}, status=401)
        ref = request.match_info["ref"]
        found = [link for link in self.links if link.merchant_ref == ref and link.key == key]
        if not found:
            return web.json_response({"error": "no such link"}, status=404)
        return web.json_response({"link": found[-1].wire()})

    async def _refund(self, request: web.Request) -> web.Response:
        key = self._account(request)
        if key is None:
            return web.json_response({"error": "bad key"}, status=401)
        body = await request.json()
        paid = [link for link in self.links if link.merchant_ref == body["merchant_ref"] and link.state == "paid"]
        if not paid:
            return web.json_response({"error": "nothing paid to refund"}, status=422)
        same = [refund for refund in self.refunds if refund.idempotency_key == body["idempotency_key"]]
        if not same:  # the idempotency key: asked twice, refunded once
            number = next(self._ids)
            same = [
                SimRefund(
                    f"rfd_{number:04d}", body["merchant_ref"], body["total"], body["currency"], body["idempotency_key"]
                )
            ]
            self.refunds.extend(same)
        return web.json_response({"refund": same[0].wire()}, status=201)

    async def _refund_status(self, request: web.Request) -> web.Response:
        if self._account(request) is None:
            return web.json_response({"error": "bad key"}, status=401)
        found = [refund for refund in self.refunds if refund.id == request.match_info["id"]]
        if not found:
            return web.json_response({"error": "no such refund"}, status=404)
        return web.json_response({"refund": found[0].wire()})

    async def _whoami(self, request: web.Request) -> web.Response:
        key = self._account(request)
        if key is None:
            return web.json_response({"error": "bad key"}, status=401)
        return web.json_response({"account": "contract", "mode": self.keys[key]})

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        app = web.Application()
        app.router.add_post(START_PATH, self._create)
        app.router.add_get(START_PATH + "/by-ref/{ref}", self._by_ref)
        app.router.add_get("/v2/whoami", self._whoami)
        app.router.add_post(REFUND_PATH, self._refund)
        app.router.add_get(REFUND_PATH + "/{id}", self._refund_status)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            yield f"http://127.0.0.1:{runner.addresses[0][1]}"
        finally:
            await runner.cleanup()

    # What the payer does at the checkout (no webhook is sent: the kit delivers it when the case says).

    def last(self) -> SimLink:
        assert self.links, "LinkPay has no link: was the collection started?"
        return self.links[-1]

    def pay(self) -> None:
        link = self.last()
        link.state, link.paid_at = "paid", datetime.now(UTC).isoformat()

    def decline(self) -> None:
        link = self.last()
        link.state, link.decline_reason = "declined", "the card was refused"

    def webhook(self, link: SimLink, *, secret: str | None = None) -> tuple[bytes, str]:
        """The webhook LinkPay sends for the link's state, and its signature (under ``secret``, else its own)."""
        body = json.dumps(
            {"event_id": f"evt_{link.id}_{link.state}", "kind": f"link.{link.state}", "link": link.wire()}
        )
        raw = body.encode()
        return raw, sign(raw, secret or self.webhook_secret)

    def refund_webhooks(self) -> list[tuple[bytes, str]]:
        """LinkPay makes every pending refund, and the webhook it sends for each."""
        sent = []
        for refund in self.refunds:
            if refund.state == "pending":
                refund.state = "done"
                event = {"event_id": f"evt_{refund.id}_done", "kind": "refund.done", "refund": refund.wire()}
                raw = json.dumps(event).encode()
                sent.append((raw, sign(raw, self.webhook_secret)))
        return sent
