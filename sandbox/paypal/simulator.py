"""PayPal's simulator: the REST API a shop calls (OAuth token, orders, capture, refunds, webhook verification), the
buyer's approval page (approve or cancel), and the webhooks PayPal would send, in PayPal's wire format.

One request handler (:meth:`PayPalSimulator.answer`) serves both the aiohttp application (a real socket) and
:meth:`PayPalSimulator.mock_transport` (in process). Idempotency follows PayPal: a create, capture or refund repeated
with the same ``PayPal-Request-Id`` answers the first result. Webhooks are built and signed here
(:mod:`sandbox.paypal.state`); a test delivers them, or the simulator posts them itself to an app's ``webhook_url``."""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
from aiohttp import web

from payments.paypal.currencies import DECIMALS
from sandbox.paypal.state import App, Delivery, SimCapture, SimOrder, SimRefund, delivery, paypal_id, verified

_ORDER = re.compile(r"^/v2/checkout/orders/([A-Z0-9]+)$")
_CAPTURE = re.compile(r"^/v2/checkout/orders/([A-Z0-9]+)/capture$")
_REFUND = re.compile(r"^/v2/payments/captures/([A-Z0-9]+)/refund$")
_SHOW_REFUND = re.compile(r"^/v2/payments/refunds/([A-Z0-9]+)$")
_SHOW_CAPTURE = re.compile(r"^/v2/payments/captures/([A-Z0-9]+)$")


_PAGE_BUTTONS = (("approve", "Approve"), ("decline", "Approve (funding declined)"), ("cancel", "Cancel and return"))


@dataclass
class Answer:
    status: int
    body: Any = None
    html: str | None = None
    location: str | None = None


def _error(status: int, name: str, issue: str | None = None, message: str = "") -> Answer:
    body: dict[str, Any] = {
        "name": name,
        "message": message or name.replace("_", " ").lower(),
        "debug_id": secrets.token_hex(6),
    }
    if issue:
        body["details"] = [{"issue": issue, "description": issue.replace("_", " ").lower()}]
    return Answer(status, body)


