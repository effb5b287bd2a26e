"""The Paybill fallback: matching a C2B confirmation to an order by its account number.

The customer types the order code as the account number. It is normalised (case, spaces, dashes, stray symbols) and
looked up among the tenant's orders:

* exact match: the money goes to the order's open M-Pesa attempt (or a new one), through ``apply_event``; a partial
  or over payment, or one for an order that is no longer awaiting payment, lands in ``needs_review`` there;
* one near match (one character off, or the code inside extra words): parked as ``needs_review`` on that order,
  never paid automatically;
* nothing: recorded as an unmatched event (``payment_events`` with no payment) and the merchant is alerted.

Each receipt is claimed first (``mpesa_c2b_receipts``, unique per tenant): a second copy of a confirmation, even one
arriving at the same moment, finds the claim and changes nothing. A receipt already reported another way (the STK
callback of the same payment) is a duplicate too; the route then rolls back, so a duplicate leaves no row behind.

The URL token of the C2B routes is the tenant's own random C2B secret (``c2b_secret`` in the M-Pesa secrets bundle,
made by ``provider register-c2b``, rotated by ``provider rotate-c2b``), never derived from another secret.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.insert import insert_if_absent
from core.db.repos.orders import OrderRepository
from core.db.tables import Order, Payment, PaymentEvent, Tenant
from core.messages import Message
from core.money import Money
from core.texts import text
from payments import attempts, notices
from payments.attempts import open_payment
from payments.base import Outcome, ProviderEvent, ReviewWord
from payments.mpesa.codes import C2BRejectCode
from payments.mpesa.provider import NAME, jsonable, receipt_key
from payments.mpesa.tables import C2BReceipt
from payments.mpesa.wire import C2BPayment, c2b_accept, c2b_reject
from payments.service import Applied, EventResult, apply_event
from payments.states import OrderStatus, PaymentStatus

_NOT_CODE = re.compile(r"[^A-Z0-9]")
NEAR_MATCH_WINDOW = 500  # how many recent orders awaiting payment a mistyped account number is compared with


def new_c2b_secret() -> str:
    """A tenant's C2B URL secret: 160 random bits as 40 hex characters (hex spells no word Daraja refuses)."""
    return secrets.token_hex(20)


def c2b_urls(public_url: str, slug: str, c2b_secret: str) -> tuple[str, str]:
    """The confirmation and validation URLs of a tenant (``POST /pay/c2b/{tenant}/{secret}/confirm|validate``)."""
    base = f"{public_url.rstrip('/')}/pay/c2b/{slug}/{c2b_secret}"
    return f"{base}/confirm", f"{base}/validate"


def token_matches(given: str, c2b_secret: str) -> bool:
    """Whether a C2B URL carries the tenant's secret; a tenant without one (never registered) matches nothing."""
    return bool(c2b_secret) and hmac.compare_digest(given.encode(), c2b_secret.encode())


async def claim_receipt(
    session: AsyncSession, tenant_id: int, receipt: str, now: datetime, *, status: str = "applied", **values: Any
) -> bool:
    """Claim a receipt before anything is done with it; False when a confirmation of it came before (or is being
    handled right now: the database makes the second claim wait for the first transaction and then refuse)."""
    claimed = await insert_if_absent(
        session,
        C2BReceipt.__table__,  # type: ignore[arg-type]
        {"tenant_id": tenant_id, "receipt": receipt.strip().upper(), "status": status, "created_at": now, **values},
    )
    return claimed is not None


def account_code(bill_ref: str) -> str:
    """What the customer typed, as an order code: upper case, letters and digits only."""
    return _NOT_CODE.sub("", bill_ref.upper())


