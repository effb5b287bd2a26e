"""The poison inputs found by driving the server from outside (issue 11), one by one: each was answered 500 (or
lost a reply), and is now refused with a 4xx, or the provider's own refusal body, changing nothing."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from sqlalchemy import select

from core.db.tables import Customer, Payment, PaymentEvent
from core.messages import Message
from core.money import Money, MoneyError
from payments.paystack.signature import SIGNATURE_HEADER, sign
from sandbox.telegram.delivery import SECRET_HEADER
from tests.property.harness import CHAT, PAYSTACK_KEY, Stage, answered, stage, unchanged
from tests.property.strategies import GZIP_BOMB, Request

__all__ = ["stage"]  # the fixture

DEEP = b"[" * 50_000 + b"]" * 50_000
REFUSED = {"ResultCode": 1, "ResultDesc": "Rejected"}


def update(
    user_id: int = CHAT, chat_id: int = CHAT, update_id: int = 500, first_name: str = "Eve", **message: Any
) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": first_name},
            **({"text": "/start"} | message),
        },
    }


def to_telegram(stage: Stage, body: bytes, **headers: str) -> Request:
    return Request("POST", f"/tg/{stage.shop.slug}", body, {SECRET_HEADER: stage.shop.webhook_secret, **headers})


post = unchanged  # sends a request, checks that no row changed; the answer's status and body


# --- Telegram ---


async def test_an_update_nested_tens_of_thousands_deep_is_refused(stage: Stage) -> None:
    assert await post(stage, to_telegram(stage, DEEP)) == (400, b"not a Telegram update")


@pytest.mark.parametrize(
    "ids",
    [
        {"update_id": 2**63},
        {"user_id": 2**64},
        {"chat_id": -(2**63) - 1},
        {"user_id": 10**30, "chat_id": 10**30},
    ],
    ids=["update_id", "user", "chat", "both"],
)
async def test_an_update_with_ids_past_64_bits_is_refused(stage: Stage, ids: dict[str, int]) -> None:
    body = json.dumps(update(**ids)).encode()
    assert await post(stage, to_telegram(stage, body)) == (400, b"not a Telegram update")


async def test_a_document_size_past_64_bits_is_refused(stage: Stage) -> None:
    document = {"file_id": "f", "file_unique_id": "u", "file_size": 2**64}
    body = json.dumps(update(document=document, text=None)).encode()
    assert await post(stage, to_telegram(stage, body)) == (400, b"not a Telegram update")


async def test_lone_surrogates_in_names_and_texts_are_replaced(stage: Stage) -> None:
    person = stage.server.person(stage.shop, 7002, "Eve")
    person.user.account.meet(person.user.chat)  # as if Eve had written before (her first update is this one)
    body = json.dumps(
        update(user_id=7002, chat_id=7002, update_id=501, first_name="Ev\ud800e", text="hi \udfff")
    ).encode()
    status = await answered(stage, to_telegram(stage, body))
    assert status == (200, b'{"ok": true}')
    async with stage.server.database.uow() as uow:
        name = await uow.session.scalar(select(Customer.display_name).where(Customer.tg_user_id == 7002))
    assert name == "Ev\ufffde"
    assert person.messages[-1].content.startswith("Sorry, I did not understand that.")


async def test_a_reply_holding_a_lone_surrogate_is_delivered_cleaned(stage: Stage) -> None:
    assert stage.server.runtime is not None
    notifier = stage.server.runtime.channel.notifier
    await notifier.send(stage.shop.tenant_id, CHAT, Message("Asante \ud83d sana"))
    assert stage.server.person(stage.shop, CHAT).messages[-1].content == "Asante \ufffd sana"


@pytest.mark.parametrize(
    "body", [b"not gzip at all", gzip.compress(b"{}")[:10], GZIP_BOMB], ids=["junk", "cut", "bomb"]
)
async def test_an_encoded_telegram_body_is_refused_before_it_is_read(stage: Stage, body: bytes) -> None:
    for secret in (stage.shop.webhook_secret, "wrong"):
        request = Request("POST", f"/tg/{stage.shop.slug}", body, {SECRET_HEADER: secret, "Content-Encoding": "gzip"})
        status, answer = await post(stage, request)
        assert (status, answer) == (415, b"Content-Encoding not accepted: send the body unencoded")


# --- Paystack ---


@pytest.mark.parametrize("slug", ["mama-mboga", "no-such-shop"])
@pytest.mark.parametrize("body", [b"not gzip at all", GZIP_BOMB], ids=["junk", "bomb"])
async def test_an_encoded_paystack_body_is_refused_before_the_shop_or_signature(
    stage: Stage, slug: str, body: bytes
) -> None:
    request = Request("POST", f"/pay/paystack/{slug}", body, {"Content-Encoding": "gzip"})
    assert await post(stage, request) == (415, b"Content-Encoding not accepted: send the body unencoded")


@pytest.mark.parametrize(
    ("field", "value", "answer"),
    [
        ("metadata", json.dumps("[" * 10_000 + "]" * 10_000), (200, b'{"status": "unmatched"}')),
        ("id", '"\u00b2"', (200, b'{"status": "unmatched"}')),
        ("amount", '"' + "9" * 5000 + '"', (400, b'{"status": "malformed"}')),
        ("amount", str(2**64), (400, b'{"status": "malformed"}')),
    ],
    ids=["deep-metadata", "superscript-id", "5000-digit-amount", "amount-past-64-bits"],
)
async def test_signed_paystack_events_with_poisoned_fields_are_answered(
    stage: Stage, field: str, value: str, answer: tuple[int, bytes]
) -> None:
    data = {"id": 1, "reference": "not-ours", "status": "success", "amount": 42000, "currency": "KES"}
    event = json.dumps({"event": "charge.success", "data": data}).replace(f'"{field}": ', f'"{field}": {value}, "x": ')
    body = event.encode()
    request = Request("POST", f"/pay/paystack/{stage.shop.slug}", body, {SIGNATURE_HEADER: sign(body, PAYSTACK_KEY)})
    assert await answered(stage, request) == answer


# --- Daraja ---


def stk(amount: str, code: str = "0") -> bytes:
    items = [
        {"Name": "Amount", "Value": "AMOUNT"},
        {"Name": "MpesaReceiptNumber", "Value": "QK7ABC1234"},
        {"Name": "TransactionDate", "Value": 20241231235959},
        {"Name": "PhoneNumber", "Value": 254712345678},
    ]
    callback = {
        "MerchantRequestID": "m",
        "CheckoutRequestID": "c",
        "ResultCode": "CODE",
        "ResultDesc": "d",
        "CallbackMetadata": {"Item": items},
    }
    text = json.dumps({"Body": {"stkCallback": callback}})
    return text.replace('"AMOUNT"', amount).replace('"CODE"', code).encode()


@pytest.mark.parametrize(
    "body",
    [DEEP, stk("1e999999"), stk('"1e999999"'), stk("1e999"), stk('"1e999"'), stk("1", code="1E+999999999")],
    ids=["deep", "huge-exponent", "huge-exponent-text", "exponent", "exponent-text", "code-exponent"],
)
async def test_a_poisoned_stk_callback_gets_darajas_refusal(stage: Stage, body: bytes) -> None:
    status, answer = await post(stage, Request("POST", f"/pay/stk/{stage.stk_token}", body))
    assert (status, json.loads(answer)) == (400, REFUSED)
    async with stage.server.database.uow() as uow:
        assert await uow.session.scalar(select(Payment.status)) == "pending"


@pytest.mark.parametrize("end", ["confirm", "validate"])
@pytest.mark.parametrize("amount", ['"1e999999"', "1e999", "1E+999999999"])
async def test_a_c2b_notification_with_a_huge_amount_gets_darajas_refusal(stage: Stage, end: str, amount: str) -> None:
    body = (
        '{"TransactionType": "Pay Bill", "TransID": "TX1", "TransTime": "20241231235959", "TransAmount": '
        + amount
        + ', "BusinessShortCode": "174379", "BillRefNumber": "FUZZ01", "MSISDN": "254712345678"}'
    ).encode()
    path = f"/pay/c2b/{stage.shop.slug}/{stage.c2b_token}/{end}"
    status, answer = await post(stage, Request("POST", path, body))
    assert (status, json.loads(answer)) == (400, REFUSED)
    async with stage.server.database.uow() as uow:
        assert list(await uow.session.scalars(select(PaymentEvent.id))) == []


async def test_a_deep_c2b_body_gets_darajas_refusal(stage: Stage) -> None:
    path = f"/pay/c2b/{stage.shop.slug}/{stage.c2b_token}/confirm"
    status, answer = await post(stage, Request("POST", path, DEEP))
    assert (status, json.loads(answer)) == (400, REFUSED)


# --- paths ---


@pytest.mark.parametrize(
    "path", ["/tg/mama%00mboga", "/pay/paystack/%00", "/pay/c2b/%00/%ED%A0%80/confirm", "/pay/stk/%ff%00"]
)
async def test_path_parameters_that_are_not_names_find_nothing(stage: Stage, path: str) -> None:
    assert await post(stage, Request("POST", path, b"{}")) == (404, b"not found")


# --- money ---


@pytest.mark.parametrize("amount", ["1e999999", "1e999", "1E+999999999", "9" * 5000, "1e17", "NaN", "-Infinity"])
def test_money_refuses_what_is_no_amount(amount: str) -> None:
    with pytest.raises(MoneyError):
        Money.parse(amount, "KES")
    with pytest.raises(MoneyError):
        Money.from_major(amount, "KES")


# --- found by make fuzz ---


async def test_a_c2b_notification_with_a_lone_surrogate_gets_darajas_refusal(stage: Stage) -> None:
    body = b'{"TransID": "\\ud800", "TransAmount": "7", "BusinessShortCode": "174379", "BillRefNumber": "FUZZ01"}'
    path = f"/pay/c2b/{stage.shop.slug}/{stage.c2b_token}/confirm"
    status, answer = await post(stage, Request("POST", path, body))
    assert (status, json.loads(answer)) == (400, REFUSED)


async def test_a_signed_paystack_event_with_a_lone_surrogate_is_refused(stage: Stage) -> None:
    data = b'{"reference": "\\udfff", "status": "success", "amount": 1, "currency": "KES"}'
    body = b'{"event": "charge.success", "data": ' + data + b"}"
    request = Request("POST", f"/pay/paystack/{stage.shop.slug}", body, {SIGNATURE_HEADER: sign(body, PAYSTACK_KEY)})
    assert await post(stage, request) == (400, b'{"status": "malformed"}')


@pytest.mark.parametrize("number", ["1e310", "-1e310", "NaN", "Infinity"])
async def test_a_signed_paystack_event_with_a_number_no_json_column_takes_is_refused(stage: Stage, number: str) -> None:
    # Found by make fuzz on PostgreSQL: 1e310 became float infinity, recorded raw, and PostgreSQL refused the JSON.
    body = ('{"event": "transfer.success", "data": {"id": 1, "fee": ' + number + "}}").encode()
    request = Request("POST", f"/pay/paystack/{stage.shop.slug}", body, {SIGNATURE_HEADER: sign(body, PAYSTACK_KEY)})
    assert await post(stage, request) == (400, b'{"status": "malformed"}')


@pytest.mark.parametrize("number", ["NaN", "-Infinity"])
async def test_daraja_and_telegram_bodies_with_nan_are_refused(stage: Stage, number: str) -> None:
    c2b = f'{{"TransID": "TX9", "TransAmount": "7", "BusinessShortCode": "174379", "Fee": {number}}}'.encode()
    path = f"/pay/c2b/{stage.shop.slug}/{stage.c2b_token}/confirm"
    status, answer = await post(stage, Request("POST", path, c2b))
    assert (status, json.loads(answer)) == (400, REFUSED)
    telegram = json.dumps(update(update_id=502)).replace('"date": 1700000000', f'"x": {number}, "date": 1').encode()
    assert await post(stage, to_telegram(stage, telegram)) == (400, b"not a Telegram update")
