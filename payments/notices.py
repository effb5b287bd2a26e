"""The messages a payment transition owes, and to whom. Each goes through the outbox with its own dedupe key.

An online attempt (a push to the customer's phone, a hosted checkout link) tells the customer what to do under
``started_key``; its result (the receipt, or the failure, cancellation or expiry) takes that message's place in the
chat (``in_place_of_start``), so the chat does not keep saying "check your phone" or offering a spent link once the
answer is in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox, phones, shoptime
from core.buttons import (
    AcceptPayment,
    ApproveProof,
    ChooseMethod,
    MyOrders,
    ProofAgain,
    ReceiptPdf,
    RejectProof,
    TalkToShop,
    ViewOrder,
)
from core.db.repos.customers import CustomerRepository
from core.db.repos.orders import OrderRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Customer, Order, Payment, Proof, Tenant
from core.merchant_alerts import Render, owed_to_merchant, owed_to_readers
from core.messages import Button, Message, keyboard
from core.money import Money
from core.texts import has, text
from payments import providers
from payments.base import ProviderEvent, review_reason


@dataclass(frozen=True, slots=True)
class Context:
    tenant: Tenant
    order: Order
    payment: Payment
    customer: Customer
    # The order's products whose stock is counted, when read with the rest (``core.db.repos.orders.Parties``);
    # None: not read (``payments.stock`` reads them when it needs them).
    counted: frozenset[int] | None = None
    # Where the merchant's alerts go and the language each chat reads, when read with the rest
    # (``core.db.repos.orders.Parties``); None: ``for_merchant`` asks.
    alert_readers: tuple[tuple[int, str], ...] | None = None

    @property
    def lang(self) -> str:
        return self.customer.language

    @property
    def shop_lang(self) -> str:
        """The shop's language: what the payment's own record of the merchant's side is written in (its review
        reason), and what an alert group reads. Each admin's private chat reads their own (``for_merchant``)."""
        return self.tenant.language

    def amount(self, language: str = "en") -> str:
        return Money(self.payment.amount_minor, self.payment.currency).format(language)


async def context_for(session: AsyncSession, payment: Payment) -> Context:
    tenant = await TenantRepository(session).by_id(payment.tenant_id)
    order = await OrderRepository(session).by_id(payment.tenant_id, payment.order_id)
    assert tenant is not None and order is not None
    customer = await CustomerRepository(session).by_id(payment.tenant_id, order.customer_id)
    assert customer is not None
    return Context(tenant, order, payment, customer)


@dataclass(frozen=True, slots=True)
class ProviderNotices:
    """What a provider tells the customer in its own way, declared on its registry line
    (:attr:`payments.base.ProviderEntry.notices`); each part left None falls back to the generic message.

    ``receipt``: the paid receipt, given the money and when it was paid (its own receipt number and time).
    ``ended``: an attempt that ended without money (failed, cancelled, expired): it may name the reason in its own
    words, offer its own next steps and owe work of its own in the same transaction (``session``).
    ``started_rows``: button rows the attempt's started message keeps (a status check the "sending…" message had)."""

    receipt: Callable[[Context, Money, datetime], Message] | None = None
    ended: Callable[[AsyncSession, Context, str, ProviderEvent], Awaitable[Message]] | None = None
    started_rows: Callable[[Context], list[list[Button]]] | None = None


def provider_notices(provider: str) -> ProviderNotices:
    """The provider's own notices (the generic ones when it declares none, or is no longer registered)."""
    entry = providers.entry(provider)
    return entry.notices() if entry is not None and entry.notices is not None else _GENERIC


_GENERIC = ProviderNotices()


def is_online(provider: str) -> bool:
    """Whether the provider's attempts start with a message of their own (``payments.starter``): the providers
    with a provider object to call. Manual proofs have none."""
    entry = providers.entry(provider)
    return entry is not None and entry.factory is not None


def started_key(payment: Payment) -> str:
    """The dedupe key of the "check your phone" / "pay online" message of an online attempt."""
    return f"started:{payment.id}"


def in_place_of_start(ctx: Context, message: Message) -> Message:
    """``message`` as the result of the attempt: it replaces the attempt's start message when there is one."""
    if not is_online(ctx.payment.provider):
        return message
    return dataclasses.replace(message, replaces=started_key(ctx.payment))


async def to_customer(session: AsyncSession, ctx: Context, key: str, message: Message, now: datetime) -> None:
    await outbox.enqueue(
        session,
        tenant_id=ctx.tenant.id,
        chat_id=ctx.customer.chat_id,
        dedupe_key=key,
        message=read_in(message, ctx.lang),
        now=now,
    )


