"""The seam between the outbox and channels other than the chat (SMS, email: ``notify/``).

An outbox row owed on another channel carries, in its payload under ``DELIVER_FIELD``, the channel's name and its
address (``{"channel": "sms", "to": "+254712345678", "order_id": 7}``). It is an ordinary row otherwise: unique on its
dedupe key, claimed, paced (its lane is the customer's chat, so it keeps its place among the chat's rows), retried
with back-off and dead-lettered to the merchant like any other. The claim hands the delivery fields to the message
(``Message.extra``), and :class:`Routed` sends a message that has them through that channel's :class:`ChannelSender`
instead of the chat's ``Notifier``. Senders raise the same ``core.notify`` errors the chat's notifier does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol

from core.messages import Message
from core.notify import Notifier, PermanentError

DELIVER_FIELD: Final = "deliver"  # in a row's payload and in its claimed message's ``extra``
ROW_FIELD: Final = "outbox_id"  # in a claimed message's ``extra``: the row it came from (a sender's idempotency)


class ChannelSender(Protocol):
    """Delivers one message on one channel to the address in ``delivery``; returns nothing, or raises a
    ``core.notify`` error (``Undeliverable`` for an address the channel refuses for good)."""

    async def deliver(self, tenant_id: int, outbox_id: int, delivery: Mapping[str, Any], message: Message) -> None: ...


def delivery_of(message: Message) -> Mapping[str, Any] | None:
    """The delivery fields of a claimed message owed on another channel; None for a chat message."""
    wanted = message.extra.get(DELIVER_FIELD)
    return wanted if isinstance(wanted, Mapping) and isinstance(wanted.get("channel"), str) else None


def for_channel(payload: Mapping[str, Any], row_id: int, message: Message) -> Message:
    """``message`` as claimed from a row: with the row's delivery fields, when it has any (see the module)."""
    wanted = payload.get(DELIVER_FIELD)
    if not isinstance(wanted, Mapping):
        return message
    return Message(
        message.text,
        message.buttons,
        photo=message.photo,
        document=message.document,
        replaces=message.replaces,
        extra={**message.extra, DELIVER_FIELD: dict(wanted), ROW_FIELD: row_id},
    )


class Routed:
    """A ``Notifier`` that sends chat messages through ``chat`` and the others through their channel's sender. A row
    whose channel this process has no sender for is refused as a permanent error: retried a few times (a process
    configured with it may take it), then dead-lettered to the merchant."""

    def __init__(self, chat: Notifier, channels: Mapping[str, ChannelSender]) -> None:
        self._chat = chat
        self._channels = dict(channels)

    async def send(
        self,
        tenant_id: int,
        chat_id: int,
        message: Message,
        *,
        edit_message_id: int | None = None,
        anew: Message | None = None,
    ) -> int | None:
        delivery = delivery_of(message)
        if delivery is None:
            return await self._chat.send(tenant_id, chat_id, message, edit_message_id=edit_message_id, anew=anew)
        sender = self._channels.get(str(delivery["channel"]))
        if sender is None:
            raise PermanentError(f"no sender for the {delivery['channel']} channel in this process")
        outbox_id = message.extra.get(ROW_FIELD)
        await sender.deliver(tenant_id, int(outbox_id or 0), delivery, anew or message)
        return None
