"""The Stripe provider: what ``payments.registry`` builds for a shop from its stored settings.

- ``start``: a Checkout Session for one attempt (our reference as ``client_reference_id`` and in the metadata of the
  session and of its payment, the amount as one line, ``expires_at`` from the shop's timeout clamped into Stripe's
  range), its URL as the customer's button. ``Idempotency-Key``: the attempt's reference.
- ``parse_callback``: the ``Stripe-Signature`` first (every ``v1`` against every secret of the shop, 300 s
  tolerance), then the event: a session paid (only when ``payment_status`` is ``paid``), failed (a delayed method)
  or expired; refunds are read by :meth:`refund_reports` for the route.
- ``query``: the session retrieved (``GET /v1/checkout/sessions/{id}``).
- ``refund`` / ``refund_status``: ``POST /v1/refunds`` (our refund id as the idempotency key) and its fetch.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from core.money import Money
from core.texts import text
from payments.base import (
    Callback,
    InvalidCallback,
    LinkButton,
    Outcome,
    ProviderError,
    ProviderEvent,
    RefundRequest,
    RefundResult,
    Started,
    StartRequest,
)
from payments.registry import ProviderDeps, ProviderFactory, TenantProviderConfig
from payments.stripe import INFO
from payments.stripe.client import StripeClient
from payments.stripe.currencies import to_amount
from payments.stripe.keys import key_mode, webhook_secrets
from payments.stripe.signature import verify
from payments.stripe.wire import (
    ACCOUNT_LINKS_PATH,
    ACCOUNTS_PATH,
    BALANCE_PATH,
    LIVE_HOST,
    PAYOUTS_PATH,
    REFERENCE_KEY,
    REFUND_EVENTS,
    REFUNDS_PATH,
    SESSIONS_PATH,
    Event,
    Payout,
    Session,
    charge_refunds,
    parse_balance,
    parse_event,
    parse_payouts,
    parse_refund,
    parse_session,
)

# Stripe takes expires_at between 30 minutes and 24 hours after the session is made. The shop's timeout is clamped
# into that range, and expires_at falls on a 5-minute grid so that a start sent again (same Idempotency-Key) sends
# the same parameters: hence at least 36 minutes (35 after the grid, with room for the request's own travel).
SHORTEST = timedelta(minutes=36)
LONGEST = timedelta(hours=24)
_GRID_SECONDS = 300
_CHECKS = (timedelta(minutes=1), timedelta(minutes=3), timedelta(minutes=5))
_REFUND_CHECKS = (timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))
_TEST_CARD = "4242 4242 4242 4242"


def webhook_path(tenant_slug: str) -> str:
    return f"/pay/stripe/{tenant_slug}"


def return_path(tenant_slug: str) -> str:
    return f"/pay/stripe/{tenant_slug}/return"


def clamp(tenant_timeout: timedelta) -> timedelta:
    """The shop's payment timeout within what Stripe lets a Checkout Session live."""
    return min(max(tenant_timeout, SHORTEST), LONGEST)


def expires_at(now: datetime, lifetime: timedelta) -> int:
    end = int((now + clamp(lifetime)).timestamp())
    return end - end % _GRID_SECONDS