@dataclass
class PayPalSimulator:
    page_base: str = "http://paypal.simulator"  # where the approval page is served (set once the app is served)
    apps: dict[str, App] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> client id
    orders: dict[str, SimOrder] = field(default_factory=dict)
    refunds: dict[str, SimRefund] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    token_calls: int = 0
    _requests: dict[tuple[str, str, str], Answer] = field(default_factory=dict)  # (client, kind, request id)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def add_app(
        self, client_id: str, secret: str, webhook_id: str, *, sandbox: bool, webhook_url: str | None = None
    ) -> App:
        app = App(client_id, secret, webhook_id, sandbox, webhook_url)
        self.apps[client_id] = app
        return app

    # --- the buyer's side --------------------------------------------------------------------------------

    def last(self) -> SimOrder:
        if not self.orders:
            raise LookupError("no PayPal order: was the payment started?")
        return list(self.orders.values())[-1]

    def approve(self, order_id: str | None = None, *, decline: bool = False) -> SimOrder:
        """The buyer approves on PayPal (their funding will be declined at capture when ``decline``); PayPal sends
        CHECKOUT.ORDER.APPROVED."""
        order = self.orders[order_id] if order_id else self.last()
        if order.status == "CREATED":
            order.status, order.decline = "APPROVED", decline
            self._emit(order.client_id, "CHECKOUT.ORDER.APPROVED", order.wire(self.page_base), "checkout-order")
        return order

    # --- webhooks ------------------------------------------------------------------------------------------

    def _emit(self, client_id: str, event_type: str, resource: dict[str, Any], resource_type: str) -> None:
        app = self.apps[client_id]
        made = delivery(event_type, resource, resource_type, app.webhook_id)
        self.deliveries.append(made)
        if app.webhook_url:
            task = asyncio.get_running_loop().create_task(self._post(app.webhook_url, made))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, made: Delivery) -> None:
        async with httpx.AsyncClient(trust_env=False) as http:
            for _ in range(3):  # PayPal retries a delivery not answered 2xx (25 times over 3 days)
                try:
                    answer = await http.post(url, content=made.body, headers=made.headers)
                except httpx.HTTPError:
                    continue
                if answer.status_code < 300:
                    return

    def webhooks(self, event_type: str) -> list[Delivery]:
        return [made for made in self.deliveries if made.event_type == event_type]

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- the API -------------------------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Answer:
        headers = {key.lower(): value for key, value in headers.items()}
        if path == "/checkoutnow" and method == "GET":
            return self._page(query.get("token", ""))
        if path.startswith("/checkoutnow/") and method == "POST":
            return self._page_action(path.rsplit("/", 2)[-2], path.rsplit("/", 1)[-1])
        if path == "/v1/oauth2/token" and method == "POST":
            return self._token(headers, body)
        client_id = self.tokens.get(headers.get("authorization", "").removeprefix("Bearer "))
        if client_id is None:
            return Answer(401, {"error": "invalid_token", "error_description": "Token signature verification failed"})
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return _error(400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON")
        request_id = headers.get("paypal-request-id")
        if method == "POST" and path == "/v2/checkout/orders":
            return self._once(client_id, "create", request_id, lambda: self._create(client_id, data))
        if method == "POST" and path == "/v1/notifications/verify-webhook-signature":
            return self._verify(client_id, data)
        if match := _CAPTURE.match(path):
            return self._once(client_id, f"capture-{match[1]}", request_id, lambda: self._capture(client_id, match[1]))
        if (match := _ORDER.match(path)) and method == "GET":
            order = self.orders.get(match[1])
            if order is None or order.client_id != client_id:
                return _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
            return Answer(200, order.wire(self.page_base))
        if (match := _REFUND.match(path)) and method == "POST":
            return self._once(client_id, "refund", request_id, lambda: self._refund(client_id, match[1], data))
        if (match := _SHOW_REFUND.match(path)) and method == "GET":
            refund = self.refunds.get(match[1])
            return Answer(200, refund.wire()) if refund else _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        if (match := _SHOW_CAPTURE.match(path)) and method == "GET":
            found = [c for o in self.orders.values() for c in o.captures if c.id == match[1]]
            return Answer(200, found[0].wire()) if found else _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        return _error(404, "RESOURCE_NOT_FOUND")

    def _once(self, client_id: str, kind: str, request_id: str | None, make: Any) -> Answer:
        if request_id is None:
            answer: Answer = make()
            return answer
        key = (client_id, kind, request_id)
        if key not in self._requests:
            self._requests[key] = make()
        return self._requests[key]

    def _token(self, headers: dict[str, str], body: bytes) -> Answer:
        self.token_calls += 1
        try:
            client_id, _, secret = (
                base64.b64decode(headers.get("authorization", "").removeprefix("Basic ")).decode().partition(":")
            )
        except ValueError:
            client_id, secret = "", ""
        app = self.apps.get(client_id)
        if app is None or not secrets.compare_digest(app.secret, secret):
            return Answer(401, {"error": "invalid_client", "error_description": "Client Authentication failed"})
        if parse_qs(body.decode()).get("grant_type") != ["client_credentials"]:
            return Answer(400, {"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"})
        token = f"A21AA{secrets.token_urlsafe(24)}"
        self.tokens[token] = client_id
        return Answer(
            200,
            {
                "scope": "https://uri.paypal.com/services/payments/payment",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": f"APP-{paypal_id(17)}",
                "expires_in": 32400,
                "nonce": secrets.token_hex(8),
            },
        )

    def _create(self, client_id: str, data: dict[str, Any]) -> Answer:
        if (
            data.get("intent") != "CAPTURE"
            or not isinstance(data.get("purchase_units"), list)
            or not data["purchase_units"]
        ):
            return _error(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER")
        unit = data["purchase_units"][0]
        amount = unit.get("amount") or {}
        currency, value = str(amount.get("currency_code", "")), str(amount.get("value", ""))
        if currency not in DECIMALS:
            return _error(422, "UNPROCESSABLE_ENTITY", "CURRENCY_NOT_SUPPORTED")
        try:
            decimals = -Decimal(value).as_tuple().exponent  # type: ignore[operator]
        except (InvalidOperation, TypeError):
            return _error(400, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE")
        if decimals > DECIMALS[currency] or Decimal(value) <= 0:
            return _error(422, "UNPROCESSABLE_ENTITY", "DECIMAL_PRECISION")
        context = ((data.get("payment_source") or {}).get("paypal") or {}).get("experience_context") or {}
        order = SimOrder(
            id=paypal_id(17),
            client_id=client_id,
            reference=str(unit.get("custom_id") or unit.get("invoice_id") or unit.get("reference_id") or ""),
            value=value,
            currency=currency,
            description=str(unit.get("description") or ""),
            return_url=str(context.get("return_url") or ""),
            cancel_url=str(context.get("cancel_url") or ""),
        )
        self.orders[order.id] = order
        return Answer(201, order.wire(self.page_base))

    def _capture(self, client_id: str, order_id: str) -> Answer:
        order = self.orders.get(order_id)
        if order is None or order.client_id != client_id:
            return _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        if order.status == "COMPLETED":
            return _error(422, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED")
        if order.status != "APPROVED":
            return _error(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED")
        if order.decline:
            capture = SimCapture(paypal_id(17), "DECLINED", order.value, order.currency, order.reference, order.id)
            order.captures.append(capture)
            order.status = "COMPLETED"
            self._emit(client_id, "PAYMENT.CAPTURE.DENIED", capture.wire(), "capture")
            return _error(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED")
        capture = SimCapture(paypal_id(17), "COMPLETED", order.value, order.currency, order.reference, order.id)
        order.captures.append(capture)
        order.status = "COMPLETED"
        self._emit(client_id, "PAYMENT.CAPTURE.COMPLETED", capture.wire(), "capture")
        return Answer(201, order.wire(self.page_base))

    def _refund(self, client_id: str, capture_id: str, data: dict[str, Any]) -> Answer:
        found = [
            (o, c) for o in self.orders.values() for c in o.captures if c.id == capture_id and o.client_id == client_id
        ]
        if not found:
            return _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        order, capture = found[0]
        if capture.status not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            return _error(422, "UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED")
        amount = data.get("amount") or {"currency_code": capture.currency, "value": capture.value}
        already = sum((Decimal(self.refunds[r].value) for r in capture.refunded), Decimal(0))
        asked = Decimal(str(amount.get("value")))
        if amount.get("currency_code") != capture.currency or asked + already > Decimal(capture.value):
            return _error(422, "UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED")
        refund = SimRefund(
            paypal_id(17),
            capture.id,
            str(amount["value"]),
            capture.currency,
            str(data.get("custom_id") or order.reference),
            str(data.get("invoice_id") or ""),
        )
        self.refunds[refund.id] = refund
        capture.refunded.append(refund.id)
        capture.status = "REFUNDED" if asked + already == Decimal(capture.value) else "PARTIALLY_REFUNDED"
        self._emit(client_id, "PAYMENT.CAPTURE.REFUNDED", refund.wire(), "refund")
        return Answer(201, refund.wire())

    def _verify(self, client_id: str, data: dict[str, Any]) -> Answer:
        webhook_id = str(data.get("webhook_id") or "")
        app = self.apps.get(client_id)
        if app is None or app.webhook_id != webhook_id:
            return _error(400, "INVALID_REQUEST", "INVALID_WEBHOOK_ID")
        ok = verified(data, webhook_id, data.get("webhook_event"))
        return Answer(200, {"verification_status": "SUCCESS" if ok else "FAILURE"})

    # --- the approval page -----------------------------------------------------------------------------------

    def _page(self, order_id: str) -> Answer:
        order = self.orders.get(order_id)
        if order is None:
            return Answer(404, html="<h1>This PayPal link is not valid</h1>")
        safe = html.escape(order.id)
        amount = html.escape(f"{order.currency} {order.value}")
        what = html.escape(order.description)
        if order.status != "CREATED":
            return Answer(200, html=f"<h1 id='done'>This order is {html.escape(order.status.lower())}</h1>")
        return Answer(
            200,
            html=(
                "<!doctype html><title>PayPal (simulator)</title>"
                f"<h1>Pay {amount} with PayPal</h1><p id='what'>{what}</p>"
                + "".join(
                    f"<form method='post' action='/checkoutnow/{safe}/{action}'>"
                    f"<button id='{action}'>{label}</button></form>"
                    for action, label in _PAGE_BUTTONS
                )
            ),
        )

    def _page_action(self, order_id: str, action: str) -> Answer:
        order = self.orders.get(order_id)
        if order is None or order.status != "CREATED":
            return Answer(404, html="<h1>This PayPal link is not valid</h1>")
        if action == "cancel":
            return Answer(303, location=_with(order.cancel_url, token=order.id))
        self.approve(order.id, decline=action == "decline")
        return Answer(303, location=_with(order.return_url, token=order.id, PayerID=paypal_id(13)))

    # --- transports ------------------------------------------------------------------------------------------

    def mock_transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            query = {key: value for key, value in request.url.params.items()}
            answer = self.answer(request.method, request.url.path, query, dict(request.headers), request.content)
            return _httpx(answer)

        return httpx.MockTransport(handle)

    def app(self) -> web.Application:
        async def handle(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            self.page_base = f"{request.scheme}://{request.host}"  # the approve links point where it is served
            answer = self.answer(request.method, request.path, dict(request.query), dict(request.headers), body)
            if answer.location is not None:
                raise web.HTTPSeeOther(answer.location)
            if answer.html is not None:
                return web.Response(status=answer.status, text=answer.html, content_type="text/html")
            return web.Response(status=answer.status, body=_json(answer.body), content_type="application/json")

        async def closing(_: web.Application) -> None:
            await self.close()

        application = web.Application()
        application.router.add_route("*", "/{tail:.*}", handle)
        application.on_cleanup.append(closing)
        return application


def _with(url: str, **params: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def _httpx(answer: Answer) -> httpx.Response:
    if answer.location is not None:
        return httpx.Response(303, headers={"Location": answer.location})
    if answer.html is not None:
        return httpx.Response(answer.status, text=answer.html, headers={"Content-Type": "text/html"})
    return httpx.Response(answer.status, content=_json(answer.body), headers={"Content-Type": "application/json"})


def _json(body: Any) -> bytes:
    """The same bytes served and in process, as PayPal sends them (compact)."""
    return json.dumps(body, separators=(",", ":")).encode()
