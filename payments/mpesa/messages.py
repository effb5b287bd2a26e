"""What an M-Pesa customer reads when an attempt ends or pays: each result code in plain words, with the next step
it calls for ("Try again", "Pay by Paybill", another method), and a receipt with the M-Pesa receipt number and time.

``payments.notices`` calls these for payments of the ``mpesa`` provider (:data:`NOTICES`, on its registry line); the
buttons are the kinds of ``payments.mpesa.buttons``, which its chat step (``payments.mpesa.chat``) answers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.buttons import ChooseMethod
from core.clock import utc
from core.db.repos.tenants import TenantRepository
from core.messages import Button, Message, keyboard
from core.money import Money
from core.shoptime import clock_time, when_long
from core.texts import has, text
from payments import jobs
from payments.base import ProviderEvent
from payments.mpesa.buttons import Paybill, PushAgain, PushStatus
from payments.mpesa.codes import NextStep, result_info
from payments.mpesa.pause import next_push_after, seconds_until
from payments.mpesa.settings import MpesaSettings
from payments.notices import Context, ProviderNotices

RETRY_READY = "mpesa.retry_ready"  # the job kind that offers "Try again" once Daraja's pause is over
# The next steps that a new push can follow (after Daraja's pause).
RETRYABLE = frozenset({NextStep.RETRY, NextStep.PAYBILL, NextStep.CALL_SAFARICOM})


def why(reason_code: str | None, lang: str = "en") -> str:
    """A result code (``"1032"``) or an error reason (``"mpesa.subscriber_locked"``) in plain words."""
    code = reason_code or ""
    if code == "provider.not_configured":
        return text("mpesa.why.not_configured", lang)
    if code.startswith("mpesa."):
        key = "mpesa.why." + code.removeprefix("mpesa.")
        return text(key if has(key) else "mpesa.why.unknown", lang)
    return text("mpesa.why." + result_info(code).reason.removeprefix("mpesa."), lang)


def next_step(reason_code: str | None) -> tuple[NextStep, bool]:
    """What the customer can do after this ending, and whether the Paybill fallback is worth offering."""
    code = reason_code or ""
    if code in ("mpesa.invalid_amount", "provider.not_configured") or code.startswith("mpesa.no_"):
        return NextStep.CONTACT_MERCHANT, False
    if code.startswith("mpesa.") or not code:
        return NextStep.RETRY, True
    info = result_info(code)
    return info.next_step, info.offer_paybill or info.next_step is NextStep.PAYBILL


def next_buttons(
    lang: str, order_id: int, step: NextStep, paybill: bool, *, retry_now: bool = True
) -> tuple[tuple[Button, ...], ...]:
    """``retry_now`` false: Daraja's pause is still on, so "Try again" would only be refused (it comes later)."""
    rows: list[list[Button]] = []
    if retry_now and step in RETRYABLE:
        rows.append([Button(text("mpesa.button.try_again", lang), data=PushAgain(order_id).pack())])
    if paybill:
        rows.append([Button(text("mpesa.button.paybill", lang), data=Paybill(order_id).pack())])
    rows.append([Button(text("mpesa.button.other_method", lang), data=ChooseMethod(order_id).pack())])
    return keyboard(*rows)


def next_line(step: NextStep, paybill: bool, lang: str) -> str:
    if step is NextStep.CONTACT_MERCHANT:
        return text("mpesa.next.contact_merchant", lang)
    if step is NextStep.CALL_SAFARICOM:
        return text("mpesa.next.call_safaricom", lang)
    if step is NextStep.PAYBILL and paybill:
        return text("mpesa.next.paybill", lang)
    return text("mpesa.next.retry_or_paybill" if paybill else "mpesa.next.retry", lang)


def waiting_lines(step: NextStep, paybill: bool, lang: str, seconds: int, at: str) -> str:
    """The next step while Daraja's pause is on: when "Try again" will come, and what can be done meanwhile."""
    lines = [text("mpesa.next.call_safaricom", lang)] if step is NextStep.CALL_SAFARICOM else []
    lines.append(text("mpesa.next.retry_in", lang, seconds=seconds, time=at))
    if paybill:
        lines.append(text("mpesa.next.paybill_meanwhile", lang))
    return "\n".join(lines)


