"""The Corefy provider object: what ``payments.registry`` builds for a shop from its stored settings.

- ``start``: POST /api/payment-invoices with our payment reference as ``reference_id``; the hosted payment page
  becomes the customer's button, the invoice's id the attempt's ``provider_ref``.
- ``parse_callback``: ``X-Signature`` first, then the body. What a callback says is never applied on its own:
  :meth:`confirm` fetches the invoice and believes only that answer's status and amounts (callbacks may arrive
  duplicated and out of order: an old "processing" after "processed" finds the invoice processed, a duplicate).
- ``query``: the invoice by its id (or by our reference), for the reconciler.
- ``refund`` / ``refund_status``: POST /api/payment-invoices/{id}/refund, GET /api/refunds/{id}.

Test mode is the shop's test API key, on Corefy's sandbox host where it issued one, and every invoice says
``test_mode``; callbacks signed with the live or the test secret key are both accepted, so a payment started before
a switch is still told."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, ClassVar

from payments.base import (
    Callback,
    InvalidCallback,
    Outcome,
    ProviderError,
    ProviderEvent,
    RefundRequest,
    RefundResult,
    ReviewWord,
    Started,
    StartRequest,
)
from payments.corefy import INFO
from payments.corefy.client import CorefyClient, CorefyError
from payments.corefy.signature import is_signed
from payments.corefy.wire import (
    CANCELLED_STATUSES,
    EXPIRED_STATUSES,
    FAILED_STATUSES,
    INVOICE_TYPE,
    CallbackBody,
    Invoice,
    Refund,
    invoice_body,
    is_paid,
    parse_callback_body,
    parse_invoice,
    refund_reference,
)
from payments.hosted_link import link_started, next_check, refund_next_check, refund_report, refuse_amount
from payments.registry import ProviderDeps, ProviderFactory, TenantProviderConfig

NAME = INFO.name
REFUND_HORIZON = timedelta(days=10)


def return_path(tenant_slug: str) -> str:
    return f"/pay/corefy/{tenant_slug}/return"


def callback_path(tenant_slug: str) -> str:
    return f"/pay/corefy/{tenant_slug}"


def refund_result(refund: Refund, payment_reference: str | None, invoice_id: str | None = None) -> RefundResult:
    return refund_report("Corefy", refund, payment_reference, refund.invoice_id or invoice_id)


class CorefyProvider:
    name: ClassVar[str] = NAME

    def __init__(self, config: TenantProviderConfig, deps: ProviderDeps) -> None:
        secrets, options = config.secrets, dict(config.options)
        account = str(options.get("account_id", "")).strip()
        live_key = str(secrets.get("api_key", "")).strip()
        test_key = str(secrets.get("test_api_key", "")).strip()
        override = str(options.get("base_url") or "")
        live_url = override or str(options.get("api_url") or "")
        test_url = override or str(options.get("test_api_url") or options.get("api_url") or "")
        live = CorefyClient(deps.http, account_id=account, api_key=live_key, base_url=live_url, mode="live")
        test = (
            CorefyClient(deps.http, account_id=account, api_key=test_key, base_url=test_url, mode="test")
            if test_key
            else None
        )
        # Test mode talks to the sandbox only: a shop in test mode without a test key starts nothing (``start``).
        self.client = test if config.test_mode and test is not None else live
        # The other mode's client: a payment started before a switch is known to Corefy under the key that made it.
        self.other_client = live if self.client is test else test
        self.secrets = tuple(s for s in (secrets.get("secret_key", ""), secrets.get("test_secret_key", "")) if s)
        self.test_mode = config.test_mode
        self.tenant_slug = config.tenant_slug
        self.service = str(options.get("service") or "") or None
        self.callback_base = deps.callback_base.rstrip("/")

    def __repr__(self) -> str:
        return f"CorefyProvider({self.tenant_slug!r}, mode={self.client.mode!r})"

    @property
    def sandboxed(self) -> bool:
        return self.client.mode == "test"

    # --- starting ------------------------------------------------------------------------------------------------

    async def start(self, start: StartRequest) -> Started:
        refuse_amount(INFO, "Corefy", start.amount)
        if self.test_mode and not self.sandboxed:  # the live key moves real money, whatever test_mode says
            raise ProviderError("Corefy: test mode without a test API key", code="no_test_key", misconfigured=True)
        chat = start.metadata.get("chat", "")
        customer = {"reference_id": f"tg{chat}"[:64] if chat else "anonymous"}
        if start.customer_email:
            customer["email"] = start.customer_email
        if start.customer_phone:
            customer["phone"] = start.customer_phone
        body = invoice_body(
            reference_id=start.payment_reference,
            amount=start.amount,
            description=f"{start.shop_name[:60]}: order {start.order_code}",
            test_mode=self.sandboxed,
            return_url=self.callback_base + return_path(self.tenant_slug) + f"?reference={start.payment_reference}",
            callback_url=self.callback_base + callback_path(self.tenant_slug),
            customer=customer,
            metadata={"tenant": start.tenant_slug, "order": start.order_code, "chat": chat},
            service=self.service,
        )
        invoice = await self.client.create_invoice(body)
        if invoice.page_url is None:
            raise CorefyError("Corefy invoice: no hosted payment page in the answer", code="no_page", retryable=False)
        return link_started(NAME, invoice.page_url, test=self.sandboxed, provider_ref=invoice.id)

    def next_check(self, checks_done: int) -> timedelta | None:
        return next_check(checks_done)

    def lifetime(self, tenant_timeout: timedelta) -> timedelta:
        return tenant_timeout

    async def check(self) -> str:
        mode = await self.client.check_key()
        return f"Corefy accepted the {mode} API key ({self.client.base_url})"

    # --- callbacks -----------------------------------------------------------------------------------------------

    def read_callback(self, request: Callback) -> CallbackBody:
        """The signature first (InvalidCallback 401, nothing read), then the body (InvalidCallback 400)."""
        if not is_signed(request.body, request.headers, self.secrets):
            raise InvalidCallback("missing or wrong X-Signature", status=401)
        return parse_callback_body(request.body)

    def parse_callback(self, request: Callback) -> list[ProviderEvent]:
        """What the callback itself says (unconfirmed: the route fetches the invoice before applying anything)."""
        told = self.read_callback(request)
        if told.type != INVOICE_TYPE:
            return []
        event = invoice_event(parse_invoice(told.data, "callback data"))
        return [] if event is None else [event]

    async def confirm(self, told: Invoice) -> ProviderEvent | None:
        """What the API says now of the invoice a callback told: its event (None while it can go either way).
        Raises CorefyError (retryable) when the API cannot be asked now."""
        try:
            fetched = (await self._found(lambda client: client.invoice(told.id)))[1]
        except CorefyError as error:
            if error.retryable:
                raise
            event = invoice_event(told)
            if event is None or event.outcome is not Outcome.PAID:
                return None  # a failure the API does not know changes nothing
            raw = {"callback": dict(told.raw), "fetched": {}}
            why = ReviewWord("corefy.held.unknown_invoice", {"code": str(error.code)[:40]})
            return replace(event, raw=raw, review=why.render("en"), review_words=(why,))
        event = invoice_event(fetched)
        if event is None:
            return None
        event = replace(event, raw={"callback": dict(told.raw), "fetched": dict(fetched.raw)})
        if fetched.reference_id != told.reference_id:
            why = ReviewWord("corefy.held.other_payment", {"reference": fetched.reference_id[:40]})
            return replace(event, review=why.render("en"), review_words=(why,))
        return event

    # --- reconciliation and refunds ------------------------------------------------------------------------------

    async def query(self, payment_reference: str, provider_ref: str | None) -> ProviderEvent | None:
        invoice = await self.invoice_of(payment_reference, provider_ref)
        return None if invoice is None else invoice_event(invoice)

    async def invoice_of(self, payment_reference: str, provider_ref: str | None) -> Invoice | None:
        """The attempt's invoice, fetched now: by its id when the start gave one, else found by our reference."""
        if provider_ref:
            try:
                invoice = (await self._found(lambda client: client.invoice(provider_ref)))[1]
            except CorefyError as error:
                if error.code != "not_found":
                    raise
                return None
            return invoice if invoice.reference_id == payment_reference else None
        found = await self._by_reference(payment_reference)
        return None if found is None else found[1]

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Our refund's id is its ``reference_id`` (Corefy requires one, unique on the merchant's side)."""
        found = await self._by_reference(request.payment_reference)
        if found is None or not is_paid(found[1].status):
            raise CorefyError("Corefy knows no paid invoice for this payment", code="not_found")
        client, invoice = found
        refund = await client.refund(invoice.id, request.amount, refund_reference(request.refund_id), request.note)
        return refund_result(refund, request.payment_reference, invoice.id)

    async def refund_status(self, provider_refund_id: str, payment_reference: str) -> RefundResult | None:
        found = await self._by_reference(payment_reference)  # a refund may name no currency: its payment's
        if found is None:
            return None
        client, invoice = found
        try:
            refund = await client.fetch_refund(provider_refund_id, invoice.amount.currency)
        except CorefyError as error:
            if error.code == "not_found":
                return None
            raise
        return refund_result(refund, payment_reference, invoice.id)

    def refund_next_check(self, checks_done: int) -> timedelta:
        return refund_next_check(checks_done)

    @property
    def refund_horizon(self) -> timedelta:
        return REFUND_HORIZON

    async def _by_reference(self, payment_reference: str) -> tuple[CorefyClient, Invoice] | None:
        """The latest invoice carrying our reference, under this mode's key, else the other mode's."""
        for client in (self.client, self.other_client):
            if client is None:
                continue
            invoices = await client.invoices_by_reference(payment_reference)
            mine = [invoice for invoice in invoices if invoice.reference_id == payment_reference]
            if mine:
                return client, mine[-1]
        return None

    async def _found(self, ask: Callable[[CorefyClient], Awaitable[Any]]) -> tuple[CorefyClient, Invoice]:
        """Asked with this mode's key, then, when Corefy does not know it, the other mode's (a payment started
        before the shop switched); the client that knows it, and its answer."""
        try:
            return self.client, await ask(self.client)
        except CorefyError as error:
            if error.code != "not_found" or self.other_client is None:
                raise
        return self.other_client, await ask(self.other_client)


def invoice_event(invoice: Invoice) -> ProviderEvent | None:
    """An invoice as one fact: paid, failed, expired or terminated; None while it can still go either way. The key
    names the fact (``paid:<invoice id>``), so every callback, the fetch and the reconciler's query telling the same
    payment agree; an invoice refunded since still reads as the payment that was made."""
    if is_paid(invoice.status):
        fact, outcome, reason = "paid", Outcome.PAID, None
    elif invoice.status in FAILED_STATUSES:
        fact, outcome, reason = "failed", Outcome.FAILED, invoice.resolution or "the payment was declined"
    elif invoice.status in EXPIRED_STATUSES:
        fact, outcome, reason = "expired", Outcome.EXPIRED, "the payment page expired"
    elif invoice.status in CANCELLED_STATUSES:
        fact, outcome, reason = "terminated", Outcome.CANCELLED, "the payment was cancelled on the payment page"
    else:
        return None
    return ProviderEvent(
        provider=NAME,
        event_key=f"{fact}:{invoice.id}",
        payment_reference=invoice.reference_id,
        outcome=outcome,
        amount=invoice.received if outcome is Outcome.PAID else None,  # what Corefy says arrived
        provider_txn_id=invoice.id,
        reason=reason,
        reason_code=invoice.status,
        occurred_at=invoice.processed or invoice.created,
        raw=dict(invoice.raw),
        channel=invoice.payment_method,
        provider_ref=invoice.id,
    )


def _factory(config: TenantProviderConfig, deps: ProviderDeps) -> CorefyProvider:
    return CorefyProvider(config, deps)


FACTORY: ProviderFactory = _factory
