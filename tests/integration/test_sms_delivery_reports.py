"""Africa's Talking's delivery reports, end to end over real HTTP: the simulator runs as a real aiohttp server, the
SMS goes to it, and it posts its report to our route (``/notify/sms/{tenant}/reports``). Reports are unsigned claims:
hostile ones (an id we never sent, another shop's id, a wrong number, garbage, a replay after a final status) change
nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import NotifyMessage, OutboxMessage
from core.messages import Message
from core.vault import Vault
from notify.sms.sender import SmsSender
from notify.sms.settings import SmsSettings
from sandbox.africastalking.simulator import AtSimulator, build_app
from tests.support.notify import set_channel
from tests.support.seed import seed_shop
from webhooks import notify_reports
from webhooks.keys import RUNTIME

PHONE = "+254712345678"


@dataclass
class Rig:
    database: Database
    clock: FakeClock
    sim: AtSimulator
    http: httpx.AsyncClient
    ours: TestServer
    shops: dict[str, int]

    def reports_url(self, slug: str) -> str:
        return str(self.ours.make_url(f"/notify/sms/{slug}/reports"))

    async def statuses(self) -> list[tuple[int, str, str, str | None]]:
        async with self.database.uow() as uow:
            rows = await uow.session.scalars(select(NotifyMessage).order_by(NotifyMessage.id))
            return [(row.tenant_id, row.provider_message_id, row.status, row.failure_reason) for row in rows]


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock) -> AsyncIterator[Rig]:
    first = await seed_shop(database, vault, clock)
    second = await seed_shop(
        database,
        vault,
        clock,
        slug="duka-la-pili",
        name="Duka la Pili",
        bot_token="222222:AAE-test-token-pili-00000000000000",
        admin_id=9002,
    )
    sim = AtSimulator()
    ours = web.Application()
    ours[RUNTIME] = SimpleNamespace(database=database, clock=clock)  # type: ignore[misc]
    notify_reports.mount(ours)
    async with TestServer(build_app(sim)) as at, TestServer(ours) as ours_server, httpx.AsyncClient() as http:
        for shop in (first, second):
            made = SmsSettings(sim.username, sim.api_key, base_url=str(at.make_url("/")))
            await set_channel(database, vault, clock, shop.tenant_id, made)
        yield Rig(database, clock, sim, http, ours_server, {first.slug: first.tenant_id, second.slug: second.tenant_id})


async def send(rig: Rig, vault: Vault, tenant_id: int, outbox_id: int) -> None:
    sender = SmsSender(rig.database, vault, rig.http, rig.clock)
    await sender.deliver(tenant_id, outbox_id, {"channel": "sms", "to": PHONE}, Message("Your receipt"))


async def test_a_report_from_the_simulator_records_the_status_of_the_message_we_sent(rig: Rig, vault: Vault) -> None:
    tenant = rig.shops["mama-mboga"]
    await send(rig, vault, tenant, 41)
    (sms,) = rig.sim.sent
    rig.sim.callback_url = rig.reports_url("mama-mboga")

    answered = await rig.sim.report(rig.http, sms, "Success")

    assert (answered.status_code, answered.text) == (200, "ok")
    assert await rig.statuses() == [(tenant, "ATXid_sim00000001", "Success", None)]


async def test_a_failure_is_final_and_a_replayed_success_does_not_undo_it(rig: Rig, vault: Vault) -> None:
    tenant = rig.shops["mama-mboga"]
    await send(rig, vault, tenant, 41)
    (sms,) = rig.sim.sent
    rig.sim.callback_url = rig.reports_url("mama-mboga")

    await rig.sim.report(rig.http, sms, "Buffered")
    await rig.sim.report(rig.http, sms, "Failed", "UserInBlacklist")
    await rig.sim.report(rig.http, sms, "Success")

    assert await rig.statuses() == [(tenant, "ATXid_sim00000001", "Failed", "UserInBlacklist")]


async def test_hostile_reports_change_nothing(rig: Rig, vault: Vault) -> None:
    first = rig.shops["mama-mboga"]
    await send(rig, vault, first, 41)
    (sms,) = rig.sim.sent
    url = rig.reports_url

    unknown_id = await rig.http.post(url("mama-mboga"), data={"id": "ATXid_never", "status": "Success"})
    other_shop = await rig.http.post(url("duka-la-pili"), data={"id": sms.message_id, "status": "Failed"})
    wrong_number = await rig.http.post(
        url("mama-mboga"), data={"id": sms.message_id, "status": "Failed", "phoneNumber": "+254700000000"}
    )
    bad_status = await rig.http.post(url("mama-mboga"), data={"id": sms.message_id, "status": "Paid"})
    no_id = await rig.http.post(url("mama-mboga"), data={"status": "Success"})
    garbage = await rig.http.post(url("mama-mboga"), content=b"\xff\xfe\x00garbage")
    too_long = await rig.http.post(url("mama-mboga"), data={"id": "A" * 5000, "status": "Success"})
    no_shop = await rig.http.post(url("no-such-shop"), data={"id": sms.message_id, "status": "Failed"})

    assert [r.status_code for r in (unknown_id, other_shop, wrong_number)] == [200, 200, 200]
    assert [r.status_code for r in (bad_status, no_id, garbage, too_long, no_shop)] == [400, 400, 400, 413, 404]
    assert await rig.statuses() == [(first, "ATXid_sim00000001", "accepted", None)]
    async with rig.database.uow() as uow:
        assert list(await uow.session.scalars(select(OutboxMessage))) == []  # a report owes nothing
