"""The merchant's orders: ``/orders [STATUS]`` with paging, ``/order ID`` with its whole history, ``/ship ID [NOTE]``
(the customer is told), and cancelling an unpaid order. Every change is audited and every message it causes goes
through the outbox with its own dedupe key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from admin import audit
from core import outbox
from core.callbacks import action
from core.clock import utc
from core.db.repos.customers import CustomerRepository
from core.db.repos.orders import OrderRepository, PaymentRepository
from core.db.tables import AuditEntry, Order, OutboxMessage, PaymentEvent, Proof
from core.messages import Button, Message, keyboard
from core.money import Money
from core.texts import text
from flows.context import FlowContext, Reply
from payments.states import ORDER_CAN_BE_CANCELLED, ORDER_CAN_BE_SHIPPED, OrderStatus, PaymentStatus

PAGE = 8
# Status filters by small number, for buttons (callback data carries integers only). 0 is "all".
STATUSES: tuple[str, ...] = ("all", *(status.value for status in OrderStatus))
MAX_NOTE = 300
HISTORY_LINES = 30


def status_code(name: str) -> int | None:
    name = name.strip().lower()
    aliases = {"": "all", "unpaid": "awaiting_payment", "review": "needs_review", "to_ship": "paid"}
    name = aliases.get(name, name)
    return STATUSES.index(name) if name in STATUSES else None


async def list_orders(ctx: FlowContext, status: int, page: int, *, edit: bool = False) -> Message:
    name = STATUSES[status] if 0 <= status < len(STATUSES) else "all"
    query = select(Order).where(Order.tenant_id == ctx.tenant.id)
    if name != "all":
        query = query.where(Order.status == name)
    total = int(await ctx.session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    pages = max(1, -(-total // PAGE))
    page = min(max(page, 0), pages - 1)
    orders = list(await ctx.session.scalars(query.order_by(Order.id.desc()).offset(page * PAGE).limit(PAGE)))
    label = ctx.t("admin.orders.all") if name == "all" else ctx.t(f"order.status.{name}")
    if not orders:
        return Message(ctx.t("admin.orders.none", status=label), keyboard(_filters(ctx)), edit=edit)
    lines = [ctx.t("admin.orders.title", status=label, page=page + 1, pages=pages, total=total)]
    rows: list[list[Button]] = []
    for order in orders:
        lines.append(_line(ctx, order))
        rows.append(
            [Button(f"{order.code} · {Money(order.total_minor, order.currency).format()}", data=action("mo", order.id))]
        )
    paging = []
    if page > 0:
        paging.append(Button(ctx.t("button.previous"), data=action("ol", status, page - 1)))
    if page + 1 < pages:
        paging.append(Button(ctx.t("button.next"), data=action("ol", status, page + 1)))
    return Message("\n".join(lines), keyboard(*rows, paging, _filters(ctx)), edit=edit)


def _filters(ctx: FlowContext) -> list[Button]:
    return [
        Button(ctx.t("admin.orders.filter_ship"), data=action("ol", STATUSES.index("paid"), 0)),
        Button(ctx.t("admin.orders.filter_unpaid"), data=action("ol", STATUSES.index("awaiting_payment"), 0)),
        Button(ctx.t("admin.orders.filter_all"), data=action("ol", 0, 0)),
    ]


def _line(ctx: FlowContext, order: Order) -> str:
    test = " " + ctx.t("admin.orders.test_mark") if order.is_test else ""
    return ctx.t(
        "admin.orders.line",
        code=order.code,
        status=ctx.t(f"order.status.{order.status}"),
        amount=Money(order.total_minor, order.currency).format(),
        name=order.contact_name,
        date=utc(order.created_at).strftime("%d %b %H:%M"),
        test=test,
    )


async def find(ctx: FlowContext, ident: str) -> Order | None:
    ident = ident.strip().lstrip("#")
    if not ident or len(ident) > 12:
        return None
    return await OrderRepository(ctx.session).by_code(ctx.tenant.id, ident)


async def card(ctx: FlowContext, order: Order | None, ident: str = "?") -> Message:
    """One order: contents, payments, and its whole history (events, decisions, messages sent)."""
    if order is None:
        return Message(ctx.t("admin.no_such_order", code=ident[:20] or "?"))
    payments_repo = PaymentRepository(ctx.session)
    payments = await payments_repo.for_order(ctx.tenant.id, order.id)
    items = "\n".join(f"• {i.name} × {i.quantity}" for i in order.items)
    lines = [
        ctx.t(
            "admin.order_card",
            code=order.code,
            status=ctx.t(f"order.status.{order.status}"),
            amount=Money(order.total_minor, order.currency).format(),
            customer=order.contact_name,
            phone=order.contact_phone,
            where=order.delivery_address or ctx.t("checkout.pickup"),
            items=items,
        )
    ]
    if order.is_test:
        lines.append(ctx.t("admin.orders.is_test"))
    if order.tracking_note:
        lines.append(ctx.t("admin.orders.tracking", note=order.tracking_note))
    lines += [
        ctx.t(
            "admin.order_payment",
            provider=ctx.t(f"provider.{p.provider}"),
            status=p.status,
            txn=p.provider_txn_id or "—",
        )
        for p in payments
    ]
    history = await _history(ctx, order, [p.id for p in payments])
    if history:
        lines.append(ctx.t("admin.orders.history"))
        lines += history
    rows: list[list[Button]] = []
    for payment in payments:
        if payment.status == PaymentStatus.NEEDS_REVIEW and order.status == OrderStatus.NEEDS_REVIEW:
            rows.append([Button(ctx.t("admin.button.accept_payment"), data=action("acc", payment.id))])
        if payment.status != PaymentStatus.UNDER_REVIEW:
            continue
        proof = await payments_repo.latest_proof(payment.id)
        if proof is not None:
            rows.append(
                [
                    Button(ctx.t("button.approve"), data=action("ap", proof.id)),
                    Button(ctx.t("button.reject"), data=action("rj", proof.id)),
                ]
            )
    if order.status in ORDER_CAN_BE_SHIPPED:
        rows.append([Button(ctx.t("admin.button.ship"), data=action("sh", order.id))])
    if order.status in ORDER_CAN_BE_CANCELLED:
        rows.append([Button(ctx.t("admin.button.cancel_order"), data=action("oc", order.id))])
    rows.append([Button(ctx.t("admin.button.menu"), data=action("am", 0))])
    return Message("\n".join(lines), keyboard(*rows))


async def _history(ctx: FlowContext, order: Order, payment_ids: list[int]) -> list[str]:
    entries: list[tuple[datetime, str]] = [(utc(order.created_at), ctx.t("admin.history.created"))]
    if payment_ids:
        events = await ctx.session.scalars(
            select(PaymentEvent).where(
                PaymentEvent.tenant_id == ctx.tenant.id, PaymentEvent.payment_id.in_(payment_ids)
            )
        )
        for event in events:
            entries.append(
                (
                    utc(event.received_at),
                    ctx.t(
                        "admin.history.event",
                        provider=ctx.t(f"provider.{event.provider}"),
                        outcome=event.outcome,
                        result=event.result,
                        reason=f" – {event.reason}" if event.reason else "",
                    ),
                )
            )
    audits = await ctx.session.scalars(
        select(AuditEntry).where(AuditEntry.tenant_id == ctx.tenant.id, AuditEntry.target == order.code)
    )
    for entry in audits:
        entries.append((utc(entry.at), ctx.t("admin.history.audit", action=entry.action, actor=entry.actor_tg_id)))
    for row in await _messages(ctx, order, payment_ids):
        preview = " ".join(str(row.payload.get("text", "")).split())[:50]
        entries.append((utc(row.created_at), ctx.t("admin.history.message", status=row.status, preview=preview)))
    entries.sort(key=lambda entry: entry[0])
    shown = entries[-HISTORY_LINES:]
    return [f"{at.strftime('%d %b %H:%M')} {what}" for at, what in shown]


async def _messages(ctx: FlowContext, order: Order, payment_ids: list[int]) -> list[OutboxMessage]:
    """The outbox rows owed because of this order: keyed by its payments, its proofs, or the order itself."""
    proof_ids = (
        list(
            await ctx.session.scalars(
                select(Proof.id).where(Proof.tenant_id == ctx.tenant.id, Proof.payment_id.in_(payment_ids))
            )
        )
        if payment_ids
        else []
    )
    patterns = [f"order:{order.id}:%"]
    for payment_id in payment_ids:
        patterns += [f"%:{payment_id}", f"%:{payment_id}:%"]
    for proof_id in proof_ids:
        patterns += [f"proof:{proof_id}", f"proof:{proof_id}:%"]
    rows = await ctx.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.tenant_id == ctx.tenant.id, or_(*(OutboxMessage.dedupe_key.like(p) for p in patterns)))
        .order_by(OutboxMessage.id)
    )
    return [row for row in rows if _belongs(row.dedupe_key, order.id, payment_ids, proof_ids)]


def _belongs(key: str, order_id: int, payment_ids: list[int], proof_ids: list[int]) -> bool:
    """LIKE is coarse (``%:1`` also matches ``relay:dead:21``): check the key's own shape."""
    parts = key.split(":")
    head = parts[0]
    if head == "order":
        return parts[1:2] == [str(order_id)]
    if head == "proof":
        return len(parts) > 1 and parts[1].isdecimal() and int(parts[1]) in proof_ids
    if head in ("receipt", "paid", "payment", "review", "refund"):
        return len(parts) > 1 and parts[1].isdecimal() and int(parts[1]) in payment_ids
    return False


