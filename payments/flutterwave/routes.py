"""Flutterwave's routes: ``POST /pay/flutterwave/{tenant}`` (its webhooks) and ``GET /pay/flutterwave/{tenant}/return``
(the customer's browser after the checkout: ``?status=successful|cancelled|failed&tx_ref=…&transaction_id=…``).

Webhook answers: 404 for a shop that does not take Flutterwave and 401 for a missing or wrong ``verif-hash`` (nothing
read, nothing written); 400 for a body that cannot be read; 503 when verify could not be asked (Flutterwave delivers
again); 200 for everything else, a redelivery included (the event's key makes it a duplicate). A ``charge.completed``
is applied as verify tells it, never as the webhook does. The return page says where the payment stands and sends
the customer back to the chat; it marks nothing paid (it only brings the reconciler's next verify forward)."""

from __future__ import annotations

from payments.flutterwave import INFO
from payments.flutterwave.provider import NAME, FlutterwaveProvider, refund_result, transaction_event
from payments.flutterwave.wire import CHARGE_COMPLETED, Webhook, parse_refund, parse_transaction
from payments.hosted_webhook import Arrival, Step, VerifiedWebhook, apply_confirmed, apply_refund
from payments.inbound import InboundContext, InboundRequest, InboundResponse, InboundRoute
from payments.return_page import hosted_return

MAX_WEBHOOK_BYTES = 64 * 1024


async def _charge(arrival: Arrival[FlutterwaveProvider], hook: Webhook) -> InboundResponse:
    told = parse_transaction(hook.data, "webhook data")
    return await apply_confirmed(
        arrival,
        told.tx_ref,
        lambda: transaction_event(told),  # not ours: recorded as unmatched, never verified, never paid
        lambda: arrival.provider.confirm(told),  # raises ProviderError when verify cannot be asked
    )


async def _refund(arrival: Arrival[FlutterwaveProvider], hook: Webhook) -> InboundResponse:
    """A refund's webhook (its shape is unconfirmed: SOURCES.md). It names the transaction by id only: verify tells
    which payment it is and in which currency, so the webhook alone moves nothing either."""
    txn_id = str(hook.data.get("tx_id") or hook.data.get("transaction_id") or "")
    txn = await arrival.provider.verify(txn_id)
    result = refund_result(parse_refund(hook.data, txn.amount.currency, "webhook data"), txn.tx_ref, txn.id)
    return await apply_refund(arrival, txn.tx_ref, result, hook.raw)


def _step(hook: Webhook) -> Step[FlutterwaveProvider, Webhook] | None:
    if hook.event == CHARGE_COMPLETED:
        return _charge
    if hook.event.startswith("refund"):
        return _refund
    return None


webhook: VerifiedWebhook[FlutterwaveProvider, Webhook] = VerifiedWebhook(
    name=NAME,
    provider_type=FlutterwaveProvider,
    read=FlutterwaveProvider.read_webhook,
    step=_step,
    unhandled="event {kind} is not acted on",
    noun="webhook",
    asked="verify",
    says="Flutterwave",
    unavailable="verify_unavailable",
)


# --- the customer's return from the checkout ----------------------------------------------------------------------


async def return_page(context: InboundContext, request: InboundRequest) -> InboundResponse:
    return await hosted_return(context, request, provider=INFO, reference_params=("tx_ref",))


ROUTES = (
    InboundRoute("POST", "/pay/flutterwave/{tenant}", "webhook", webhook, max_body_bytes=MAX_WEBHOOK_BYTES),
    InboundRoute("GET", "/pay/flutterwave/{tenant}/return", "return_page", return_page),
)