async def to_merchant(
    session: AsyncSession,
    tenant: Tenant,
    key: str,
    render: Render,
    now: datetime,
    *,
    readers: Sequence[tuple[int, str]] | None = None,
) -> None:
    owed = await for_merchant(session, tenant, key, render, readers=readers)
    await outbox.enqueue_many(session, tenant_id=tenant.id, owed=owed, now=now)


def for_customer(ctx: Context, key: str, message: Message) -> outbox.Owed:
    """``message`` owed to the customer, for a transition that writes all it owes in one insert."""
    return outbox.Owed(ctx.customer.chat_id, key, read_in(message, ctx.lang))


async def for_merchant(
    session: AsyncSession,
    tenant: Tenant,
    key: str,
    render: Render,
    *,
    readers: Sequence[tuple[int, str]] | None = None,
) -> list[outbox.Owed]:
    """The alert ``render`` says (given a language), owed to each of the merchant's alert chats in its reader's
    language (``core.merchant_alerts``): ``readers`` when the caller read them already (``Context.alert_readers``,
    so a payment's transaction asks nothing more), else asked (a query only when the shop has no alert group)."""
    if readers is None:
        return await owed_to_merchant(session, tenant, key, render)
    return owed_to_readers(readers, key, render)


def read_in(message: Message, language: str) -> Message:
    """``message`` noted as read in ``language`` (for the words the relay may add: ``outbox.as_repeat``), unless its
    writer noted a language already."""
    return message if message.language is not None else dataclasses.replace(message, language=language)


def receipt(ctx: Context, paid: Money, *, channel: str | None = None, at: datetime | None = None) -> Message:
    """The customer's receipt in the chat, with a button that sends it as a PDF document (admin.receipts)."""
    message = _chat_receipt(ctx, paid, channel=channel, at=at)
    if ctx.order.discount_minor:  # the promo code's discount, as fixed on the order
        off = Money(ctx.order.discount_minor, ctx.order.currency).format()
        words = text("receipt.discount", ctx.lang, code=ctx.order.promo_code or "", amount=off)
        message = dataclasses.replace(message, text=f"{message.text}\n{words}")
    pdf = Button(text("button.receipt_pdf", ctx.lang), data=ReceiptPdf(ctx.order.id).pack())
    return dataclasses.replace(message, buttons=(*message.buttons, (pdf,)))


def _chat_receipt(ctx: Context, paid: Money, *, channel: str | None, at: datetime | None) -> Message:
    own = provider_notices(ctx.payment.provider).receipt
    if own is not None and at is not None:  # the provider's own receipt (its receipt number, amount and time)
        return own(ctx, paid, at)
    provider = text(f"provider.{ctx.payment.provider}", ctx.lang)
    if channel:  # "<Provider> (card)": the provider's own word for the channel, translated when the catalog has it
        key = f"{ctx.payment.provider}.channel.{channel}"
        provider += f" ({text(key, ctx.lang) if has(key) else channel.replace('_', ' ')})"
    body = text(
        "receipt.paid",
        ctx.lang,
        code=ctx.order.code,
        amount=paid.format(ctx.lang),
        provider=provider,
        txn=ctx.payment.provider_txn_id or ctx.payment.reference,
        time=shoptime.when_long(at or ctx.payment.updated_at, ctx.tenant, ctx.lang),
    )
    return Message(body)


def paid_alert(ctx: Context, paid: Money, language: str, *, late: bool, short: Sequence[str] = ()) -> Message:
    """The merchant's "order paid" alert in ``language``; ``short`` names the lines the stock did not cover."""
    key = "merchant.paid_late" if late else "merchant.paid"
    body = text(
        key,
        language,
        code=ctx.order.code,
        amount=paid.format(language),
        provider=text(f"provider.{ctx.payment.provider}", language),
        customer=ctx.order.contact_name,
    )
    if short:
        body += "\n" + text("merchant.stock_short", language, names=", ".join(short))
    return Message(
        body,
        keyboard([Button(text("button.view_order", language), data=ViewOrder(ctx.order.id).pack())]),
        extra={outbox.COALESCE_FIELD: outbox.COALESCE_PAID},  # many paid at once: one message, edited into a list
        language=language,  # a running list of them is headed in it too (core.coalesce)
    )


def needs_review_alert(ctx: Context, reason: str, language: str, *, acceptable: bool = False) -> Message:
    """Money that does not fit, for the merchant to decide, in ``language`` (``reason`` said in it). ``acceptable``:
    the order waits on this payment alone, so the merchant may accept it as it arrived (``/accept``); otherwise the
    way out is a refund."""
    rows = [[Button(text("button.view_order", language), data=ViewOrder(ctx.order.id).pack())]]
    if acceptable:
        rows.append([Button(text("admin.button.accept_payment", language), data=AcceptPayment(ctx.payment.id).pack())])
    return Message(
        text(
            "merchant.needs_review",
            language,
            code=ctx.order.code,
            reason=reason,
            provider=text(f"provider.{ctx.payment.provider}", language),
        ),
        keyboard(*rows),
        language=language,
    )


