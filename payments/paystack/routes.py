"""Paystack's routes: ``POST /pay/paystack/{tenant}`` (signed webhooks) and ``GET /pay/paystack/{tenant}/return``
(the customer's browser after checkout).

The webhook body is read raw and bounded (64 KiB) before anything else, since the signature is over those exact
bytes; the work is :mod:`payments.paystack.inbound`. The return page says what happened, in the shop's name, and
links back to the bot; it never marks anything paid (only Verify, through the webhook or the reconciler, does). Its
template is ``templates/paystack_return.html`` in this folder.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from core.money import Money
from core.texts import text
from payments.inbound import InboundContext, InboundRequest, InboundResponse, InboundRoute
from payments.paystack.inbound import ReturnView, handle_webhook, return_view

MAX_WEBHOOK_BYTES = 64 * 1024  # Paystack's events are a few kilobytes
_ICONS = {"paid": "✅", "confirming": "⏳", "failed": "❌", "review": "🔎", "refunded": "↩️", "unknown": "❔"}
_PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


async def webhook(context: InboundContext, request: InboundRequest) -> InboundResponse:
    answer = await handle_webhook(
        context.database, context.registry, context.clock, request.path_params["tenant"], request.callback()
    )
    return InboundResponse(
        answer.status, json={"status": answer.outcome}, changed=answer.changed, outcome=answer.outcome
    )


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("payments.paystack", "templates"),
        autoescape=select_autoescape(default=True),
        enable_async=False,
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


async def return_page(context: InboundContext, request: InboundRequest) -> InboundResponse:
    reference = request.query.get("reference") or request.query.get("trxref")
    view = await return_view(context.database, context.clock, request.path_params["tenant"], (reference or "")[:64])
    if view is None:
        return InboundResponse(404, text="unknown shop")
    status = 404 if view.state == "unknown" else 200
    return InboundResponse(status, html=render_return(view), headers=_PAGE_HEADERS)


ROUTES = (
    InboundRoute("POST", "/pay/paystack/{tenant}", "webhook", webhook, max_body_bytes=MAX_WEBHOOK_BYTES),
    InboundRoute("GET", "/pay/paystack/{tenant}/return", "return_page", return_page),
)
