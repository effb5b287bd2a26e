"""PayPal's routes: ``POST /pay/paypal/{tenant}`` (webhooks, verified by PayPal) and ``GET /pay/paypal/{tenant}/return``
(the buyer's browser back from PayPal's approval page, approved or cancelled: PayPal adds ``token``, the order id).

The return page captures an approved order and says what happened, then sends the buyer back to the chat, where the
receipt is; its template is ``templates/paypal_return.html`` in this folder. The work is :mod:`payments.paypal.inbound`.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from core.money import Money
from core.texts import text
from payments.inbound import InboundContext, InboundRequest, InboundResponse, InboundRoute
from payments.paypal.inbound import ReturnView, handle_webhook, return_view

MAX_WEBHOOK_BYTES = 64 * 1024  # PayPal's events are a few kilobytes
_ICONS = {"paid": "✅", "confirming": "⏳", "failed": "❌", "cancelled": "↩️", "review": "🔎", "refunded": "↩️"}
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
    return Environment(loader=PackageLoader("payments.paypal", "templates"), autoescape=select_autoescape(default=True))


def render_return(view: ReturnView) -> str:
    lang = view.language
    amount = Money(*view.amount).format() if view.amount else ""
    values = {"shop": view.shop_name, "code": view.order_code or "", "amount": amount}
    bot_url = f"https://t.me/{view.bot_username}" if view.bot_username else None
    return (
        _templates()
        .get_template("paypal_return.html")
        .render(
            language=lang,
            state=view.state,
            icon=_ICONS.get(view.state, "❔"),
            title=text(f"paypal.return.title.{view.state}", lang),
            body=text(f"paypal.return.body.{view.state}", lang, **values),
            shop=view.shop_name,
            bot_url=bot_url,
            back=text("paypal.return.back" if bot_url else "paypal.return.back_plain", lang, shop=view.shop_name),
            test=view.test,
            test_banner=text("paypal.return.test", lang),
        )
    )


async def return_page(context: InboundContext, request: InboundRequest) -> InboundResponse:
    reference = (request.query.get("reference") or "")[:64]
    order_id = (request.query.get("token") or "")[:64]
    view = await return_view(
        context.database,
        context.registry,
        context.clock,
        request.path_params["tenant"],
        reference,
        order_id,
        cancelled=request.query.get("cancelled") == "1",
    )
    if view is None:
        return InboundResponse(404, text="unknown shop")
    status = 404 if view.state == "unknown" else 200
    return InboundResponse(status, html=render_return(view), headers=_PAGE_HEADERS, changed=view.changed)


ROUTES = (
    InboundRoute("POST", "/pay/paypal/{tenant}", "webhook", webhook, max_body_bytes=MAX_WEBHOOK_BYTES),
    InboundRoute("GET", "/pay/paypal/{tenant}/return", "return_page", return_page),
)
