"""Choosing how to pay, the one flow that drives every provider's chat step, and the manual method's proof step.

The payment menu offers the shop's providers, each button carrying its provider's declared ``button_code``. Choosing
one checks the order, then hands it to the provider's chat step (:class:`payments.chat.ChatStep`, loaded through the
registry): what the customer types at one of its questions, and its own buttons, go to it as well. No provider is
named here.

A provider without a chat step is paid by hand (the manual payment): instructions, then a proof and a reference that
the merchant checks. That step stays with the flows: it is the shop's own (its button ``ProofAgain`` is one of
``core.buttons``, the merchant's review is in ``admin/``), and conversations stored at ``pay.proof`` keep working.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from core.buttons import CancelOrder, MyOrders, PayWith
from core.callbacks import Binding, CallbackData
from core.db.repos.orders import OrderRepository, PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Order, Proof
from core.messages import Button, Message, keyboard
from core.money import Money
from core.texts import has
from flows import promo
from flows.buttons import CUSTOMER, orders_now
from flows.context import MAX_PROOF_BYTES, FlowContext, Reply
from flows.inbound import Inbound, Kind, UploadKind
from payments import providers, stock
from payments.attempts import open_payment, supersede_open
from payments.base import ProviderEntry, ProviderKind
from payments.chat import Answer, ChatStep
from payments.currency_check import takes_currency
from payments.invoices import InvoiceStage, PreCheckoutAnswer, provider_of
from payments.manual import provider as manual
from payments.service import EventResult, apply_event
from payments.states import ORDER_CAN_BE_CANCELLED, OrderStatus, PaymentStatus

_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./#:_-]{2,59}$")


def chat_step(name: str) -> ChatStep | None:
    """The provider's chat step, loaded once; None for a provider without one (paid by proof) or unknown."""
    entry = providers.entry(name)
    return _loaded_step(entry) if entry is not None else None


@functools.cache
def _loaded_step(entry: ProviderEntry) -> ChatStep | None:
    return entry.chat() if entry.chat is not None else None


def _provider_buttons() -> dict[type[CallbackData], Binding[FlowContext, Reply]]:
    """Every registered provider's own buttons, for the customer's routes, read from the registry when a button is
    pressed (a provider registered after import has its buttons too). Each is about an order or its payment: one
    from before an upgrade is answered with the customer's orders, where things stand now."""
    found: dict[type[CallbackData], Binding[FlowContext, Reply]] = {}
    for name in providers.NAMES:
        step = chat_step(name)
        found.update((kind, (handler, orders_now)) for kind, handler in (step.buttons if step else {}).items())
    return found


CUSTOMER.also(_provider_buttons)


def _button_code(name: str) -> int:
    entry = providers.entry(name)
    assert entry is not None and entry.info.button_code is not None  # the registry refuses one without a code
    return entry.info.button_code


def menu_place(
    ctx: FlowContext, method: str, amount: Money, options: Mapping[str, Any] | None = None
) -> tuple[bool, str | None]:
    """Whether the order's menu offers ``method`` for ``amount``, and the customer's words when it does not.

    The provider's declaration (:class:`payments.base.ProviderInfo`) says whether it takes the amount and why
    not. A provider with words for that reason (``<name>.not_offered.<reason>``: an amount with cents, for one that
    takes whole units only) is left out with them. Without words, another currency leaves it out silently (the shop
    has no use for it), and an amount outside its limits is still offered: choosing it explains the limit. A provider
    that charges another amount (:attr:`payments.chat.ChatStep.charged`, a conversion the shop set) is checked on
    that amount."""
    entry = providers.entry(method)
    step = chat_step(method)
    converted = step.charged(options or {}, amount) if step is not None and step.charged is not None else None
    amount = converted or amount
    reason = entry.info.refusal(amount) if entry is not None else None
    if reason is None:
        return True, None
    words = f"{method}.not_offered.{reason}"
    if has(words):
        return False, ctx.t(words, amount=amount.format(ctx.lang))
    return reason != "currency", None


async def offer_methods(ctx: FlowContext, order: Order) -> Message:
    configs = await TenantRepository(ctx.session).provider_configs(ctx.tenant.id)
    total = Money(order.total_minor, order.currency)
    names, missing = [], []
    for config in configs:
        if config.provider not in ctx.methods:
            continue
        offered, why = menu_place(ctx, config.provider, total, config.options)
        if offered:
            names.append(config.provider)
        elif why is not None:
            missing.append(why)
    amount = total.format(ctx.lang)
    header = "\n".join([ctx.t("order.placed", code=order.code, amount=amount), *missing])
    if ctx.tenant.test_mode:  # the banner, and how to pay in each provider's sandbox
        hints = [ctx.t(f"testmode.hint.{name}") for name in names if has(f"testmode.hint.{name}")]
        header = "\n".join([ctx.t("testmode.banner"), *hints, header])
    if not names:
        return Message(header + "\n" + ctx.t("payment.no_methods"))
    rows = [[Button(ctx.t(f"method.{name}"), data=PayWith(order.id, _button_code(name)).pack())] for name in names]
    rows.append([Button(ctx.t("button.cancel_order"), data=CancelOrder(order.id).pack())])
    return Message(header + "\n" + ctx.t("payment.choose"), keyboard(*rows))


