"""The STK callback's fast paths through the real app (``payments.ingest``, ``payments.mpesa.routes``): a
redelivery this process knows is committed is answered without the database, the same checks still refuse what
does not fit, and a change of the shop's settings sends the next one to the database again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event

from core.clock import FakeClock
from core.db.engine import Database
from core.vault import Vault
from payments.states import PaymentStatus
from sandbox.mpesa.models import HOLD, SimOutcome, dumps
from tests.integration.test_mpesa_checkout_kit import PHONE, Rig, mpesa_rig

ACK = {"ResultCode": 0, "ResultDesc": "Accepted"}


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with mpesa_rig(database, vault, clock, tmp_path) as running:
        await running.seed()
        yield running


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements the server's database is sent meanwhile."""
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def paid_callback(rig: Rig) -> tuple[str, object]:
    """A push the customer paid, its callback not sent yet: its URL and body."""
    rig.sim.set_outcome(PHONE, HOLD)
    await rig.checkout()
    (txn,) = rig.sim.transactions.values()
    await rig.sim.complete(txn.checkout_request_id, SimOutcome(0, send_callback=False))
    return txn.callback_url, json.loads(dumps(rig.sim.stk_body(txn.checkout_request_id, SimOutcome(0))))


def duplicates(rig: Rig) -> float:
    return rig.runtime.metrics.callbacks.labels("mpesa", "stk_duplicate")._value.get()


async def test_a_redelivery_known_committed_is_answered_without_the_database(rig: Rig) -> None:
    url, body = await paid_callback(rig)
    async with httpx.AsyncClient() as http:
        first = await http.post(url, json=body)
        assert (first.status_code, first.json()) == (200, ACK)
        assert (await rig.payment()).status == PaymentStatus.PAID  # applied (by the rig, as the applier would)
        with statements(rig.runtime.database) as sent:
            again = await http.post(url, json=body)
        assert (again.status_code, again.json()) == (200, ACK)
        assert sent == []
    assert duplicates(rig) == 1
    receipts = [m for m in await rig.to_customer() if "Payment received" in m.text]
    assert len(receipts) == 1
    assert [e.outcome for e in await rig.events()].count("paid") == 1


async def test_a_redelivery_before_it_is_applied_is_known_too(rig: Rig) -> None:
    url, body = await paid_callback(rig)
    async with httpx.AsyncClient() as http:
        assert (await http.post(url, json=body)).status_code == 200  # recorded, not applied yet
        with statements(rig.runtime.database) as sent:
            assert (await http.post(url, json=body)).json() == ACK
        assert sent == []
    assert (await rig.payment()).status == PaymentStatus.PAID
    assert len([m for m in await rig.to_customer() if "Payment received" in m.text]) == 1


async def test_the_same_token_with_a_body_that_does_not_fit_is_still_refused(rig: Rig) -> None:
    url, body = await paid_callback(rig)
    async with httpx.AsyncClient() as http:
        assert (await http.post(url, json=body)).status_code == 200
        other = json.loads(json.dumps(body))
        other["Body"]["stkCallback"]["CheckoutRequestID"] = "ws_CO_somebody_else"
        assert (await http.post(url, json=other)).status_code == 403
        assert (await http.post(url, content=b"not json")).status_code == 400
    assert duplicates(rig) == 0
    assert (await rig.payment()).status == PaymentStatus.PAID


async def test_after_a_change_of_the_shops_settings_a_redelivery_goes_to_the_database(rig: Rig) -> None:
    url, body = await paid_callback(rig)
    async with httpx.AsyncClient() as http:
        assert (await http.post(url, json=body)).status_code == 200
        rig.runtime.tenant_cache.drop(rig.tenant_id)  # what a settings change announces (NOTIFY, or the re-check)
        with statements(rig.runtime.database) as sent:
            again = await http.post(url, json=body)
        assert again.json() == ACK
        assert any("payments" in statement for statement in sent)  # the token looked up again
        with statements(rig.runtime.database) as sent:
            assert (await http.post(url, json=body)).json() == ACK
        assert sent == []  # and known again
    assert duplicates(rig) == 2
