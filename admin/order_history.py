"""An order's history as the merchant reads it: what the providers reported, what an admin decided (by name), and
the messages sent about it, in words ("Proof sent by the customer", "Proof approved by admin Jane (100002)"), never
our internal names; each line with its time in the shop's zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from admin import copies
from core import shoptime
from core.clock import utc
from core.db.tables import AuditEntry, Customer, Order, OutboxMessage, Payment, PaymentEvent, Proof
from core.money import Money
from core.texts import has
from flows.context import FlowContext
from payments.base import Outcome

HISTORY_LINES = 30
PREVIEW = 60  # characters of a message shown in the history, cut at a word
# Events an admin's own decision explains better, said once by the audit line (who decided, and why).
_SAID_BY_AUDIT = frozenset({Outcome.REJECTED.value, Outcome.ACCEPTED.value})
_DECISIONS = frozenset({"proof.approved", "proof.rejected", "payment.accepted", "refund.sent"})
_SAME_STEP = timedelta(seconds=5)
_TELLS_AMOUNT = frozenset({"refund", "refund.sent"})


async def history(
    ctx: FlowContext, order: Order, payments: list[Payment], events: list[PaymentEvent], proofs: list[Proof]
) -> list[str]:
    # (when, rank, words): a decision takes rank -1 at the time of the event it caused, so that it reads before
    # that event and the messages it sent, although it is recorded a moment after them.
    entries: list[tuple[datetime, int, str]] = [(utc(order.created_at), 0, ctx.t("admin.history.created"))]
    providers = {p.id: p.provider for p in payments}
    for event in events:
        if event.outcome in _SAID_BY_AUDIT and event.result == "applied":
            continue
        if event.outcome == Outcome.PENDING.value and event.result != "applied":
            continue  # "still waiting", heard again: it says nothing new
        entries.append((utc(event.received_at), 0, _event(ctx, event, providers.get(event.payment_id or 0))))
    audits = list(
        await ctx.session.scalars(
            select(AuditEntry).where(
                AuditEntry.tenant_id == ctx.tenant.id, AuditEntry.target == order.code, AuditEntry.allowed.is_(True)
            )
        )
    )
    people = await _names(ctx, {a.actor_tg_id for a in audits if a.actor_tg_id is not None})
    reasons = {p.id: p.decision_reason for p in proofs}
    for entry in audits:
        at, rank = _caused(entry, events)
        entries.append((at, rank, _decision(ctx, order, entry, people, reasons)))
    customer_chat = await ctx.session.scalar(select(Customer.chat_id).where(Customer.id == order.customer_id))
    for row in await _messages(ctx, order, [p.id for p in payments], [p.id for p in proofs]):
        entries.append((utc(row.created_at), 0, _message(ctx, row, customer_chat)))
    entries.sort(key=lambda entry: entry[:2])
    return [f"{shoptime.when(at, ctx.tenant, ctx.lang)} {what}" for at, _, what in entries[-HISTORY_LINES:]]


def _caused(entry: AuditEntry, events: list[PaymentEvent]) -> tuple[datetime, int]:
    """Where a decision sits in the history: an approval, rejection, acceptance or refund sent by hand is applied as
    an event first and audited right after, in the same transaction; it is placed just before that event."""
    at = utc(entry.at)
    if entry.action not in _DECISIONS:
        return at, 0
    before = [utc(e.received_at) for e in events if at - _SAME_STEP <= utc(e.received_at) <= at]
    return (max(before), -1) if before else (at, 0)


def _event(ctx: FlowContext, event: PaymentEvent, provider: str | None) -> str:
    name = ctx.t(f"provider.{provider or event.provider}")
    amount = Money(event.amount_minor, event.currency).format(ctx.lang) if event.amount_minor and event.currency else ""
    key = f"orders.event.{event.outcome}"
    said = ctx.t(key if has(key) else "orders.event.other", provider=name, outcome=event.outcome)
    if event.outcome in (Outcome.PAID.value, Outcome.REFUNDED.value) and amount:
        said = ctx.t(f"orders.event.{event.outcome}_amount", provider=name, amount=amount)
    if event.outcome == Outcome.PAID.value and event.provider_txn_id and has(f"{event.provider}.orders.receipt"):
        said += " " + ctx.t("orders.event.receipt", receipt=event.provider_txn_id)
    if event.reason and event.outcome == Outcome.PROOF_SUBMITTED.value:  # the customer's reference, not a reason
        said += " " + ctx.t("orders.event.reference_given", reference=event.reason)
    elif event.reason and not (event.outcome == Outcome.PAID.value and event.result == "applied"):
        said += ": " + event.reason  # a paid event's reason is the provider's "Successful", unless it was held
    result = f"orders.event.result.{event.result}"
    if has(result):
        said += " – " + ctx.t(result)
    return said


def _decision(
    ctx: FlowContext, order: Order, entry: AuditEntry, people: dict[int, str], reasons: dict[int, str | None]
) -> str:
    details: dict[str, Any] = entry.details if isinstance(entry.details, dict) else {}
    actor = entry.actor_tg_id
    who = (
        ctx.t("orders.admin_named", name=people[actor], id=actor)
        if actor is not None and actor in people
        else ctx.t("orders.admin_unnamed", id=actor if actor is not None else "?")
    )
    minor = details.get("amount_minor")
    amount = (
        Money(minor, order.currency).format(ctx.lang) if isinstance(minor, int) and not isinstance(minor, bool) else ""
    )
    key = f"orders.audit.{entry.action}"
    if not has(key) or (entry.action in _TELLS_AMOUNT and not amount):
        return ctx.t("orders.audit.other", action=entry.action.replace("_", " ").replace(".", " "), who=who)
    said = ctx.t(key, who=who, amount=amount, note=details.get("note") or "")
    reason = reasons.get(details.get("proof", 0)) if entry.action == "proof.rejected" else None
    return said + (": " + reason if reason else "")


async def _names(ctx: FlowContext, tg_ids: set[int]) -> dict[int, str]:
    """The admins' names as Telegram gave them to this shop's bot (an admin who never wrote to it has none)."""
    if not tg_ids:
        return {}
    rows = await ctx.session.execute(
        select(Customer.tg_user_id, Customer.display_name).where(
            Customer.tenant_id == ctx.tenant.id, Customer.tg_user_id.in_(tg_ids)
        )
    )
    return {tg_id: name for tg_id, name in rows if name}


def _message(ctx: FlowContext, row: OutboxMessage, customer_chat: int | None) -> str:
    to = "customer" if row.chat_id == customer_chat else "shop"
    # A row that replaces an earlier one edits that message in the chat (a proof marked approved, a push's result).
    key = (
        "orders.message.updated"
        if row.status == "sent" and row.payload.get("replaces")
        else f"orders.message.{row.status}"
    )
    said = ctx.t(key if has(key) else "orders.message.pending", to=ctx.t(f"orders.message.to_{to}"))
    return f"{said}: “{preview(str(row.payload.get('text') or row.payload.get('caption') or ''))}”"


def preview(words: str, limit: int = PREVIEW) -> str:
    """The start of a message on one line, cut after a whole word with an ellipsis: never mid-word, unless a single
    word is longer than the whole preview."""
    flat = " ".join(words.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit + 1].rsplit(" ", 1)[0] if " " in flat[: limit + 1] else flat[:limit]
    return cut.rstrip(" ,.;:–-") + "…"


async def _messages(
    ctx: FlowContext, order: Order, payment_ids: list[int], proof_ids: list[int]
) -> list[OutboxMessage]:
    """The outbox rows owed because of this order: keyed by its payments, its proofs, or the order itself."""
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
    return [
        row
        for row in rows
        if _belongs(row.dedupe_key, order.id, payment_ids, proof_ids) and not copies.is_listed_copy(row)
    ]


def _belongs(key: str, order_id: int, payment_ids: list[int], proof_ids: list[int]) -> bool:
    """LIKE is coarse (``%:1`` also matches ``relay:dead:21``): check the key's own shape."""
    parts = key.split(":")
    head = parts[0]
    if head == "order":
        return parts[1:2] == [str(order_id)]
    if head == "proof":
        return len(parts) > 1 and parts[1].isdecimal() and int(parts[1]) in proof_ids
    if head in ("receipt", "paid", "payment", "review", "refund", "started"):
        return len(parts) > 1 and parts[1].isdecimal() and int(parts[1]) in payment_ids
    return False