async def ship(ctx: FlowContext, order: Order | None, note: str, ident: str = "?") -> Reply:
    if order is None:
        return Reply([Message(ctx.t("admin.no_such_order", code=ident[:20] or "?"))], refused=True)
    note = " ".join(note.split())[:MAX_NOTE]
    now = ctx.clock.now()
    moved = await OrderRepository(ctx.session).move(
        ctx.tenant.id, order.id, ORDER_CAN_BE_SHIPPED, OrderStatus.SHIPPED, now
    )
    if not moved:
        status = ctx.t(f"order.status.{order.status}")
        return Reply([Message(ctx.t("admin.ship.not_shippable", code=order.code, status=status))], refused=True)
    order.shipped_at = now
    order.tracking_note = note or None
    audit.record(ctx, "order.shipped", order.code, note=note or None)
    customer = await CustomerRepository(ctx.session).by_id(ctx.tenant.id, order.customer_id)
    if customer is not None:
        told = text("order.shipped_notice", customer.language, code=order.code)
        if note:
            told += "\n" + text("order.shipped_note", customer.language, note=note)
        await outbox.enqueue(
            ctx.session,
            tenant_id=ctx.tenant.id,
            chat_id=customer.chat_id,
            dedupe_key=f"order:{order.id}:shipped",
            message=Message(told),
            now=now,
        )
    return Reply([Message(ctx.t("admin.ship.done", code=order.code))], notice=ctx.t("admin.ship.done", code=order.code))


