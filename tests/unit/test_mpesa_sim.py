"""The Daraja simulator seen from outside: raw HTTP in, Daraja's answers and callbacks out (no sockets)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, timedelta
from typing import Any

import httpx
import pytest

from core.clock import FakeClock
from payments.mpesa.wire import (
    c2b_accept,
    c2b_reject,
    hash_msisdn,
    parse_c2b,
    parse_stk_callback,
    password,
    timestamp,
)
from sandbox.mpesa.models import HOLD, NO_CALLBACK, SimOutcome
from sandbox.mpesa.simulator import SANDBOX_PASSKEY, DarajaSimulator

KEY, SECRET = "sim-key", "sim-secret"
PHONE = "254708374149"
CALLBACK = "https://shop.example.com/pay/stk/0a1b2c"
ERROR_KEYS = ["requestId", "errorCode", "errorMessage"]


class Inbox:
    """Callback sender: records bodies; answers per URL (status, body) or raises for ``down`` URLs."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.down: set[str] = set()

    async def __call__(
        self, url: str, content: bytes, headers: Mapping[str, str], time_limit: float
    ) -> tuple[int, bytes]:
        if url in self.down:
            raise httpx.ConnectError("down")
        self.received.append((url, content))
        return self.answers.get(url, (200, b'{"ResultCode": 0, "ResultDesc": "Accepted"}'))

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(content) for _, content in self.received]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def sim(clock: FakeClock, inbox: Inbox) -> AsyncIterator[DarajaSimulator]:
    simulator = DarajaSimulator(clock=clock, sender=inbox, seed=1)
    simulator.add_app(KEY, SECRET)
    yield simulator
    await simulator.aclose()


@pytest.fixture
async def http(sim: DarajaSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.mock_transport(), base_url="https://daraja.test") as client:
        yield client


