"""Paystack's routes: ``POST /pay/paystack/{tenant}`` (signed webhooks) and ``GET /pay/paystack/{tenant}/return``
(the customer's browser after checkout).

The webhook body is read raw and bounded (64 KiB) before anything else, since the signature is over those exact
bytes; the work is :mod:`payments.paystack.inbound`. The return page says what happened, in the shop's name, and
links back to the bot; it never marks anything paid (only Verify, through the webhook or the reconciler, does): it
is the shared page of hosted checkouts (:mod:`payments.return_page`) in Paystack's words.
"""

from __future__ import annotations

from payments.inbound import InboundContext, InboundRequest, InboundResponse, InboundRoute
from payments.paystack import INFO
from payments.paystack.inbound import handle_webhook
from payments.return_page import hosted_return

MAX_WEBHOOK_BYTES = 64 * 1024  # Paystack's events are a few kilobytes


async def webhook(context: InboundContext, request: InboundRequest) -> InboundResponse:
    answer = await handle_webhook(
        context.database, context.registry, context.clock, request.path_params["tenant"], request.callback()
    )
    return InboundResponse(
        answer.status, json={"status": answer.outcome}, changed=answer.changed, outcome=answer.outcome
    )


async def return_page(context: InboundContext, request: InboundRequest) -> InboundResponse:
    # Paystack sends the customer back with both ?trxref= and ?reference=, each our reference
    return await hosted_return(context, request, provider=INFO, reference_params=("reference", "trxref"))


ROUTES = (
    InboundRoute("POST", "/pay/paystack/{tenant}", "webhook", webhook, max_body_bytes=MAX_WEBHOOK_BYTES),
    InboundRoute("GET", "/pay/paystack/{tenant}/return", "return_page", return_page),
)
