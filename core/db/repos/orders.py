from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import Customer, Order, Payment, Proof, Tenant


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
        return bool(getattr(result, "rowcount", 0))


class PaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_reference(self, reference: str) -> Payment | None:
        return await self.session.scalar(select(Payment).where(Payment.reference == reference))

    async def by_id(self, tenant_id: int, payment_id: int) -> Payment | None:
        return await self.session.scalar(
            select(Payment).where(Payment.tenant_id == tenant_id, Payment.id == payment_id)
        )

    async def with_parties(self, tenant_id: int, reference: str) -> tuple[Payment, Order, Tenant, Customer] | None:
        """The tenant's payment with this reference, its order (with its lines), the tenant and the customer, read
        fresh in one query (plus the order's lines): everything a payment's transition reads and tells.

        The payment's row is locked as it is read (PostgreSQL): a transition waiting on another one's move of the
        same payment reads the payment as that one left it, not as it was before, so no refresh is needed after.
        ``FOR NO KEY UPDATE``, the lock an UPDATE of the row takes: the event row inserted just before holds a key
        share of it (its foreign key), which a plain ``FOR UPDATE`` would wait on, and two such waits deadlock."""
        row = (
            await self.session.execute(
                select(Payment, Order, Tenant, Customer)
                .join(Order, Order.id == Payment.order_id)
                .join(Tenant, Tenant.id == Payment.tenant_id)
                .join(Customer, Customer.id == Order.customer_id)
                .where(Payment.reference == reference, Payment.tenant_id == tenant_id)
                .with_for_update(of=Payment, key_share=True)
                .execution_options(populate_existing=True)
            )
        ).first()
        if row is None:
            return None
        payment, order, tenant, customer = row
        return payment, order, tenant, customer

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

    async def move(
        self, payment_id: int, allowed: Iterable[str], new_status: str, now: datetime, **values: object
    ) -> bool:
        result = await self.session.execute(
            update(Payment)
            .where(Payment.id == payment_id, Payment.status.in_(list(allowed)))
            .values(status=new_status, updated_at=now, **values)
            .execution_options(synchronize_session="fetch")
        )
        return bool(getattr(result, "rowcount", 0))

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