async def token(http: httpx.AsyncClient, key: str = KEY, secret: str = SECRET) -> str:
    basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
    answer = await http.get(
        "/oauth/v1/generate", params={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def stk_body(clock: FakeClock, **overrides: Any) -> dict[str, Any]:
    stamp = timestamp(clock.now())
    body: dict[str, Any] = {
        "BusinessShortCode": 174379,
        "Password": password("174379", SANDBOX_PASSKEY, stamp),
        "Timestamp": stamp,
        "TransactionType": "CustomerPayBillOnline",
        "Amount": 1,
        "PartyA": 254708374149,
        "PartyB": 174379,
        "PhoneNumber": 254708374149,
        "CallBackURL": CALLBACK,
        "AccountReference": "ORD12345",
        "TransactionDesc": "Order 12345",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


async def post(
    http: httpx.AsyncClient, path: str, body: Any, bearer: str | None, content_type: str = "application/json"
) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await http.post(path, content=content, headers=headers)


STK = "/mpesa/stkpush/v1/processrequest"
QUERY = "/mpesa/stkpushquery/v1/query"


def error_of(answer: httpx.Response) -> tuple[int, str, str]:
    data = answer.json()
    assert list(data) == ERROR_KEYS
    return answer.status_code, data["errorCode"], data["errorMessage"]


# --- OAuth, paths, auth ---


async def test_oauth(http: httpx.AsyncClient, sim: DarajaSimulator) -> None:
    basic = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    ok = await http.get("/oauth/v1/generate?grant_type=client_credentials", headers={"Authorization": f"Basic {basic}"})
    assert ok.status_code == 200 and ok.json()["expires_in"] == "3599" and len(ok.json()["access_token"]) == 28
    bad_grant = await http.get("/oauth/v1/generate?grant_type=password", headers={"Authorization": f"Basic {basic}"})
    assert error_of(bad_grant) == (400, "400.008.02", "Invalid grant type passed")
    no_basic = await http.get("/oauth/v1/generate?grant_type=client_credentials", headers={"Authorization": "x"})
    assert error_of(no_basic)[:2] == (400, "400.008.01")
    wrong = base64.b64encode(f"{KEY}:nope".encode()).decode()
    bad_secret = await http.get(
        "/oauth/v1/generate?grant_type=client_credentials", headers={"Authorization": f"Basic {wrong}"}
    )
    assert error_of(bad_secret)[:2] == (400, "400.008.01")
    assert sim.tokens_issued == 1


async def test_paths_methods_and_bearer(http: httpx.AsyncClient, sim: DarajaSimulator, clock: FakeClock) -> None:
    assert error_of(await http.get(STK)) == (405, "405.001", "Method Not Allowed")
    assert error_of(await http.post("/mpesa/nothing/v1")) == (404, "404.001.01", "Resource not found")
    assert error_of(await post(http, STK, stk_body(clock), None)) == (
        404,
        "404.001.04",
        "Invalid Authenticator Header",
    )
    assert error_of(await post(http, STK, stk_body(clock), "forged")) == (404, "404.001.03", "Invalid Access Token")
    bearer = await token(http)
    clock.advance(seconds=3600)
    assert error_of(await post(http, STK, stk_body(clock), bearer))[1] == "404.001.03"


async def test_app_without_the_product(http: httpx.AsyncClient, sim: DarajaSimulator, clock: FakeClock) -> None:
    sim.add_app("c2b-only", "s", products=frozenset({"c2b_v2"}))
    answer = await post(http, STK, stk_body(clock), await token(http, "c2b-only", "s"))
    assert error_of(answer)[:2] == (401, "401.003.01")


async def test_content_type_and_payload(http: httpx.AsyncClient, clock: FakeClock) -> None:
    bearer = await token(http)
    no_type = await post(http, STK, stk_body(clock), bearer, content_type="text/plain")
    assert error_of(no_type) == (400, "400.002.02", "Bad Request - Invalid BusinessShortCode")
    assert error_of(await post(http, STK, b"{not json", bearer)) == (400, "400.002.05", "Invalid Request Payload")


# --- STK push validation ---


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"BusinessShortCode": "17437x"}, "BusinessShortCode"),
        ({"Password": None}, "Password"),
        ({"Timestamp": "2016021616562"}, "Timestamp"),
        ({"Timestamp": "20161340165627"}, "Timestamp"),
        ({"TransactionType": "PayBill"}, "TransactionType"),
        ({"Amount": 1.5}, "Amount"),
        ({"Amount": "100.50"}, "Amount"),
        ({"Amount": 1.0}, "Amount"),
        ({"Amount": 0}, "Amount"),
        ({"PartyA": "0708374149"}, "PartyA"),
        ({"PartyB": 12}, "PartyB"),
        ({"PhoneNumber": "+254708374149"}, "PhoneNumber"),
        ({"CallBackURL": "not a url"}, "CallBackURL"),
        ({"CallBackURL": "https://shop.example.com/mpesa/cb"}, "CallBackURL"),
        ({"CallBackURL": "https://safaricom.shop.example.com/cb"}, "CallBackURL"),
        ({"CallBackURL": "https://shop.example.com/cb?QUERY=1"}, "CallBackURL"),
        ({"CallBackURL": "https://shop.example.com/sql/cb"}, "CallBackURL"),
        ({"CallBackURL": "https://shop.example.com/run.exe"}, "CallBackURL"),
        ({"CallBackURL": "https://shop.example.com/Cmd"}, "CallBackURL"),
        ({"AccountReference": "ORDER-1234567"}, "AccountReference"),
        ({"AccountReference": None}, "AccountReference"),
        ({"TransactionDesc": "Fourteen chars"}, "TransactionDesc"),
    ],
)
async def test_stk_fields_are_checked_like_daraja(
    http: httpx.AsyncClient, sim: DarajaSimulator, clock: FakeClock, overrides: dict[str, Any], field: str
) -> None:
    answer = await post(http, STK, stk_body(clock, **overrides), await token(http))
    assert error_of(answer) == (400, "400.002.02", f"Bad Request - Invalid {field}")
    assert sim.transactions == {}


async def test_numbers_as_strings_are_fine(http: httpx.AsyncClient, sim: DarajaSimulator, clock: FakeClock) -> None:
    body = stk_body(clock, BusinessShortCode="174379", Amount="10", PartyA=PHONE, PartyB="174379", PhoneNumber=PHONE)
    answer = await post(http, STK, body, await token(http))
    assert answer.status_code == 200 and answer.json()["ResponseCode"] == "0"


async def test_credentials(http: httpx.AsyncClient, clock: FakeClock) -> None:
    bearer = await token(http)
    wrong = await post(http, STK, stk_body(clock, Password=password("174379", "other", "20260115120000")), bearer)
    assert error_of(wrong) == (500, "500.001.1001", "Wrong credentials")
    unknown = await post(http, STK, stk_body(clock, BusinessShortCode=999999), bearer)
    assert error_of(unknown) == (500, "500.001.1001", "Merchant does not exist")


