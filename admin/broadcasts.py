"""``/broadcast``: the merchant composes a message to customers in the chat, step by step: the message (text, or a
photo with its caption), an optional button (a product, or a promo code), the audience (``admin.broadcast_audience``),
then a preview with the count, and Send or Cancel.

The broadcast is a row from the message on (a draft); Send moves it out of draft with a conditional update, so a
second press (or a second admin) sends nothing twice, and writes its recipients in the same transaction with the
first progress message. ``admin.broadcast_feed`` then owes it to them through the outbox, a few at a time."""

from __future__ import annotations

from sqlalchemy import func, select, update

from admin import audit
from admin import broadcast_audience as audiences
from admin.broadcast_message import customer_message, progress_text
from core import outbox, promos
from core.buttons import BroadcastAction
from core.db.repos.catalog import CatalogRepository
from core.db.repos.promos import PromoRepository
from core.db.tables import Broadcast, Product
from core.messages import Button, Message, keyboard
from core.texts import LANGUAGES, text
from flows.context import FlowContext, Reply
from flows.inbound import Inbound, Kind, UploadKind

STEP_MESSAGE = "admin.broadcast.message"
STEP_PRODUCT = "admin.broadcast.product"
STEP_PROMO = "admin.broadcast.promo"
ACTIONS = ("product", "promo", "no_button", "everyone", "bought", "cart", "language", "send", "cancel")
MAX_TEXT = 1000  # a photo's caption may hold 1024 characters
DRAFT, SENDING, DONE, CANCELLED = "draft", "sending", "done", "cancelled"


def progress_key(broadcast_id: int, seq: int) -> str:
    return f"broadcast:{broadcast_id}:progress:{seq}"


def _press(ctx: FlowContext, broadcast: Broadcast, label: str, action: str, value: int = 0) -> Button:
    return Button(label, data=BroadcastAction(broadcast.id, ACTIONS.index(action), value).pack())


async def command(ctx: FlowContext) -> Reply:
    ctx.go(STEP_MESSAGE)
    return Reply([Message(ctx.t("broadcast.ask_message"))])


async def on_input(ctx: FlowContext, inbound: Inbound) -> Reply | None:
    """What the merchant sends at a composer step; None at any other step."""
    step = ctx.conversation.step
    if step == STEP_MESSAGE:
        return await _take_message(ctx, inbound)
    if step in (STEP_PRODUCT, STEP_PROMO):
        broadcast = await _draft(ctx, int(ctx.recall("broadcast_id", 0)))
        if broadcast is None:
            ctx.go("idle")
            return Reply([Message(ctx.t("broadcast.already"))], refused=True)
        typed = inbound.text.strip() if inbound.kind is Kind.TEXT else ""
        if step == STEP_PRODUCT:
            return await _take_product(ctx, broadcast, typed)
        return await _take_promo(ctx, broadcast, typed)
    return None


async def _take_message(ctx: FlowContext, inbound: Inbound) -> Reply:
    words, photo = inbound.text.strip(), None
    if inbound.kind is Kind.UPLOAD and inbound.upload is not None and inbound.upload.kind is UploadKind.PHOTO:
        photo = inbound.upload.file_id
    elif inbound.kind is not Kind.TEXT:
        words = ""
    if not (words or photo) or len(words) > MAX_TEXT:
        return Reply([Message(ctx.t("broadcast.bad_message", limit=MAX_TEXT))], refused=True)
    now = ctx.clock.now()
    broadcast = Broadcast(
        tenant_id=ctx.tenant.id,
        admin_chat_id=ctx.actor.chat_id,
        created_by=ctx.actor.tg_user_id,
        status=DRAFT,
        text=words,
        photo=photo,
        button={},
        audience="",
        total=0,
        sent=0,
        blocked=0,
        failed=0,
        skipped=0,
        progress_seq=0,
        created_at=now,
    )
    ctx.session.add(broadcast)
    await ctx.session.flush()
    ctx.go("idle")
    rows = [
        [
            _press(ctx, broadcast, ctx.t("broadcast.button.product"), "product"),
            _press(ctx, broadcast, ctx.t("broadcast.button.promo"), "promo"),
        ],
        [_press(ctx, broadcast, ctx.t("broadcast.button.none"), "no_button")],
    ]
    return Reply([Message(ctx.t("broadcast.ask_button"), keyboard(*rows))])


async def _take_product(ctx: FlowContext, broadcast: Broadcast, typed: str) -> Reply:
    product = await CatalogRepository(ctx.session).by_sku(ctx.tenant.id, typed) if typed else None
    if product is None and typed:
        product = await ctx.session.scalar(
            select(Product)
            .where(Product.tenant_id == ctx.tenant.id, func.lower(Product.name) == typed.lower())
            .limit(1)
        )
    if product is None or not product.active:
        return Reply([Message(ctx.t("broadcast.no_product", word=typed[:40]))], refused=True)
    broadcast.button = {"product_id": product.id, "name": product.name}
    return _ask_audience(ctx, broadcast)


async def _take_promo(ctx: FlowContext, broadcast: Broadcast, typed: str) -> Reply:
    code = promos.normalize(typed)
    promo = await PromoRepository(ctx.session).by_code(ctx.tenant.id, code) if code else None
    if promo is None or code is None or promo.status != promos.ACTIVE:
        return Reply([Message(ctx.t("broadcast.no_promo", word=typed[:32]))], refused=True)
    broadcast.button = {"promo_id": promo.id, "code": promo.code}
    return _ask_audience(ctx, broadcast)


