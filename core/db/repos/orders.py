from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value

from core.db.repos.promos import PromoRepository
from core.db.tables import Customer, Order, OrderItem, Payment, Product, Proof, Tenant, TenantAdmin

_PAYMENTS = cast(Table, Payment.__table__)
_ORDERS = cast(Table, Order.__table__)

# A transition's conditional moves, built once (a hot path: building a statement costs more than running it). The
# values to set come with each execution, as parameters named after their columns; the statement returns the row's id
# when it moved, nothing when the row was not in an allowed state.
_MOVE_PAYMENT = (
    update(_PAYMENTS)
    .where(_PAYMENTS.c.id == bindparam("moving"), _PAYMENTS.c.status.in_(bindparam("allowed", expanding=True)))
    .returning(_PAYMENTS.c.id)
)
_MOVE_ORDER = (
    update(_ORDERS)
    .where(
        _ORDERS.c.tenant_id == bindparam("of_tenant"),
        _ORDERS.c.id == bindparam("moving"),
        _ORDERS.c.status.in_(bindparam("allowed", expanding=True)),
    )
    .returning(_ORDERS.c.id)
)


async def _move_loaded(
    session: AsyncSession, statement: Any, row: Any, where: dict[str, object], values: dict[str, object]
) -> bool:
    """Run a conditional move of ``row`` (loaded in ``session``) and, when it moved, give ``row`` the values written
    as its committed state: the statement says what it changed, so no refresh and no fetch follow."""
    moved = (await session.execute(statement, {**where, **values})).first() is not None
    if moved:
        for key, value in values.items():
            set_committed_value(row, key, value)
    return moved


# Everything a payment's transition reads and tells, in one statement: a row for each line of the order and, when
# the shop has no alert group, each of its admins (whose private chats get the merchant's alerts instead, each in the
# language its admin chose: ``TenantRepository.alert_readers``).
_PARTIES = (
    select(Payment, Order, Tenant, Customer, OrderItem, Product.stock, TenantAdmin.tg_user_id, TenantAdmin.language)
    .join(Order, Order.id == Payment.order_id)
    .join(Tenant, Tenant.id == Payment.tenant_id)
    .join(Customer, Customer.id == Order.customer_id)
    .outerjoin(OrderItem, OrderItem.order_id == Order.id)
    .outerjoin(Product, and_(Product.id == OrderItem.product_id, Product.tenant_id == Order.tenant_id))
    .outerjoin(TenantAdmin, and_(TenantAdmin.tenant_id == Tenant.id, Tenant.alert_chat_id.is_(None)))
    .where(Payment.reference == bindparam("reference"), Payment.tenant_id == bindparam("of_tenant"))
    .order_by(OrderItem.id, TenantAdmin.id)
    .with_for_update(of=Payment, key_share=True)
    .options(lazyload(Order.items))  # not loaded by the relationship: the lines come in the rows
    .execution_options(populate_existing=True)
)


class Parties(NamedTuple):
    """Everything a payment's transition reads and tells, read in one statement (``PaymentRepository.with_parties``)."""

    payment: Payment
    order: Order  # with its lines
    tenant: Tenant
    customer: Customer
    counted: frozenset[int]  # the order's products whose stock is counted, as read (``payments.stock``)
    # Where the merchant's alerts go and the language each chat reads (``TenantRepository.alert_readers``).
    alert_readers: tuple[tuple[int, str], ...]


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_id(self, tenant_id: int, order_id: int) -> Order | None:
        return await self.session.scalar(select(Order).where(Order.tenant_id == tenant_id, Order.id == order_id))

    async def by_code(self, tenant_id: int, code: str) -> Order | None:
        return await self.session.scalar(
            select(Order).where(Order.tenant_id == tenant_id, Order.code == code.strip().upper())
        )

    async def code_taken(self, tenant_id: int, code: str) -> bool:
        return (
            await self.session.scalar(select(Order.id).where(Order.tenant_id == tenant_id, Order.code == code))
            is not None
        )

    async def for_customer(self, tenant_id: int, customer_id: int, limit: int = 10) -> list[Order]:
        rows = await self.session.scalars(
            select(Order)
            .where(Order.tenant_id == tenant_id, Order.customer_id == customer_id)
            .order_by(Order.id.desc())
            .limit(limit)
        )
        return list(rows)

    async def move(self, tenant_id: int, order_id: int, allowed: Iterable[str], new_status: str, now: datetime) -> bool:
        """Conditional transition: true when this call moved the order, false when it was not in an allowed state."""
        result = await self.session.execute(
            update(Order)
            .where(Order.tenant_id == tenant_id, Order.id == order_id, Order.status.in_(list(allowed)))
            .values(status=new_status, updated_at=now)
            .execution_options(synchronize_session="fetch")
        )
        moved = bool(getattr(result, "rowcount", 0))
        if moved and new_status == "cancelled":  # a cancelled order gives its promo use back, in this transaction
            await PromoRepository(self.session).release(order_id, now)
        return moved

    async def move_loaded(self, order: Order, allowed: Iterable[str], new_status: str, now: datetime) -> bool:
        """``move`` for an order loaded in this session: one statement, and ``order`` shows the move."""
        where = {"of_tenant": order.tenant_id, "moving": order.id, "allowed": sorted(allowed)}
        return await _move_loaded(self.session, _MOVE_ORDER, order, where, {"status": new_status, "updated_at": now})


class PaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_reference(self, reference: str) -> Payment | None:
        return await self.session.scalar(select(Payment).where(Payment.reference == reference))

    async def by_id(self, tenant_id: int, payment_id: int) -> Payment | None:
        return await self.session.scalar(
            select(Payment).where(Payment.tenant_id == tenant_id, Payment.id == payment_id)
        )

    async def with_parties(self, tenant_id: int, reference: str) -> Parties | None:
        """The tenant's payment with this reference, its order with its lines, the tenant and the customer, read
        fresh in one statement (``_PARTIES``), with which of the lines' products count their stock and where the
        merchant's alerts go, in which language.

        The payment's row is locked as it is read (PostgreSQL): a transition waiting on another one's move of the
        same payment reads the payment as that one left it, not as it was before, so no refresh is needed after.
        ``FOR NO KEY UPDATE``, the lock an UPDATE of the row takes: a row that refers to the payment (an event, a
        refund) holds a key share of it, which a plain ``FOR UPDATE`` would wait on, and two such waits deadlock."""
        rows = (await self.session.execute(_PARTIES, {"reference": reference, "of_tenant": tenant_id})).all()
        if not rows:
            return None
        payment, order, tenant, customer = rows[0][:4]
        # Rows are lines x admins: each line and each admin once, in their order.
        lines = list(dict.fromkeys(row.OrderItem for row in rows if row.OrderItem is not None))
        set_committed_value(order, "items", lines)
        counted = frozenset(row.OrderItem.product_id for row in rows if row.stock is not None)
        shop_language = tenant.language
        if tenant.alert_chat_id is not None:  # a group has many readers: the shop's language
            readers: tuple[tuple[int, str], ...] = ((tenant.alert_chat_id, shop_language),)
        else:
            readers = tuple(
                dict.fromkeys(
                    (row.tg_user_id, row.language or shop_language) for row in rows if row.tg_user_id is not None
                )
            )
        return Parties(payment, order, tenant, customer, counted, readers)

    async def lock(self, payment_id: int) -> None:
        """Hold the payment's row until the transaction ends. Work that touches a payment's refunds takes this lock
        first, so two such transactions always lock in the same order (PostgreSQL would otherwise find a deadlock
        between one that updated a refund and then recorded an event, and one that did the two the other way)."""
        await self.session.execute(select(Payment.id).where(Payment.id == payment_id).with_for_update())

    async def by_callback_token(self, token: str) -> Payment | None:
        return await self.session.scalar(select(Payment).where(Payment.callback_token == token))

    async def with_tenant_by_callback_token(self, token: str) -> tuple[Payment, Tenant] | None:
        row = (
            await self.session.execute(
                select(Payment, Tenant)
                .join(Tenant, Tenant.id == Payment.tenant_id)
                .where(Payment.callback_token == token)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def for_order(self, tenant_id: int, order_id: int) -> list[Payment]:
        rows = await self.session.scalars(
            select(Payment).where(Payment.tenant_id == tenant_id, Payment.order_id == order_id).order_by(Payment.id)
        )
        return list(rows)

    async def latest_for_order(self, tenant_id: int, order_id: int) -> Payment | None:
        return await self.session.scalar(
            select(Payment)
            .where(Payment.tenant_id == tenant_id, Payment.order_id == order_id)
            .order_by(Payment.id.desc())
            .limit(1)
        )

    async def move_loaded(
        self, payment: Payment, allowed: Iterable[str], new_status: str, now: datetime, **values: object
    ) -> bool:
        """Conditional transition of a payment loaded in this session: true when this call moved it, false when it
        was not in an allowed state. One statement, and ``payment`` shows the move."""
        where = {"moving": payment.id, "allowed": sorted(allowed)}
        changes = {"status": new_status, "updated_at": now, **values}
        return await _move_loaded(self.session, _MOVE_PAYMENT, payment, where, changes)

    async def proof(self, tenant_id: int, proof_id: int) -> Proof | None:
        return await self.session.scalar(select(Proof).where(Proof.tenant_id == tenant_id, Proof.id == proof_id))

    async def latest_proof(self, payment_id: int) -> Proof | None:
        return await self.session.scalar(
            select(Proof).where(Proof.payment_id == payment_id).order_by(Proof.id.desc()).limit(1)
        )

    async def proofs_waiting(self, tenant_id: int) -> list[Proof]:
        rows = await self.session.scalars(
            select(Proof).where(Proof.tenant_id == tenant_id, Proof.status == "submitted").order_by(Proof.id)
        )
        return list(rows)