async def test_timestamp_must_be_nairobi_time_when_checked(
    http: httpx.AsyncClient, sim: DarajaSimulator, clock: FakeClock
) -> None:
    sim.timestamp_tolerance = timedelta(minutes=5)
    utc_stamp = clock.now().astimezone(UTC).strftime("%Y%m%d%H%M%S")  # the classic mistake
    body = stk_body(clock, Timestamp=utc_stamp, Password=password("174379", SANDBOX_PASSKEY, utc_stamp))
    bearer = await token(http)
    assert error_of(await post(http, STK, body, bearer))[2] == "Bad Request - Invalid Timestamp"
    assert (await post(http, STK, stk_body(clock), bearer)).status_code == 200


# --- STK outcomes and callbacks ---


async def test_success_callback_is_the_reference_shape(
    http: httpx.AsyncClient, sim: DarajaSimulator, inbox: Inbox, clock: FakeClock
) -> None:
    answer = await post(http, STK, stk_body(clock), await token(http))
    sync = answer.json()
    assert list(sync) == ["MerchantRequestID", "CheckoutRequestID", "ResponseCode", "ResponseDescription",
                          "CustomerMessage"]  # fmt: skip
    assert sync["ResponseDescription"] == "Success. Request accepted for processing"
    await sim.settle()
    [(url, content)] = inbox.received
    assert url == CALLBACK
    assert b'{"Name": "Amount", "Value": 1.00}' in content
    assert b'{"Name": "Balance"}' in content
    callback = json.loads(content)["Body"]["stkCallback"]
    assert list(callback) == ["MerchantRequestID", "CheckoutRequestID", "ResultCode", "ResultDesc", "CallbackMetadata"]
    assert callback["ResultCode"] == 0 and callback["CheckoutRequestID"] == sync["CheckoutRequestID"]
    items = {i["Name"]: i.get("Value") for i in callback["CallbackMetadata"]["Item"]}
    assert items["TransactionDate"] == 20260115120000 and items["PhoneNumber"] == 254708374149
    assert len(items["MpesaReceiptNumber"]) == 10
    assert parse_stk_callback(content).receipt_number == items["MpesaReceiptNumber"]
    assert sim.callbacks[0].status == 200 and sim.callbacks[0].delivered


@pytest.mark.parametrize(
    ("code", "desc"),
    [
        (2001, "The initiator information is invalid."),
        (1032, "Request cancelled by user"),
        (1, None),
        ("SFC_IC0003", None),
    ],
)
async def test_scripted_failures(
    http: httpx.AsyncClient, sim: DarajaSimulator, inbox: Inbox, clock: FakeClock, code: int | str, desc: str | None
) -> None:
    sim.set_outcome(PHONE, code)
    await post(http, STK, stk_body(clock), await token(http))
    await sim.settle()
    [callback] = [b["Body"]["stkCallback"] for b in inbox.bodies()]
    assert callback["ResultCode"] == code and "CallbackMetadata" not in callback
    if desc:
        assert callback["ResultDesc"] == desc


async def test_no_callback_but_the_query_knows(
    http: httpx.AsyncClient, sim: DarajaSimulator, inbox: Inbox, clock: FakeClock
) -> None:
    sim.default_outcome = NO_CALLBACK
    bearer = await token(http)
    checkout = (await post(http, STK, stk_body(clock), bearer)).json()["CheckoutRequestID"]
    await sim.settle()
    assert inbox.received == []
    query = await post(http, QUERY, query_body(clock, checkout), bearer)
    assert query.status_code == 200 and query.json()["ResultCode"] == "0"


def query_body(clock: FakeClock, checkout: str) -> dict[str, Any]:
    stamp = timestamp(clock.now())
    return {"BusinessShortCode": "174379", "Password": password("174379", SANDBOX_PASSKEY, stamp), "Timestamp": stamp,
            "CheckoutRequestID": checkout}  # fmt: skip


async def test_hold_then_complete(
    http: httpx.AsyncClient, sim: DarajaSimulator, inbox: Inbox, clock: FakeClock
) -> None:
    sim.default_outcome = HOLD
    bearer = await token(http)
    checkout = (await post(http, STK, stk_body(clock), bearer)).json()["CheckoutRequestID"]
    pending = await post(http, QUERY, query_body(clock, checkout), bearer)
    assert error_of(pending) == (500, "500.001.1001", "The transaction is being processed")
    assert pending.json()["requestId"] == checkout
    record = await sim.complete(checkout, 1037)
    assert record is not None and record.status == 200
    final = (await post(http, QUERY, query_body(clock, checkout), bearer)).json()
    assert (final["ResultCode"], final["ResultDesc"]) == ("1037", "DS timeout user cannot be reached")
    with pytest.raises(ValueError):
        await sim.complete(checkout)


