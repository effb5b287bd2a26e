"""Paystack's routes: ``POST /pay/paystack/{tenant}`` (signed webhooks) and ``GET /pay/paystack/{tenant}/return``
(the customer's browser after checkout).

The webhook body is read raw and bounded before anything else, since the signature is over those exact bytes; the
work is ``payments.paystack.inbound``. The return page says what happened, in the shop's name, and links back to the
bot; it never marks anything paid (only Verify, through the webhook or the reconciler, does).
"""

from __future__ import annotations

import time
from functools import cache

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from core.money import Money
from core.texts import text
from payments.base import Callback
from payments.paystack.inbound import ReturnView, handle_webhook, return_view
from webhooks.keys import RUNTIME

PROVIDER = "paystack"
MAX_WEBHOOK_BYTES = 64 * 1024  # Paystack's events are a few kilobytes
_ICONS = {"paid": "✅", "confirming": "⏳", "failed": "❌", "review": "🔎", "refunded": "↩️", "unknown": "❔"}


def add_routes(app: web.Application) -> None:
    """Add this provider's callback routes to the application."""
    app.router.add_post("/pay/paystack/{tenant}", webhook)
    app.router.add_get("/pay/paystack/{tenant}/return", return_page)


async def _bounded_body(request: web.Request) -> bytes | None:
    if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
        return None
    body = bytearray()
    async for chunk in request.content.iter_chunked(16 * 1024):
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            return None
    return bytes(body)


async def webhook(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    started = time.perf_counter()
    body = await _bounded_body(request)
    if body is None:
        runtime.metrics.callbacks.labels(PROVIDER, "too_large").inc()
        return web.Response(status=413, text="body too large")
    callback = Callback(
        body=body,
        headers={name.lower(): value for name, value in request.headers.items()},
        path_params=dict(request.match_info),
        remote_ip=request.remote,
    )
    answer = await handle_webhook(
        runtime.database, runtime.registry, runtime.clock, request.match_info["tenant"], callback
    )
    if answer.changed:
        runtime.relay.wake()
    runtime.metrics.callbacks.labels(PROVIDER, answer.outcome).inc()
    runtime.metrics.callback_seconds.labels(PROVIDER).observe(time.perf_counter() - started)
    return web.json_response({"status": answer.outcome}, status=answer.status)


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("webhooks", "templates"), autoescape=select_autoescape(default=True), enable_async=False
    )


def render_return(view: ReturnView) -> str:
    lang = view.language
    amount = Money(view.amount_minor, view.currency).format() if view.amount_minor is not None and view.currency else ""
    values = {"shop": view.shop_name, "code": view.order_code or "", "amount": amount}
    bot_url = f"https://t.me/{view.bot_username}" if view.bot_username else None
    template = _templates().get_template("paystack_return.html")
    return template.render(
        language=lang,
        state=view.state,
        icon=_ICONS.get(view.state, ""),
        title=text(f"paystack.return.title.{view.state}", lang),
        body=text(f"paystack.return.body.{view.state}", lang, **values),
        shop=view.shop_name,
        bot_url=bot_url,
        back=text("paystack.return.back" if bot_url else "paystack.return.back_plain", lang, shop=view.shop_name),
        test=view.test,
        test_banner=text("paystack.return.test", lang),
    )


async def return_page(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    reference = request.query.get("reference") or request.query.get("trxref")
    view = await return_view(runtime.database, runtime.clock, request.match_info["tenant"], (reference or "")[:64])
    if view is None:
        raise web.HTTPNotFound(text="unknown shop")
    status = 404 if view.state == "unknown" else 200
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
    return web.Response(status=status, text=render_return(view), content_type="text/html", headers=headers)
