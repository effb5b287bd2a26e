"""Promo codes and the uses orders hold of them.

A use is counted in the code's row (``uses``) by one conditional UPDATE (``uses < max_uses``, the customer's own held
uses below ``per_customer``): concurrent redemptions of the last use leave one winner. An order's use is given back
by a conditional UPDATE of its redemption (``WHERE held``), so twice is once; both run in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import Order, PromoCode, PromoRedemption

_CODES = cast(Table, PromoCode.__table__)
_REDEMPTIONS = cast(Table, PromoRedemption.__table__)


class PromoRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_code(self, tenant_id: int, code: str) -> PromoCode | None:
        return await self.session.scalar(
            select(PromoCode)
            .where(PromoCode.tenant_id == tenant_id, PromoCode.code == code)
            .execution_options(populate_existing=True)
        )

    async def any_active(self, tenant_id: int) -> bool:
        """Whether the shop has a code customers can use (else checkout says nothing of codes)."""
        found = await self.session.scalar(
            select(PromoCode.id).where(PromoCode.tenant_id == tenant_id, PromoCode.status == "active").limit(1)
        )
        return found is not None

    async def elsewhere(self, tenant_id: int, code: str) -> bool:
        """Whether another shop has this code (the customer is told it is not this shop's)."""
        found = await self.session.scalar(
            select(PromoCode.id).where(PromoCode.tenant_id != tenant_id, PromoCode.code == code).limit(1)
        )
        return found is not None

    async def for_tenant(self, tenant_id: int) -> list[PromoCode]:
        return list(
            await self.session.scalars(
                select(PromoCode).where(PromoCode.tenant_id == tenant_id).order_by(PromoCode.status, PromoCode.code)
            )
        )

    async def set_status(self, tenant_id: int, code: str, allowed: tuple[str, ...], status: str) -> bool:
        moved = await self.session.execute(
            update(_CODES)
            .where(_CODES.c.tenant_id == tenant_id, _CODES.c.code == code, _CODES.c.status.in_(allowed))
            .values(status=status)
            .returning(_CODES.c.id)
        )
        return moved.first() is not None

    async def customer_uses(self, promo_id: int, customer_id: int) -> int:
        return int(
            await self.session.scalar(
                select(func.count())
                .select_from(_REDEMPTIONS)
                .where(_REDEMPTIONS.c.promo_id == promo_id, _REDEMPTIONS.c.customer_id == customer_id)
                .where(_REDEMPTIONS.c.held.is_(True))
            )
            or 0
        )

    async def take(self, promo: PromoCode, customer_id: int) -> bool:
        """Take one use of ``promo`` for the customer: false when none is left (or the customer's are spent). The
        order that holds it is recorded with :meth:`record`, in the same transaction."""
        held_by_customer = (
            select(func.count())
            .select_from(_REDEMPTIONS)
            .where(
                _REDEMPTIONS.c.promo_id == promo.id,
                _REDEMPTIONS.c.customer_id == customer_id,
                _REDEMPTIONS.c.held.is_(True),
            )
            .scalar_subquery()
        )
        taken = await self.session.execute(
            update(_CODES)
            .where(
                _CODES.c.id == promo.id,
                _CODES.c.status == "active",
                or_(_CODES.c.max_uses.is_(None), _CODES.c.uses < _CODES.c.max_uses),
                or_(_CODES.c.per_customer.is_(None), held_by_customer < _CODES.c.per_customer),
            )
            .values(uses=_CODES.c.uses + 1)
            .returning(_CODES.c.id)
        )
        return taken.first() is not None

    async def record(self, promo: PromoCode, order_id: int, customer_id: int, now: datetime) -> None:
        self.session.add(
            PromoRedemption(
                tenant_id=promo.tenant_id,
                promo_id=promo.id,
                order_id=order_id,
                customer_id=customer_id,
                held=True,
                created_at=now,
            )
        )
        await self.session.flush()

    async def release(self, order_id: int, now: datetime) -> bool:
        """Give back the use the order holds, if it holds one; true when this call gave it back."""
        let_go = await self.session.execute(
            update(_REDEMPTIONS)
            .where(_REDEMPTIONS.c.order_id == order_id, _REDEMPTIONS.c.held.is_(True))
            .values(held=False, released_at=now)
            .returning(_REDEMPTIONS.c.promo_id)
        )
        promo_id = let_go.scalar()
        if promo_id is None:
            return False
        await self.session.execute(
            update(_CODES).where(_CODES.c.id == promo_id, _CODES.c.uses > 0).values(uses=_CODES.c.uses - 1)
        )
        return True

    async def retake(self, order_id: int, now: datetime, *, force: bool = False) -> bool:
        """Hold again the use the order gave back (a new payment attempt). True when the order holds its use (or
        had none); false when the code has none left. ``force``: money arrived at the discounted price, so the use
        is counted even past the code's limit."""
        redemption = await self.session.scalar(
            select(PromoRedemption)
            .where(PromoRedemption.order_id == order_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if redemption is None or redemption.held:
            return True
        limit = or_(_CODES.c.max_uses.is_(None), _CODES.c.uses < _CODES.c.max_uses)
        taken = await self.session.execute(
            update(_CODES)
            .where(and_(_CODES.c.id == redemption.promo_id, limit) if not force else _CODES.c.id == redemption.promo_id)
            .values(uses=_CODES.c.uses + 1)
            .returning(_CODES.c.id)
        )
        if taken.first() is None:
            return False
        await self.session.execute(
            update(_REDEMPTIONS).where(_REDEMPTIONS.c.id == redemption.id).values(held=True, released_at=None)
        )
        return True

    async def hold_for(self, order: Order, now: datetime) -> bool:
        """Before a new payment attempt of ``order``: take back the use an ended attempt gave back. True when the
        order holds its use (or has no code); false when the code has none left, and then the order loses its
        discount here (its total goes back up), so that no attempt charges a discount the code no longer covers."""
        if order.promo_code is None or await self.retake(order.id, now):
            return True
        await self.session.execute(
            _REDEMPTIONS.delete().where(_REDEMPTIONS.c.order_id == order.id, _REDEMPTIONS.c.held.is_(False))
        )
        order.total_minor += order.discount_minor
        order.discount_minor = 0
        order.promo_code = None
        order.updated_at = now
        await self.session.flush()
        return False