async def test_callback_delay_keeps_the_query_pending(
    http: httpx.AsyncClient, sim: DarajaSimulator, inbox: Inbox, clock: FakeClock
) -> None:
    sim.callback_delay = 0.05
    bearer = await token(http)
    checkout = (await post(http, STK, stk_body(clock), bearer)).json()["CheckoutRequestID"]
    assert (await post(http, QUERY, query_body(clock, checkout), bearer)).status_code == 500
    await sim.settle()
    assert (await post(http, QUERY, query_body(clock, checkout), bearer)).json()["ResultCode"] == "0"
    assert len(inbox.received) == 1


async def test_rules_daraja_applies_by_itself(
    http: httpx.AsyncClient, sim: DarajaSimulator, inbox: Inbox, clock: FakeClock
) -> None:
    sim.add_shortcode("300300", "pk", tills=("5123456",))
    bearer = await token(http)
    stamp = timestamp(clock.now())
    till_as_paybill = stk_body(clock, BusinessShortCode=300300, Password=password("300300", "pk", stamp),
                               PartyB=5123456, PhoneNumber=254700000001, PartyA=254700000001)  # fmt: skip
    assert (await post(http, STK, till_as_paybill, bearer)).status_code == 200
    too_much = stk_body(clock, Amount=250_001, PhoneNumber=254700000002, PartyA=254700000002)
    assert (await post(http, STK, too_much, bearer)).status_code == 200
    assert (await post(http, STK, stk_body(clock, Amount=5), bearer)).status_code == 200  # paid
    await sim.settle()
    clock.advance(seconds=61)  # past the lock, within the same-amount window
    assert (await post(http, STK, stk_body(clock, Amount=5), bearer)).status_code == 200
    await sim.settle()
    codes = [b["Body"]["stkCallback"]["ResultCode"] for b in inbox.bodies()]
    assert codes == [2028, 3, 0, 17]


async def test_subscriber_lock(http: httpx.AsyncClient, sim: DarajaSimulator, clock: FakeClock) -> None:
    bearer = await token(http)
    assert (await post(http, STK, stk_body(clock), bearer)).status_code == 200
    locked = await post(http, STK, stk_body(clock, Amount=2), bearer)
    assert error_of(locked) == (
        500,
        "500.001.1001",
        "Unable to lock subscriber, a transaction is already in process for the current subscriber",
    )
    clock.advance(seconds=60)
    assert (await post(http, STK, stk_body(clock, Amount=2), bearer)).status_code == 200


async def test_injected_errors_are_used_once(http: httpx.AsyncClient, sim: DarajaSimulator, clock: FakeClock) -> None:
    sim.inject_error("stk_push", code="500.003.03", message="Quota Violation")
    bearer = await token(http)
    assert error_of(await post(http, STK, stk_body(clock), bearer)) == (500, "500.003.03", "Quota Violation")
    assert (await post(http, STK, stk_body(clock), bearer)).status_code == 200


@pytest.mark.parametrize("fmt", ["hashed", "masked", "string"])
async def test_callback_phone_formats(
    http: httpx.AsyncClient, sim: DarajaSimulator, inbox: Inbox, clock: FakeClock, fmt: Any
) -> None:
    sim.stk_phone_format = fmt
    await post(http, STK, stk_body(clock), await token(http))
    await sim.settle()
    callback = parse_stk_callback(inbox.received[0][1])
    assert callback.phone is not None and callback.phone.matches(PHONE) is not False
    assert callback.phone.kind == {"hashed": "hashed", "masked": "masked", "string": "msisdn"}[fmt]


async def test_default_sender_only_reaches_loopback(clock: FakeClock) -> None:
    sim = DarajaSimulator(clock=clock)
    sim.add_app(KEY, SECRET)
    try:
        async with httpx.AsyncClient(transport=sim.mock_transport(), base_url="https://daraja.test") as http:
            await post(http, STK, stk_body(clock), await token(http))
            await sim.settle()
        [record] = sim.callbacks
        assert record.status is None and record.error is not None and "loopback" in record.error
    finally:
        await sim.aclose()


# --- C2B ---

CONFIRM = "https://shop.example.com/pay/c2b/t1/tok/confirm"
VALIDATE = "https://shop.example.com/pay/c2b/t1/tok/validate"


