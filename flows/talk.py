"""“Talk to the shop”: the customer's next messages (text, photos, documents) go to the merchant's alert chats through
the outbox, with who wrote, their open order, and Reply and End buttons (admin.talk); the shop's bot says nothing to
typed words meanwhile. The state is the customer's conversation step ``talk`` with its end time in the step's data:
durable, and over when an admin ends it (admin.talk), the customer leaves it (``/cancel``, checkout), or
:data:`TALK_HOURS` pass. Commands and buttons keep working while it lasts.

Each message is an outbox row keyed by the open order (``order:<id>:talk:...``), so the order's history lists it
(admin.order_history); without an open order it is keyed by the customer."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from core.buttons import TalkEnd, TalkReply, TalkToShop
from core.db.tables import Order
from core.merchant_alerts import alert_merchant
from core.messages import Button, Message, keyboard
from core.texts import text
from flows.buttons import CUSTOMER, shop_now
from flows.context import FlowContext, Reply
from flows.inbound import Inbound, Kind, UploadKind
from payments.states import OrderStatus

TALK_STEP = "talk"
TALK_HOURS = 24
# An order still open for the shop: what the customer most likely writes about.
_OPEN = (OrderStatus.AWAITING_PAYMENT, OrderStatus.NEEDS_REVIEW, OrderStatus.PAID)


def talk_key(order_id: int | None, customer_id: int, said: int, who: str) -> str:
    """The outbox key of a message of the talk: the order's own when there is one (its history lists it)."""
    return f"order:{order_id}:talk:{customer_id}:{who}{said}" if order_id else f"talk:{customer_id}:{who}{said}"


def ends_at(data: dict[str, object]) -> datetime | None:
    until = data.get("until")
    return datetime.fromisoformat(until) if isinstance(until, str) else None


def talking(step: str, data: dict[str, object], now: datetime) -> bool:
    until = ends_at(data)
    return step == TALK_STEP and until is not None and now < until


async def start(ctx: FlowContext) -> Reply:
    order = await ctx.session.scalar(
        select(Order)
        .where(Order.tenant_id == ctx.tenant.id, Order.customer_id == ctx.customer.id, Order.status.in_(_OPEN))
        .order_by(Order.id.desc())
        .limit(1)
    )
    until = ctx.clock.now() + timedelta(hours=TALK_HOURS)
    ctx.go(TALK_STEP, until=until.isoformat(), order_id=order.id if order else None, said=0)
    return Reply([Message(ctx.t("talk.started", shop=ctx.tenant.name))])


async def relay(ctx: FlowContext, inbound: Inbound) -> Reply | None:
    """The customer's words or pictures during a talk, owed to the merchant; None for anything the shop still
    answers (commands, buttons) or when no talk is on (one past its time ends here, and the shop answers again)."""
    if ctx.conversation.step != TALK_STEP:
        return None
    now = ctx.clock.now()
    if not talking(ctx.conversation.step, ctx.conversation.data, now):
        ctx.go("idle")
        return None
    if inbound.kind not in (Kind.TEXT, Kind.UPLOAD, Kind.OTHER):
        return None
    upload = inbound.upload
    if inbound.kind is Kind.OTHER or (upload and upload.kind not in (UploadKind.PHOTO, UploadKind.DOCUMENT)):
        return Reply([Message(ctx.t("talk.text_or_photo"))], refused=True)
    said = int(ctx.recall("said", 0)) + 1
    order_id = ctx.recall("order_id")
    order = await ctx.session.get(Order, order_id) if isinstance(order_id, int) else None
    who = ctx.customer.name or ctx.actor.display_name

    def message(language: str) -> Message:  # each admin reads it in their own language (core.merchant_alerts)
        about = (
            text(
                "talk.about_order",
                language,
                code=order.code,
                status=text(f"order.status.{order.status}", language),
            )
            if order is not None
            else text("talk.no_order", language)
        )
        header = text("talk.from_customer", language, name=who, id=ctx.actor.tg_user_id, about=about)
        buttons = keyboard(
            [
                Button(text("button.talk_reply", language), data=TalkReply(ctx.customer.id).pack()),
                Button(text("button.talk_end", language), data=TalkEnd(ctx.customer.id).pack()),
            ]
        )
        return Message(
            f"{header}\n{inbound.text}" if inbound.text else header,
            buttons,
            photo=upload.file_id if upload and upload.kind is UploadKind.PHOTO else None,
            document=upload.file_id if upload and upload.kind is UploadKind.DOCUMENT else None,
        )

    key = talk_key(order.id if order else None, ctx.customer.id, said, "c")
    await alert_merchant(ctx.session, ctx.tenant, key, message, now)
    ctx.remember(said=said)
    return Reply([])  # quiet: the shop's people answer


@CUSTOMER.on(TalkToShop, expired=shop_now)
async def _talk(ctx: FlowContext, _: TalkToShop) -> Reply:
    return await start(ctx)
