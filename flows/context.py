"""Everything a flow step may use, passed in: the transaction, the tenant, the person, the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.tables import Conversation, Customer, Tenant
from core.messages import Message
from core.texts import text
from flows.inbound import Actor

# A proof upload above this cannot be fetched by the bot (Bot API getFile limit).
MAX_PROOF_BYTES = 20 * 1024 * 1024


@dataclass
class Reply:
    """What a step answers: messages for this chat, and an optional short notice for a pressed button."""

    messages: list[Message] = field(default_factory=list)
    notice: str | None = None
    refused: bool = False  # the input was refused and nothing changed
    start_payment: int | None = None  # a payment to hand to its provider once this reply's transaction commits


@dataclass
class FlowContext:
    session: AsyncSession
    tenant: Tenant
    actor: Actor
    customer: Customer
    conversation: Conversation
    clock: Clock
    methods: frozenset[str] = frozenset({"manual"})  # payment methods this server can start

    @property
    def lang(self) -> str:
        return self.customer.language

    def t(self, key: str, **values: Any) -> str:
        return text(key, self.lang, **values)

    def go(self, step: str, **data: Any) -> None:
        """Move the conversation to ``step``, replacing its step data."""
        self.conversation.step = step
        self.conversation.data = dict(data)
        self.conversation.updated_at = self.clock.now()

    def remember(self, **data: Any) -> None:
        self.conversation.data = {**self.conversation.data, **data}
        self.conversation.updated_at = self.clock.now()

    def recall(self, key: str, default: Any = None) -> Any:
        return self.conversation.data.get(key, default)
