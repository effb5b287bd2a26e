"""The channel contract: what a chat transport does for dukabot, in the product's terms, whatever library or network
carries it. An implementation is a folder (``bot/aiogram/``, ``bot/ptb/``) whose ``__init__`` declares its
:class:`ChannelEntry`, plus one line in :mod:`bot.channels`; the contract suite (``tests/channels``) runs over
every registered line.

A channel

- **reads** what arrives, by webhook (:meth:`Channel.parse`, a raw body) or by polling (:meth:`Channel.poll`), into a
  :class:`Received`: the update's id and, for a kind the flows act on, an :class:`Incoming` (who, which chat, what
  they did: :class:`flows.inbound.Inbound`);
- **delivers** a reply to the person who just spoke: :meth:`Channel.answer_press` (the button press, at once),
  :meth:`Channel.answer_inline_query` (a page of products for ``@shopbot words`` typed in any chat, at once: no chat
  message) and :meth:`Channel.reply` (a message, as new or edited in place); and the outbox relay's
  :class:`core.notify.Notifier` (:attr:`Channel.notifier`). Every failure is one of ``core.notify``'s errors:
  ``RetryAfter`` (wait, then again), ``TransientError`` (network, 5xx), ``PermanentError`` (the request was
  refused), ``Undeliverable`` (blocked, chat gone); an edit that is refused is sent anew, and "not modified"
  counts as delivered;
- **receives** for many tenants in one process: :meth:`Channel.set_webhook` or, without a public URL,
  :meth:`Channel.take_over_polling` and :meth:`Channel.poll`, whose failures the poller (:mod:`bot.polling`) reads
  as :class:`TokenRefused`, :class:`PollConflict`, ``RetryAfter`` or anything else (retried with back-off);
- **declares its limits** (:class:`core.channel_limits.ChannelLimits`) in its :class:`ChannelInfo`.

Adding a kind of update (a payment update, say) is one reading function per implementation (its ``updates``
module); adding a kind of reply is one rendering function per implementation (its ``notifier``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from core.channel_limits import ChannelLimits
from core.inline import InlineAnswer
from flows.inbound import Actor, Inbound
from payments.invoices import PreCheckoutAnswer

if TYPE_CHECKING:
    from datetime import datetime

    from core.db.engine import Database
    from core.messages import Message
    from core.notify import Notifier
    from core.vault import Vault


@dataclass(frozen=True, slots=True)
class Incoming:
    actor: Actor
    inbound: Inbound
    callback_query_id: str | None = None
    message_id: int | None = None  # the bot's message whose button was pressed, for edits


@dataclass(frozen=True, slots=True)
class Received:
    """One update, read. ``update_id`` is recorded once per tenant (a redelivery is a duplicate); ``incoming`` is
    None for the kinds dukabot does not act on (edited messages, channel posts...)."""

    update_id: int
    incoming: Incoming | None


class TokenRefused(Exception):
    """The channel refused the bot's credentials (Telegram's 401): no retry mends it."""


class PollConflict(Exception):
    """Someone else receives this bot's updates (another process polling, or a webhook): Telegram's 409."""


class ChannelRefused(Exception):
    """The channel refused an operator's request (setting a webhook, reading the bot's identity). ``reason`` is the
    channel's words, without the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot is (``dukabot doctor``): its username, and whether its owner switched inline mode on (Telegram:
    BotFather's /setinline; without it ``@shopbot words`` lists nothing)."""

    username: str
    inline: bool


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """What a channel is: its registry ``name`` (the value of ``DUKABOT_TELEGRAM_LIBRARY`` for Telegram's),
    the chat ``network`` it reaches (channels of one network share users, chats, webhooks and limits), a ``title``
    for people, the update kinds it asks its network for, and its limits."""

    name: str
    network: str
    title: str
    update_kinds: tuple[str, ...]
    limits: ChannelLimits


@dataclass(frozen=True, slots=True)
class ChannelKit:
    """What the composition root hands a channel when it builds it."""

    database: Database
    vault: Vault
    api_base: str  # the network's API (DUKABOT_TELEGRAM_API: Telegram, a local Bot API server, the sandbox's fake)


class Channel(Protocol):
    """One chat transport, serving every tenant of the process (one bot each, built from the tenant's token)."""

    @property
    def info(self) -> ChannelInfo: ...

    @property
    def notifier(self) -> Notifier:
        """The outbox relay's port: one rendered message, sent or edited in place."""
        ...

    # Reading

    def parse(self, body: bytes) -> Received | None:
        """A webhook body, read; None for a body the network could not have sent (not JSON, an integer outside 64
        bits, nested too deep, not an update). Texts are cleaned of lone surrogates."""
        ...

    async def poll(self, tenant_id: int, offset: int | None, wait: int) -> Sequence[Received]:
        """The tenant's next updates (long polling: Telegram answers within ``wait`` seconds), from ``offset`` on."""
        ...

    async def take_over_polling(self, tenant_id: int) -> None:
        """Removes the tenant's webhook (pending updates kept), so that polling receives them."""
        ...

    async def set_webhook(self, tenant_id: int, url: str, secret: str) -> None:
        """Raises :class:`ChannelRefused` when the network refuses."""
        ...

    # Replying to the person who just spoke

    async def answer_press(self, tenant_id: int, query_id: str, notice: str | None) -> None: ...

    async def answer_pre_checkout(self, tenant_id: int, answer: PreCheckoutAnswer) -> None:
        """Says yes or no (with the customer's words) to a payment about to be made in the chat; the network waits
        a few seconds for it (Telegram: 10) and refuses the payment itself after that."""
        ...

    async def answer_inline_query(self, tenant_id: int, answer: InlineAnswer) -> None:
        """Answers an inline query with a page of results (``core.inline``); Telegram takes the answer within a few
        seconds of the query and refuses a late one ("query is too old")."""
        ...

    async def reply(self, tenant_id: int, chat_id: int, message: Message, edit_id: int | None) -> None:
        """Sends ``message``, or edits message ``edit_id`` into it when it can be (sent anew when the edit is
        refused). The fastest path the library offers: most replies are one text menu."""
        ...

    async def download(self, tenant_id: int, file_id: str) -> bytes | None:
        """The file an upload refers to; None when the network no longer has it."""
        ...

    async def identity(self, tenant_id: int) -> BotIdentity:
        """The bot's username and whether inline mode is on (``dukabot doctor``). Raises :class:`ChannelRefused`
        when refused."""
        ...

    # The tenants' bots

    async def token_changed(self, tenant_id: int) -> bool: ...

    def forget(self, tenant_id: int) -> None: ...

    async def disable(self, tenant_id: int, reason: str, now: datetime) -> bool: ...

    async def enable(self, tenant_id: int) -> bool: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ChannelEntry:
    """One line of the registry (:mod:`bot.channels`). ``load`` imports the implementation (its library) only when the
    channel is chosen, and returns what builds it."""

    info: ChannelInfo
    load: Callable[[], Callable[[ChannelKit], Channel]]

    @property
    def name(self) -> str:
        return self.info.name
