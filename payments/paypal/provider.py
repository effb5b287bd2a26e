"""The PayPal provider (Orders v2): what ``payments.registry`` builds for a shop from its stored settings.

- ``start``: create an order (intent CAPTURE, our reference as ``custom_id``, ``invoice_id`` and ``reference_id``,
  ``PayPal-Request-Id`` made from it so a repeated create is one order) and hand the customer its approve link.
- ``settle``: what the order says now, asked of PayPal (a GET of the order); an approved order is captured first
  (with its own request id, so capturing twice is one capture). The webhook, the return page and the reconciler all
  come here: money is paid only on PayPal's own answer, never on a webhook's body.
- ``verify``: a webhook's transmission headers and body, checked by PayPal's verify-webhook-signature with the
  shop's webhook id (the other environment's too, for a payment started before a switch of test mode).
- ``refund`` / ``refund_status``: POST /v2/payments/captures/{id}/refund (partial amounts) and GET the refund.

Test mode sends every request to PayPal's sandbox host with the sandbox app's credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from core.texts import text
from payments.base import (
    Callback,
    InvalidCallback,
    LinkButton,
    Outcome,
    ProviderEvent,
    RefundRequest,
    RefundResult,
    RefundState,
    Started,
    StartRequest,
)
from payments.hosted_link import next_check
from payments.paypal.client import PayPalClient, PayPalError
from payments.paypal.conversion import conversion_of
from payments.paypal.currencies import check_amount
from payments.paypal.tokens import SHARED_NAME, PayPalTokens
from payments.paypal.wire import (
    LIVE_HOST,
    SANDBOX_HOST,
    Order,
    Refund,
    WebhookEvent,
    create_order_body,
    parse_webhook,
    transmission,
)
from payments.registry import ProviderDeps, ProviderFactory, TenantProviderConfig

NAME = "paypal"
_REFUND_CHECKS = (timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1), timedelta(hours=4))
REFUND_HORIZON = timedelta(days=7)
# A capture refused because the buyer's funding failed: the attempt failed; the customer may pay again.
DECLINED_ISSUES = frozenset({"instrument_declined", "payer_cannot_pay", "transaction_refused", "payer_action_required"})
_REFUND_STATES = {
    "COMPLETED": RefundState.PROCESSED,
    "PENDING": RefundState.PENDING,
    "FAILED": RefundState.FAILED,
    "CANCELLED": RefundState.FAILED,
}


def webhook_path(slug: str) -> str:
    return f"/pay/paypal/{slug}"


def return_path(slug: str) -> str:
    return f"/pay/paypal/{slug}/return"


def refund_next_check(checks_done: int) -> timedelta:
    return _REFUND_CHECKS[min(checks_done, len(_REFUND_CHECKS) - 1)]


@dataclass(frozen=True, slots=True)
class Account:
    """One PayPal app: its host, the client built for it, and the webhook id its deliveries are verified with."""

    client: PayPalClient
    webhook_id: str
    sandbox: bool


class PayPalProvider:
    name: ClassVar[str] = NAME

    def __init__(self, config: TenantProviderConfig, deps: ProviderDeps) -> None:
        options, secrets = dict(config.options), dict(config.secrets)
        tokens = deps.shared.get(SHARED_NAME)
        if not isinstance(tokens, PayPalTokens):
            tokens = PayPalTokens(deps.clock)  # built for one use (a command): its own cache
        override = str(options.get("base_url") or "").rstrip("/")
        main_sandbox = str(options.get("mode") or "live") == "sandbox"

        def account(sandbox: bool, client_id: str, secret: str, webhook_id: str) -> Account:
            host = override or (SANDBOX_HOST if sandbox else LIVE_HOST)
            client = PayPalClient(deps.http, base_url=host, client_id=client_id, client_secret=secret, tokens=tokens)
            return Account(client, webhook_id, sandbox)

        main = account(
            main_sandbox,
            str(options.get("client_id", "")),
            str(secrets.get("client_secret", "")),
            str(options.get("webhook_id", "")),
        )
        sandbox_app = None
        if secrets.get("sandbox_client_secret") and options.get("sandbox_client_id"):
            sandbox_app = account(
                True,
                str(options["sandbox_client_id"]),
                str(secrets["sandbox_client_secret"]),
                str(options.get("sandbox_webhook_id", "")),
            )
        elif main_sandbox:
            sandbox_app = main
        # Test mode talks to the sandbox only: with the sandbox app, or with the main one when it is a sandbox app;
        # a live app is never sent to the sandbox host (PayPal would refuse it), so its start fails as misconfigured.
        self.account = (sandbox_app or account(True, "", "", "")) if config.test_mode else main
        # Deliveries are verified with this mode's webhook first, then the other's: a payment started before the
        # switch is reported to the webhook of the app it was made with.
        self.accounts = tuple(
            dict.fromkeys(a for a in (self.account, main, sandbox_app) if a is not None and a.webhook_id)
        )
        self.test_mode = config.test_mode or self.account.sandbox
        self.tenant_slug = config.tenant_slug
        self.callback_base = deps.callback_base.rstrip("/")
        self.conversion = conversion_of(options)

    @property
    def client(self) -> PayPalClient:
        return self.account.client

    @property
    def sandboxed(self) -> bool:
        return self.account.sandbox

    def __repr__(self) -> str:
        return f"PayPalProvider({self.tenant_slug!r}, sandbox={self.account.sandbox})"

    # --- starting -------------------------------------------------------------------------------------------

    async def start(self, start: StartRequest) -> Started:
        value = check_amount(start.amount)  # AmountNotAllowed before any request
        if not self.client.has_credentials:
            raise PayPalError("no PayPal credentials for this mode", code="invalid_client")
        reference = start.payment_reference
        back = f"{self.callback_base}{return_path(self.tenant_slug)}?reference={quote(reference)}"
        total = start.order_total
        description = text("paypal.order_description", start.language, code=start.order_code, shop=start.shop_name)
        if total is not None and self.conversion is not None:
            description += " " + text(
                "paypal.order_conversion",
                start.language,
                total=total.format(),
                rate=self.conversion.describe(total.currency),
            )
        body = create_order_body(
            reference=reference,
            amount=start.amount,
            value=value,
            description=description,
            brand_name=start.shop_name,
            return_url=back,
            cancel_url=f"{back}&cancelled=1",
        )
        order = await self.client.create_order(body, request_id=f"create-{reference}")
        if not order.approve_url:
            raise PayPalError("PayPal created the order without an approve link", code="bad_response")
        key = "paypal.started_test" if self.test_mode else "paypal.started"
        values: dict[str, str] = {}
        if total is not None:
            key += ".converted"
            values = {
                "total": total.format(),
                "rate": self.conversion.describe(total.currency) if self.conversion else "",
            }
        return Started(key, values, LinkButton("paypal.button_pay", order.approve_url), provider_ref=order.id)

    def next_check(self, checks_done: int) -> timedelta | None:
        return next_check(checks_done)

    def lifetime(self, tenant_timeout: timedelta) -> timedelta:
        return tenant_timeout

    async def check(self) -> str:
        await self.client.token()
        return f"PayPal accepted the client credentials ({self.client.base_url})"

    # --- webhooks -------------------------------------------------------------------------------------------

    def parse_callback(self, request: Callback) -> list[ProviderEvent]:
        """The delivery's form only: a PayPal webhook is believed after PayPal's verify call and a GET of its order
        (``verify``, ``settle``, in :mod:`payments.paypal.inbound`), so no event comes from its body alone."""
        self.read_webhook(request)
        return []

    def read_webhook(self, request: Callback) -> tuple[WebhookEvent, dict[str, str]]:
        fields = transmission(request.headers)
        if fields is None:
            raise InvalidCallback("the PayPal transmission headers are missing", status=401)
        return parse_webhook(request.body), fields

    async def verify(self, event: WebhookEvent, fields: dict[str, str]) -> Account | None:
        """The account whose webhook PayPal says sent this delivery; None when PayPal says none did. Raises
        PayPalError when PayPal cannot be asked (the delivery is refused with 503, so PayPal sends it again)."""
        for account in self.accounts:
            status = await account.client.verify_webhook(fields, account.webhook_id, event.raw)
            if status == "SUCCESS":
                return account
        return None

    # --- what an order says -----------------------------------------------------------------------------------

    async def settle(self, order_id: str, reference: str, client: PayPalClient | None = None) -> ProviderEvent | None:
        """Capture the order if the buyer approved it, then what PayPal's GET of the order says."""
        client = client or self.client
        order = await client.show_order(order_id)
        if order.reference != reference:
            return None
        if order.status == "APPROVED":
            try:
                await client.capture(order_id, request_id=f"capture-{order_id}")
            except PayPalError as error:
                if error.code in DECLINED_ISSUES:
                    return self._declined(order, error.code)
                if error.code != "order_already_captured":
                    raise
            order = await client.show_order(order_id)  # the order as PayPal holds it, not the capture's echo
        return self.event_of(order)

    def event_of(self, order: Order) -> ProviderEvent | None:
        if order.reference is None:
            return None
        capture = order.capture
        if capture is not None and capture.status in {"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"}:
            return ProviderEvent(
                provider=NAME,
                event_key=f"paid:{capture.id}",
                payment_reference=order.reference,
                outcome=Outcome.PAID,
                amount=capture.amount,  # what PayPal captured, never the order's
                provider_txn_id=capture.id,
                occurred_at=capture.at,
                raw={"order": dict(order.raw)},
                provider_ref=order.id,
                channel="paypal",
            )
        if capture is not None and capture.status in {"DECLINED", "FAILED"}:
            return self._declined(order, (capture.reason or capture.status).lower())
        if order.status == "VOIDED":
            return ProviderEvent(
                provider=NAME,
                event_key=f"voided:{order.id}",
                payment_reference=order.reference,
                outcome=Outcome.CANCELLED,
                reason=text("paypal.why.voided"),
                reason_code="paypal.voided",
                reason_key="paypal.why.voided",
                raw={"order": dict(order.raw)},
                provider_ref=order.id,
            )
        return None  # created, approved and not yet captured, or a capture still pending: wait

    def _declined(self, order: Order, code: str) -> ProviderEvent:
        assert order.reference is not None
        return ProviderEvent(
            provider=NAME,
            event_key=f"declined:{order.id}",
            payment_reference=order.reference,
            outcome=Outcome.FAILED,
            reason=text("paypal.why.declined"),
            reason_code=f"paypal.{code[:40]}",
            reason_key="paypal.why.declined",
            raw={"order": dict(order.raw)},
            provider_ref=order.id,
        )

    async def query(self, payment_reference: str, provider_ref: str | None) -> ProviderEvent | None:
        if provider_ref is None:  # the create's answer was lost: PayPal cannot be searched by our reference
            return None
        try:
            return await self.settle(provider_ref, payment_reference)
        except PayPalError as error:
            if error.code == "not_found":
                return None
            raise

    # --- refunds --------------------------------------------------------------------------------------------

    async def refund(self, request: RefundRequest) -> RefundResult:
        if not request.provider_txn_id:
            raise PayPalError("the payment has no PayPal capture to refund", code="invalid_request")
        answer = await self.client.refund(
            request.provider_txn_id,
            request.amount,
            request_id=f"refund-{request.refund_id}",
            reference=request.payment_reference,
            invoice_id=f"{request.payment_reference}-R{request.refund_id}",
            note=request.note,
        )
        return refund_result(answer, request.payment_reference, request.amount)

    async def refund_status(self, provider_refund_id: str, payment_reference: str) -> RefundResult | None:
        try:
            fetched = await self.client.show_refund(provider_refund_id)
        except PayPalError as error:
            if error.code == "not_found":
                return None
            raise
        return refund_result(fetched, payment_reference, None)

    def refund_next_check(self, checks_done: int) -> timedelta:
        return refund_next_check(checks_done)

    @property
    def refund_horizon(self) -> timedelta:
        return REFUND_HORIZON


def refund_result(refund: Refund, payment_reference: str, asked: Any) -> RefundResult:
    """One refund as PayPal tells it (its answer, a GET, a webhook), in the contract's one shape."""
    amount = refund.amount or asked
    if amount is None:
        raise PayPalError("PayPal's refund names no amount dukabot can count", code="bad_response")
    status = _REFUND_STATES.get(refund.status, refund.status.lower())
    return RefundResult(
        event_key=f"refund:{refund.id}:{refund.status.lower()}",
        status=str(status),
        amount=amount,
        provider_refund_id=refund.id,
        payment_reference=refund.reference or payment_reference,
        provider_txn_id=refund.capture_id,
        reason=refund.reason,
        occurred_at=refund.at,
        raw=dict(refund.raw),
    )


def _factory(config: TenantProviderConfig, deps: ProviderDeps) -> PayPalProvider:
    return PayPalProvider(config, deps)


FACTORY: ProviderFactory | None = _factory