async def retry(ctx: FlowContext, order_id: int) -> Reply:
    order = await OrderRepository(ctx.session).by_id(ctx.tenant.id, order_id)
    if order is None or order.customer_id != ctx.customer.id:
        return Reply([Message(ctx.t("error.stale_button"))])
    if order.status != OrderStatus.AWAITING_PAYMENT:
        return Reply(
            [Message(ctx.t("order.not_payable", code=order.code, status=ctx.t(f"order.status.{order.status}")))]
        )
    return Reply([await offer_methods(ctx, order)])


async def choose(ctx: FlowContext, order_id: int, method_code: int) -> Reply:
    order = await OrderRepository(ctx.session).by_id(ctx.tenant.id, order_id)
    chosen = providers.by_button_code(method_code)
    if chosen is None or order is None or order.customer_id != ctx.customer.id or chosen.name not in ctx.methods:
        return Reply([Message(ctx.t("error.stale_button"))])
    method = chosen.name
    if order.status != OrderStatus.AWAITING_PAYMENT:
        return Reply(
            [Message(ctx.t("order.not_payable", code=order.code, status=ctx.t(f"order.status.{order.status}")))]
        )
    config = await TenantRepository(ctx.session).provider_config(ctx.tenant.id, method)
    if config is None or not config.enabled:
        return Reply([Message(ctx.t("error.stale_button"))])
    if not takes_currency(chosen, order.currency, config.options):  # a button from before the shop's currency changed
        words = ctx.t("payment.currency_not_taken", method=ctx.t(chosen.info.display_key), currency=order.currency)
        return Reply([Message(words), await offer_methods(ctx, order)], refused=True)
    gone = await stock.sold_out(ctx.session, order, ctx.lang)
    if gone:
        # Checked again here because stock leaves the shelf only at payment: others may have paid for it since.
        await OrderRepository(ctx.session).move(
            ctx.tenant.id, order.id, ORDER_CAN_BE_CANCELLED, OrderStatus.CANCELLED, ctx.clock.now()
        )
        return Reply([Message(ctx.t("payment.sold_out", names=", ".join(gone), code=order.code))])
    payments = PaymentRepository(ctx.session)
    if any(p.status == PaymentStatus.UNDER_REVIEW for p in await payments.for_order(ctx.tenant.id, order.id)):
        # A proof is with the merchant: a second attempt now could only mean paying twice.
        return Reply([Message(ctx.t("proof.being_checked", code=order.code))], refused=True)
    ran_out = await promo.hold_for_payment(ctx, order)  # an ended attempt gave its promo use back
    if ran_out is not None:
        return Reply([ran_out, await offer_methods(ctx, order)])
    step = chat_step(method)
    if step is not None:
        return await step.begin(ctx, order, config)
    if chosen.info.kind is not ProviderKind.MANUAL_PROOF:  # neither a chat step nor a proof: no way to pay it here
        return Reply([Message(ctx.t("error.stale_button"))])
    if await supersede_open(ctx.session, order, ctx.clock) is not None:
        # An STK push is open: its prompt may be on the phone, and a proof on top of it would pay twice.
        return Reply([Message(ctx.t("jobs.push_open", code=order.code))], refused=True)
    payment = await payments.latest_for_order(ctx.tenant.id, order.id)
    if payment is None or payment.provider != method or payment.status != PaymentStatus.AWAITING_PROOF:
        payment = await open_payment(ctx.session, order, method, PaymentStatus.AWAITING_PROOF, ctx.clock.now())
        assert payment is not None  # awaiting_proof is not an open attempt of the one-per-order index
    ctx.go("pay.proof", payment_id=payment.id)
    instructions = str(config.options.get("instructions") or ctx.t("manual.default_instructions"))
    amount = Money(order.total_minor, order.currency).format(ctx.lang)
    return Reply([Message(ctx.t("manual.instructions", instructions=instructions, amount=amount, code=order.code))])


async def upload_again(ctx: FlowContext, payment_id: int) -> Reply:
    payment = await PaymentRepository(ctx.session).by_id(ctx.tenant.id, payment_id)
    order = await OrderRepository(ctx.session).by_id(ctx.tenant.id, payment.order_id) if payment else None
    if payment is None or order is None or order.customer_id != ctx.customer.id:
        return Reply([Message(ctx.t("error.stale_button"))])
    if payment.status != PaymentStatus.AWAITING_PROOF:
        return Reply([Message(ctx.t("proof.not_expected"))])
    ctx.go("pay.proof", payment_id=payment.id)
    return Reply([Message(ctx.t("proof.ask_upload"))])


