"""Confirming a C2B receipt with Daraja's Transaction Status before it pays (shops with initiator credentials).

C2B confirmations are unsigned; a URL secret and the source-IP allowlist keep strangers out, and this is the third
guard: the confirmation is claimed and recorded as ``waiting`` (``mpesa_c2b_receipts``, with the body as received and
a random ``check_token``), the customer is told their payment is being confirmed, and a payment job is owed in the
same transaction (``mpesa.c2b_check``, :mod:`payments.mpesa.c2b_asker`) that asks Transaction Status about the
receipt, its answer to be POSTed to ``/pay/c2b/result/{check_token}``, and asks again while no answer comes.
Only a result that says the receipt is ``Completed``, for the amount claimed (and, when it names one, to this shop's
business number) lets :func:`payments.mpesa.c2b.apply_confirmation` pay the order; any other answer refuses the
receipt, pays nothing and tells the merchant. A waiting receipt that Daraja could not be asked about (or whose
check timed out, or that got no answer however often it was asked) stays waiting, and the merchant is told to check
it in the M-Pesa portal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.clock import Clock
from core.db.repos.customers import CustomerRepository
from core.db.tables import Order, Tenant
from core.merchant_alerts import Render, alert_merchant
from core.messages import Message
from core.texts import text
from payments import jobs
from payments.mpesa import c2b
from payments.mpesa.fields import callback_token
from payments.mpesa.provider import jsonable
from payments.mpesa.status import COMPLETED, StatusResult
from payments.mpesa.tables import C2BReceipt
from payments.mpesa.wire import C2BPayment, parse_c2b
from payments.service import Applied

WAITING, CONFIRMED, REFUSED = "waiting", "confirmed", "refused"
CHECK = "mpesa.c2b_check"  # the job kind that asks Transaction Status


async def hold(session: AsyncSession, tenant: Tenant, payment: C2BPayment, clock: Clock) -> str | None:
    """Claim the receipt as waiting, owe the job that asks Daraja about it, and tell the customer; the check token,
    or None for a duplicate (roll back)."""
    now = clock.now()
    token = callback_token()
    body = jsonable(payment.raw)
    if not await c2b.first_report(session, tenant.id, payment, now, status=WAITING, body=body, check_token=token):
        return None
    await jobs.enqueue(
        session,
        tenant_id=tenant.id,
        kind=CHECK,
        dedupe_key=f"c2b-check:{payment.trans_id}",
        payload={"check_token": token},
        now=now,
    )
    match = await c2b.find_order(session, tenant.id, payment.bill_ref_number)
    if match is not None:
        await _tell_customer(
            session,
            tenant,
            match.order,
            f"c2b-confirming:{payment.trans_id}",
            "mpesa.c2b.confirming",
            now,
            amount=payment.amount_money().format(),
            code=match.order.code,
            receipt=payment.trans_id,
        )
    return token


async def by_token(session: AsyncSession, token: str) -> C2BReceipt | None:
    return await session.scalar(select(C2BReceipt).where(C2BReceipt.check_token == token))


def refusal(claimed: C2BPayment, result: StatusResult, shortcode: str) -> str | None:
    """None when Daraja confirms the receipt as the confirmation described it; otherwise why not."""
    if result.result_code != "0":
        return f"M-Pesa answered {result.result_code}: {result.result_desc[:80]}".rstrip(": ")
    if result.receipt != claimed.trans_id.strip().upper():
        return "M-Pesa reported another receipt number"
    if result.status.lower() != COMPLETED:
        return f"the transaction is {result.status[:40] or 'of no known status'}"
    if result.amount is None or result.amount != claimed.amount:
        return "M-Pesa reported another amount"
    if result.credit_party and result.credit_party.split(" ")[0] != shortcode:
        return "the money went to another business number"
    return None


async def settle(
    session: AsyncSession, tenant: Tenant, receipt: C2BReceipt, result: StatusResult, shortcode: str, clock: Clock
) -> Applied | None:
    """Settle a waiting receipt with Daraja's answer, once (a conditional update); the order is paid only when the
    answer confirms the receipt. None when nothing was applied (refused, or settled already)."""
    claimed = parse_c2b(receipt.body or {})
    why = refusal(claimed, result, shortcode)
    now = clock.now()
    moved = await session.execute(
        update(C2BReceipt)
        .where(C2BReceipt.id == receipt.id, C2BReceipt.status == WAITING)
        .values(status=REFUSED if why else CONFIRMED, reason=why, settled_at=now)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return None
    if why is None:
        if await c2b.already_reported(session, tenant.id, claimed.trans_id):
            return None  # the STK callback of the same money came while this one waited: it is paid once
        return await c2b.apply_confirmation(session, tenant, claimed, clock)
    await alert_merchant(session, tenant, f"c2b-refused:{receipt.id}", _alert("not_confirmed", claimed, why), now)
    match = await c2b.find_order(session, tenant.id, claimed.bill_ref_number)
    if match is not None:
        await _tell_customer(
            session,
            tenant,
            match.order,
            f"c2b-refused:{claimed.trans_id}",
            "mpesa.c2b.not_confirmed_customer",
            now,
            code=match.order.code,
            receipt=claimed.trans_id,
        )
    return None


async def not_asked(session: AsyncSession, tenant: Tenant, receipt: C2BReceipt, why: str, now: datetime) -> None:
    """Daraja could not be asked (or its check timed out): the receipt keeps waiting; the merchant is told once."""
    moved = await session.execute(
        update(C2BReceipt).where(C2BReceipt.id == receipt.id, C2BReceipt.status == WAITING).values(reason=why)
    )
    if moved.rowcount == 1:  # type: ignore[attr-defined]
        claimed = parse_c2b(receipt.body or {})
        alert = _alert("check_failed", claimed, why)
        await alert_merchant(session, tenant, f"c2b-unasked:{receipt.id}", alert, now)


async def unanswered(session: AsyncSession, tenant: Tenant, receipt: C2BReceipt, tries: int, now: datetime) -> None:
    """Daraja was asked ``tries`` times and never answered: the receipt keeps waiting; the merchant is told once."""
    why = f"no answer from M-Pesa to {tries} checks"
    moved = await session.execute(
        update(C2BReceipt).where(C2BReceipt.id == receipt.id, C2BReceipt.status == WAITING).values(reason=why)
    )
    if moved.rowcount == 1:  # type: ignore[attr-defined]
        alert = _alert("check_unanswered", parse_c2b(receipt.body or {}), why)
        await alert_merchant(session, tenant, f"c2b-unanswered:{receipt.id}", alert, now)


def _alert(kind: str, claimed: C2BPayment, why: str) -> Render:
    def alert(language: str) -> Message:
        return Message(
            text(
                f"mpesa.c2b.{kind}",
                language,
                amount=claimed.amount_money().format(language),
                account=claimed.bill_ref_number.strip() or "—",
                receipt=claimed.trans_id,
                why=why,
            )
        )

    return alert


async def _tell_customer(
    session: AsyncSession, tenant: Tenant, order: Order, key: str, text_key: str, now: datetime, **values: Any
) -> None:
    customer = await CustomerRepository(session).by_id(tenant.id, order.customer_id)
    if customer is None:
        return
    message = Message(text(text_key, customer.language, **values))
    await outbox.enqueue(
        session, tenant_id=tenant.id, chat_id=customer.chat_id, dedupe_key=key, message=message, now=now
    )
