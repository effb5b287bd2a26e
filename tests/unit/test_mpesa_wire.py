"""Daraja wire parsing, against every body of the reference (§A.1-A.5 and the appendix), verbatim."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.money import Money
from payments.base import InvalidCallback, Outcome
from payments.mpesa.codes import C2BRejectCode
from payments.mpesa.wire import (
    DarajaErrorBody,
    Payer,
    StkQueryResult,
    c2b_accept,
    c2b_confirmation_ack,
    c2b_reject,
    callback_token,
    has_forbidden_word,
    normalise_bill_ref,
    parse_c2b,
    parse_c2b_validation_answer,
    parse_error,
    parse_register_url_response,
    parse_stk_callback,
    parse_stk_push_response,
    parse_stk_query,
    parse_time,
    parse_token,
    password,
    stk_callback_ack,
    timestamp,
)

# --- reference bodies, verbatim ---

OAUTH_A1 = b"""{
  "access_token": "c9SQxWWhmdVRlyh0zh8gZDTkubVF",
  "expires_in": "3599"
}"""

STK_PUSH_OK_A23 = b"""{
  "MerchantRequestID": "2654-4b64-97ff-b827b542881d3130",
  "CheckoutRequestID": "ws_CO_1007202409152617172396192",
  "ResponseCode": "0",
  "ResponseDescription": "Success. Request accepted for processing",
  "CustomerMessage": "Success. Request accepted for processing"
}"""

ERROR_A24 = b"""{
  "requestId": "1c5b-4ba8-815c-ac45c57a3db01495926",
  "errorCode": "400.002.02",
  "errorMessage": "Bad Request - Invalid BusinessShortCode"
}"""

STK_SUCCESS_A31 = b"""{
  "Body": {
    "stkCallback": {
      "MerchantRequestID": "29115-34620561-1",
      "CheckoutRequestID": "ws_CO_191220191020363925",
      "ResultCode": 0,
      "ResultDesc": "The service request is processed successfully.",
      "CallbackMetadata": {
        "Item": [
          { "Name": "Amount", "Value": 1.00 },
          { "Name": "MpesaReceiptNumber", "Value": "NLJ7RT61SV" },
          { "Name": "Balance" },
          { "Name": "TransactionDate", "Value": 20191219102115 },
          { "Name": "PhoneNumber", "Value": 254708374149 }
        ]
      }
    }
  }
}"""

STK_CANCELLED_A32 = b"""{
  "Body": {
    "stkCallback": {
      "MerchantRequestID": "f1e2-4b95-a71d-b30d3cdbb7a7942864",
      "CheckoutRequestID": "ws_CO_21072024125243250722943992",
      "ResultCode": 1032,
      "ResultDesc": "Request cancelled by user"
    }
  }
}"""

QUERY_FINAL_A4 = b"""{
  "ResponseCode": "0",
  "ResponseDescription": "The service request has been accepted successfully",
  "MerchantRequestID": "22205-34066-1",
  "CheckoutRequestID": "ws_CO_13012021093521236557",
  "ResultCode": "0",
  "ResultDesc": "The service request is processed successfully."
}"""

QUERY_PENDING_A4 = b"""{
  "requestId": "ws_CO_20022018230142206",
  "errorCode": "500.001.1001",
  "errorMessage": "The transaction is being processed"
}"""

REGISTER_OK_A51 = b"""{ "OriginatorCoversationID": "6e86-45dd-91ac-fd5d4178ab523408729", "ResponseCode": "0", "ResponseDescription": "Success" }"""  # noqa: E501

SIMULATE_OK_A52 = b"""{"OriginatorCoversationID":"\xe2\x80\xa6","ResponseCode":"0","ResponseDescription":"Accept the service request successfully."}"""  # noqa: E501

C2B_MASKED_A53 = b"""{
  "TransactionType": "Pay Bill",
  "TransID": "RKL51ZDR4F",
  "TransTime": "20231121121325",
  "TransAmount": "5.00",
  "BusinessShortCode": "600966",
  "BillRefNumber": "ORD12345",
  "InvoiceNumber": "",
  "OrgAccountBalance": "25.00",
  "ThirdPartyTransID": "",
  "MSISDN": "2547 ***** 126",
  "FirstName": "NICHOLAS",
  "MiddleName": "",
  "LastName": ""
}"""

APPENDIX_WRONG_PIN = b"""{"Body":{"stkCallback":{"MerchantRequestID":"14683-2472331-1","CheckoutRequestID":"ws_CO_DMZ_264800546_11032019141837240","ResultCode":2001,"ResultDesc":"The initiator information is invalid."}}}"""  # noqa: E501
APPENDIX_TIMEOUT = b"""{"Body":{"stkCallback":{"MerchantRequestID":"11212-261271-1","CheckoutRequestID":"ws_CO_21072024125243250722943992","ResultCode":1037,"ResultDesc":"DS timeout user cannot be reached"}}}"""  # noqa: E501
APPENDIX_INSUFFICIENT = b"""{"Body":{"stkCallback":{"MerchantRequestID":"29115-34620561-1","CheckoutRequestID":"ws_CO_191220191020363925","ResultCode":1,"ResultDesc":"The balance is insufficient for the transaction."}}}"""  # noqa: E501
APPENDIX_QUERY_PENDING = b"""{"requestId":"ws_CO_20022018230142206","errorCode":"500.001.1001","errorMessage":"The transaction is being processed"}"""  # noqa: E501
APPENDIX_QUERY_CANCELLED = b"""{"ResponseCode":"0","ResponseDescription":"The service request has been accepted successfully","MerchantRequestID":"22205-34066-1","CheckoutRequestID":"ws_CO_13012021093521236557","ResultCode":"1032","ResultDesc":"Request cancelled by user"}"""  # noqa: E501
APPENDIX_TOKEN_EXPIRED = (
    b"""{"requestId":"11728-2929992-1","errorCode":"404.001.03","errorMessage":"Invalid Access Token"}"""
)
APPENDIX_C2B_HASHED = b"""{"TransactionType":"Pay Bill","TransID":"SKL51ZDR4F","TransTime":"20260315121325","TransAmount":"1500.00","BusinessShortCode":"600984","BillRefNumber":"ORD12345","InvoiceNumber":"","OrgAccountBalance":"25000.00","ThirdPartyTransID":"","MSISDN":"bbff37cea44ac0b2d964ee0dfb8d2df8513dc7ba1b36129a929fc3fbd6dd4af4","FirstName":"JOHN","MiddleName":"","LastName":""}"""  # noqa: E501

SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"


# --- time and password ---


def test_password_matches_the_reference_sample() -> None:
    expected = (
        "MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZi"
        "NzJhZGExZWQyYzkxOTIwMTYwMjE2MTY1NjI3"
    )
    assert password("174379", SANDBOX_PASSKEY, "20160216165627") == expected
    assert password(174379, SANDBOX_PASSKEY, "20160216165627") == expected


def test_timestamp_is_nairobi_local_time() -> None:
    assert timestamp(datetime(2016, 2, 16, 13, 56, 27, tzinfo=UTC)) == "20160216165627"
    with pytest.raises(ValueError):
        timestamp(datetime(2016, 2, 16, 13, 56, 27))


@pytest.mark.parametrize("value", [20191219102115, "20191219102115", Decimal("20191219102115")])
def test_daraja_times_become_utc(value: object) -> None:
    assert parse_time(value) == datetime(2019, 12, 19, 7, 21, 15, tzinfo=UTC)


@pytest.mark.parametrize("value", [2019121910211, "2019-12-19", "20191340102115", None, True])
def test_bad_daraja_times_are_refused(value: object) -> None:
    with pytest.raises(InvalidCallback):
        parse_time(value, "TransactionDate")


# --- OAuth and sync answers ---


def test_oauth_token_with_string_or_integer_expiry() -> None:
    token = parse_token(OAUTH_A1)
    assert (token.access_token, token.expires_in) == ("c9SQxWWhmdVRlyh0zh8gZDTkubVF", 3599)
    assert parse_token(b'{"access_token": "abc", "expires_in": 3599}').expires_in == 3599
    assert "c9SQ" not in repr(token)


@pytest.mark.parametrize(
    "body", [b'{"access_token": "", "expires_in": "3599"}', b"<html>", b'{"access_token": "x", "expires_in": "soon"}']
)
def test_oauth_answers_without_a_usable_token_are_refused(body: bytes) -> None:
    with pytest.raises(InvalidCallback):
        parse_token(body)


def test_stk_push_sync_success() -> None:
    accepted = parse_stk_push_response(STK_PUSH_OK_A23)
    assert accepted.checkout_request_id == "ws_CO_1007202409152617172396192"
    assert accepted.merchant_request_id == "2654-4b64-97ff-b827b542881d3130"
    assert accepted.response_code == "0"


def test_error_shape() -> None:
    assert parse_error(ERROR_A24) == DarajaErrorBody(
        "400.002.02", "Bad Request - Invalid BusinessShortCode", "1c5b-4ba8-815c-ac45c57a3db01495926"
    )
    assert parse_error(APPENDIX_TOKEN_EXPIRED) == DarajaErrorBody(
        "404.001.03", "Invalid Access Token", "11728-2929992-1"
    )
    assert parse_error(STK_PUSH_OK_A23) is None
    assert parse_error(b"<html>busy</html>") is None


def test_error_shapes_of_gateways_are_read_too() -> None:
    apigee = b'{"fault":{"faultstring":"Invalid access token","detail":{"errorcode":"oauth.v2.InvalidAccessToken"}}}'
    assert parse_error(apigee) == DarajaErrorBody("oauth.v2.InvalidAccessToken", "Invalid access token")
    result_shape = b'{"resultCode":"999991","resultDesc":"Invalid client id passed"}'
    assert parse_error(result_shape) == DarajaErrorBody("999991", "Invalid client id passed")


# --- STK callback ---


def test_success_callback() -> None:
    callback = parse_stk_callback(STK_SUCCESS_A31)
    assert callback.succeeded
    assert callback.checkout_request_id == "ws_CO_191220191020363925"
    assert callback.merchant_request_id == "29115-34620561-1"
    assert callback.amount == Decimal("1.00")
    assert callback.amount_money() == Money(100, "KES")
    assert callback.receipt_number == "NLJ7RT61SV"
    assert callback.balance is None
    assert callback.transaction_date == datetime(2019, 12, 19, 7, 21, 15, tzinfo=UTC)
    assert callback.phone == Payer("254708374149", "msisdn")
    assert callback.result.outcome is Outcome.PAID


def test_success_callback_items_in_any_order_and_as_strings() -> None:
    data = json.loads(STK_SUCCESS_A31)
    items = data["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    items.reverse()
    items[0]["Value"] = "254708374149"  # PhoneNumber as a string
    items[1]["Value"] = "20191219102115"
    data["Body"]["stkCallback"]["ResultCode"] = "0"
    callback = parse_stk_callback(json.dumps(data).encode())
    assert callback.succeeded and callback.receipt_number == "NLJ7RT61SV"
    assert callback.phone == Payer("254708374149", "msisdn")
    assert callback.amount == Decimal("1.0")  # json.dumps wrote the float 1.0
    assert callback.transaction_date == datetime(2019, 12, 19, 7, 21, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("phone", "kind"),
    [
        ("bbff37cea44ac0b2d964ee0dfb8d2df8513dc7ba1b36129a929fc3fbd6dd4af4", "hashed"),
        ("25470****149", "masked"),
        ("2547 ***** 126", "masked"),
    ],
)
def test_success_callback_with_a_masked_or_hashed_phone(phone: str, kind: str) -> None:
    body = STK_SUCCESS_A31.replace(b"254708374149", json.dumps(phone).encode())
    callback = parse_stk_callback(body)
    assert callback.phone is not None and callback.phone.kind == kind


def test_payer_matching() -> None:
    assert Payer("bbff37cea44ac0b2d964ee0dfb8d2df8513dc7ba1b36129a929fc3fbd6dd4af4", "hashed").matches("254708374149")
    assert Payer.parse(254708374149) == Payer("254708374149", "msisdn")
    assert Payer("254708374149", "msisdn").matches("254708374149")
    masked = Payer.parse("25470****149")
    assert masked == Payer("25470****149", "masked")
    assert masked.matches("254708374149") is None  # consistent, cannot tell more
    assert masked.matches("254711111111") is False
    assert Payer.parse("2547XXXXX149") == Payer("2547XXXXX149", "masked")
    assert Payer("2547XXXXX149", "masked").matches("254708374149") is None
    assert Payer.parse(None) is None


@pytest.mark.parametrize(
    ("body", "code", "outcome", "reason"),
    [
        (STK_CANCELLED_A32, "1032", Outcome.CANCELLED, "mpesa.cancelled"),
        (APPENDIX_WRONG_PIN, "2001", Outcome.FAILED, "mpesa.wrong_pin"),
        (APPENDIX_TIMEOUT, "1037", Outcome.FAILED, "mpesa.unreachable"),
        (APPENDIX_INSUFFICIENT, "1", Outcome.FAILED, "mpesa.insufficient_funds"),
    ],
)
def test_failure_callbacks(body: bytes, code: str, outcome: Outcome, reason: str) -> None:
    callback = parse_stk_callback(body)
    assert not callback.succeeded
    assert callback.result_code == code
    assert (callback.result.outcome, callback.result.reason) == (outcome, reason)
    assert callback.amount is None and callback.receipt_number is None and callback.phone is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"Body": {}}', "Body.stkCallback"),
        (b'{"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1"}}}', "ResultCode"),
        (b'{"Body": {"stkCallback": {"ResultCode": 1032}}}', "CheckoutRequestID"),
        (b'{"Body":{"stkCallback":{"CheckoutRequestID":"ws_CO_1","ResultCode":0}}}', "without Amount"),
        (
            b'{"Body":{"stkCallback":{"CheckoutRequestID":"ws_CO_1","ResultCode":0,'
            b'"CallbackMetadata":{"Item":[{"Name":"Amount","Value":1}]}}}}',
            "without MpesaReceiptNumber",
        ),
        (
            b'{"Body":{"stkCallback":{"CheckoutRequestID":"ws_CO_1","ResultCode":1032,'
            b'"CallbackMetadata":{"Item":[{"Value":1}]}}}}',
            "without a Name",
        ),
        (
            b'{"Body":{"stkCallback":{"CheckoutRequestID":"ws_CO_1","ResultCode":0,"CallbackMetadata":{"Item":'
            b'[{"Name":"Amount","Value":"one"},{"Name":"MpesaReceiptNumber","Value":"X"}]}}}}',
            "not an amount",
        ),
    ],
)
def test_malformed_callbacks_say_why(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidCallback) as caught:
        parse_stk_callback(body)
    assert reason in caught.value.reason
    assert caught.value.status == 400


def test_callback_ack() -> None:
    assert stk_callback_ack() == {"ResultCode": 0, "ResultDesc": "Accepted"}


# --- STK query ---


def test_query_final_results_have_string_codes() -> None:
    paid = parse_stk_query(QUERY_FINAL_A4)
    assert isinstance(paid, StkQueryResult)
    assert not paid.pending and paid.result_code == "0" and paid.result.outcome is Outcome.PAID
    cancelled = parse_stk_query(APPENDIX_QUERY_CANCELLED)
    assert isinstance(cancelled, StkQueryResult)
    assert cancelled.result_code == "1032" and cancelled.result.outcome is Outcome.CANCELLED
    assert cancelled.checkout_request_id == "ws_CO_13012021093521236557"


@pytest.mark.parametrize("body", [QUERY_PENDING_A4, APPENDIX_QUERY_PENDING])
def test_query_pending_is_not_a_failure(body: bytes) -> None:
    answer = parse_stk_query(body, checkout_request_id="ws_CO_20022018230142206", http_status=500)
    assert isinstance(answer, StkQueryResult)
    assert answer.pending and answer.result.outcome is Outcome.PENDING and not answer.result.final


def test_query_other_errors_are_returned() -> None:
    answer = parse_stk_query(APPENDIX_TOKEN_EXPIRED, http_status=404)
    assert isinstance(answer, DarajaErrorBody) and answer.error_code == "404.001.03"
    wrong = b'{"requestId":"1","errorCode":"500.001.1001","errorMessage":"Wrong credentials"}'
    assert isinstance(parse_stk_query(wrong, http_status=500), DarajaErrorBody)
    with pytest.raises(InvalidCallback):
        parse_stk_query(b"{}", http_status=502)


# --- C2B ---


def test_c2b_body_with_a_masked_msisdn() -> None:
    payment = parse_c2b(C2B_MASKED_A53)
    assert payment.trans_id == "RKL51ZDR4F"
    assert payment.transaction_type == "Pay Bill"
    assert payment.amount == Decimal("5.00") and payment.amount_money() == Money(500, "KES")
    assert payment.business_shortcode == "600966"
    assert payment.account == "ORD12345"
    assert payment.org_account_balance == Decimal("25.00")
    assert payment.trans_time == datetime(2023, 11, 21, 9, 13, 25, tzinfo=UTC)
    assert payment.payer == Payer("2547 ***** 126", "masked")
    assert payment.first_name == "NICHOLAS" and payment.last_name == ""


def test_c2b_body_with_a_hashed_msisdn() -> None:
    payment = parse_c2b(APPENDIX_C2B_HASHED)
    assert payment.amount_money() == Money(150000, "KES")
    assert payment.payer is not None and payment.payer.kind == "hashed"
    assert payment.payer.matches("254708374149")


def test_c2b_validation_body_has_a_blank_balance_and_numbers_may_be_numbers() -> None:
    data = json.loads(C2B_MASKED_A53)
    data.update(OrgAccountBalance="", TransAmount="10", BusinessShortCode=600966)
    payment = parse_c2b(data)
    assert payment.org_account_balance is None
    assert payment.amount == Decimal(10) and payment.business_shortcode == "600966"


@pytest.mark.parametrize("field", ["TransID", "TransAmount", "BusinessShortCode"])
def test_c2b_without_an_essential_field_is_refused(field: str) -> None:
    data = json.loads(APPENDIX_C2B_HASHED)
    del data[field]
    with pytest.raises(InvalidCallback) as caught:
        parse_c2b(data)
    assert "Trans" in caught.value.reason or "BusinessShortCode" in caught.value.reason


def test_c2b_answers() -> None:
    assert c2b_accept() == {"ResultCode": "0", "ResultDesc": "Accepted"}
    assert c2b_accept("T-1") == {"ResultCode": "0", "ResultDesc": "Accepted", "ThirdPartyTransID": "T-1"}
    assert c2b_reject(C2BRejectCode.INVALID_ACCOUNT) == {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}
    assert c2b_reject() == {"ResultCode": "C2B00016", "ResultDesc": "Rejected"}
    assert c2b_confirmation_ack() == {"ResultCode": 0, "ResultDesc": "Success"}
    assert parse_c2b_validation_answer(json.dumps(c2b_accept("T-1"))).accepted
    assert parse_c2b_validation_answer(b'{"ResultCode": 0, "ResultDesc": "Accepted"}').accepted
    rejected = parse_c2b_validation_answer(json.dumps(c2b_reject(C2BRejectCode.INVALID_AMOUNT)))
    assert not rejected.accepted and rejected.result_code == "C2B00013"


def test_register_and_simulate_answers() -> None:
    registered = parse_register_url_response(REGISTER_OK_A51)
    assert registered.originator_conversation_id == "6e86-45dd-91ac-fd5d4178ab523408729"
    assert registered.response_code == "0" and registered.response_description == "Success"
    assert parse_register_url_response(SIMULATE_OK_A52).response_code == "0"


def test_bill_refs_are_normalised() -> None:
    assert normalise_bill_ref(" ord-123 45 ") == "ORD12345"


def test_callback_tokens_never_spell_forbidden_words() -> None:
    assert has_forbidden_word("https://shop.example.com/pay/stk/abc") is None
    for url in ("https://x/MPesa/cb", "https://x/m-pesa", "https://x/?Query=1", "https://x/cmd", "https://x/a.exe"):
        assert has_forbidden_word(url)
    assert all(has_forbidden_word(callback_token()) is None for _ in range(200))
