"""PayPal's routes: ``POST /pay/paypal/{tenant}`` (webhooks, verified by PayPal) and ``GET /pay/paypal/{tenant}/return``
(the buyer's browser back from PayPal's approval page, approved or cancelled: PayPal adds ``token``, the order id).

The return page captures an approved order and says what happened, then sends the buyer back to the chat, where the
receipt is; the page is the shared one of hosted checkouts (:mod:`payments.return_page`). The work is
:mod:`payments.paypal.inbound`.
"""

from __future__ import annotations

from payments.inbound import InboundContext, InboundRequest, InboundResponse, InboundRoute
from payments.paypal import INFO
from payments.paypal.inbound import handle_webhook, on_return
from payments.return_page import hosted_return

MAX_WEBHOOK_BYTES = 64 * 1024  # PayPal's events are a few kilobytes


async def webhook(context: InboundContext, request: InboundRequest) -> InboundResponse:
    answer = await handle_webhook(
        context.database, context.registry, context.clock, request.path_params["tenant"], request.callback()
    )
    return InboundResponse(
        answer.status, json={"status": answer.outcome}, changed=answer.changed, outcome=answer.outcome
    )


async def return_page(context: InboundContext, request: InboundRequest) -> InboundResponse:
    return await hosted_return(context, request, provider=INFO, reference_params=("reference",), on_return=on_return)


ROUTES = (
    InboundRoute("POST", "/pay/paypal/{tenant}", "webhook", webhook, max_body_bytes=MAX_WEBHOOK_BYTES),
    InboundRoute("GET", "/pay/paypal/{tenant}/return", "return_page", return_page),
)
