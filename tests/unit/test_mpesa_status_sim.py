"""The simulator speaks Transaction Status as Safaricom's page describes it (see payments.mpesa.status): the request
checked field by field, accepted synchronously, and the result POSTed to ResultURL afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from core.clock import FakeClock
from payments.mpesa.status import parse_accepted, parse_result
from sandbox.mpesa.models import PRODUCTS
from sandbox.mpesa.simulator import DarajaSimulator
from tests.unit.test_mpesa_sim import KEY, SECRET, Inbox, post, token

PATH = "/mpesa/transactionstatus/v1/query"
RESULT, TIMEOUT = "https://shop.example.com/pay/c2b/result/ab12", "https://shop.example.com/pay/c2b/timeout/ab12"


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def sim(inbox: Inbox) -> AsyncIterator[DarajaSimulator]:
    simulator = DarajaSimulator(clock=FakeClock(), sender=inbox, seed=1)
    simulator.add_app(KEY, SECRET)
    yield simulator
    await simulator.aclose()


@pytest.fixture
async def http(sim: DarajaSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.mock_transport(), base_url="https://daraja.test") as client:
        yield client


def request(receipt: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Initiator": "apiop",
        "SecurityCredential": "CRED==",
        "CommandID": "TransactionStatusQuery",
        "TransactionID": receipt,
        "PartyA": "174379",
        "IdentifierType": "4",
        "ResultURL": RESULT,
        "QueueTimeOutURL": TIMEOUT,
        "Remarks": "Receipt check",
        "Occasion": "",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


async def test_a_known_receipt_is_completed_and_an_unknown_one_is_not(
    http: httpx.AsyncClient, sim: DarajaSimulator, inbox: Inbox
) -> None:
    sim.add_initiator("174379", "apiop", "CRED==")
    paid = await sim.c2b_pay("174379", "K7Q2XA", 420)
    bearer = await token(http)
    accepted = await post(http, PATH, request(paid.trans_id), bearer)
    assert accepted.status_code == 200
    answer = parse_accepted(accepted.content)
    assert (answer.response_code, answer.response_description) == ("0", "Accept the service request successfully.")
    assert answer.conversation_id.startswith("AG_") and answer.originator_conversation_id
    unknown = await post(http, PATH, request("QWE1RTY2UI"), bearer)
    wrong = await post(http, PATH, request(paid.trans_id, Initiator="intruder"), bearer)
    assert (unknown.status_code, wrong.status_code) == (200, 200)
    await sim.settle()
    results = [(url, parse_result(content)) for url, content in inbox.received if url == RESULT]
    assert len(results) == 3
    good, missing, refused = (result for _, result in results)
    assert (good.result_code, good.receipt, good.status, good.amount) == (
        "0",
        paid.trans_id,
        "Completed",
        Decimal("420.00"),
    )
    assert good.credit_party == "174379 - Simulated Shop" and good.originator_conversation_id == (
        answer.originator_conversation_id
    )
    assert (missing.result_code, missing.receipt) == ("2032", "")
    assert (refused.result_code, refused.result_desc) == ("2001", "The initiator information is invalid.")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"CommandID": "TransactionStatus"}, "CommandID"),
        ({"TransactionID": None}, "TransactionID"),
        ({"IdentifierType": "1"}, "IdentifierType"),
        ({"ResultURL": "https://shop.example.com/mpesa/result"}, "ResultURL"),
        ({"QueueTimeOutURL": "ftp://x"}, "QueueTimeOutURL"),
        ({"Remarks": ""}, "Remarks"),
        ({"Initiator": ""}, "Initiator"),
        ({"SecurityCredential": None}, "SecurityCredential"),
        ({"PartyA": "99999"}, "PartyA"),
    ],
)
async def test_bad_requests_are_refused_as_daraja_does(
    http: httpx.AsyncClient, sim: DarajaSimulator, overrides: dict[str, Any], field: str
) -> None:
    answer = await post(http, PATH, request("NLJ7RT61SV", **overrides), await token(http))
    assert answer.status_code == 400
    assert (answer.json()["errorCode"], answer.json()["errorMessage"]) == (
        "400.002.02",
        f"Bad Request - Invalid {field}",
    )
    assert sim.status_requests == {}


async def test_an_app_without_the_product_is_refused(http: httpx.AsyncClient, sim: DarajaSimulator) -> None:
    sim.add_app("other", "other-secret", products=PRODUCTS - {"transaction_status"})
    answer = await post(http, PATH, request("NLJ7RT61SV"), await token(http, "other", "other-secret"))
    assert (answer.status_code, answer.json()["errorCode"]) == (401, "401.003.01")
