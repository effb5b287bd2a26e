"""What an M-Pesa customer reads when an attempt ends or pays: each result code in plain words, with the next step
it calls for ("Try again", "Pay by Paybill", another method), and a receipt with the M-Pesa receipt number and time.

``payments.notices`` calls these for payments of the ``mpesa`` provider; the buttons carry the verbs that
``flows.mpesa`` answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from core.callbacks import action
from core.db.repos.tenants import TenantRepository
from core.messages import Button, Message, keyboard
from core.money import Money
from core.texts import has, text
from payments.base import ProviderEvent
from payments.mpesa.codes import NextStep, result_info
from payments.mpesa.fields import NAIROBI
from payments.mpesa.settings import MpesaSettings

if TYPE_CHECKING:
    from payments.notices import Context

# Button verbs of the M-Pesa checkout (flows.mpesa answers them).
SEND = "mpsend"  # push to the proposed phone
OTHER_PHONE = "mpphone"  # type another phone
STATUS = "mpstat"  # show the attempt's status
RETRY = "mpretry"  # a new push
PAYBILL = "mppb"  # Paybill instructions
OTHER_METHOD = "retry"  # the router's own: choose a payment method again


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


def next_buttons(lang: str, order_id: int, step: NextStep, paybill: bool) -> tuple[tuple[Button, ...], ...]:
    rows: list[list[Button]] = []
    if step in (NextStep.RETRY, NextStep.PAYBILL, NextStep.CALL_SAFARICOM):
        rows.append([Button(text("mpesa.button.try_again", lang), data=action(RETRY, order_id))])
    if paybill:
        rows.append([Button(text("mpesa.button.paybill", lang), data=action(PAYBILL, order_id))])
    rows.append([Button(text("mpesa.button.other_method", lang), data=action(OTHER_METHOD, order_id))])
    return keyboard(*rows)


def next_line(step: NextStep, paybill: bool, lang: str) -> str:
    if step is NextStep.CONTACT_MERCHANT:
        return text("mpesa.next.contact_merchant", lang)
    if step is NextStep.CALL_SAFARICOM:
        return text("mpesa.next.call_safaricom", lang)
    if step is NextStep.PAYBILL and paybill:
        return text("mpesa.next.paybill", lang)
    return text("mpesa.next.retry_or_paybill" if paybill else "mpesa.next.retry", lang)


async def paybill_number(session: AsyncSession, tenant_id: int, test_mode: bool) -> str | None:
    """The Paybill customers can pay with the order code as the account number; None for a till (no account
    number there) or when M-Pesa is not configured."""
    config = await TenantRepository(session).provider_config(tenant_id, "mpesa")
    if config is None:
        return None
    settings = MpesaSettings.read({}, dict(config.options or {}), test_mode=test_mode)
    return settings.paybill or None


async def ended(session: AsyncSession, ctx: Context, status: str, event: ProviderEvent) -> Message:
    """The message for an attempt that ended without money (failed, cancelled, expired)."""
    lang, order, payment = ctx.lang, ctx.order, ctx.payment
    paybill = await paybill_number(session, ctx.tenant.id, ctx.tenant.test_mode) is not None
    values = {"code": order.code, "amount": ctx.amount()}
    if event.reason_code is None and status == "expired":  # our own time limit, not an answer from M-Pesa
        key = "mpesa.ended.no_answer" if payment.callback_token else "mpesa.ended.paybill_expired"
        step, offer = NextStep.RETRY, True
        body = text(key, lang, **values)
    else:
        step, offer = next_step(event.reason_code)
        body = text(f"mpesa.ended.{status}", lang, why=why(event.reason_code, lang), **values)
    offer = offer and paybill
    body += "\n" + next_line(step, offer, lang)
    return Message(body, next_buttons(lang, order.id, step, offer))


def receipt(ctx: Context, paid: Money, at: datetime) -> Message:
    lang = ctx.lang
    local = at.astimezone(NAIROBI)
    return Message(
        text(
            "mpesa.receipt",
            lang,
            code=ctx.order.code,
            amount=paid.format(),
            receipt=ctx.payment.provider_txn_id or text("mpesa.receipt_by_sms", lang),
            time=f"{local:%d %b %Y, %H:%M} EAT",
        )
    )


def paybill_instructions(lang: str, business: str, code: str, amount: Money) -> Message:
    return Message(text("mpesa.paybill", lang, business=business, code=code, amount=amount.format()))
