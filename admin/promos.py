"""The merchant's promo codes: ``/promo add|list|pause|resume|end`` in the chat (with a button row per code) and
``dukabot promo`` on the CLI, both through :func:`parse_add` and :func:`create` here.

``/promo add CODE 10%|AMOUNT [min=AMOUNT] [from=DATE] [until=DATE] [uses=N] [per=N] [sku=A,B] [cat=Tea,Sugar]``:
amounts in major units of the shop's currency; dates ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` in the shop's timezone
(a bare ``until`` date lasts to the end of that day); kept in UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from admin import audit
from core import promos
from core.buttons import PromoAction
from core.db.repos.promos import PromoRepository
from core.db.tables import PromoCode, Tenant
from core.messages import Button, Message, keyboard
from core.money import Money, MoneyError
from core.shoptime import shop_zone, when
from flows.context import FlowContext, Reply

ACTIONS = ("pause", "resume", "end")
# Which statuses each action moves a code from, and to which.
MOVES = {
    "pause": ((promos.ACTIVE,), promos.PAUSED),
    "resume": ((promos.PAUSED,), promos.ACTIVE),
    "end": ((promos.ACTIVE, promos.PAUSED), promos.ENDED),
}


@dataclass
class Spec:
    code: str
    kind: str
    value: int
    min_order_minor: int = 0
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    max_uses: int | None = None
    per_customer: int | None = None
    skus: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)


class BadSpec(ValueError):
    """A catalog key (``promo.bad.<what>``) and the word that was wrong."""

    def __init__(self, what: str, word: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.word = word[:40]


def parse_add(words: list[str], tenant: Tenant) -> Spec:
    if len(words) < 2:
        raise BadSpec("usage")
    code = promos.normalize(words[0])
    if code is None:
        raise BadSpec("code", words[0])
    spec = Spec(code, *_value(words[1], tenant.currency))
    for word in words[2:]:
        name, sep, value = word.partition("=")
        if not sep or not value:
            raise BadSpec("option", word)
        name = name.lower()
        if name == "min":
            spec.min_order_minor = _amount(value, tenant.currency, word)
        elif name in ("from", "until"):
            moment = _moment(value, tenant, end_of_day=name == "until")
            if moment is None:
                raise BadSpec("date", word)
            if name == "from":
                spec.starts_at = moment
            else:
                spec.ends_at = moment
        elif name in ("uses", "per"):
            if not value.isdecimal() or not 1 <= int(value) <= 1_000_000:
                raise BadSpec("count", word)
            if name == "uses":
                spec.max_uses = int(value)
            else:
                spec.per_customer = int(value)
        elif name == "sku":
            spec.skus = [v for v in value.split(",") if v]
        elif name == "cat":
            spec.categories = [v.replace("_", " ") for v in value.split(",") if v]
        else:
            raise BadSpec("option", word)
    if spec.starts_at and spec.ends_at and spec.ends_at <= spec.starts_at:
        raise BadSpec("dates")
    return spec


def _value(word: str, currency: str) -> tuple[str, int]:
    if word.endswith("%"):
        digits = word[:-1]
        if not digits.isdecimal() or not 1 <= int(digits) <= 100:
            raise BadSpec("percent", word)
        return promos.PERCENT, int(digits)
    return promos.AMOUNT, _amount(word, currency, word)


def _amount(value: str, currency: str, word: str) -> int:
    try:
        minor = Money.parse(value, currency).minor
    except MoneyError:
        raise BadSpec("amount", word) from None
    if minor <= 0:
        raise BadSpec("amount", word)
    return minor


def _moment(value: str, tenant: Tenant, *, end_of_day: bool) -> datetime | None:
    zone = shop_zone(tenant)
    for pattern in ("%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, pattern)
        except ValueError:
            continue
        if pattern == "%Y-%m-%d" and end_of_day:
            parsed = datetime.combine(parsed.date() + timedelta(days=1), time())
        return parsed.replace(tzinfo=zone).astimezone(UTC)
    return None


async def create(session: AsyncSession, tenant: Tenant, spec: Spec, now: datetime) -> PromoCode | None:
    """The new code; None when the shop has a code by that name already (any case)."""
    repo = PromoRepository(session)
    if await repo.by_code(tenant.id, spec.code) is not None:
        return None
    promo = PromoCode(
        tenant_id=tenant.id,
        code=spec.code,
        kind=spec.kind,
        value=spec.value,
        currency=tenant.currency,
        skus=spec.skus,
        categories=spec.categories,
        min_order_minor=spec.min_order_minor,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        max_uses=spec.max_uses,
        per_customer=spec.per_customer,
        uses=0,
        status=promos.ACTIVE,
        created_at=now,
    )
    session.add(promo)
    await session.flush()
    return promo


def describe(promo: PromoCode, tenant: Tenant, t: Callable[..., str]) -> str:
    """One code in a list: ``SAVE10 · 10% · active · 3/100 used · until 31 Dec 23:59 EAT``."""
    off = f"{promo.value}%" if promo.kind == promos.PERCENT else Money(promo.value, promo.currency).format()
    parts = [promo.code, off, t(f"promo.status.{promo.status}")]
    limit = str(promo.max_uses) if promo.max_uses is not None else "∞"
    parts.append(t("promo.used", uses=promo.uses, limit=limit))
    if promo.min_order_minor:
        parts.append(t("promo.minimum", amount=Money(promo.min_order_minor, promo.currency).format()))
    if promo.per_customer is not None:
        parts.append(t("promo.per_customer", count=promo.per_customer))
    if promo.skus or promo.categories:
        parts.append(t("promo.only", what=", ".join([*promo.skus, *promo.categories])))
    if promo.starts_at is not None:
        parts.append(t("promo.from", when=when(promo.starts_at, tenant)))
    if promo.ends_at is not None:
        parts.append(t("promo.until", when=when(promo.ends_at, tenant)))
    return " · ".join(parts)


async def command(ctx: FlowContext, args: str) -> Reply:
    words = args.split()
    action = words[0].lower() if words else "list"
    if action == "list":
        return Reply([await listing(ctx)])
    if action == "add":
        try:
            spec = parse_add(words[1:], ctx.tenant)
        except BadSpec as bad:
            audit.record(ctx, "promo.add", allowed=False, reason=bad.what)
            return Reply([Message(ctx.t(f"promo.bad.{bad.what}", word=bad.word))], refused=True)
        promo = await create(ctx.session, ctx.tenant, spec, ctx.clock.now())
        if promo is None:
            return Reply([Message(ctx.t("promo.exists", code=spec.code))], refused=True)
        audit.record(ctx, "promo.add", promo.code)
        link = f"https://t.me/{ctx.tenant.bot_username}?start={promos.DEEP_LINK_PREFIX}{promo.code}"
        body = ctx.t("promo.created", line=describe(promo, ctx.tenant, ctx.t))
        return Reply([Message(body + ("\n" + link if ctx.tenant.bot_username else ""))])
    if action in ACTIONS:
        code = promos.normalize(words[1]) if len(words) > 1 else None
        if code is None:
            return Reply([Message(ctx.t("promo.usage"))], refused=True)
        return Reply([Message(await act(ctx, action, code))])
    return Reply([Message(ctx.t("promo.usage"))], refused=True)


async def act(ctx: FlowContext, action: str, code: str) -> str:
    allowed, status = MOVES[action]
    repo = PromoRepository(ctx.session)
    if await repo.by_code(ctx.tenant.id, code) is None:
        return ctx.t("promo.no_such", code=code)
    if not await repo.set_status(ctx.tenant.id, code, allowed, status):
        audit.record(ctx, f"promo.{action}", code, allowed=False)
        promo = await repo.by_code(ctx.tenant.id, code)
        return ctx.t("promo.cannot", code=code, status=ctx.t(f"promo.status.{promo.status if promo else 'ended'}"))
    audit.record(ctx, f"promo.{action}", code)
    return ctx.t(f"promo.done.{action}", code=code)


async def listing(ctx: FlowContext) -> Message:
    codes = await PromoRepository(ctx.session).for_tenant(ctx.tenant.id)
    if not codes:
        return Message(ctx.t("promo.none"))
    rows: list[list[Button]] = []
    for promo in codes[:20]:
        buttons = [
            Button(ctx.t(f"promo.button.{action}", code=promo.code), data=PromoAction(promo.id, index).pack())
            for index, action in enumerate(ACTIONS)
            if promo.status in MOVES[action][0]
        ]
        if buttons:
            rows.append(buttons)
    body = [ctx.t("promo.title"), *(describe(p, ctx.tenant, ctx.t) for p in codes[:20])]
    return Message("\n".join(body), keyboard(*rows))


async def button(ctx: FlowContext, promo_id: int, index: int) -> Reply:
    promo = await ctx.session.get(PromoCode, promo_id)
    if promo is None or promo.tenant_id != ctx.tenant.id or not 0 <= index < len(ACTIONS):
        return Reply(notice=ctx.t("error.stale_button"))
    words = await act(ctx, ACTIONS[index], promo.code)
    return Reply([Message(words), await listing(ctx)])
