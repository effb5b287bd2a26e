"""Refunds a provider makes (those that declare ``Capability.REFUND``): a ``refunds`` row's life, and applying what
the provider says of it, whatever asked: its answer to our request, a follow-up check, or its webhook. Every source
goes through :func:`apply_refund_result`, so they agree with each other. No provider is named here: each speaks
through the contract (:class:`payments.base.RefundingProvider`, :class:`payments.base.RefundResult`).

A row's status only moves forward::

    requested -> submitting -> pending -> processing -> needs-attention -> processed | failed

``requested`` is what the merchant's ``/refund`` writes (in the chat's transaction, no network); the reconciler's
pass claims it (``submitting``) and sends it (:mod:`payments.refund_sender`) outside any transaction. A call whose
answer was lost stays ``submitting`` and is never sent again (a second refund could be paid twice): the provider's
reports settle it, and the merchant is told to look at the provider's dashboard. Once the provider has it, its steps
arrive by webhook, or, when one is lost, by the reconciler's check (:mod:`payments.refund_checks`). ``processed``
applies a REFUNDED event to the payment (one per refund row), which tells the customer the money is on its way back;
``failed`` tells the merchant and refunds nothing.

Refunds of providers without a refund call are the merchant's tasks (:mod:`payments.merchant_refunds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.insert import insert_if_absent
from core.db.repos.orders import PaymentRepository
from core.db.tables import Payment, PaymentEvent, Refund, Tenant
from core.merchant_alerts import alert_merchant
from core.messages import Message
from core.money import Money
from core.texts import text
from payments import merchant_refunds, notices
from payments.base import Capability, Outcome, ProviderEvent, RefundResult, RefundState
from payments.providers import ENTRIES
from payments.service import EventResult, apply_event

REQUESTED = "requested"
SUBMITTING = "submitting"
PENDING = RefundState.PENDING.value
PROCESSING = RefundState.PROCESSING.value
NEEDS_ATTENTION = RefundState.NEEDS_ATTENTION.value
PROCESSED = RefundState.PROCESSED.value
FAILED = RefundState.FAILED.value
RECORDED = "recorded"  # a refund made outside any API (a reversal, cash), recorded by the merchant

_RANK = {REQUESTED: 0, SUBMITTING: 1, PENDING: 2, PROCESSING: 3, NEEDS_ATTENTION: 4, PROCESSED: 5, FAILED: 5}
FINAL = frozenset({PROCESSED, FAILED, RECORDED})
IN_FLIGHT = frozenset({REQUESTED, SUBMITTING, PENDING, PROCESSING, NEEDS_ATTENTION})
# Sent and known to the provider but not finished: the reconciler asks about these (``refund_checks``) in case a
# report is lost. ``submitting`` is not among them: without the provider's answer we have no id to ask by.
POLLED = frozenset({PENDING, PROCESSING, NEEDS_ATTENTION})
# Every refund still open, whoever sends the money: the provider's on their way, and the merchant's tasks.
OPEN = IN_FLIGHT | {merchant_refunds.AWAITING_MERCHANT}


# The providers that refund through their API; a refund of any other provider's payment is the merchant's task.
def refunders() -> list[str]:
    """The providers that send money back themselves (``Capability.REFUND``), as the registry says now."""
    return sorted(name for name, entry in ENTRIES.items() if entry.info.supports(Capability.REFUND))


def by_provider(provider: str, currency: str | None = None) -> bool:
    """Whether the provider sends the money back itself (else the merchant does, by hand); ``currency``: the
    payment's, for a provider that refunds only some (``ProviderInfo.refunded_currencies``)."""
    declared = ENTRIES.get(provider)
    return declared is not None and declared.info.refunds(currency)


def _earlier(status: str) -> list[str]:
    """The states a refund may move to ``status`` from."""
    rank = _RANK.get(status)
    if rank is None:
        return []
    return [name for name, other in _RANK.items() if other < rank]


async def move(session: AsyncSession, refund_id: int, status: str, now: datetime, **values: object) -> bool:
    """Move a refund forward to ``status`` (a conditional update); False when it is there already or beyond."""
    result = await session.execute(
        update(Refund)
        .where(Refund.id == refund_id, Refund.status.in_(_earlier(status)))
        .values(status=status, updated_at=now, **values)
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(result, "rowcount", 0))


async def in_flight_minor(session: AsyncSession, payment_id: int) -> int:
    """Money already asked back from the provider but not yet refunded: it cannot be asked for twice."""
    rows = await session.scalars(
        select(Refund.amount_minor).where(Refund.payment_id == payment_id, Refund.status.in_(list(IN_FLIGHT)))
    )
    return sum(rows)


async def open_minor(session: AsyncSession, payment_id: int) -> int:
    """Money on its way back, by the provider or by the merchant: neither can be asked for twice."""
    rows = await session.scalars(
        select(Refund.amount_minor).where(Refund.payment_id == payment_id, Refund.status.in_(sorted(OPEN)))
    )
    return sum(rows)


async def record_fact(
    session: AsyncSession,
    provider: str,
    tenant_id: int,
    payment_id: int | None,
    key: str,
    outcome: str,
    reason: str,
    raw: object,
    now: datetime,
) -> bool:
    """Keep a provider fact that moves no payment (a refund step, an event we do not act on) under its unique key;
    False when it was recorded before (a redelivery)."""
    new_id = await insert_if_absent(
        session,
        PaymentEvent.__table__,  # type: ignore[arg-type]
        {
            "tenant_id": tenant_id,
            "payment_id": payment_id,
            "provider": provider,
            "event_key": key[:160],
            "outcome": outcome[:20],
            "reason": reason,
            "result": "recorded",
            "raw": raw if isinstance(raw, dict) else {},
            "received_at": now,
        },
    )
    return new_id is not None