async def on_input(ctx: FlowContext, inbound: Inbound) -> Reply | None:
    step = ctx.conversation.step
    if step == "pay.proof":
        return await _take_proof(ctx, inbound)
    if step == "pay.reference" and inbound.kind is Kind.TEXT:
        return await _take_reference(ctx, inbound.text)
    return await _provider_input(ctx, inbound)


async def on_invoice(ctx: FlowContext, inbound: Inbound) -> Reply:
    """A pre-checkout query or a payment made in the chat, for the provider its invoice payload names. A payload
    that names no chat-invoice provider of ours is refused before any money moves (nothing else changes)."""
    invoice = inbound.invoice
    assert invoice is not None
    named = provider_of(invoice.payload)
    step = chat_step(named[0]) if named is not None else None
    if step is not None and step.invoice is not None:
        return await step.invoice(ctx, invoice)
    if invoice.stage is InvoiceStage.PRE_CHECKOUT and invoice.query_id is not None:
        answer = PreCheckoutAnswer(invoice.query_id, ok=False, error=ctx.t("invoice.not_ours"))
        return Reply(pre_checkout=answer, refused=True)
    return Reply(refused=True)


async def _provider_input(ctx: FlowContext, inbound: Inbound) -> Reply | None:
    """The answer to a provider's question: the conversation's step names the provider (``<provider>.<question>``)."""
    question = ctx.conversation.step
    step = chat_step(question.partition(".")[0])
    if step is None or question not in step.questions:
        return None
    if inbound.kind is Kind.TEXT:
        return await step.on_input(ctx, Answer(text=inbound.text))
    if inbound.kind is Kind.CONTACT and inbound.contact_phone:
        return await step.on_input(ctx, Answer(phone=inbound.contact_phone))
    return None


async def _take_proof(ctx: FlowContext, inbound: Inbound) -> Reply:
    upload = inbound.upload
    if inbound.kind is not Kind.UPLOAD or upload is None:
        return Reply([Message(ctx.t("proof.need_file"))], refused=True)
    if upload.kind not in (UploadKind.PHOTO, UploadKind.DOCUMENT):
        return Reply([Message(ctx.t("proof.wrong_kind"))], refused=True)
    if upload.size is not None and upload.size > MAX_PROOF_BYTES:
        return Reply([Message(ctx.t("proof.too_large", limit_mb=MAX_PROOF_BYTES // (1024 * 1024)))], refused=True)
    ctx.remember(
        file_kind=upload.kind.value,
        file_id=upload.file_id,
        file_unique_id=upload.file_unique_id,
        file_size=upload.size,
    )
    caption = inbound.text.strip()
    if caption and _REFERENCE.match(caption):
        return await _take_reference(ctx, caption)
    ctx.conversation.step = "pay.reference"
    return Reply([Message(ctx.t("proof.ask_reference"))])


async def _take_reference(ctx: FlowContext, typed: str) -> Reply:
    reference = " ".join(typed.split())
    if not _REFERENCE.match(reference):
        return Reply([Message(ctx.t("proof.bad_reference"))], refused=True)
    payment = await PaymentRepository(ctx.session).by_id(ctx.tenant.id, int(ctx.recall("payment_id", 0)))
    if payment is None or payment.status != PaymentStatus.AWAITING_PROOF:
        ctx.go("idle")
        return Reply([Message(ctx.t("proof.not_expected"))])
    now = ctx.clock.now()
    proof = Proof(
        tenant_id=ctx.tenant.id,
        payment_id=payment.id,
        file_kind=ctx.recall("file_kind"),
        file_id=ctx.recall("file_id"),
        file_unique_id=ctx.recall("file_unique_id"),
        file_size=ctx.recall("file_size"),
        reference_text=reference,
        status="submitted",
        created_at=now,
    )
    ctx.session.add(proof)
    await ctx.session.flush()
    applied = await apply_event(ctx.session, ctx.tenant.id, manual.submitted(payment, proof), ctx.clock)
    ctx.go("idle")
    if applied.result is not EventResult.APPLIED:
        await ctx.session.delete(proof)  # the payment moved on meanwhile: keep no orphan proof
        return Reply([Message(ctx.t("proof.not_expected"))])
    order = await OrderRepository(ctx.session).by_id(ctx.tenant.id, payment.order_id)
    assert order is not None
    return Reply(
        [
            Message(
                ctx.t("proof.received", code=order.code),
                keyboard([Button(ctx.t("button.my_orders"), data=MyOrders().pack())]),
            )
        ]
    )