def ask_cancel(ctx: FlowContext, order: Order | None) -> Reply:
    if order is None:
        return Reply(notice=ctx.t("error.stale_button"))
    if order.status not in ORDER_CAN_BE_CANCELLED:
        return Reply([Message(ctx.t("admin.cancel.not_cancellable", code=order.code))], refused=True)
    return Reply(
        [
            Message(
                ctx.t("admin.cancel.confirm", code=order.code),
                keyboard(
                    [Button(ctx.t("admin.button.confirm_cancel"), data=action("ocy", order.id))],
                    [Button(ctx.t("admin.button.keep_order"), data=action("mo", order.id))],
                ),
            )
        ]
    )


async def cancel(ctx: FlowContext, order: Order | None) -> Reply:
    if order is None:
        return Reply(notice=ctx.t("error.stale_button"))
    now = ctx.clock.now()
    moved = await OrderRepository(ctx.session).move(
        ctx.tenant.id, order.id, ORDER_CAN_BE_CANCELLED, OrderStatus.CANCELLED, now
    )
    if not moved:
        return Reply([Message(ctx.t("admin.cancel.not_cancellable", code=order.code))], refused=True)
    audit.record(ctx, "order.cancelled", order.code)
    customer = await CustomerRepository(ctx.session).by_id(ctx.tenant.id, order.customer_id)
    if customer is not None:
        await outbox.enqueue(
            ctx.session,
            tenant_id=ctx.tenant.id,
            chat_id=customer.chat_id,
            dedupe_key=f"order:{order.id}:cancelled",
            message=Message(text("order.cancelled_by_shop", customer.language, code=order.code)),
            now=now,
        )
    return Reply([Message(ctx.t("admin.cancel.done", code=order.code))])
