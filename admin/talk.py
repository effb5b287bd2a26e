"""The merchant's side of “Talk to the shop” (flows.talk): Reply puts the admin who pressed it into reply mode, and
their next message (text, a photo, a document) reaches the customer through the bot, by the outbox; End closes the
talk, and the customer is told. A talk that ended (by an admin, by the customer, or after its hours) refuses both.
Customers are looked up within this tenant only, so another shop's button finds no one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from core import outbox
from core.buttons import TalkEnd, TalkReply
from core.db.tables import Conversation, Customer
from core.messages import Button, Message, keyboard
from core.texts import text
from flows.context import FlowContext, Reply
from flows.inbound import Inbound, Kind, UploadKind
from flows.talk import TALK_STEP, talk_key, talking

REPLY_STEP = "admin.talk"


async def _talk(ctx: FlowContext, customer_id: int) -> tuple[Customer, Conversation] | None:
    """The customer and their conversation, when a talk with them is on in this shop."""
    customer = await ctx.session.scalar(
        select(Customer).where(Customer.tenant_id == ctx.tenant.id, Customer.id == customer_id)
    )
    if customer is None:
        return None
    conversation = await ctx.session.scalar(
        select(Conversation).where(Conversation.tenant_id == ctx.tenant.id, Conversation.chat_id == customer.chat_id)
    )
    if conversation is None or not talking(conversation.step, conversation.data, ctx.clock.now()):
        return None
    return customer, conversation


def _buttons(ctx: FlowContext, customer_id: int) -> tuple[tuple[Button, ...], ...]:
    return keyboard(
        [
            Button(ctx.t("button.talk_reply"), data=TalkReply(customer_id).pack()),
            Button(ctx.t("button.talk_end"), data=TalkEnd(customer_id).pack()),
        ]
    )


async def begin_reply(ctx: FlowContext, customer_id: int) -> Reply:
    found = await _talk(ctx, customer_id)
    if found is None:
        return Reply([Message(ctx.t("talk.over"))], refused=True)
    customer, _ = found
    ctx.go(REPLY_STEP, customer_id=customer.id)
    return Reply(
        [Message(ctx.t("talk.reply_prompt", name=customer.name or customer.display_name or customer.tg_user_id))]
    )


async def admin_said(ctx: FlowContext, inbound: Inbound) -> Reply:
    """The admin's message in reply mode, owed to the customer; reply mode ends with it."""
    customer_id = int(ctx.recall("customer_id", 0))
    ctx.go("idle")
    found = await _talk(ctx, customer_id)
    if found is None:
        return Reply([Message(ctx.t("talk.over"))], refused=True)
    customer, conversation = found
    upload = inbound.upload
    if inbound.kind not in (Kind.TEXT, Kind.UPLOAD) or (
        upload and upload.kind not in (UploadKind.PHOTO, UploadKind.DOCUMENT)
    ):
        return Reply([Message(ctx.t("talk.text_or_photo"))], refused=True)
    now = ctx.clock.now()
    lead = text("talk.from_shop", customer.language, shop=ctx.tenant.name)
    message = Message(
        f"{lead}\n{inbound.text}" if inbound.text else lead,
        photo=upload.file_id if upload and upload.kind is UploadKind.PHOTO else None,
        document=upload.file_id if upload and upload.kind is UploadKind.DOCUMENT else None,
        language=customer.language,
    )
    order_id = conversation.data.get("order_id")
    key = talk_key(
        order_id if isinstance(order_id, int) else None, customer.id, _stamp(now), f"a{ctx.actor.tg_user_id}."
    )
    await outbox.enqueue(
        ctx.session, tenant_id=ctx.tenant.id, chat_id=customer.chat_id, dedupe_key=key, message=message, now=now
    )
    name = customer.name or customer.display_name or customer.tg_user_id
    return Reply([Message(ctx.t("talk.sent", name=name), _buttons(ctx, customer.id))])


async def end(ctx: FlowContext, customer_id: int) -> Reply:
    found = await _talk(ctx, customer_id)
    if found is None:
        return Reply([Message(ctx.t("talk.over"))], refused=True)
    customer, conversation = found
    now = ctx.clock.now()
    ended = await ctx.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.step == TALK_STEP)
        .values(step="idle", data={}, updated_at=now)
    )
    if not getattr(ended, "rowcount", 0):  # the customer left it at this moment
        return Reply([Message(ctx.t("talk.over"))], refused=True)
    order_id = conversation.data.get("order_id")
    key = talk_key(order_id if isinstance(order_id, int) else None, customer.id, _stamp(now), "end.")
    ended_note = Message(
        text("talk.ended_by_shop", customer.language, shop=ctx.tenant.name), language=customer.language
    )
    await outbox.enqueue(
        ctx.session, tenant_id=ctx.tenant.id, chat_id=customer.chat_id, dedupe_key=key, message=ended_note, now=now
    )
    return Reply([Message(ctx.t("talk.ended", name=customer.name or customer.display_name or customer.tg_user_id))])


def _stamp(now: datetime) -> int:
    """A message's place in the talk, for its outbox key: the admin's time to the microsecond."""
    return int(now.timestamp() * 1_000_000)
