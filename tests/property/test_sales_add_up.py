"""``/sales`` adds up, whatever happened: for any run of payments (paid at once, held for review then accepted or
not), refunds (partial, whole, "all of it", too much) and test orders, spread over months, every period reports
gross − refunds = net, and the periods together report what the orders hold: the money that came in and the money
that went back. The payments and refunds go through the real ``payments.service.apply_event``."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from admin import sales
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Customer, Order, OrderItem, Payment, Tenant
from core.money import Money
from core.shoptime import shop_zone
from core.vault import Vault
from flows.inbound import Inbound
from payments.attempts import open_payment
from payments.base import Outcome, ProviderEvent
from payments.service import apply_event
from payments.states import OrderStatus, PaymentStatus
from tests.property.conftest import profile
from tests.support.refunds import as_admin
from tests.support.seed import Shop, seed_shop

PRICE = 35000  # KES 350
_shops = itertools.count(1)


@dataclass(frozen=True)
class Sale:
    """An order of ``quantity``, paid ``short`` of its total (held for review) or in full, maybe a test order."""

    quantity: int
    short: int
    accepted: bool
    is_test: bool


@dataclass(frozen=True)
class Refund:
    """A refund of ``amount`` (None: all that is left) of the ``which``-th order's payment."""

    which: int
    amount: int | None


steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=24 * 40),  # hours before the step: runs span months
        st.one_of(
            st.builds(
                Sale,
                quantity=st.integers(1, 3),
                short=st.sampled_from([0, 0, 0, 5000]),
                accepted=st.booleans(),
                is_test=st.sampled_from([False, False, False, True]),
            ),
            st.builds(Refund, which=st.integers(0, 20), amount=st.one_of(st.none(), st.integers(1, 3 * PRICE + 1))),
        ),
    ),
    min_size=1,
    max_size=12,
)


async def place(database: Database, clock: FakeClock, shop: Shop, sale: Sale) -> Payment:
    now = clock.now()
    async with database.uow() as uow:
        customer = await uow.session.scalar(select(Customer).where(Customer.tenant_id == shop.tenant_id))
        if customer is None:
            customer = Customer(
                tenant_id=shop.tenant_id, tg_user_id=5001, chat_id=5001, display_name="W", created_at=now
            )
            uow.session.add(customer)
            await uow.session.flush()
        count = await uow.session.scalar(select(func.count(Order.id)).where(Order.tenant_id == shop.tenant_id))
        order = Order(
            tenant_id=shop.tenant_id,
            customer_id=customer.id,
            code=f"PT{(count or 0) + 1:04d}",
            status=OrderStatus.AWAITING_PAYMENT.value,
            total_minor=PRICE * sale.quantity,
            currency="KES",
            contact_name="Wanjiru Kamau",
            contact_phone="+254712345678",
            delivery_method="pickup",
            is_test=sale.is_test,
            created_at=now,
            updated_at=now,
        )
        order.items = [OrderItem(sku="TEA", name="Kericho tea", unit_price_minor=PRICE, quantity=sale.quantity)]
        uow.session.add(order)
        await uow.session.flush()
        payment = await open_payment(uow.session, order, "manual", PaymentStatus.AWAITING_PROOF, now)
        payment.is_test = sale.is_test
        await uow.commit()
    await event(database, clock, shop, payment, Outcome.PAID, Money(payment.amount_minor - sale.short, "KES"))
    if sale.short and sale.accepted:
        clock.advance(minutes=30)
        await event(database, clock, shop, payment, Outcome.ACCEPTED, None)
    return payment


async def event(
    database: Database, clock: FakeClock, shop: Shop, payment: Payment, outcome: Outcome, amount: Money | None
) -> None:
    key = f"{outcome.value}:{payment.id}:{clock.now().isoformat()}"
    fact = ProviderEvent(
        provider="manual",
        event_key=key,
        payment_reference=payment.reference,
        outcome=outcome,
        amount=amount,
        provider_txn_id=f"TXN{payment.id}" if outcome is Outcome.PAID else None,
    )
    async with database.uow() as uow:
        await apply_event(uow.session, shop.tenant_id, fact, clock)
        await uow.commit()


async def held_by_the_orders(database: Database, shop: Shop) -> tuple[int, int]:
    """What the shop's real orders hold: the money that came in, and the money that went back."""
    async with database.uow() as uow:
        rows = await uow.session.execute(
            select(Payment.paid_minor, Payment.amount_minor, Payment.refunded_minor).where(
                Payment.tenant_id == shop.tenant_id,
                Payment.is_test.is_(False),
                Payment.status.in_(["paid", "partially_refunded", "refunded"]),
            )
        )
        came_in = went_back = 0
        for paid, expected, refunded in rows:
            came_in += expected if paid is None else paid
            went_back += refunded
        return came_in, went_back


# Each example seeds a shop and runs the real service: fewer examples by default, the profile's count under `make fuzz`.
_FEWER = settings(max_examples=25) if profile() == "default" else settings()


@_FEWER
@given(run=steps)
async def test_sales_add_up_over_any_run_of_payments_and_refunds(
    database: Database, vault: Vault, run: list[tuple[int, Sale | Refund]]
) -> None:
    clock = FakeClock()
    number = next(_shops)
    shop = await seed_shop(
        database, vault, clock, slug=f"shop-{number}", bot_token=f"{100000 + number}:AAE-property-{number:06d}"
    )
    began = clock.now()
    payments: list[Payment] = []
    for hours, step in run:
        clock.advance(hours=hours, minutes=7)
        if isinstance(step, Sale):
            payments.append(await place(database, clock, shop, step))
        elif payments:
            payment = payments[step.which % len(payments)]
            amount = None if step.amount is None else Money(step.amount, "KES")
            await event(database, clock, shop, payment, Outcome.REFUNDED, amount)

    came_in, went_back = await held_by_the_orders(database, shop)
    gross = refunds = 0
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, shop.tenant_id)
        assert tenant is not None
        zone = shop_zone(tenant)
        month = began.astimezone(zone).replace(day=1, hour=12)
        last = clock.now().astimezone(zone)
        while (month.year, month.month) <= (last.year, last.month):  # a run ending before noon on the 1st included
            report = await sales.compute(uow.session, tenant, "month", month)
            assert report.gross - report.refunds == report.net
            assert sum(report.by_provider.values()) == report.gross
            gross, refunds = gross + report.gross, refunds + report.refunds
            month = (month + timedelta(days=32)).replace(day=1)
    assert (gross, refunds) == (came_in, went_back)

    # What the merchant reads for the month they are in is the same figures, in words.
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, shop.tenant_id)
        assert tenant is not None
        now = await sales.compute(uow.session, tenant, "month", clock.now())
    reply = await as_admin(database, clock, shop.tenant_id, shop.admin_id, Inbound.cmd("sales", "month"))
    lines = reply.messages[0].text.split("\n")
    assert lines[1:4] == [
        f"Gross sales: {now.money(now.gross)} (orders paid: {now.paid_orders})",
        f"Refunds: {now.money(now.refunds)}",
        f"Net: {now.money(now.net)}",
    ]
