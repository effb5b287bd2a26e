"""Telegram Payments in the fake: the invoices a bot sent, the pre-checkout queries it was asked, and its Stars
ledger; and what a customer does with an invoice (:func:`pay`), as Telegram's wire format has it.

Telegram's side of a payment: the customer presses Pay; Telegram sends the bot a ``pre_checkout_query`` (id, from,
currency, total_amount, invoice_payload) and waits up to 10 seconds for ``answerPreCheckoutQuery``; on ``ok`` it
charges and sends a message with ``successful_payment`` (currency, total_amount, invoice_payload,
telegram_payment_charge_id, provider_payment_charge_id). A Stars payment is also a StarTransaction of the bot
(``getStarTransactions``: id = the charge id, source = TransactionPartnerUser with the payload), and a refund
(``refundStarPayment``) another one, with the same id and the user as its receiver."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .users import FakeUser

STARS = "XTR"
PRE_CHECKOUT_WAIT = 10.0  # Telegram's own limit for answerPreCheckoutQuery
_charges = itertools.count(1)


@dataclass
class SentInvoice:
    chat_id: int
    message_id: int
    title: str
    description: str
    payload: str
    currency: str
    total_amount: int
    provider_token: str


@dataclass
class PreCheckout:
    query_id: str
    user_id: int
    invoice: SentInvoice
    answered: bool = False
    ok: bool | None = None
    error_message: str | None = None


@dataclass
class StarsLedger:
    """One bot's payments state (``BotAccount.payments``)."""

    invoices: dict[tuple[int, int], SentInvoice] = field(default_factory=dict)
    queries: dict[str, PreCheckout] = field(default_factory=dict)
    transactions: list[dict[str, Any]] = field(default_factory=list)  # StarTransaction objects, oldest first
    refunded: set[str] = field(default_factory=set)

    def invoice(self, chat_id: int, message_id: int) -> SentInvoice:
        try:
            return self.invoices[(chat_id, message_id)]
        except KeyError:
            raise LookupError(f"message {message_id} in chat {chat_id} is no invoice") from None

    def payment(self, charge_id: str) -> dict[str, Any] | None:
        return next((t for t in self.transactions if t["id"] == charge_id and "source" in t), None)


@dataclass(frozen=True)
class Paid:
    """What :func:`pay` did: the query Telegram asked, and the payment when the bot said yes."""

    query: PreCheckout
    charge_id: str | None = None
    update: dict[str, Any] | None = None


def new_charge_id(currency: str) -> str:
    number = next(_charges)
    return f"stxTEST{number:012d}" if currency == STARS else f"tgcharge{number:012d}"


async def ask_pre_checkout(user: FakeUser, invoice: SentInvoice, **lies: Any) -> PreCheckout:
    """The customer pressed Pay: the bot gets a pre_checkout_query (``lies`` replace fields of it, as a forged or
    stale invoice would) and this waits for its answer, as Telegram does, for at most 10 seconds."""
    account = user.account
    query_id = f"{account.id}{len(account.payments.queries) + 1:08d}"
    query = PreCheckout(query_id, user.id, invoice)
    account.payments.queries[query_id] = query
    body = {
        "id": query_id,
        "from": user.info.to_api(),
        "currency": invoice.currency,
        "total_amount": invoice.total_amount,
        "invoice_payload": invoice.payload,
        **lies,
    }
    account.enqueue({"pre_checkout_query": body})
    async with asyncio.timeout(PRE_CHECKOUT_WAIT):
        await account.changed.wait_until(lambda: True if query.answered else None)
    return query


def successful_payment(
    user: FakeUser,
    invoice: SentInvoice,
    *,
    charge_id: str | None = None,
    record: bool = True,
    deliver: bool = True,
    **lies: Any,
) -> tuple[str, dict[str, Any] | None]:
    """The money moved: a Stars payment joins the bot's ledger (``record``), and the chat gets the
    successful_payment message (``deliver``: False when Telegram never got it to the bot). ``lies`` replace fields
    of the successful_payment, as a bad or replayed one would."""
    account = user.account
    charge = charge_id or new_charge_id(invoice.currency)
    if record and invoice.currency == STARS and account.payments.payment(charge) is None:
        account.payments.transactions.append(
            {
                "id": charge,
                "amount": invoice.total_amount,
                "date": account.now(),
                "source": {"type": "user", "user": user.info.to_api(), "invoice_payload": invoice.payload},
            }
        )
    if not deliver:
        return charge, None
    paid = {
        "currency": invoice.currency,
        "total_amount": invoice.total_amount,
        "invoice_payload": invoice.payload,
        "telegram_payment_charge_id": charge,
        "provider_payment_charge_id": "" if invoice.currency == STARS else f"prov_{charge}",
        **lies,
    }
    return charge, user._send({"successful_payment": paid})


async def pay(user: FakeUser, message_id: int, *, deliver: bool = True) -> Paid:
    """The customer pays the invoice ``message_id`` of their chat: the pre-checkout query, then, when the bot said
    yes, the payment (``deliver`` False: it is made, but its update never reaches the bot)."""
    invoice = user.account.payments.invoice(user.chat.id, message_id)
    query = await ask_pre_checkout(user, invoice)
    if not query.ok:
        return Paid(query)
    charge, update = successful_payment(user, invoice, deliver=deliver)
    return Paid(query, charge, update)
