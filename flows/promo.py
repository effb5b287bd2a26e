"""The customer's side of promo codes: giving one (typed at the order summary, or a ``/start promo_CODE`` link), the
discount shown on the summary, fixed on the order when it is placed, and held again by a new payment attempt.

The code the customer gave waits on the customer (``Customer.promo_code``) until an order takes it or it is refused.
"""

from __future__ import annotations

from dataclasses import replace

from core import promos
from core.db.repos.promos import PromoRepository
from core.db.tables import Order, Product, PromoCode
from core.messages import Message
from core.money import Money
from core.shoptime import when
from flows.context import FlowContext


def _lines(lines: list[tuple[Product, int]]) -> list[promos.Line]:
    return [promos.Line(p.sku, p.category, p.price_minor, q) for p, q in lines]


def _rules(promo: PromoCode) -> promos.Rules:
    return promos.Rules(
        kind=promo.kind,
        value=promo.value,
        currency=promo.currency,
        skus=promo.skus,
        categories=promo.categories,
        min_order_minor=promo.min_order_minor,
        starts_at=promo.starts_at,
        ends_at=promo.ends_at,
        max_uses=promo.max_uses,
        per_customer=promo.per_customer,
        uses=promo.uses,
        status=promo.status,
    )


async def check(
    ctx: FlowContext, code: str, lines: list[tuple[Product, int]] | None
) -> tuple[PromoCode | None, int, str | None]:
    """The code, its discount on these lines, and the customer's words when it does not apply. ``lines`` None: no
    cart to judge yet (a link), so only the code's own state is checked."""
    repo = PromoRepository(ctx.session)
    promo = await repo.by_code(ctx.tenant.id, code)
    if promo is None:
        unknown = promos.Refusal.OTHER_SHOP if await repo.elsewhere(ctx.tenant.id, code) else promos.Refusal.UNKNOWN
        return None, 0, _refused(ctx, unknown, code, None)
    rules = _rules(promo)
    used = await repo.customer_uses(promo.id, ctx.customer.id)
    if lines is None:
        rules = replace(rules, min_order_minor=0, skus=[], categories=[])
        cart_free = promos.refusal(rules, [promos.Line("", "", 10**9, 1)], ctx.clock.now(), used)
        return promo, 0, _refused(ctx, cart_free, code, promo) if cart_free else None
    why = promos.refusal(rules, _lines(lines), ctx.clock.now(), used)
    if why is not None:
        return promo, 0, _refused(ctx, why, code, promo)
    return promo, promos.discount(rules, _lines(lines)), None


def _refused(ctx: FlowContext, why: promos.Refusal, code: str, promo: PromoCode | None) -> str:
    values: dict[str, str] = {"code": code}
    if promo is not None:
        values["minimum"] = Money(promo.min_order_minor, promo.currency).format()
        values["starts"] = when(promo.starts_at, ctx.tenant) if promo.starts_at else ""
        values["ends"] = when(promo.ends_at, ctx.tenant) if promo.ends_at else ""
    return ctx.t(f"promo.refused.{why.value}", **values)


async def give(ctx: FlowContext, typed: str, lines: list[tuple[Product, int]] | None) -> tuple[bool, str]:
    """The customer gives a code: kept for checkout when it applies; the words to tell either way."""
    code = promos.normalize(typed)
    if code is None:
        return False, ctx.t("promo.refused.unknown", code=typed.strip()[:32])
    promo, off, why = await check(ctx, code, lines)
    if why is not None or promo is None:
        return False, why or ""
    ctx.customer.promo_code = code
    if lines is None:
        return True, ctx.t("promo.saved", code=code)
    return True, ctx.t("promo.applied", code=code, amount=Money(off, promo.currency).format())


async def from_link(ctx: FlowContext, argument: str) -> Message | None:
    """``/start promo_CODE`` (a broadcast's button): the code kept for checkout, or why not. None: not a promo link."""
    if not argument.lower().startswith(promos.DEEP_LINK_PREFIX):
        return None
    _, words = await give(ctx, argument[len(promos.DEEP_LINK_PREFIX) :], None)
    return Message(words)


async def takes_codes(ctx: FlowContext) -> bool:
    """Whether the shop has a code a customer could type now (else checkout says nothing of codes)."""
    return await PromoRepository(ctx.session).any_active(ctx.tenant.id)


async def summary_lines(ctx: FlowContext, lines: list[tuple[Product, int]], subtotal: Money) -> list[str]:
    """The summary's promo lines: the discount and what is to pay, the refusal of a code that no longer applies
    (then forgotten), or the hint that a code can be typed (when the shop has one)."""
    code = ctx.customer.promo_code
    if code is None:
        return [ctx.t("promo.hint")] if await takes_codes(ctx) else []
    promo, off, why = await check(ctx, code, lines)
    if why is not None or promo is None:
        ctx.customer.promo_code = None
        return [why or "", ctx.t("promo.hint")]
    to_pay = Money(subtotal.minor - off, subtotal.currency)
    return [
        ctx.t("promo.discount_line", code=code, amount=Money(off, subtotal.currency).format()),
        ctx.t("promo.to_pay", total=to_pay.format()),
    ]


async def take_use(ctx: FlowContext, lines: list[tuple[Product, int]]) -> tuple[PromoCode | None, int, str | None]:
    """At confirmation: the code checked again against the cart, one of its uses taken in the database. The
    refusal's words when it no longer applies or its last use went to someone else (the code is then forgotten)."""
    code = ctx.customer.promo_code
    if code is None:
        return None, 0, None
    promo, off, why = await check(ctx, code, lines)
    if why is None and promo is not None and not await PromoRepository(ctx.session).take(promo, ctx.customer.id):
        why = _refused(ctx, promos.Refusal.USED_UP, code, promo)
    if why is not None or promo is None:
        ctx.customer.promo_code = None
        return None, 0, why
    return promo, off, None


async def fix_on_order(ctx: FlowContext, order: Order, promo: PromoCode, off: int) -> None:
    """The discount, fixed on the placed order (already flushed), and the use it holds recorded."""
    await PromoRepository(ctx.session).record(promo, order.id, ctx.customer.id, ctx.clock.now())
    ctx.customer.promo_code = None


async def hold_for_payment(ctx: FlowContext, order: Order) -> Message | None:
    """Before a new payment attempt: the order takes back the use its ended attempt gave back. When the code has
    none left, the order loses the discount (its total goes back up) and the customer is told. None: all is well."""
    code = order.promo_code
    if code is None or await PromoRepository(ctx.session).hold_for(order, ctx.clock.now()):
        return None
    total = Money(order.total_minor, order.currency).format()
    return Message(ctx.t("promo.ran_out", code=code, order=order.code, total=total))