async def paybill_number(session: AsyncSession, tenant_id: int, test_mode: bool) -> str | None:
    """The Paybill customers can pay with the order code as the account number; None for a till (no account
    number there) or when M-Pesa is not configured."""
    config = await TenantRepository(session).provider_config(tenant_id, "mpesa")
    if config is None:
        return None
    settings = MpesaSettings.read({}, dict(config.options or {}), test_mode=test_mode)
    return settings.paybill or None


def ended_body(ctx: Context, status: str, reason_code: str | None) -> tuple[str, NextStep, bool]:
    """What ended the attempt, in plain words, and the next step it calls for (with whether Paybill fits)."""
    values = {"code": ctx.order.code, "amount": ctx.amount(ctx.lang)}
    if reason_code is None and status == "expired":  # our own time limit, not an answer from M-Pesa
        key = "mpesa.ended.no_answer" if ctx.payment.callback_token else "mpesa.ended.paybill_expired"
        return text(key, ctx.lang, **values), NextStep.RETRY, True
    step, offer = next_step(reason_code)
    return text(f"mpesa.ended.{status}", ctx.lang, why=why(reason_code, ctx.lang), **values), step, offer


def retry_at(ctx: Context, reason_code: str | None) -> datetime | None:
    """When this attempt's phone may get a new push; None when nothing reached the phone (a Paybill wait, a push
    refused at the start)."""
    pushed = ctx.payment.callback_token and ctx.payment.provider_ref
    return next_push_after(ctx.payment, reason_code) if pushed else None


async def ended_message(
    session: AsyncSession, ctx: Context, status: str, reason_code: str | None, now: datetime
) -> Message:
    """The ended attempt and its next step as of ``now``: while Daraja's pause is on, "Try again" is not offered
    yet and the message says when it will be (``RetryReady`` edits it in then)."""
    body, step, offer = ended_body(ctx, status, reason_code)
    paybill = offer and await paybill_number(session, ctx.tenant.id, ctx.tenant.test_mode) is not None
    ready = retry_at(ctx, reason_code)
    if ready is not None and ready > now and step in RETRYABLE:
        body += "\n" + waiting_lines(
            step, paybill, ctx.lang, seconds_until(ready, now), clock_time(ready, ctx.tenant, ctx.lang)
        )
        return Message(body, next_buttons(ctx.lang, ctx.order.id, step, paybill, retry_now=False))
    body += "\n" + next_line(step, paybill, ctx.lang)
    return Message(body, next_buttons(ctx.lang, ctx.order.id, step, paybill))


def ended_key(payment_id: int, status: str) -> str:
    """The outbox key of the message that says an attempt ended (``payments.service`` owes it under this key)."""
    return f"payment:{payment_id}:{status}"


async def ended(session: AsyncSession, ctx: Context, status: str, event: ProviderEvent) -> Message:
    """The message for an attempt that ended without money (failed, cancelled, expired). When Daraja's pause keeps
    "Try again" back, a payment job is owed that offers it on this same message once the pause is over."""
    now = utc(ctx.payment.updated_at)
    message = await ended_message(session, ctx, status, event.reason_code, now)
    ready = retry_at(ctx, event.reason_code)
    if ready is not None and ready > now and next_step(event.reason_code)[0] in RETRYABLE:
        await jobs.enqueue(
            session,
            tenant_id=ctx.tenant.id,
            kind=RETRY_READY,
            dedupe_key=f"retry-ready:{ctx.payment.id}",
            payment_id=ctx.payment.id,
            payload={"status": status, "reason_code": event.reason_code},
            now=now,
            due=ready,
        )
    return message


def receipt(ctx: Context, paid: Money, at: datetime) -> Message:
    lang = ctx.lang
    return Message(
        text(
            "mpesa.receipt",
            lang,
            code=ctx.order.code,
            amount=paid.format(ctx.lang),
            receipt=ctx.payment.provider_txn_id or text("mpesa.receipt_by_sms", lang),
            time=when_long(at, ctx.tenant, ctx.lang),
        )
    )


def paybill_instructions(lang: str, business: str, code: str, amount: Money) -> Message:
    return Message(text("mpesa.paybill", lang, business=business, code=code, amount=amount.format(lang)))


def started_rows(ctx: Context) -> list[list[Button]]:
    """The status button of "sending…" stays on the message it turns into."""
    return [[Button(text("mpesa.button.status", ctx.lang), data=PushStatus(ctx.order.id).pack())]]


NOTICES = ProviderNotices(receipt=receipt, ended=ended, started_rows=started_rows)
