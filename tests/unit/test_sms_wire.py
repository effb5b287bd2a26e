"""Africa's Talking's answers as the outbox reads them, and SMS texts fitted to one GSM-7 message."""

from __future__ import annotations

from typing import Any

import pytest

from core.notify import NotifierError, PermanentError, TransientError, Undeliverable
from notify.sms import gsm, wire

TO = "+254712345678"


def answer(code: int, status: str, message_id: str = "ATXid_1") -> dict[str, Any]:
    recipient = {"statusCode": code, "number": TO, "status": status, "cost": "KES 0.8000", "messageId": message_id}
    return {"SMSMessageData": {"Message": "Sent to 1/1 Total Cost: KES 0.8000", "Recipients": [recipient]}}


@pytest.mark.parametrize("code", [100, 101, 102])
def test_accepted_codes_give_the_message_id(code: int) -> None:
    assert wire.read_answer(201, answer(code, "Success"), TO) == wire.Accepted("ATXid_1", "Success", "KES 0.8000")


@pytest.mark.parametrize(
    ("http", "body", "error", "reason"),
    [
        (
            201,
            answer(403, "InvalidPhoneNumber", "None"),
            Undeliverable,
            "Africa's Talking status 403 InvalidPhoneNumber",
        ),
        (201, answer(406, "UserInBlacklist", "None"), Undeliverable, "Africa's Talking status 406 UserInBlacklist"),
        (
            201,
            answer(405, "InsufficientBalance", "None"),
            TransientError,
            "Africa's Talking status 405 InsufficientBalance",
        ),
        (201, answer(402, "InvalidSenderId", "None"), PermanentError, "Africa's Talking status 402 InvalidSenderId"),
        (
            201,
            answer(502, "RejectedByGateway", "None"),
            TransientError,
            "Africa's Talking status 502 RejectedByGateway",
        ),
        (201, answer(499, "", "None"), PermanentError, "Africa's Talking status 499 unknown"),
        (
            201,
            answer(101, "Success", "None"),
            TransientError,
            "Africa's Talking accepted the message without a message id",
        ),
        (401, None, PermanentError, "Africa's Talking refused the username and API key (HTTP 401)"),
        (503, None, TransientError, "Africa's Talking answered HTTP 503"),
        (429, None, TransientError, "Africa's Talking answered HTTP 429"),
        (200, "<html>proxy</html>", TransientError, "an answer that is not Africa's Talking's (HTTP 200)"),
        (
            201,
            {"SMSMessageData": {"Recipients": "x"}},
            TransientError,
            "an answer that is not Africa's Talking's (HTTP 201)",
        ),
        (
            400,
            {"SMSMessageData": {"Message": "InvalidSenderId", "Recipients": []}},
            PermanentError,
            "Africa's Talking sent to no one: InvalidSenderId",
        ),
    ],
)
def test_refusals_map_to_the_relays_errors(http: int, body: Any, error: type[NotifierError], reason: str) -> None:
    with pytest.raises(NotifierError) as raised:
        wire.read_answer(http, body, TO)
    assert (type(raised.value), raised.value.reason) == (error, reason)


def test_the_sandbox_host_in_test_mode_or_for_the_sandbox_username() -> None:
    assert wire.host("duka", test_mode=True) == "https://api.sandbox.africastalking.com"
    assert wire.host("sandbox", test_mode=False) == "https://api.sandbox.africastalking.com"
    assert wire.host("duka", test_mode=False) == "https://api.africastalking.com"
    assert wire.host("duka", test_mode=False, base_url="http://127.0.0.1:9/") == "http://127.0.0.1:9"


def test_a_text_is_brought_into_the_gsm_alphabet() -> None:
    text = "Duka 🛒 “Mama”: paiement de 1 500 F reçu — commande A7. Réf QK12. Merci !"
    assert gsm.fit(text) == 'Duka "Mama": paiement de 1 500 F recu - commande A7. Réf QK12. Merci !'


def test_a_long_text_is_cut_to_160_septets_counting_extension_characters_twice() -> None:
    fitted = gsm.fit("€" * 100)
    assert fitted == "€" * 78 + "..."
    assert sum(gsm.septets(c) for c in fitted) == 159
    assert gsm.fit("a" * 160) == "a" * 160
    assert gsm.fit("a" * 161) == "a" * 157 + "..."


@pytest.mark.parametrize("language", ["en", "sw", "fr"])
def test_the_catalog_sms_receipt_fits_one_message_with_a_long_shop_name(language: str) -> None:
    from core.texts import text

    body = text(
        "sms.receipt",
        language,
        shop="Mama Mboga Fresh Produce & Household",
        amount="KES 1,234,567.00",
        code="A7K2QX",
        txn="QK12ABCDEF",
    )
    assert gsm.fit(body) == gsm.to_gsm(body)  # nothing cut
    assert sum(gsm.septets(c) for c in gsm.to_gsm(body)) <= 160
