"""The simulator's checkout page at the authorization_url: outcomes, callback redirects, test cards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from core.clock import FakeClock
from sandbox.paystack.simulator import PaystackSimulator

KEY = "sk_test_shop1"
API = "https://api.paystack.co"


class Inbox:
    """Webhooks the simulator sent (the injected sender)."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []

    async def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.calls.append(body)
        return 200


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def sim(inbox: Inbox) -> AsyncIterator[PaystackSimulator]:
    simulator = PaystackSimulator(sender=inbox, clock=FakeClock())
    simulator.add_merchant(KEY, webhook_url="http://127.0.0.1:8080/hook", callback_url="https://shop.example/return")
    yield simulator
    await simulator.close()


@pytest.fixture
async def http(sim: PaystackSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.mock_transport(), base_url=API) as client:
        yield client


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


async def initialize(http: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"email": "tg1@shop.example", "amount": 150000, "currency": "KES", **fields}
    response = await http.post("/transaction/initialize", json=body, headers=auth())
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def verify(http: httpx.AsyncClient, reference: str) -> dict[str, Any]:
    response = await http.get(f"/transaction/verify/{reference}", headers=auth())
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_checkout_page_shows_the_payment(http: httpx.AsyncClient) -> None:
    data = await initialize(http, reference="C-1")
    page = await http.get(data["authorization_url"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "KES 1,500.00" in page.text and "C-1" in page.text and "TEST MODE" in page.text
    assert "4084084084084081" in page.text
    assert (await http.get(f"{API}/checkout/nope")).status_code == 404


async def test_success_redirects_to_the_callback_with_trxref_and_reference(http: httpx.AsyncClient) -> None:
    data = await initialize(http, reference="C-2", callback_url="https://shop.example/back?order=7")
    answer = await http.post(data["authorization_url"], data={"action": "success", "channel": "card"})
    assert answer.status_code == 302
    assert answer.headers["location"] == "https://shop.example/back?order=7&trxref=C-2&reference=C-2"
    used = await http.get(data["authorization_url"])
    assert "has been paid" in used.text
    assert (await http.post(data["authorization_url"], data={"action": "success"})).status_code == 409


async def test_the_dashboard_callback_or_a_plain_page(http: httpx.AsyncClient, sim: PaystackSimulator) -> None:
    data = await initialize(http, reference="C-3")
    answer = await http.post(data["authorization_url"], data={"action": "success"})
    assert answer.headers["location"] == "https://shop.example/return?trxref=C-3&reference=C-3"
    sim.ledger.merchants[KEY].callback_url = None
    data = await initialize(http, reference="C-4")
    page = await http.post(data["authorization_url"], data={"action": "success"})
    assert page.status_code == 200 and "successful" in page.text


async def test_cancel_goes_to_cancel_action(http: httpx.AsyncClient) -> None:
    data = await initialize(http, reference="C-5", metadata={"cancel_action": "https://shop.example/cancelled"})
    answer = await http.post(data["authorization_url"], data={"action": "abandon"})
    assert (answer.status_code, answer.headers["location"]) == (302, "https://shop.example/cancelled")
    assert (await verify(http, "C-5"))["status"] == "abandoned"
    data = await initialize(http, reference="C-6")
    page = await http.post(data["authorization_url"], data={"action": "abandon"})
    assert page.status_code == 200 and "cancelled" in page.text


async def test_failed_choice(http: httpx.AsyncClient, inbox: Inbox, sim: PaystackSimulator) -> None:
    data = await initialize(http, reference="C-7")
    page = await http.post(data["authorization_url"], data={"action": "failed"})
    assert "Payment failed: Declined" in page.text
    await sim.drain()
    assert inbox.calls == []
    assert (await verify(http, "C-7"))["gateway_response"] == "Declined"


@pytest.mark.parametrize(
    ("number", "cvv", "steps"),
    [
        ("4084 0840 8408 4081", "408", []),
        ("5078 5078 5078 5078 12", "081", [("pin", "1111")]),
        ("5060 6666 6666 6666 666", "123", [("pin", "1234"), ("otp", "123456")]),
        ("5078 5078 5078 5078 04", "884", [("pin", "0000"), ("phone", "0712345678"), ("otp", "123456")]),
    ],
)
async def test_test_cards_go_through_their_steps(
    http: httpx.AsyncClient, sim: PaystackSimulator, number: str, cvv: str, steps: list[tuple[str, str]]
) -> None:
    data = await initialize(http, reference="CARD-1")
    url = data["authorization_url"]
    answer = await http.post(url, data={"action": "card", "card_number": number, "cvv": cvv, "expiry": "12/30"})
    for step, value in steps:
        assert answer.status_code == 200 and f"name='{step}'" in answer.text
        assert (await verify(http, "CARD-1"))["status"] == "ongoing"
        answer = await http.post(url, data={"action": step, step: value})
    assert answer.status_code == 302
    paid = await verify(http, "CARD-1")
    assert paid["status"] == "success"
    digits = number.replace(" ", "")
    assert (paid["authorization"]["bin"], paid["authorization"]["last4"]) == (digits[:6], digits[-4:])
    await sim.drain()
    assert [e.event for e in sim.events] == ["charge.success"]


@pytest.mark.parametrize(
    ("number", "cvv", "step", "value", "reason"),
    [
        ("5078507850785078 12", "081", "pin", "9999", "Incorrect PIN"),
        ("5060666666666666666", "123", "pin", "1111", "Incorrect PIN"),
        ("4111111111111111", "123", None, None, "Declined"),
        ("4084084084084081", "000", None, None, "Declined"),
    ],
)
async def test_wrong_details_kill_the_charge(
    http: httpx.AsyncClient, number: str, cvv: str, step: str | None, value: str | None, reason: str
) -> None:
    data = await initialize(http, reference="BAD-1")
    url = data["authorization_url"]
    answer = await http.post(url, data={"action": "card", "card_number": number, "cvv": cvv})
    if step is not None:
        answer = await http.post(url, data={"action": step, step: value or ""})
    assert answer.status_code == 400 and reason in answer.text
    failed = await verify(http, "BAD-1")
    assert (failed["status"], failed["gateway_response"]) == ("failed", reason)
    assert "failed" in (await http.get(url)).text


async def test_wrong_otp_and_a_short_phone(http: httpx.AsyncClient) -> None:
    data = await initialize(http, reference="OTP-1")
    url = data["authorization_url"]
    await http.post(url, data={"action": "card", "card_number": "507850785078507804", "cvv": "884"})
    await http.post(url, data={"action": "pin", "pin": "0000"})
    short = await http.post(url, data={"action": "phone", "phone": "0712"})
    assert short.status_code == 200 and "at least 10 digits" in short.text
    out_of_turn = await http.post(url, data={"action": "otp", "otp": "123456"})
    assert out_of_turn.status_code == 400
    await http.post(url, data={"action": "phone", "phone": "+254 712 345 678"})
    wrong = await http.post(url, data={"action": "otp", "otp": "000000"})
    assert wrong.status_code == 400 and "Incorrect OTP" in wrong.text
