"""The Paystack provider: what ``payments.registry`` builds for a tenant from its stored configuration.

- ``start``: Initialize a transaction for one payment attempt (its own reference, amount in subunits, the
  tenant's channels, a callback URL to our return page, metadata naming tenant, order and chat) and hand the
  customer the single-use checkout link.
- ``parse_callback`` / ``read_webhook``: the webhook's HMAC-SHA512 signature over the raw body, then its facts.
- ``confirm``: a ``charge.success`` is believed only after Verify agrees on status, reference, amount and currency;
  a disagreement is sent to the merchant's review, never paid automatically.
- ``query``: Verify, for the reconciler (Paystack sends no webhook for failed or abandoned payments).
- ``verify_for_accept``: Verify afresh when the merchant accepts money held for review (``admin.review``): only
  Paystack's own "success", for the amount held, lets it be accepted as received.
- ``refund``: POST /refund for the merchant's ``/refund``; ``refund_status``: GET /refund/{id}, for the reconciler
  (``refund_next_check`` and ``REFUND_HORIZON`` are its schedule): the contract's refunds, in its one result shape.

Tenant options: see ``payments.paystack.options``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any, ClassVar

from payments.base import (
    Callback,
    HeldWord,
    InvalidCallback,
    LinkButton,
    Outcome,
    ProviderEvent,
    RefundRequest,
    RefundResult,
    ReviewWord,
    Started,
    StartRequest,
)
from payments.hosted_link import next_check
from payments.paystack.client import DEFAULT_BASE_URL, PaystackClient, PaystackError
from payments.paystack.facts import PaystackFacts, refund_facts, refund_result, transaction_facts, webhook_facts
from payments.paystack.limits import check_amount
from payments.paystack.options import DEFAULT_EMAIL_DOMAIN, channels_option, synthetic_email
from payments.paystack.signature import header_value, is_valid, require_valid
from payments.paystack.wire import Refund, TransactionStatus, WebhookEvent, parse_webhook
from payments.registry import ProviderDeps, ProviderFactory, TenantProviderConfig

NAME = "paystack"
_TEST_CARD = "4084 0840 8408 4081"
# When the reconciler fetches a refund still on its way (in case its webhooks are lost), counted from when Paystack
# took it: 2 and 10 minutes, half an hour, then doubling from one hour up to every 6 hours. Refunds take days (the
# documented refund answer expects one 9 days later), so asking often after the first hours only costs calls.
_REFUND_CHECKS = (
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
)
_REFUND_CHECK_CAP = timedelta(hours=6)
# How long after the merchant's /refund we keep asking; a refund still unfinished then is the merchant's to chase
# (they are told once). Past the 9 days of the documented ``expected_at``, with a day to spare.
REFUND_HORIZON = timedelta(days=10)


def refund_next_check(checks_done: int) -> timedelta:
    """How long to wait before the next fetch of a refund, after ``checks_done`` fetches."""
    return _REFUND_CHECKS[checks_done] if checks_done < len(_REFUND_CHECKS) else _REFUND_CHECK_CAP


VerifyWord = HeldWord  # what Verify says, asked at the moment a merchant would accept money held for review


def return_path(tenant_slug: str) -> str:
    return f"/pay/paystack/{tenant_slug}/return"


def webhook_path(tenant_slug: str) -> str:
    return f"/pay/paystack/{tenant_slug}"


class PaystackProvider:
    name: ClassVar[str] = NAME

    def __init__(self, config: TenantProviderConfig, deps: ProviderDeps) -> None:
        options = dict(config.options)
        live_key = str(config.secrets.get("secret_key", "")).strip()
        test_key = str(config.secrets.get("test_secret_key", "")).strip()
        # Test mode uses the shop's test key when it has one. Webhooks signed with either key are accepted: a
        # payment started before the switch is still reported with the key it was started with.
        key = test_key if config.test_mode and test_key else live_key
        self.client = PaystackClient(
            deps.http, base_url=str(options.get("base_url") or DEFAULT_BASE_URL), secret_key=key
        )
        self._secret = key
        self._webhook_keys = tuple(dict.fromkeys(k for k in (key, live_key, test_key) if k))
        self.tenant_slug = config.tenant_slug
        self.test_mode = config.test_mode or self.client.mode == "test"
        self.channels = channels_option(options)
        self.email_domain = str(options.get("email_domain") or DEFAULT_EMAIL_DOMAIN)
        self.callback_base = deps.callback_base.rstrip("/")

    @property
    def sandboxed(self) -> bool:
        """In a live shop exactly when its key is an sk_test_ one (``payments.paystack.keys``): the same flag that
        makes Paystack's messages say TEST MODE."""
        return self.test_mode

    def __repr__(self) -> str:
        return f"PaystackProvider({self.tenant_slug!r}, mode={self.client.mode!r})"

    @property
    def return_url(self) -> str:
        return self.callback_base + return_path(self.tenant_slug)

    # --- starting -------------------------------------------------------------------------------------------

    async def start(self, start: StartRequest) -> Started:
        check_amount(start.amount)  # AmountNotAllowed (a ProviderError) before any call
        chat = start.metadata.get("chat", "")
        email = start.customer_email or synthetic_email(chat, self.email_domain)
        metadata: dict[str, Any] = {
            "tenant": start.tenant_slug,
            "order": start.order_code,
            "chat": chat,
            "cancel_action": f"{self.return_url}?reference={start.payment_reference}",
            "custom_fields": [
                {"display_name": "Order", "variable_name": "order", "value": start.order_code},
                {"display_name": "Shop", "variable_name": "shop", "value": start.shop_name},
            ],
        }
        result = await self.client.initialize(
            amount=start.amount,
            email=email,
            reference=start.payment_reference,
            callback_url=self.return_url,
            metadata=metadata,
            channels=self.channels or None,
        )
        values = {"card": _TEST_CARD, "email": email}
        key = "paystack.started_test" if self.test_mode else "paystack.started"
        if not start.customer_email:  # Paystack's page shows the placeholder: the message says why it is there
            key += ".placeholder_email"
        return Started(
            text_key=key,
            values=values,
            link=LinkButton("paystack.button_pay", result.authorization_url),
            provider_ref=result.access_code,
        )

    def next_check(self, checks_done: int) -> timedelta | None:
        return next_check(checks_done)

    def lifetime(self, tenant_timeout: timedelta) -> timedelta:
        return tenant_timeout

    async def check(self) -> str:
        mode = await self.client.check_key()
        return f"Paystack accepted the {mode} secret key ({self.client.base_url})"

    # --- webhooks -------------------------------------------------------------------------------------------

    def read_webhook(self, request: Callback) -> WebhookEvent:
        """Signature over the raw bytes first (InvalidCallback 401), then the body (InvalidCallback 400)."""
        for key in self._webhook_keys[1:]:
            if is_valid(request.body, header_value(request.headers), key):
                return parse_webhook(request.body)
        require_valid(request.body, request.headers, self._webhook_keys[0] if self._webhook_keys else "")
        return parse_webhook(request.body)

    def parse_callback(self, request: Callback) -> list[ProviderEvent]:
        facts = webhook_facts(self.read_webhook(request))
        return [] if facts is None else [self.event(facts)]

    @staticmethod
    def event(facts: PaystackFacts) -> ProviderEvent:
        return replace(facts.to_provider_event(), channel=facts.channel)

    async def confirm(self, reported: PaystackFacts) -> ProviderEvent:
        """A ``charge.success`` as Verify tells it. Raises PaystackError when Verify cannot be asked now (the
        webhook is then answered with an error, so Paystack delivers it again later)."""
        try:
            txn = await self.client.verify(reported.reference)
        except PaystackError as error:
            if error.retryable:
                raise
            verified = None
            problems = [ReviewWord("paystack.held.verify_refused", {"code": str(error.code)})]
        else:
            verified = transaction_facts(txn)
            problems = []
            if txn.reference != reported.reference:
                problems.append(ReviewWord("paystack.held.other_reference", {"reference": txn.reference}))
            if txn.status != TransactionStatus.SUCCESS:
                problems.append(ReviewWord("paystack.held.status", {"status": txn.status}))
            if verified.amount != reported.amount:
                amounts = {"webhook": reported.amount, "verify": verified.amount}
                problems.append(ReviewWord("paystack.held.amounts", amounts=amounts))
        chosen = verified if verified is not None and verified.outcome is Outcome.PAID else reported
        raw = {"webhook": dict(reported.raw), "verify": dict(verified.raw) if verified is not None else {}}
        event = replace(self.event(chosen), event_key=reported.event_key, raw=raw, outcome=Outcome.PAID)
        if verified is not None and verified.channel:
            event = replace(event, channel=verified.channel)
        if not problems:
            return event
        # The merchant reads the words in their language; the event's record keeps them in English.
        return replace(event, review="; ".join(word.render("en") for word in problems), review_words=tuple(problems))

    # --- reconciliation and refunds -------------------------------------------------------------------------

    async def query(self, payment_reference: str, provider_ref: str | None) -> ProviderEvent | None:
        """Verify's word on an open link: paid or failed; None while it can still be paid (abandoned, ongoing,
        pending: the tenant's timeout decides) or when the reference is unknown to Paystack."""
        try:
            txn = await self.client.verify(payment_reference)
        except PaystackError as error:
            if error.code == "not_found":
                return None
            raise
        if txn.reference != payment_reference:
            return None
        facts = transaction_facts(txn)
        if facts.outcome is Outcome.PAID or (facts.outcome is Outcome.FAILED and facts.final):
            return self.event(facts)
        return None

    async def confirm_held(self, payment_reference: str) -> HeldWord:
        """The contract's :class:`payments.base.HeldMoneyConfirmer`: Verify asked afresh."""
        return await self.verify_for_accept(payment_reference)

    async def verify_for_accept(self, payment_reference: str) -> VerifyWord:
        """Verify asked afresh, for a merchant about to accept money held for review. Raises PaystackError when
        Paystack cannot be asked now (the acceptance then waits: nothing is accepted on a guess)."""
        try:
            txn = await self.client.verify(payment_reference)
        except PaystackError as error:
            if error.code == "not_found":
                return VerifyWord("not_found")
            raise
        if txn.reference != payment_reference:
            return VerifyWord("not_found")
        try:
            amount = transaction_facts(txn).amount
        except InvalidCallback:  # a currency dukabot does not know cannot be the amount held
            amount = None
        return VerifyWord(txn.status, amount, received=txn.status == TransactionStatus.SUCCESS)

    async def refund(self, request: RefundRequest) -> RefundResult:
        """POST /refund (the contract's :class:`payments.base.RefundingProvider`)."""
        answer = await self.client.refund(request.payment_reference, request.amount, merchant_note=request.note)
        return refund_result(refund_facts(answer, payment_reference=request.payment_reference))

    async def refund_status(self, provider_refund_id: str, payment_reference: str) -> RefundResult | None:
        """GET /refund/{id}. Only Paystack's numeric id can be fetched: a refund known by its refund_reference
        alone (a dashboard refund learnt from an id-less webhook) cannot be asked about. A fetched refund may name
        its transaction by id only: the payment's reference stands in."""
        if not provider_refund_id.isdigit():
            return None
        fetched = await self.fetch_refund(provider_refund_id)
        return refund_result(refund_facts(fetched, payment_reference=payment_reference))

    def refund_next_check(self, checks_done: int) -> timedelta:
        return refund_next_check(checks_done)

    @property
    def refund_horizon(self) -> timedelta:
        return REFUND_HORIZON

    async def fetch_refund(self, refund_id: str) -> Refund:
        """A refund's state as Paystack knows it now, for the reconciler (GET /refund/{id})."""
        return await self.client.fetch_refund(refund_id)


def _factory(config: TenantProviderConfig, deps: ProviderDeps) -> PaystackProvider:
    return PaystackProvider(config, deps)


FACTORY: ProviderFactory | None = _factory