Said = Callable[[str], str]  # words given the language to say them in


def held_reason(
    ctx: Context, event: ProviderEvent, expected: Money, received: Money | None, *, order_taken: bool
) -> Said:
    """Why a paid event's money is held for review, in any language: the payment records it in the shop's, each
    admin reads it in their own (``needs_review_alert``)."""
    if received is None:
        return lambda language: text("review.amount_unknown", language, expected=expected.format(language))
    if received != expected:
        return lambda language: text(
            "review.amount_mismatch", language, expected=expected.format(language), received=received.format(language)
        )
    if order_taken:
        return lambda language: text("review.order_already_paid", language, code=ctx.order.code)
    return lambda language: review_reason(event, language)


def refund_refused_why(ctx: Context, amount: Money) -> Said:
    """Why a refund of ``amount`` does not fit what the payment holds, in any language."""
    payment = ctx.payment
    if amount.currency != payment.currency:
        return lambda language: text(
            "refund.refused.currency", language, amount=amount.format(), currency=payment.currency
        )
    if amount.minor <= 0:
        return lambda language: text("refund.refused.not_positive", language, amount=amount.format())
    paid = Money(payment.amount_minor if payment.paid_minor is None else payment.paid_minor, payment.currency)
    refunded = Money(payment.refunded_minor, payment.currency)
    return lambda language: text(
        "refund.refused.too_much", language, amount=amount.format(), paid=paid.format(), refunded=refunded.format()
    )


async def attempt_ended(session: AsyncSession, ctx: Context, status: str, event: ProviderEvent) -> Message:
    """An attempt ended without money (failed, cancelled, expired): in the provider's own words when it has them
    (each of its result codes in plain words, its own next steps), else the generic message."""
    own = provider_notices(ctx.payment.provider).ended
    if own is not None:
        return await own(session, ctx, status, event)
    reason = text(event.reason_key, ctx.lang) if event.reason_key else event.reason
    return payment_ended(ctx, f"payment.{status}", reason)


def payment_ended(ctx: Context, status_key: str, reason: str | None) -> Message:
    body = text(status_key, ctx.lang, code=ctx.order.code, amount=ctx.amount(ctx.lang))
    if reason:
        body += "\n" + text("payment.reason", ctx.lang, reason=reason)
    return Message(
        body,
        keyboard(
            [Button(text("button.pay_again", ctx.lang), data=ChooseMethod(ctx.order.id).pack())],
            [Button(text("button.my_orders", ctx.lang), data=MyOrders().pack())],
            [Button(text("button.talk_to_shop", ctx.lang), data=TalkToShop().pack())],
        ),
    )


def proof_for_review(ctx: Context, proof: Proof, signals: list[str], *, language: str | None = None) -> Message:
    """The proof itself (photo or document) with the order summary and Approve / Reject buttons; in the shop's
    language, or ``language`` (the admin's own, for /pending)."""
    lang = language or ctx.shop_lang
    items = "\n".join(f"• {item.name} ×{item.quantity}" for item in ctx.order.items)
    caption = text(
        "merchant.proof_to_review",
        lang,
        code=ctx.order.code,
        amount=ctx.amount(lang),
        customer=ctx.order.contact_name,
        phone=phones.display(ctx.order.contact_phone, ctx.tenant.region),
        items=items,
        reference=proof.reference_text or text("merchant.no_reference", lang),
    )
    if signals:
        caption += "\n" + "\n".join(f"⚠️ {signal}" for signal in signals)
    buttons = keyboard(
        [
            Button(text("button.approve", lang), data=ApproveProof(proof.id).pack()),
            Button(text("button.reject", lang), data=RejectProof(proof.id).pack()),
        ]
    )
    if proof.file_kind == "photo":
        return Message(caption, buttons, photo=proof.file_id)
    return Message(caption, buttons, document=proof.file_id)


def proof_rejected(ctx: Context, reason: str | None) -> Message:
    body = (
        text("payment.proof_rejected", ctx.lang, code=ctx.order.code, reason=reason)
        if reason
        else text("payment.proof_rejected_no_reason", ctx.lang, code=ctx.order.code)
    )
    return Message(
        body,
        keyboard([Button(text("button.upload_again", ctx.lang), data=ProofAgain(ctx.payment.id).pack())]),
    )