def _one_edit_apart(a: str, b: str) -> bool:
    """One character substituted, added, dropped, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


@dataclass(frozen=True, slots=True)
class Match:
    order: Order
    exact: bool


async def find_order(session: AsyncSession, tenant_id: int, bill_ref: str) -> Match | None:
    code = account_code(bill_ref)
    if not code:
        return None
    orders = OrderRepository(session)
    exact = await orders.by_code(tenant_id, code)
    if exact is not None:
        return Match(exact, True)
    waiting = list(
        await session.scalars(
            select(Order)
            .where(Order.tenant_id == tenant_id, Order.status == OrderStatus.AWAITING_PAYMENT.value)
            .order_by(Order.id.desc())
            .limit(NEAR_MATCH_WINDOW)
        )
    )
    near = [o for o in waiting if _one_edit_apart(code, o.code) or (len(o.code) >= 5 and o.code in code)]
    return Match(near[0], False) if len(near) == 1 else None


async def _target_payment(session: AsyncSession, order: Order, tenant: Tenant, now_clock: Clock) -> Payment:
    """The order's open M-Pesa attempt, or a new one for this Paybill payment."""
    open_attempt = await session.scalar(
        select(Payment)
        .where(
            Payment.tenant_id == order.tenant_id,
            Payment.order_id == order.id,
            Payment.provider == NAME,
            Payment.status.in_([PaymentStatus.CREATED.value, PaymentStatus.PENDING.value]),
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )
    if open_attempt is not None:
        return open_attempt
    now = now_clock.now()
    await attempts.supersede_open(session, order, now_clock)  # paid by Paybill: an open Paystack link gives way
    opened = await open_payment(
        session,
        order,
        NAME,
        PaymentStatus.PENDING,
        now,
        expires_at=now + timedelta(minutes=tenant.payment_timeout_minutes),
    )
    if opened is None:  # one was opened meanwhile (one open attempt per order): the money goes to it
        opened = await attempts.open_attempt(session, order)
        assert opened is not None
    return opened


async def _seen(session: AsyncSession, tenant_id: int, key: str) -> bool:
    found = await session.scalar(
        select(PaymentEvent.id)
        .where(PaymentEvent.tenant_id == tenant_id, PaymentEvent.provider == NAME, PaymentEvent.event_key == key)
        .limit(1)
    )
    return found is not None


async def already_reported(session: AsyncSession, tenant_id: int, receipt: str) -> bool:
    """Whether a payment event of the tenant already carries this receipt (an STK callback, or an applied C2B)."""
    return await _seen(session, tenant_id, receipt_key(tenant_id, receipt))


async def first_report(session: AsyncSession, tenant_id: int, payment: C2BPayment, now: datetime, **claim: Any) -> bool:
    """Claim the receipt of a confirmation; False when it was claimed before or already reported by an STK callback
    (the caller then rolls back, so a duplicate leaves nothing behind)."""
    if not await claim_receipt(session, tenant_id, payment.trans_id, now, **claim):
        return False
    return not await already_reported(session, tenant_id, payment.trans_id)


async def confirm(session: AsyncSession, tenant: Tenant, payment: C2BPayment, clock: Clock) -> Applied:
    """Apply one C2B confirmation (in the caller's transaction; a DUPLICATE result must be rolled back)."""
    if not await first_report(session, tenant.id, payment, clock.now()):
        return Applied(EventResult.DUPLICATE)
    return await apply_confirmation(session, tenant, payment, clock)


async def apply_confirmation(session: AsyncSession, tenant: Tenant, payment: C2BPayment, clock: Clock) -> Applied:
    """The money of a claimed (and, where the shop asks for it, confirmed) receipt, applied to its order."""
    key = receipt_key(tenant.id, payment.trans_id)
    amount = payment.amount_money()
    raw = jsonable(payment.raw)
    match = await find_order(session, tenant.id, payment.bill_ref_number)
    if match is None:
        event = ProviderEvent(
            provider=NAME,
            event_key=key,
            payment_reference=f"c2b:{payment.trans_id}",  # no payment has it: recorded unmatched
            outcome=Outcome.PAID,
            amount=amount,
            provider_txn_id=payment.trans_id,
            occurred_at=payment.trans_time,
            raw=raw,
        )
        applied = await apply_event(session, tenant.id, event, clock)
        if applied.result is EventResult.UNMATCHED:
            await notices.to_merchant(
                session,
                tenant,
                f"c2b-unmatched:{key}",
                lambda language: unmatched_alert(payment, amount, language),
                clock.now(),
            )
        return applied
    target = await _target_payment(session, match.order, tenant, clock)
    # Why the money is held: the merchant reads it in their language; the event's record keeps it in English.
    mismatch = ReviewWord(
        "mpesa.review.account_mismatch", {"account": payment.bill_ref_number.strip(), "code": match.order.code}
    )
    review_words = () if match.exact else (mismatch,)
    event = ProviderEvent(
        provider=NAME,
        event_key=key,
        payment_reference=target.reference,
        outcome=Outcome.PAID,
        amount=amount,
        provider_txn_id=payment.trans_id,
        reason_code="c2b",
        occurred_at=payment.trans_time,
        raw=raw,
        review=mismatch.render("en") if review_words else None,
        review_words=review_words,
    )
    return await apply_event(session, tenant.id, event, clock)


def unmatched_alert(payment: C2BPayment, amount: Money, language: str = "en") -> Message:
    """Money paid to the Paybill that matches no order, for the merchant: in ``language`` (its reader's)."""
    payer = " ".join(part for part in (payment.first_name, payment.last_name) if part) or "?"
    return Message(
        text(
            "mpesa.merchant.unmatched",
            language,
            amount=amount.format(),
            account=payment.bill_ref_number.strip() or "—",
            receipt=payment.trans_id,
            payer=payer,
        )
    )


async def validate(session: AsyncSession, tenant: Tenant, payment: C2BPayment, *, strict: bool) -> dict[str, str]:
    """The validation answer: with ``strict`` (the tenant enabled it), an account number that is no order of the
    shop awaiting payment is refused with C2B00012; otherwise every payment is let through."""
    if not strict:
        return c2b_accept()
    order = await OrderRepository(session).by_code(tenant.id, account_code(payment.bill_ref_number) or "-")
    if order is None or order.status != OrderStatus.AWAITING_PAYMENT:
        return c2b_reject(C2BRejectCode.INVALID_ACCOUNT)
    return c2b_accept(order.code)
