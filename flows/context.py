"""Everything a flow step may use, passed in: the transaction, the tenant, the person, the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.catalog_cache import CatalogCache
from core.clock import Clock
from core.db.tables import Conversation, Customer, Tenant
from core.fiscal_stamp import FiscalStamps, NoFiscalStamps
from core.texts import choose_language, plural, text
from flows.inbound import Actor
from payments.chat import Reply

__all__ = ["MAX_PROOF_BYTES", "FlowContext", "Reply"]

# A proof upload above this cannot be fetched by the bot (Bot API getFile limit).
MAX_PROOF_BYTES = 20 * 1024 * 1024


@dataclass
class FlowContext:
    """What a step is given; also what a provider's chat step sees (it satisfies :class:`payments.chat.ChatContext`).
    A step answers with a :class:`~payments.chat.Reply` (declared with the chat-step contract, below the flows)."""

    session: AsyncSession
    tenant: Tenant
    actor: Actor
    customer: Customer
    # In an update's step (router.open_step) a copy the session does not track, written by Step.save when its step,
    # data or time changed: change it by assignment (as go and remember do), never its data dict in place.
    conversation: Conversation
    clock: Clock
    methods: frozenset[str] = frozenset({"manual"})  # payment methods this server can start
    catalog: CatalogCache | None = None  # the process's shelves (browsing); None: read from the database each time
    # What tax authorities gave the shop's sales (printed on PDF receipts, listed in exports): the composition root
    # binds the process's (admin.gate.route); none when nothing is wired.
    fiscal: FiscalStamps = field(default_factory=NoFiscalStamps)
    # Set by the merchant's gate for an admin's command or button: the merchant's side in the admin's own language.
    speaks: str | None = None

    @property
    def lang(self) -> str:
        return self.speaks or self.customer.language

    def settle_language(self) -> None:
        """The customer's language for this update: the one they chose with /language, else their chat app's if dukabot
        speaks it, else the shop's, else English. Stored on the customer (what notifications sent later read), and
        written only when it changed."""
        if self.customer.language_chosen:
            return
        language = choose_language(self.actor.language, self.tenant.language)
        if self.customer.language != language:
            self.customer.language = language

    def t(self, key: str, **values: Any) -> str:
        return text(key, self.lang, **values)

    def tn(self, key: str, count: int, **values: Any) -> str:
        """The plural text ``key`` for ``count`` things (core.texts.plural)."""
        return plural(key, count, self.lang, **values)

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
