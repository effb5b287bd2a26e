"""Telegram Payments: sendInvoice, answerPreCheckoutQuery, refundStarPayment and getStarTransactions, checked the way
the Bot API documents them (the customer's side is :mod:`sandbox.telegram.stars`)."""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, bad_request
from ..models import SentMessage
from ..stars import STARS, SentInvoice
from .registry import Call, method

PAYLOAD_BYTES = 128


@method("sendInvoice")
async def send_invoice(call: Call) -> Any:
    params = call.params
    chat = call.bot.chat_for_sending(params.raw("chat_id"))
    title, description = params.string("title") or "", params.string("description") or ""
    payload, currency = params.string("payload") or "", params.string("currency") or ""
    token = params.string("provider_token") or ""
    if not 1 <= len(title) <= 32:
        raise bad_request("INVOICE_TITLE_EMPTY" if not title else "INVOICE_TITLE_INVALID")
    if not 1 <= len(description) <= 255:
        raise bad_request("INVOICE_DESCRIPTION_EMPTY" if not description else "INVOICE_DESCRIPTION_INVALID")
    if not 1 <= len(payload.encode()) <= PAYLOAD_BYTES:
        raise bad_request("INVOICE_PAYLOAD_INVALID")
    prices = params.json("prices", "prices")
    if not isinstance(prices, list) or not prices:
        raise bad_request("INVOICE_PRICES_EMPTY" if isinstance(prices, list) else "can't parse prices JSON object")
    amounts = [item.get("amount") if isinstance(item, dict) else None for item in prices]
    if any(not isinstance(amount, int) or isinstance(amount, bool) for amount in amounts):
        raise bad_request('field "amount" must be of type Integer')
    total = sum(amounts)  # type: ignore[arg-type]
    if currency == STARS:
        if token:
            raise bad_request("PAYMENT_PROVIDER_INVALID")  # Stars take no provider token
        if len(prices) != 1 or not 1 <= total <= 10_000:
            raise bad_request("STARS_INVOICE_INVALID")
    elif not token:
        raise bad_request("PAYMENT_PROVIDER_INVALID")
    elif len(currency) != 3 or not currency.isupper():
        raise bad_request("CURRENCY_INVALID")
    message = SentMessage(
        message_id=call.bot.next_message_id(chat.id),
        chat=chat,
        sender=call.bot.user,
        date=call.bot.now(),
        revision=0,
        invoice={
            "title": title,
            "description": description,
            "start_parameter": params.string("start_parameter") or "",
            "currency": currency,
            "total_amount": total,
        },
    )
    call.bot.add_message(message)
    call.bot.payments.invoices[(chat.id, message.message_id)] = SentInvoice(
        chat.id, message.message_id, title, description, payload, currency, total, token
    )
    return message.to_api()


@method("answerPreCheckoutQuery")
async def answer_pre_checkout_query(call: Call) -> Any:
    query_id = call.params.string("pre_checkout_query_id") or ""
    ok = call.params.boolean("ok")
    error = call.params.string("error_message")
    query = call.bot.payments.queries.get(query_id)
    if query is None or query.answered:
        raise bad_request("QUERY_ID_INVALID")
    if not ok and not error:
        raise bad_request("error_message is required when ok is False")  # "required if ok is False"
    query.answered, query.ok, query.error_message = True, ok, error
    call.bot.notify()
    return True


@method("refundStarPayment")
async def refund_star_payment(call: Call) -> Any:
    user_id = call.params.integer("user_id")
    charge = call.params.string("telegram_payment_charge_id") or ""
    ledger = call.bot.payments
    paid = ledger.payment(charge)
    if paid is None or paid["source"]["user"]["id"] != user_id:
        raise bad_request("CHARGE_NOT_FOUND")
    if charge in ledger.refunded:
        raise bad_request("CHARGE_ALREADY_REFUNDED")
    ledger.refunded.add(charge)
    receiver = {"type": "user", "user": paid["source"]["user"]}
    ledger.transactions.append({"id": charge, "amount": paid["amount"], "date": call.bot.now(), "receiver": receiver})
    call.bot.notify()
    return True


@method("getStarTransactions")
async def get_star_transactions(call: Call) -> Any:
    offset = call.params.integer("offset") or 0
    limit = call.params.integer("limit") or 100
    if not 1 <= limit <= 100 or offset < 0:
        raise ApiError(400, "Bad Request: invalid limit or offset")
    return {"transactions": call.bot.payments.transactions[offset : offset + limit]}
