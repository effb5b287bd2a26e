"""The Telegram Payments provider object: what ``payments.registry`` builds for a shop from its stored settings.

- ``start``: ``sendInvoice`` in the customer's chat, as the shop's bot, the payload naming our payment
  (:func:`payments.invoices.payload_for`); Stars in XTR with no provider token, or card in the shop's currency with
  its @BotFather provider token (the TEST token in test mode; Stars go through Telegram's test environment).
- No callbacks: the payment arrives as a Telegram update (the chat step, ``chat.py``, applies it).
- ``query``: ``getStarTransactions``, for a Stars invoice paid while the server was down; its event has the same
  key as the ``successful_payment`` it stands for (``charge:<telegram_payment_charge_id>``), so either applies once.
- ``refund``: ``refundStarPayment``, whole payments only (Telegram refunds a Stars payment in full); card invoices
  are refunded by the merchant at their provider (the shop's refund tasks)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from core.money import Money, MoneyError
from payments.base import (
    Callback,
    InvalidCallback,
    Outcome,
    ProviderError,
    ProviderEvent,
    RefundRequest,
    RefundResult,
    RefundState,
    Started,
    StartRequest,
)
from payments.invoices import InvoiceEvent, InvoiceStage, payload_for
from payments.registry import ProviderDeps, ProviderFactory, TenantProviderConfig
from payments.telegram import INFO
from payments.telegram.client import DESCRIPTION_LIMIT, PAGE, TITLE_LIMIT, BotPayments, StarTransaction
from payments.telegram.pricing import STARS

NAME = INFO.name
# A Stars invoice paid while the server was down is found by asking Telegram, at these waits after 0, 1, 2… checks.
CHECK_WAITS = tuple(timedelta(seconds=s) for s in (60, 120, 300, 600))
LATER_CHECK = timedelta(minutes=15)
SCANNED_PAGES = 10  # how far back getStarTransactions is read: 1000 movements of the bot's Stars


def charge_event(invoice: InvoiceEvent, payment_reference: str) -> ProviderEvent:
    """A payment made in the chat as one fact about ``payment_reference``: paid, for the amount and currency
    Telegram says (``apply_event`` holds it for review when they are not the invoice's)."""
    try:
        amount: Money | None = Money(invoice.total_amount, invoice.currency)
    except MoneyError:
        amount = None  # a currency we do not know: money of unknown size, held for review
    charge = invoice.charge_id or ""
    return ProviderEvent(
        provider=NAME,
        event_key=f"charge:{charge}",
        payment_reference=payment_reference,
        outcome=Outcome.PAID,
        amount=amount,
        provider_txn_id=charge,
        reason_code="successful_payment",
        raw={
            "currency": invoice.currency,
            "total_amount": invoice.total_amount,
            "invoice_payload": invoice.payload,
            "telegram_payment_charge_id": charge,
            "provider_payment_charge_id": invoice.provider_charge_id or "",
        },
        review=None if amount is not None else f"Telegram reported a payment in {invoice.currency[:8]!r}",
        channel="stars" if invoice.currency == STARS else "card",
    )


class TelegramProvider:
    name: ClassVar[str] = NAME

    def __init__(self, config: TenantProviderConfig, deps: ProviderDeps) -> None:
        options = dict(config.options)
        self.stars = str(options.get("invoices") or "stars") == "stars"
        self.test_mode = config.test_mode
        self.options: Mapping[str, Any] = options
        token_field = "test_provider_token" if config.test_mode else "provider_token"
        self.provider_token = "" if self.stars else str(config.secrets.get(token_field, "")).strip()
        self.currency = config.currency
        self.tenant_slug = config.tenant_slug
        self.api = BotPayments(
            deps.http,
            str(options.get("base_url") or deps.telegram_api),
            config.bot_token,
            test_environment=self.stars and config.test_mode,
        )

    def __repr__(self) -> str:
        kind = "stars" if self.stars else "card"
        return f"TelegramProvider({self.tenant_slug!r}, {kind}, test_mode={self.test_mode})"

    @property
    def sandboxed(self) -> bool:
        return self.test_mode or ":TEST:" in self.provider_token

    # --- starting ------------------------------------------------------------------------------------------------

    async def start(self, start: StartRequest) -> Started:
        expected = STARS if self.stars else self.currency
        if start.amount.currency != expected:
            raise ProviderError(f"Telegram: an invoice in {expected}, not {start.amount.currency}", code="currency")
        if not self.stars and not self.provider_token:
            mode = "TEST" if self.test_mode else "live"
            raise ProviderError(f"Telegram: no {mode} provider token", code="not_configured", misconfigured=True)
        chat = start.metadata.get("chat")
        if not chat:
            raise ProviderError("Telegram: no chat to send the invoice to", code="no_chat")
        title = f"{start.shop_name}"[:TITLE_LIMIT].strip() or start.order_code
        description = f"{start.order_code} · {start.shop_name}"[:DESCRIPTION_LIMIT]
        params = {
            "chat_id": int(chat),
            "title": title,
            "description": description,
            "payload": payload_for(NAME, start.payment_reference),
            "provider_token": self.provider_token,
            "currency": start.amount.currency,
            "prices": [{"label": start.order_code, "amount": start.amount.minor}],
        }
        message_id = await self.api.send_invoice(params)
        stars = "stars" if self.stars else "card"
        return Started(
            text_key=f"telegram.started.{stars}_test" if self.test_mode else f"telegram.started.{stars}",
            values={"charged": start.amount.format()},
            provider_ref=str(message_id),
        )

    def next_check(self, checks_done: int) -> timedelta | None:
        if not self.stars:  # a card payment is known only from its update, which Telegram keeps for a day
            return None
        return CHECK_WAITS[checks_done] if checks_done < len(CHECK_WAITS) else LATER_CHECK

    def lifetime(self, tenant_timeout: timedelta) -> timedelta:
        return tenant_timeout

    async def check(self) -> str:
        username = await self.api.me()
        if self.stars:
            return f"Telegram answered for @{username}: Stars invoices"
        if not self.provider_token:
            raise ProviderError("Telegram: no provider token for card invoices", code="not_configured")
        return f"Telegram answered for @{username}: card invoices with a {'TEST' if self.sandboxed else 'live'} token"

    def parse_callback(self, request: Callback) -> list[ProviderEvent]:
        raise InvalidCallback("Telegram Payments arrive as updates of the shop's bot, not as callbacks", 404)

    # --- reconciliation ------------------------------------------------------------------------------------------

    async def query(self, payment_reference: str, provider_ref: str | None) -> ProviderEvent | None:
        if not self.stars:
            return None
        found = await self._find(lambda txn: not txn.refund and txn.payload == payload_for(NAME, payment_reference))
        if found is None:
            return None
        invoice = InvoiceEvent(
            stage=InvoiceStage.PAID,
            payload=found.payload or "",
            currency=STARS,
            total_amount=found.amount,
            charge_id=found.id,
        )
        return charge_event(invoice, payment_reference)

    async def _find(self, wanted: Any) -> StarTransaction | None:
        for page in range(SCANNED_PAGES):
            transactions = await self.api.star_transactions(page * PAGE)
            match = next((txn for txn in transactions if wanted(txn)), None)
            if match is not None or len(transactions) < PAGE:
                return match
        return None

    # --- refunds -------------------------------------------------------------------------------------------------

    async def refund(self, request: RefundRequest) -> RefundResult:
        if not self.stars or request.amount.currency != STARS:
            raise ProviderError(
                "Telegram refunds Stars only: a card payment is refunded at its provider",
                code="not_supported",
                misconfigured=True,
            )
        charge = request.provider_txn_id or ""
        paid = await self._find(lambda txn: not txn.refund and txn.id == charge)
        if paid is None or paid.user_id is None:
            raise ProviderError("Telegram: no Stars payment with that charge id", code="not_found")
        if request.amount.minor != paid.amount:
            raise ProviderError("Telegram refunds a Stars payment whole", code="partial")
        try:
            await self.api.refund_stars(paid.user_id, charge)
        except ProviderError as error:
            if error.code != "CHARGE_ALREADY_REFUNDED":
                raise
        return RefundResult(
            event_key=f"refund:{charge}",
            status=RefundState.PROCESSED,
            amount=request.amount,
            provider_refund_id=charge,
            payment_reference=request.payment_reference,
            provider_txn_id=charge,
        )

    async def refund_status(self, provider_refund_id: str, payment_reference: str) -> RefundResult | None:
        refunded = await self._find(lambda txn: txn.refund and txn.id == provider_refund_id)
        if refunded is None:
            return None
        return RefundResult(
            event_key=f"refund:{provider_refund_id}",
            status=RefundState.PROCESSED,
            amount=Money(refunded.amount, STARS),
            provider_refund_id=provider_refund_id,
            payment_reference=payment_reference,
            provider_txn_id=provider_refund_id,
        )

    def refund_next_check(self, checks_done: int) -> timedelta:
        return timedelta(minutes=10)

    @property
    def refund_horizon(self) -> timedelta:
        return timedelta(days=1)


def _factory(config: TenantProviderConfig, deps: ProviderDeps) -> TelegramProvider:
    return TelegramProvider(config, deps)


FACTORY: ProviderFactory = _factory
