"""A provider's chat step: what the customer is asked before a payment starts, in transport-free terms.

A provider declares its step in its folder (``payments/<name>/chat.py``) and names it on its registry line
(:attr:`payments.base.ProviderEntry.chat`); one generic flow (``flows.payment``) drives every provider's step:

- the customer presses the provider's button in the order's payment menu: the flow checks the order (the customer's,
  awaiting payment, in stock, no proof being checked) and calls :attr:`ChatStep.begin`;
- a step may ask a question (a push provider: the phone to push to; a hosted-link provider: an email) by moving the
  conversation to one of its :attr:`ChatStep.questions`; what the customer types or shares there reaches
  :attr:`ChatStep.on_input`;
- its own buttons (:attr:`ChatStep.buttons`, kinds of :mod:`core.callbacks` declared in its folder) are bound by the
  flow to the customer's routes; a button of a kind from before an upgrade is answered with the customer's orders.

A step sees the conversation through :class:`ChatContext` (``flows.context.FlowContext`` satisfies it) and answers
with a :class:`Reply` of :mod:`core.messages`. It moves no money: it opens an attempt and its start job
(:func:`start_online_payment`); the job worker calls the provider after the commit. So there is no HTTP client here.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from core.callbacks import CallbackData
from core.inline import InlineAnswer
from core.messages import Message
from core.money import Money
from core.texts import has
from payments.attempts import is_push, open_attempt, open_payment, supersede_open
from payments.base import Outcome, ProviderEvent
from payments.invoices import InvoiceEvent, PreCheckoutAnswer
from payments.service import apply_event
from payments.starter import queue_start
from payments.states import PaymentStatus

if TYPE_CHECKING:  # types only: the registry names a step's loader without loading the database layer
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.clock import Clock
    from core.db.tables import Conversation, Customer, Order, Payment, ProviderConfig, Tenant


@dataclass
class Reply:
    """What a step answers: messages for this chat, and an optional short notice for a pressed button."""

    messages: list[Message] = field(default_factory=list)
    notice: str | None = None
    refused: bool = False  # the input was refused and nothing changed
    start_payment: int | None = None  # a payment to hand to its provider once this reply's transaction commits
    # The answer to Telegram's pre-checkout query of an invoice in the chat, sent once the transaction commits.
    pre_checkout: PreCheckoutAnswer | None = None
    # The answer to an inline query ("@shopbot words" in any chat), sent once the update's transaction commits.
    inline: InlineAnswer | None = None


class ChatContext(Protocol):
    """What a provider's chat step uses of the conversation: one update's transaction, the shop, the customer (whose
    phone and email a step may set: they chose them), the clock, the customer's texts and the conversation's step."""

    @property
    def session(self) -> AsyncSession: ...

    @property
    def tenant(self) -> Tenant: ...

    @property
    def customer(self) -> Customer: ...

    @property
    def conversation(self) -> Conversation: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def lang(self) -> str: ...

    def t(self, key: str, **values: Any) -> str:
        """The text ``key`` of the catalogs in the customer's language."""
        ...

    def go(self, step: str, **data: Any) -> None:
        """Move the conversation to ``step`` (one of the step's questions, or "idle"), replacing its step data."""
        ...

    def recall(self, key: str, default: Any = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class Answer:
    """What the customer sent while one of a step's questions was open: typed words, or a shared contact's phone
    number (Telegram's "share my number"). Anything else (a photo, a sticker) is not an answer to a step."""

    text: str | None = None
    phone: str | None = None


Begin = Callable[["ChatContext", "Order", "ProviderConfig"], Awaitable[Reply]]
# A merchant's chat command of a provider (``ProviderEntry.merchant_commands``): the admin's context and the words
# after the command.
MerchantCommand = Callable[["ChatContext", str], Awaitable[Reply]]
OnInput = Callable[["ChatContext", Answer], Awaitable["Reply | None"]]
ButtonHandler = Callable[["ChatContext", Any], Awaitable[Reply]]
# What a chat-invoice provider does with a fact about one of its invoices (payments.invoices): a pre-checkout query
# is answered (Reply.pre_checkout), a payment made in the chat is applied.
InvoiceHandler = Callable[["ChatContext", InvoiceEvent], Awaitable[Reply]]


async def no_input(ctx: ChatContext, answer: Answer) -> Reply | None:
    """A step that asks nothing takes no input."""
    return None


@dataclass(frozen=True, slots=True)
class ChatStep:
    """A provider's part of the conversation, driven by ``flows.payment``.

    ``begin``: the customer chose the provider for an order that can be paid (checked by the flow); ``config`` is the
    shop's settings row of the provider (its options say, for example, whether it asks for an email).
    ``questions``: the conversation steps the provider asks in, each named ``<provider>.<question>`` (the name is kept
    in the database, so a conversation left at a question is still answered after an upgrade: never rename one).
    ``on_input``: the answer to one of them; None when it does not take it (the flow then says what it expected).
    ``buttons``: the provider's own button kinds, each with its handler (the customer's press, checked by the handler:
    ids are looked up again within the tenant).
    ``charged``: for a provider that charges another amount than the order's (it converts a currency it does not
    take into one it does, at a rate the shop sets): ``(the shop's options, the order's total) -> the amount it
    charges``, None when it charges the total. The payment menu checks that amount against the provider's
    declaration, and the step opens its attempt for it (:func:`start_online_payment`'s ``charge``).
    ``invoice``: for a provider whose invoices are paid inside the chat (``ProviderKind.CHAT_INVOICE``), what it
    does with a pre-checkout query or a payment naming it in the invoice payload (:mod:`payments.invoices`)."""

    begin: Begin
    questions: frozenset[str] = frozenset()
    on_input: OnInput = no_input
    buttons: Mapping[type[CallbackData], ButtonHandler] = field(default_factory=dict)
    charged: Callable[[Mapping[str, Any], Money], Money | None] | None = None
    invoice: InvoiceHandler | None = None

    def check(self, provider: str) -> ChatStep:
        """This step, once its questions are shown to be the provider's own; raises TypeError otherwise."""
        foreign = sorted(question for question in self.questions if not question.startswith(f"{provider}."))
        if foreign:
            raise TypeError(f"{provider}: a chat step's questions are named {provider}.<question>, not {foreign}")
        return self


async def start_online_payment(
    ctx: ChatContext,
    order: Order,
    provider: str,
    sending: Message,
    *,
    charge: Money | None = None,
    choices: Mapping[str, str] | None = None,
) -> Payment | None:
    """A ``created`` attempt, its start job and the customer's ``sending`` message, all in this transaction; the
    worker calls the provider after the commit, and its answer takes the place of ``sending`` in the chat.

    An open attempt of another kind is superseded (the customer chose again); one of the same provider is replaced,
    in the provider's words for that (``<provider>.why.replaced``) when it has them: the customer did not choose
    another way to pay, they asked again. None when the order keeps an open attempt: an STK push (its prompt may be
    on the phone), or one a concurrent start opened a moment ago.

    The attempt has its own callback token (hex: it can never spell a word a provider refuses in a URL) and expires
    after the tenant's timeout even if it is never started. ``charge``: what the provider charges when it is not the
    order's total (:attr:`ChatStep.charged`); the attempt is for that amount. ``choices``: what the customer chose
    in the step that the provider's ``start`` needs (:attr:`payments.base.StartRequest.choices`)."""
    await _replace_own(ctx, order, provider)
    if await supersede_open(ctx.session, order, ctx.clock) is not None:
        return None
    now = ctx.clock.now()
    payment = await open_payment(
        ctx.session,
        order,
        provider,
        PaymentStatus.CREATED,
        now,
        expires_at=now + timedelta(minutes=ctx.tenant.payment_timeout_minutes),
        callback_token=secrets.token_hex(20),
        amount=charge,
    )
    if payment is not None:
        await queue_start(ctx.session, payment, ctx.customer.chat_id, sending, now, choices=choices)
    return payment


async def _replace_own(ctx: ChatContext, order: Order, provider: str) -> None:
    """Cancel the order's open attempt of ``provider`` itself, in the provider's words, when it has words for it
    and the attempt is not a push on a phone (never replaced: see :func:`payments.attempts.supersede_open`)."""
    current = await open_attempt(ctx.session, order)
    if current is None or current.provider != provider or is_push(current):
        return
    # A start that never answered showed no link: the words say so, rather than "this link" the customer never saw.
    key = f"{provider}.why.replaced" if current.provider_ref is not None else f"{provider}.why.replaced_unanswered"
    if not has(key):
        return
    event = ProviderEvent(
        provider=provider,
        event_key=f"replaced:{current.reference}",
        payment_reference=current.reference,
        outcome=Outcome.CANCELLED,
        reason=ctx.t(key),
        reason_code=f"{provider}.replaced",
    )
    await apply_event(ctx.session, order.tenant_id, event, ctx.clock)


def merchant_command(name: str) -> MerchantCommand | None:
    """The merchant's chat command ``name`` of the first provider in the registry that declares it, read when asked
    (so a provider registered later counts); None when no provider has it."""
    from payments.providers import ENTRIES  # the registry imports the declarations, which name this module's types

    for entry in ENTRIES.values():
        if entry.merchant_commands is not None:
            found = entry.merchant_commands().get(name)
            if found is not None:
                return found
    return None
