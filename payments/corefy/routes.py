"""Corefy's routes: ``POST /pay/corefy/{tenant}`` (its callbacks) and ``GET /pay/corefy/{tenant}/return`` (the
customer's browser after the hosted payment page: ``?reference=…``, as the invoice's return URL carries it).

Callback answers: 404 for a shop that does not take Corefy and 401 for a missing or wrong ``X-Signature`` (nothing
read, nothing written); 400 for a body that cannot be read; 503 when the API could not be asked (Corefy delivers
again); 200 for everything else, a redelivery included (the event's key makes it a duplicate). An invoice's callback
is applied as the API tells the invoice now, never as the callback does: a late "processing" after "processed"
finds it processed, a duplicate. A refund's callback is likewise applied as the refund's fetch tells it. The return
page says where the payment stands and sends the customer back to the chat; it marks nothing paid (it only brings
the reconciler's next look forward)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from core.db.tables import Payment, Refund
from payments.corefy import INFO
from payments.corefy.provider import NAME, CorefyProvider, invoice_event, refund_result
from payments.corefy.wire import INVOICE_TYPE, REFUND_TYPE, CallbackBody, parse_invoice, parse_refund, refund_id_of
from payments.hosted_webhook import Arrival, Step, VerifiedWebhook, answer, apply_confirmed, apply_refund
from payments.inbound import InboundContext, InboundRequest, InboundResponse, InboundRoute
from payments.return_page import hosted_return

MAX_CALLBACK_BYTES = 64 * 1024


async def _invoice(arrival: Arrival[CorefyProvider], told: CallbackBody) -> InboundResponse:
    invoice = parse_invoice(told.data, "callback data")
    return await apply_confirmed(
        arrival,
        invoice.reference_id,
        lambda: invoice_event(invoice),  # not ours: recorded as unmatched, never fetched, never paid
        lambda: arrival.provider.confirm(invoice),  # raises ProviderError when the API cannot be asked
    )


async def _refund(arrival: Arrival[CorefyProvider], told: CallbackBody) -> InboundResponse:
    """A refund's callback names our refund by its ``reference_id``: that refund's payment is fetched again for its
    currency, and the refund itself, so the callback alone moves nothing either."""
    attributes = told.data.get("attributes")
    said = attributes if isinstance(attributes, Mapping) else {}
    reference = said.get("reference_id")
    ours = refund_id_of(reference if isinstance(reference, str) else None)
    async with arrival.database.uow() as uow:
        row = (
            await uow.session.scalar(select(Refund).where(Refund.id == ours, Refund.tenant_id == arrival.tenant.id))
            if ours is not None
            else None
        )
        payment = await uow.session.get(Payment, row.payment_id) if row is not None else None
    if row is None or payment is None:
        currency = str(said.get("currency") or "KES").upper()  # KES only when it names none: it is not ours anyway
        unknown = refund_result(parse_refund(told.data, currency, "callback data"), None)
        return await apply_refund(arrival, None, unknown, told.raw)
    result = await arrival.provider.refund_status(str(told.data.get("id") or ""), payment.reference)
    if result is None:
        return answer(200, "pending")  # Corefy does not know it yet: its fetch settles it later
    return await apply_refund(arrival, payment.reference, result, told.raw)


def _step(told: CallbackBody) -> Step[CorefyProvider, CallbackBody] | None:
    if told.type == INVOICE_TYPE:
        return _invoice
    if told.type in (REFUND_TYPE, "refund"):
        return _refund
    return None


callback: VerifiedWebhook[CorefyProvider, CallbackBody] = VerifiedWebhook(
    name=NAME,
    provider_type=CorefyProvider,
    read=CorefyProvider.read_callback,
    step=_step,
    unhandled="a callback of {kind} is not acted on",
    noun="callback",
    asked="API",
    says="Corefy",
    unavailable="api_unavailable",
)


# --- the customer's return from the hosted payment page -----------------------------------------------------------


async def return_page(context: InboundContext, request: InboundRequest) -> InboundResponse:
    return await hosted_return(context, request, provider=INFO, reference_params=("reference",))


ROUTES = (
    InboundRoute("POST", "/pay/corefy/{tenant}", "callback", callback, max_body_bytes=MAX_CALLBACK_BYTES),
    InboundRoute("GET", "/pay/corefy/{tenant}/return", "return_page", return_page),
)