def _ask_audience(ctx: FlowContext, broadcast: Broadcast, lead: str | None = None) -> Reply:
    ctx.go("idle")
    rows = [
        [_press(ctx, broadcast, ctx.t("broadcast.audience.all"), "everyone")],
        [
            _press(ctx, broadcast, ctx.t("broadcast.audience.bought", days=days), "bought", days)
            for days in audiences.DAYS
        ],
        [_press(ctx, broadcast, ctx.t("broadcast.audience.cart"), "cart")],
        [
            _press(ctx, broadcast, text("language.name", code), "language", index)
            for index, code in enumerate(LANGUAGES)
        ],
    ]
    words = ctx.t("broadcast.ask_audience")
    return Reply([Message(f"{lead}\n\n{words}" if lead else words, keyboard(*rows))])


def _describe(ctx: FlowContext, audience: str) -> str:
    kind, _, value = audience.partition(":")
    if kind == "bought":
        return ctx.t("broadcast.audience.bought", days=value)
    if kind == "lang":
        return ctx.t("broadcast.audience.lang", language=text("language.name", value))
    if kind == audiences.OPEN_CART:
        return ctx.t("broadcast.audience.cart")
    return ctx.t("broadcast.audience.all")


async def _draft(ctx: FlowContext, broadcast_id: int) -> Broadcast | None:
    return await ctx.session.scalar(
        select(Broadcast).where(
            Broadcast.id == broadcast_id, Broadcast.tenant_id == ctx.tenant.id, Broadcast.status == DRAFT
        )
    )


async def pressed(ctx: FlowContext, broadcast_id: int, index: int, value: int) -> Reply:
    """A composer button; a broadcast no longer in draft (sent, cancelled, another shop's) changes nothing."""
    broadcast = await _draft(ctx, broadcast_id)
    if broadcast is None or not 0 <= index < len(ACTIONS):
        return Reply([Message(ctx.t("broadcast.already"))], refused=True)
    action = ACTIONS[index]
    if action == "product":
        ctx.go(STEP_PRODUCT, broadcast_id=broadcast.id)
        return Reply([Message(ctx.t("broadcast.ask_product"))])
    if action == "promo":
        ctx.go(STEP_PROMO, broadcast_id=broadcast.id)
        return Reply([Message(ctx.t("broadcast.ask_promo"))])
    if action == "no_button":
        broadcast.button = {}
        return _ask_audience(ctx, broadcast)
    if action == "send":
        return await _send(ctx, broadcast)
    if action == "cancel":
        await _move(ctx, broadcast, CANCELLED)
        audit.record(ctx, "broadcast.cancel", str(broadcast.id))
        return Reply([Message(ctx.t("broadcast.cancelled"))])
    chosen = {
        "everyone": audiences.EVERYONE,
        "cart": audiences.OPEN_CART,
        "bought": audiences.bought(value),
        "language": audiences.speaks(LANGUAGES[value]) if value < len(LANGUAGES) else "",
    }[action]
    if not audiences.known(chosen):
        return Reply([Message(ctx.t("broadcast.already"))], refused=True)
    broadcast.audience = chosen
    return await _preview(ctx, broadcast)


async def _preview(ctx: FlowContext, broadcast: Broadcast) -> Reply:
    count = await audiences.count(ctx.session, ctx.tenant.id, broadcast.audience, ctx.clock.now())
    described = _describe(ctx, broadcast.audience)
    if count == 0:
        return _ask_audience(ctx, broadcast, ctx.t("broadcast.nobody", audience=described))
    buttons = [
        _press(ctx, broadcast, ctx.t("broadcast.send"), "send"),
        _press(ctx, broadcast, ctx.t("broadcast.cancel"), "cancel"),
    ]
    sample = customer_message(broadcast, ctx.lang)
    ask = Message(ctx.tn("broadcast.preview", count, audience=described), keyboard(buttons))
    return Reply([sample, ask])


async def _move(ctx: FlowContext, broadcast: Broadcast, status: str) -> bool:
    """Out of draft, once: whether this call moved it (a double press or a second admin finds it moved)."""
    moved = await ctx.session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast.id, Broadcast.tenant_id == ctx.tenant.id, Broadcast.status == DRAFT)
        .values(status=status, started_at=ctx.clock.now() if status == SENDING else None)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(moved, "rowcount", 0))


async def _send(ctx: FlowContext, broadcast: Broadcast) -> Reply:
    if not await _move(ctx, broadcast, SENDING):
        return Reply([Message(ctx.t("broadcast.already"))], refused=True)
    now = ctx.clock.now()
    total = await audiences.materialise(ctx.session, broadcast, now)
    broadcast.total = total
    broadcast.status = SENDING
    audit.record(ctx, "broadcast.send", str(broadcast.id), audience=broadcast.audience, total=total)
    await outbox.enqueue(
        ctx.session,
        tenant_id=ctx.tenant.id,
        chat_id=broadcast.admin_chat_id,
        dedupe_key=progress_key(broadcast.id, 0),
        message=Message(progress_text(broadcast, ctx.lang, left=total, done=False)),
        now=now,
    )
    return Reply(notice=ctx.tn("broadcast.starting", total))