async def register(http: httpx.AsyncClient, response_type: str = "Completed", version: str = "v2") -> httpx.Response:
    body = {"ShortCode": "600984", "ResponseType": response_type, "ConfirmationURL": CONFIRM, "ValidationURL": VALIDATE}
    return await post(http, f"/mpesa/c2b/{version}/registerurl", body, await token(http))


async def test_register_urls(http: httpx.AsyncClient, sim: DarajaSimulator) -> None:
    answer = await register(http)
    assert answer.status_code == 200
    assert list(answer.json()) == ["OriginatorCoversationID", "ResponseCode", "ResponseDescription"]
    bad = await post(http, "/mpesa/c2b/v1/registerurl", {"ShortCode": "600984", "ResponseType": "completed",
                     "ConfirmationURL": CONFIRM, "ValidationURL": VALIDATE}, await token(http))  # fmt: skip
    assert error_of(bad) == (400, "400.003.02", "Bad Request - Invalid ResponseType")
    sim.allow_url_overwrite = False
    assert error_of(await register(http)) == (500, "500.003.1001", "Urls are already registered")


async def test_c2b_confirmation_shape(http: httpx.AsyncClient, sim: DarajaSimulator, inbox: Inbox) -> None:
    await register(http)
    result = await sim.c2b_pay("600984", "ORD12345", 1500, PHONE)
    assert result.accepted and result.validation is None  # external validation is off by default
    [(url, content)] = inbox.received
    assert url == CONFIRM
    body = json.loads(content)
    assert list(body) == ["TransactionType", "TransID", "TransTime", "TransAmount", "BusinessShortCode",
                          "BillRefNumber", "InvoiceNumber", "OrgAccountBalance", "ThirdPartyTransID", "MSISDN",
                          "FirstName", "MiddleName", "LastName"]  # fmt: skip
    assert (body["TransactionType"], body["TransAmount"], body["BusinessShortCode"]) == (
        "Pay Bill",
        "1500.00",
        "600984",
    )
    assert body["MSISDN"] == hash_msisdn(PHONE) and body["OrgAccountBalance"] == "1500.00"
    assert parse_c2b(content).trans_id == result.trans_id


async def test_c2b_validation_accepts_and_echoes(http: httpx.AsyncClient, sim: DarajaSimulator, inbox: Inbox) -> None:
    await register(http)
    sim.shortcodes["600984"].external_validation = True
    inbox.answers[VALIDATE] = (200, json.dumps(c2b_accept("ORDER-77")).encode())
    result = await sim.c2b_pay("600984", "ORD12345", 10, PHONE, msisdn_format="masked")
    assert result.accepted and result.validation is not None and result.confirmation is not None
    validation, confirmation = inbox.bodies()
    assert validation["OrgAccountBalance"] == "" and validation["MSISDN"] == "2547 ***** 149"
    assert confirmation["ThirdPartyTransID"] == "ORDER-77"


async def test_c2b_validation_rejects(http: httpx.AsyncClient, sim: DarajaSimulator, inbox: Inbox) -> None:
    await register(http)
    sim.shortcodes["600984"].external_validation = True
    inbox.answers[VALIDATE] = (200, json.dumps(c2b_reject("C2B00012")).encode())
    result = await sim.c2b_pay("600984", "WRONG", 10, PHONE)
    assert not result.accepted and result.result_code == "C2B00012" and result.confirmation is None
    assert [url for url, _ in inbox.received] == [VALIDATE]
    assert sim.shortcodes["600984"].balance == 0


@pytest.mark.parametrize(("response_type", "accepted"), [("Completed", True), ("Cancelled", False)])
async def test_c2b_unreachable_validation_follows_response_type(
    http: httpx.AsyncClient, sim: DarajaSimulator, inbox: Inbox, response_type: str, accepted: bool
) -> None:
    await register(http, response_type)
    sim.shortcodes["600984"].external_validation = True
    inbox.down.add(VALIDATE)
    result = await sim.c2b_pay("600984", "ORD1", 10, PHONE)
    assert result.accepted is accepted and (result.confirmation is not None) is accepted


async def test_c2b_without_urls_is_silent(sim: DarajaSimulator, inbox: Inbox) -> None:
    result = await sim.c2b_pay("600984", "ORD1", 10, PHONE)
    assert result.accepted and inbox.received == [] and sim.shortcodes["600984"].balance == 10


def test_outcome_values() -> None:
    assert SimOutcome(1032).desc == "Request cancelled by user"
    assert SimOutcome.of("2001").code == "2001" and not SimOutcome(2001).paid and SimOutcome().paid
