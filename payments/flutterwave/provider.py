"""The Flutterwave provider object: what ``payments.registry`` builds for a shop from its stored settings.

- ``start``: POST /v3/payments with our payment reference as ``tx_ref``; the hosted link becomes the customer's button.
- ``parse_callback``: the webhook's ``verif-hash`` (or ``flutterwave-signature``) first, then its body. What it says is
  never paid on its own: :meth:`confirm` asks verify by the transaction's id and believes only that answer's status,
  amount and currency (the route answers 503 when verify cannot be asked, so Flutterwave delivers again).
- ``query``: verify by reference, for the reconciler (a link never opened is unknown to Flutterwave: None).
- ``refund`` / ``refund_status``: POST /v3/transactions/{id}/refund, GET /v3/refunds/{id}.
- ``confirm_held``: verify asked afresh when the merchant accepts money held for review.

Test mode is the shop's test key on Flutterwave's one host (v3 has no separate sandbox host); webhooks carrying the
live or the test secret hash are both accepted, so a payment started before a switch is still told."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, ClassVar

from payments.base import (
    Callback,
    HeldWord,
    InvalidCallback,
    Outcome,
    ProviderEvent,
    RefundRequest,
    RefundResult,
    Started,
    StartRequest,
)
from payments.flutterwave import INFO
from payments.flutterwave.client import FlutterwaveClient, FlutterwaveError
from payments.flutterwave.options import DEFAULT_EMAIL_DOMAIN, payment_options, stand_in_email
from payments.flutterwave.wire import (
    CHARGE_COMPLETED,
    FAILED,
    LIVE_HOST,
    SUCCESSFUL,
    Refund,
    Transaction,
    Webhook,
    amount_out,
    is_authentic,
    is_test_key,
    parse_transaction,
    parse_webhook,
)
from payments.hosted_link import link_started, next_check, refund_next_check, refund_report, refuse_amount
from payments.registry import ProviderDeps, ProviderFactory, TenantProviderConfig

NAME = INFO.name
REFUND_HORIZON = timedelta(days=10)
TEST_CARD = "5531 8866 5214 2950"  # Flutterwave's documented test Mastercard (SOURCES.md)


def return_path(tenant_slug: str) -> str:
    return f"/pay/flutterwave/{tenant_slug}/return"


def webhook_path(tenant_slug: str) -> str:
    return f"/pay/flutterwave/{tenant_slug}"


def refund_result(refund: Refund, payment_reference: str | None, txn_id: str | None = None) -> RefundResult:
    return refund_report("Flutterwave", refund, payment_reference, refund.tx_id or txn_id)


class FlutterwaveProvider:
    name: ClassVar[str] = NAME

    def __init__(self, config: TenantProviderConfig, deps: ProviderDeps) -> None:
        secrets, options = config.secrets, dict(config.options)
        live_key = str(secrets.get("secret_key", "")).strip()
        test_key = str(secrets.get("test_secret_key", "")).strip()
        key = test_key if config.test_mode and test_key else live_key
        base_url = str(options.get("base_url") or LIVE_HOST)
        self.client = FlutterwaveClient(deps.http, secret_key=key, base_url=base_url)
        # The other mode's key: a payment started before a switch is known to Flutterwave under the key that made it.
        other = live_key if key == test_key else test_key
        self.other_client = FlutterwaveClient(deps.http, secret_key=other, base_url=base_url) if other else None
        self.hashes = tuple(h for h in (secrets.get("secret_hash", ""), secrets.get("test_secret_hash", "")) if h)
        self.hmac_secrets = tuple(s for s in (secrets.get("hmac_secret", ""),) if s)
        self.test_mode = config.test_mode or is_test_key(key)
        self.tenant_slug = config.tenant_slug
        self.payment_options = payment_options(options)
        self.email_domain = str(options.get("email_domain") or DEFAULT_EMAIL_DOMAIN)
        self.callback_base = deps.callback_base.rstrip("/")

    def __repr__(self) -> str:
        return f"FlutterwaveProvider({self.tenant_slug!r}, mode={self.client.mode!r})"

    @property
    def sandboxed(self) -> bool:
        return self.test_mode

    # --- starting ------------------------------------------------------------------------------------------------

    async def start(self, start: StartRequest) -> Started:
        refuse_amount(INFO, "Flutterwave", start.amount)
        chat = start.metadata.get("chat", "")
        email = start.customer_email or stand_in_email(chat, self.email_domain)
        customer = {"email": email}
        if start.customer_phone:
            customer["phonenumber"] = start.customer_phone
        body: dict[str, Any] = {
            "tx_ref": start.payment_reference,
            "amount": amount_out(start.amount),
            "currency": start.amount.currency,
            "redirect_url": self.callback_base + return_path(self.tenant_slug),
            "customer": customer,
            "customizations": {"title": start.shop_name[:60], "description": f"Order {start.order_code}"},
            "meta": {"tenant": start.tenant_slug, "order": start.order_code, "chat": chat},
        }
        if self.payment_options:
            body["payment_options"] = self.payment_options
        link = await self.client.hosted_link(body)
        return link_started(
            NAME,
            link,
            test=self.test_mode,
            provider_ref=link.rstrip("/").rsplit("/", 1)[-1][:64] or None,
            values={"card": TEST_CARD, "email": email},
        )

    def next_check(self, checks_done: int) -> timedelta | None:
        return next_check(checks_done)

    def lifetime(self, tenant_timeout: timedelta) -> timedelta:
        return tenant_timeout

    async def check(self) -> str:
        mode = await self.client.check_key()
        return f"Flutterwave accepted the {mode} secret key ({self.client.base_url})"

    # --- webhooks ------------------------------------------------------------------------------------------------

    def read_webhook(self, request: Callback) -> Webhook:
        """The header first (InvalidCallback 401, nothing read), then the body (InvalidCallback 400)."""
        if not is_authentic(request.body, request.headers, self.hashes, self.hmac_secrets):
            raise InvalidCallback("missing or wrong verif-hash / flutterwave-signature", status=401)
        return parse_webhook(request.body)

    def parse_callback(self, request: Callback) -> list[ProviderEvent]:
        """What the webhook itself says (unverified: the route confirms it with verify before applying it)."""
        webhook = self.read_webhook(request)
        if webhook.event != CHARGE_COMPLETED:
            return []
        event = transaction_event(parse_transaction(webhook.data, "webhook data"))
        return [] if event is None else [event]

    async def confirm(self, told: Transaction) -> ProviderEvent | None:
        """What verify says of the transaction a webhook told: its event (None while pending). Raises
        FlutterwaveError (retryable) when verify cannot be asked now."""
        try:
            verified = (await self._found(lambda client: client.verify(told.id)))[1]
        except FlutterwaveError as error:
            if error.retryable:
                raise
            event = transaction_event(told)
            if event is None or event.outcome is not Outcome.PAID:
                return None  # a failure verify does not know changes nothing
            raw = {"webhook": dict(told.raw), "verify": {}}
            return replace(event, raw=raw, review=f"Flutterwave's verify does not know this payment ({error.code})")
        event = transaction_event(verified)
        if event is None:
            return None
        event = replace(event, raw={"webhook": dict(told.raw), "verify": dict(verified.raw)})
        if verified.tx_ref != told.tx_ref:
            return replace(event, review=f"verify names another payment ({verified.tx_ref[:40]})")
        return event

    # --- reconciliation, review and refunds ----------------------------------------------------------------------

    async def query(self, payment_reference: str, provider_ref: str | None) -> ProviderEvent | None:
        try:
            txn = (await self._by_reference(payment_reference))[1]
        except FlutterwaveError as error:
            if error.code == "not_found":
                return None  # the link was never opened: the tenant's timeout decides
            raise
        return transaction_event(txn) if txn.tx_ref == payment_reference else None

    async def confirm_held(self, payment_reference: str) -> HeldWord:
        try:
            txn = (await self._by_reference(payment_reference))[1]
        except FlutterwaveError as error:
            if error.code == "not_found":
                return HeldWord("not_found")
            raise
        if txn.tx_ref != payment_reference:
            return HeldWord("not_found")
        return HeldWord(txn.status, txn.amount, received=txn.status == SUCCESSFUL)

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Flutterwave takes no idempotency key on v3 refunds: a refund whose answer was lost is never sent again
        (``retryable``), and its fetch or webhook settles it."""
        client, txn = await self._by_reference(request.payment_reference)
        refund = await client.refund(txn.id, request.amount, request.note)
        return refund_result(refund, request.payment_reference, txn.id)

    async def refund_status(self, provider_refund_id: str, payment_reference: str) -> RefundResult | None:
        if not provider_refund_id.isdigit():
            return None
        client, txn = await self._by_reference(payment_reference)  # a refund names no currency: its payment's
        refund = await client.fetch_refund(provider_refund_id, txn.amount.currency)
        return refund_result(refund, payment_reference, txn.id)

    def refund_next_check(self, checks_done: int) -> timedelta:
        return refund_next_check(checks_done)

    async def verify(self, transaction_id: str) -> Transaction:
        """Verify by id, under the key that knows the transaction."""
        return (await self._found(lambda client: client.verify(transaction_id)))[1]

    async def _by_reference(self, payment_reference: str) -> tuple[FlutterwaveClient, Transaction]:
        return await self._found(lambda client: client.verify_by_reference(payment_reference))

    async def _found(
        self, ask: Callable[[FlutterwaveClient], Awaitable[Transaction]]
    ) -> tuple[FlutterwaveClient, Transaction]:
        """Asked with this mode's key, then, when Flutterwave does not know it, the other mode's (a payment started
        before the shop switched); the client that knows it, and its answer."""
        try:
            return self.client, await ask(self.client)
        except FlutterwaveError as error:
            if error.code != "not_found" or self.other_client is None:
                raise
        return self.other_client, await ask(self.other_client)

    @property
    def refund_horizon(self) -> timedelta:
        return REFUND_HORIZON


def transaction_event(txn: Transaction) -> ProviderEvent | None:
    """A transaction as one fact: paid or failed; None while it can still go either way. The key names the fact
    (``successful:<id>``), so the webhook, verify and the reconciler's query telling the same payment agree."""
    if txn.status == SUCCESSFUL:
        outcome, reason = Outcome.PAID, None
    elif txn.status == FAILED:
        outcome, reason = Outcome.FAILED, txn.processor_response or "the payment was declined"
    else:
        return None
    return ProviderEvent(
        provider=NAME,
        event_key=f"{txn.status}:{txn.id}",
        payment_reference=txn.tx_ref,
        outcome=outcome,
        amount=txn.amount if outcome is Outcome.PAID else None,  # what Flutterwave says arrived
        provider_txn_id=txn.id,
        reason=reason,
        reason_code=txn.status,
        occurred_at=txn.created_at,
        raw=dict(txn.raw),
        channel=txn.payment_type,
    )


def _factory(config: TenantProviderConfig, deps: ProviderDeps) -> FlutterwaveProvider:
    return FlutterwaveProvider(config, deps)


FACTORY: ProviderFactory = _factory