@dataclass(frozen=True, slots=True)
class RefundApplied:
    refund_id: int | None
    moved: bool
    duplicate: bool = False


async def apply_refund_result(
    session: AsyncSession,
    tenant: Tenant,
    payment: Payment,
    result: RefundResult,
    clock: Clock,
    *,
    first_check: timedelta,
) -> RefundApplied:
    """One report of a refund of ``payment``, however it reached us. ``first_check``: when to ask the provider
    first, should no webhook come (its ``refund_next_check(0)``).

    Two keys make it idempotent. The report's own key (``result.event_key``) stops a redelivered webhook or a
    repeated check before any work. But a webhook and a check may name the same step differently (a webhook may
    carry only the refund's alias, a check only its id), so what makes a step happen once is the refund row's
    conditional move: the second report of a step finds the row there already and changes nothing, says nothing.
    ``processed`` then applies one REFUNDED event per refund row (key ``refund:<row id>``), which tells the customer.
    """
    now = clock.now()
    await PaymentRepository(session).lock(payment.id)
    reason = result.reason or result.status
    fresh = await record_fact(
        session, payment.provider, tenant.id, payment.id, result.event_key, "refund", reason, dict(result.raw), now
    )
    if not fresh:
        return RefundApplied(None, False, duplicate=True)
    row = await _match(session, tenant, payment, result, now)
    values: dict[str, object] = {}
    if row.provider_refund_id is None and result.ident:
        values["provider_refund_id"] = result.ident[:64]
    if result.status not in POLLED:
        values["next_check_at"] = None  # finished: no more looks (this only lands if the row moves)
    elif row.next_check_at is None and row.checks == 0:
        values["next_check_at"] = now + first_check  # the first look, in case no webhook comes
    moved = await move(session, row.id, result.status, now, **values)
    if not moved:
        if "provider_refund_id" in values:
            await session.execute(
                update(Refund).where(Refund.id == row.id).values(provider_refund_id=values["provider_refund_id"])
            )
        return RefundApplied(row.id, False)
    if result.status == PROCESSED:
        refunded = ProviderEvent(
            provider=payment.provider,
            event_key=f"refund:{row.id}",
            payment_reference=payment.reference,  # a refund's report names the provider's payment; this moves ours
            outcome=Outcome.REFUNDED,
            amount=result.amount,
            provider_txn_id=result.provider_txn_id,
            reason=result.reason,
            occurred_at=result.occurred_at,
            raw=result.raw,
        )
        applied = await apply_event(session, tenant.id, refunded, clock)
        if applied.result is EventResult.REFUSED:
            return RefundApplied(row.id, True)  # it did not fit the payment: the merchant was told why, not "done"
    await tell_merchant(session, tenant, payment, row, result.status, result.reason, now)
    return RefundApplied(row.id, True)


async def _match(
    session: AsyncSession, tenant: Tenant, payment: Payment, result: RefundResult, now: datetime
) -> Refund:
    """The refund row a report speaks of: by the provider's id or alias, else by amount, else a new row."""
    rows = list(
        await session.scalars(
            select(Refund)
            .where(Refund.tenant_id == tenant.id, Refund.payment_id == payment.id, Refund.provider == payment.provider)
            .order_by(Refund.id)
        )
    )
    idents = {ident for ident in (result.provider_refund_id, result.alias) if ident}
    for row in rows:
        if row.provider_refund_id is not None and row.provider_refund_id in idents:
            return row
    # The provider's answer to our request carries the refund's id; its webhooks may carry only an alias. Such a
    # report is matched by amount (a report naming the provider's id never takes a row that holds another id: that
    # is another refund): first the oldest refund of that amount still on its way, then one that already reached
    # this step or beyond (the report is old news, learnt first by a check), so that a late webhook never becomes a
    # new refund.
    named = result.provider_refund_id is not None
    same = [row for row in rows if row.amount_minor == result.amount.minor and not (named and row.provider_refund_id)]
    rank = _RANK.get(result.status)
    for row in same:
        if row.status in IN_FLIGHT:
            return row
    for row in same:
        if rank is not None and _RANK.get(row.status, -1) >= rank:
            return row
    # A refund made on the provider's dashboard: recorded, so that the payment and the customer hear of it too.
    row = Refund(
        tenant_id=tenant.id,
        payment_id=payment.id,
        provider=payment.provider,
        amount_minor=result.amount.minor,
        currency=result.amount.currency,
        status=REQUESTED,
        provider_refund_id=result.ident[:64] if result.ident else None,
        reason=text(f"{payment.provider}.refund.made_elsewhere"),
        requested_by=None,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def tell_merchant(
    session: AsyncSession, tenant: Tenant, payment: Payment, row: Refund, status: str, reason: str | None, now: datetime
) -> None:
    """A step the merchant hears of: processed and needs-attention in the provider's words, failed in ours."""
    if status not in (PROCESSED, FAILED, NEEDS_ATTENTION):
        return
    key = "refund.merchant.failed" if status == FAILED else f"{payment.provider}.refund.merchant.{status}"
    ctx = await notices.context_for(session, payment)
    amount = Money(row.amount_minor, row.currency)

    def alert(language: str) -> Message:
        return Message(text(key, language, code=ctx.order.code, amount=amount.format(language), reason=reason or "—"))

    await alert_merchant(session, tenant, f"refund:{row.id}:{status}", alert, now)