class StripeProvider:
    name: ClassVar[str] = INFO.name

    def __init__(self, config: TenantProviderConfig, deps: ProviderDeps) -> None:
        live_key = config.secrets.get("secret_key", "")
        test_key = config.secrets.get("test_secret_key", "")
        # Test mode: the test key, never a live one (a shop whose only key is live cannot start in test mode).
        self.key = (test_key or (live_key if key_mode(live_key) == "test" else "")) if config.test_mode else live_key
        self.test_mode = key_mode(self.key) == "test"
        self.shop_in_test_mode = config.test_mode
        # Webhooks signed for either mode are accepted: a payment started before a switch reports as it began.
        self.webhook_secrets = webhook_secrets(config.secrets.get("webhook_secret", "")) + webhook_secrets(
            config.secrets.get("test_webhook_secret", "")
        )
        self.client = StripeClient(deps.http, base_url=str(config.options.get("base_url") or LIVE_HOST), key=self.key)
        self.clock = deps.clock
        self.tenant_slug = config.tenant_slug
        self.timeout = timedelta(minutes=30)
        self.return_url = deps.callback_base.rstrip("/") + return_path(config.tenant_slug)
        # Connect: the key is the platform's; the shop is its Express account, paid by destination charges.
        self.connect = str(config.options.get("connect") or "") == "on"
        self.connected_account = str(config.options.get("connected_account") or "") or None
        self.fee_percent = Decimal(str(config.options.get("application_fee_percent") or "0"))

    @property
    def sandboxed(self) -> bool:
        return self.test_mode

    def __repr__(self) -> str:
        return f"StripeProvider({self.tenant_slug!r}, mode={'test' if self.test_mode else 'live'})"

    # --- starting ---------------------------------------------------------------------------------------------

    async def start(self, start: StartRequest) -> Started:
        if not INFO.takes(start.amount):  # refused before any request
            raise ProviderError(f"Stripe does not take {start.amount} here", code="amount_not_taken")
        if not self.key:
            raise ProviderError(
                "no Stripe test key while the shop is in test mode", code="no_test_key", misconfigured=True
            )
        lifetime = clamp(self.timeout)
        reference = start.payment_reference
        metadata = {REFERENCE_KEY: reference, "tenant": start.tenant_slug, "order": start.order_code}
        fields: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": reference,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": start.amount.currency.lower(),
                        "unit_amount": to_amount(start.amount),
                        "product_data": {"name": f"{start.shop_name} #{start.order_code}"[:250]},
                    },
                }
            ],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "customer_email": start.customer_email,
            "success_url": f"{self.return_url}?state=success&ref={reference}",
            "cancel_url": f"{self.return_url}?state=cancel&ref={reference}",
            "expires_at": expires_at(self.clock.now(), lifetime),
        }
        if self.connect:
            if self.connected_account is None:
                raise ProviderError(
                    "the shop has no Stripe account yet", code="connect_not_onboarded", misconfigured=True
                )
            fields["payment_intent_data"]["transfer_data"] = {"destination": self.connected_account}
            fee = self.application_fee(start.amount)
            if fee:
                fields["payment_intent_data"]["application_fee_amount"] = fee
        session = parse_session(await self.client.call("POST", SESSIONS_PATH, fields, idempotency_key=reference))
        if not session.url:
            raise ProviderError("Stripe's session has no URL", code="bad_answer")
        minutes = str(int(lifetime.total_seconds() // 60))
        return Started(
            text_key="stripe.started_test" if self.test_mode else "stripe.started",
            values={"card": _TEST_CARD, "minutes": minutes},
            link=LinkButton("stripe.button_pay", session.url),
            provider_ref=session.id,
        )

    def application_fee(self, amount: Money) -> int:
        """The platform's fee on ``amount``, in Stripe's units, rounded down (the merchant keeps the fraction)."""
        return int(to_amount(amount) * self.fee_percent / 100)

    # --- Connect: the shop's Express account ------------------------------------------------------------------

    async def create_account(self, tenant_id: int) -> str:
        """The shop's Express account on the platform (one per shop: the idempotency key names the shop)."""
        fields = {"type": "express", "metadata": {"tenant": self.tenant_slug}}
        answer = await self.client.call("POST", ACCOUNTS_PATH, fields, idempotency_key=f"account-{tenant_id}")
        account = answer.get("id")
        if not isinstance(account, str) or not account.startswith("acct_"):
            raise ProviderError("Stripe's account has no id", code="bad_answer")
        return account

    async def onboarding_link(self, account: str) -> str:
        """A fresh Account Link to Stripe's onboarding (single use, minutes long: made when the merchant asks)."""
        fields = {
            "account": account,
            "type": "account_onboarding",
            "refresh_url": f"{self.return_url}?state=connect_refresh",
            "return_url": f"{self.return_url}?state=connect_done",
        }
        answer = await self.client.call("POST", ACCOUNT_LINKS_PATH, fields)
        url = answer.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProviderError("Stripe's account link has no URL", code="bad_answer")
        return url

    async def balance_and_payouts(self, account: str) -> tuple[list[Money], list[Payout]]:
        """The connected account's available balance and its latest payouts (``Stripe-Account``)."""
        on_account = StripeClient(self.client.http, base_url=self.client.base_url, key=self.key, account=account)
        return (
            parse_balance(await on_account.call("GET", BALANCE_PATH)),
            parse_payouts(await on_account.call("GET", f"{PAYOUTS_PATH}?limit=5")),
        )

    def next_check(self, checks_done: int) -> timedelta | None:
        return _CHECKS[checks_done] if checks_done < len(_CHECKS) else timedelta(minutes=10)

    def lifetime(self, tenant_timeout: timedelta) -> timedelta:
        self.timeout = tenant_timeout  # start() builds expires_at from the same clamp
        return clamp(tenant_timeout)

    async def check(self) -> str:
        await self.client.call("GET", BALANCE_PATH)
        return f"Stripe accepted the {'test' if self.test_mode else 'live'} key ({self.client.base_url})"

    # --- webhooks ---------------------------------------------------------------------------------------------

    def read_webhook(self, request: Callback) -> Event:
        """A verified event (InvalidCallback 401 before anything is read, 400 after)."""
        verify(request.body, request.headers, self.webhook_secrets, self.clock.now())
        return parse_event(request.body)

    def parse_callback(self, request: Callback) -> list[ProviderEvent]:
        event = self.session_event(self.read_webhook(request))
        return [] if event is None else [event]

    def session_event(self, event: Event) -> ProviderEvent | None:
        """What a checkout.session.* event says of the payment; None for anything that moves no payment."""
        if not event.type.startswith("checkout.session."):
            return None
        session = parse_session(event.object)
        if event.type == "checkout.session.async_payment_failed":
            return self._event(session, Outcome.FAILED)
        if event.type == "checkout.session.expired":
            return self._event(session, Outcome.EXPIRED)
        if event.type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
            # completed with payment_status "unpaid": a delayed method (a bank debit) still on its way
            return self._event(session, Outcome.PAID) if session.payment_status == "paid" else None
        return None

    @staticmethod
    def refund_reports(event: Event) -> list[RefundResult]:
        """The refunds a refund event tells (``charge.refunded`` lists them; ``refund.*`` is one)."""
        if event.type not in REFUND_EVENTS:
            return []
        if event.object.get("object") == "charge":
            return charge_refunds(event.object)
        return [parse_refund(event.object)]

    @staticmethod
    def _event(session: Session, outcome: Outcome) -> ProviderEvent | None:
        if session.reference is None:
            raise InvalidCallback("a Stripe session without our reference")
        reason_key = reason_code = None
        if outcome is Outcome.FAILED:
            reason_key, reason_code = "stripe.reason.async_failed", "stripe.async_failed"
        elif outcome is Outcome.EXPIRED:
            reason_key, reason_code = "stripe.reason.expired", "stripe.expired"
        event = ProviderEvent(
            provider=INFO.name,
            event_key=f"{outcome.value}:{session.id}",  # the fact, not the delivery: webhook and query agree
            payment_reference=session.reference,
            outcome=outcome,
            amount=session.amount if outcome is Outcome.PAID else None,  # what Stripe says, never the order's
            provider_txn_id=session.payment_intent or session.id,
            reason=text(reason_key) if reason_key else None,  # the record; the customer reads reason_key
            reason_code=reason_code,
            reason_key=reason_key,
            raw=dict(session.raw),
            provider_ref=session.id,
            channel="card" if outcome is Outcome.PAID else None,
        )
        if outcome is Outcome.PAID and session.amount is None:
            return replace(event, review="Stripe's session names no amount_total")
        return event

    # --- reconciliation ---------------------------------------------------------------------------------------

    async def query(self, payment_reference: str, provider_ref: str | None) -> ProviderEvent | None:
        if not provider_ref:
            return None  # the session was never made, or its answer was lost: expiry settles it
        try:
            data = await self.client.call("GET", f"{SESSIONS_PATH}/{provider_ref}")
        except ProviderError as error:
            if error.code == "not_found":
                return None
            raise
        session = parse_session(data)
        if session.reference != payment_reference:
            return None
        if session.status == "complete" and session.payment_status == "paid":
            return self._event(session, Outcome.PAID)
        if session.status == "expired":
            return self._event(session, Outcome.EXPIRED)
        return None

    # --- refunds (payments.base.RefundingProvider) ------------------------------------------------------------

    async def refund(self, request: RefundRequest) -> RefundResult:
        if not request.provider_txn_id or not request.provider_txn_id.startswith("pi_"):
            raise ProviderError("the payment names no Stripe PaymentIntent", code="no_payment_intent")
        fields = {
            "payment_intent": request.provider_txn_id,
            "amount": to_amount(request.amount),
            "metadata": {REFERENCE_KEY: request.payment_reference, "refund": str(request.refund_id)},
        }
        answer = await self.client.call("POST", REFUNDS_PATH, fields, idempotency_key=f"refund-{request.refund_id}")
        return parse_refund(answer, request.payment_reference)

    async def refund_status(self, provider_refund_id: str, payment_reference: str) -> RefundResult | None:
        if not provider_refund_id.startswith("re_"):
            return None
        try:
            answer = await self.client.call("GET", f"{REFUNDS_PATH}/{provider_refund_id}")
        except ProviderError as error:
            if error.code == "not_found":
                return None
            raise
        return parse_refund(answer, payment_reference)

    def refund_next_check(self, checks_done: int) -> timedelta:
        return _REFUND_CHECKS[checks_done] if checks_done < len(_REFUND_CHECKS) else timedelta(hours=6)

    @property
    def refund_horizon(self) -> timedelta:
        return timedelta(days=10)


def _factory(config: TenantProviderConfig, deps: ProviderDeps) -> StripeProvider:
    return StripeProvider(config, deps)


FACTORY: ProviderFactory = _factory
