"""KRA eTIMS (fiscal/etims) against the OSCU simulator: an order paid becomes a signed sales invoice, a refund a
credit note, an outage delays and loses nothing, and the invoice numbers stay gap-free and in order, also with two
processes' workers on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select, update

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import FiscalDevice, FiscalDocument, OutboxMessage, Payment, PaymentJob, Product, Tenant
from core.fiscal_stamp import FiscalStamp
from core.vault import Vault
from fiscal import devices
from fiscal.contract import FiscalKit
from fiscal.etims.settings import EtimsSetup
from fiscal.etims.stamps import check
from fiscal.overdue import FiscalOverdue
from fiscal.registry import RegisteredStamps, job_handlers
from payments.base import Outcome
from payments.jobs import JobWorker
from payments.setup import SetupError
from sandbox.etims.simulator import EtimsSimulator
from tests.support.seed import seed_shop
from tests.unit.test_service_edges import Till

PIN = "P051234567A"
SERIAL = "DUKA-0001"
ADMIN = 9001


@dataclass
class Rig:
    database: Database
    vault: Vault
    clock: FakeClock
    till: Till
    sim: EtimsSimulator
    worker: JobWorker

    async def paid(self, lines: dict[str, int], key: str) -> int:
        payment = await self.till.order(lines)
        await self.till.event(payment, Outcome.PAID, key, payment.amount_minor)
        return payment.order_id

    async def drain(self, rounds: int = 12) -> None:
        """Run what is due, moving the clock past back-offs, until nothing is left to run."""
        for _ in range(rounds):
            await self.worker.run_once()
            self.clock.advance(seconds=60)

    async def documents(self) -> list[tuple[str, int, int | None, str, int]]:
        async with self.database.uow() as uow:
            rows = await uow.session.scalars(select(FiscalDocument).order_by(FiscalDocument.number))
            return [(row.kind, row.number, row.original_number, row.status, row.amount_minor) for row in rows]

    async def jobs(self) -> list[tuple[str, str]]:
        async with self.database.uow() as uow:
            rows = await uow.session.scalars(select(PaymentJob).order_by(PaymentJob.id))
            return [(row.kind, row.status) for row in rows]


async def configure(database: Database, vault: Vault, clock: FakeClock, tenant_id: int, **extra: str) -> None:
    async with database.uow() as uow:
        await uow.session.execute(update(Product).values(item_class="5059690800", tax_type="B"))
        await uow.session.execute(update(Product).where(Product.sku == "MILK-500").values(tax_type="A"))
        setup = EtimsSetup.parse({"kra_pin": PIN, "device_serial": SERIAL, **extra})
        await devices.store(uow.session, vault, tenant_id, setup, clock.now())
        await uow.commit()


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock) -> AsyncIterator[Rig]:
    shop = await seed_shop(database, vault, clock)
    await configure(database, vault, clock, shop.tenant_id)
    sim = EtimsSimulator()
    async with httpx.AsyncClient(transport=sim.mock_transport()) as http:
        # One job at a time: side by side (the server's way), two sales paid together take their numbers in either
        # order, and these tests name which order holds which number. Workers side by side: the race test below.
        worker = JobWorker(database, clock, job_handlers(FiscalKit(database, clock, http, vault)), concurrency=1)
        yield Rig(database, vault, clock, Till(database, clock, shop), sim, worker)


async def test_a_paid_order_becomes_a_signed_invoice_printed_on_its_receipt(rig: Rig) -> None:
    order_id = await rig.paid({"SUGAR-1KG": 2, "MILK-500": 1}, "pay1")
    assert await rig.jobs() == [("fiscal.etims", "pending")]  # owed by the payment's own transaction
    assert rig.sim.invoices == []  # nothing is sent from inside it

    await rig.drain()

    (invoice,) = rig.sim.invoices
    body = invoice.body
    assert (invoice.number, invoice.receipt_type, invoice.original) == (1, "S", 0)
    # VAT-inclusive prices, tax per line rounded half up to the cent: 380.00 * 16/116 = 52.413... -> 52.41.
    assert (body["taxblAmtA"], body["taxAmtA"], body["taxblAmtB"], body["taxAmtB"]) == (65.0, 0.0, 380.0, 52.41)
    assert (body["totAmt"], body["totTaxAmt"], body["trdInvcNo"]) == (445.0, 52.41, "SE0001")
    assert body["custNm"] == "Wanjiru Kamau"
    assert [(item["itemCd"], item["qty"], item["prc"], item["taxTyCd"]) for item in body["itemList"]] == [
        ("KE2NTU0000002", 2, 190.0, "B"),
        ("KE2NTU0000004", 1, 65.0, "A"),
    ]
    assert await rig.documents() == [("sale", 1, None, "submitted", 44500)]
    assert await rig.jobs() == [("fiscal.etims", "done")]
    async with rig.database.uow() as uow:
        stamp = await RegisteredStamps().for_order(uow.session, rig.till.shop.tenant_id, order_id)
        device = await devices.device(uow.session, rig.till.shop.tenant_id, "etims")
    assert stamp == FiscalStamp(
        "KRA eTIMS",
        "1",
        "KRACU0100000001",
        invoice.signature,
        f"https://etims.kra.go.ke/common/link/etims/receipt/indexEtimsReceiptData?Data={PIN}00{invoice.signature}",
        datetime(2026, 12, 5, 7, 30, tzinfo=UTC),
    )
    assert (
        device is not None
        and device.last_number == 1
        and device.registered_items
        == [
            "KE2NTU0000002",
            "KE2NTU0000004",
        ]
    )
    # The communication key KRA issued is kept encrypted with the secrets, never among the plain options.
    assert "cmc_key" not in device.options
    assert rig.vault.decrypt_json(device.secrets_enc or "")["cmc_key"] == rig.sim.keys[(PIN, "00", SERIAL)]


async def test_an_outage_delays_invoices_in_order_loses_none_doubles_none_and_alerts_the_merchant(rig: Rig) -> None:
    rig.sim.down()
    first = await rig.paid({"SUGAR-1KG": 1}, "pay1")
    await rig.paid({"RICE-2KG": 1}, "pay2")
    await rig.drain(rounds=4)
    assert rig.sim.invoices == []
    assert await rig.documents() == [("sale", 1, None, "numbered", 19000), ("sale", 2, None, "numbered", 42000)]

    rig.clock.advance(hours=24)
    assert await FiscalOverdue(rig.database, rig.clock).run_once() == 2
    assert await FiscalOverdue(rig.database, rig.clock).run_once() == 2  # looked at again: still one alert each
    async with rig.database.uow() as uow:
        alerts = [
            str(row.payload["text"])
            for row in await uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.chat_id == ADMIN).order_by(OutboxMessage.id)
            )
            if "eTIMS" in str(row.payload["text"])
        ]
    assert alerts == [
        "⚠️ The KRA eTIMS invoice for order SE0001 is still not submitted after 24 hours. dukabot keeps trying; the "
        "last problem: KRA out of reach: HTTP 503. Check `dukabot doctor` and the shop's KRA eTIMS settings.",
        "⚠️ The KRA eTIMS invoice for order SE0002 is still not submitted after 24 hours. dukabot keeps trying; the "
        "last problem: invoice 2 waits for invoice 1. Check `dukabot doctor` and the shop's KRA eTIMS settings.",
    ]
    rig.sim.down(drop=True)  # the connection itself refused now
    await rig.drain(rounds=1)
    assert rig.sim.invoices == [] and rig.sim.sales_calls == 0

    rig.sim.up()
    await rig.drain()
    assert rig.sim.numbers(PIN) == [1, 2]
    assert [invoice.total for invoice in rig.sim.invoices] == [190.0, 420.0]
    assert await rig.documents() == [("sale", 1, None, "submitted", 19000), ("sale", 2, None, "submitted", 42000)]
    assert await rig.jobs() == [("fiscal.etims", "done"), ("fiscal.etims", "done")]
    # A second report of the same payment owes nothing new.
    async with rig.database.uow() as uow:
        payment = await uow.session.scalar(select(Payment).where(Payment.order_id == first))
    assert payment is not None
    await rig.till.event(payment, Outcome.PAID, "pay1-again", 19000)
    await rig.drain(rounds=2)
    assert rig.sim.numbers(PIN) == [1, 2]


async def test_kra_refusing_a_sale_holds_the_number_and_sends_the_same_invoice_again(rig: Rig) -> None:
    rig.sim.refuse_next("910", "Request parameter error")
    await rig.paid({"SOAP-BAR": 1}, "pay1")
    await rig.drain(rounds=1)
    async with rig.database.uow() as uow:
        (document,) = await uow.session.scalars(select(FiscalDocument))
    assert (document.number, document.status, document.last_error) == (
        1,
        "numbered",
        "KRA answered 910: Request parameter error",
    )
    await rig.drain()
    assert rig.sim.numbers(PIN) == [1]
    assert rig.sim.sales_calls == 2
    assert rig.sim.invoices[0].body["invcNo"] == 1


async def test_a_refund_becomes_a_credit_note_of_the_sale(rig: Rig) -> None:
    order_id = await rig.paid({"SUGAR-1KG": 2, "MILK-500": 1}, "pay1")
    await rig.drain(rounds=2)
    async with rig.database.uow() as uow:
        payment = await uow.session.scalar(select(Payment).where(Payment.order_id == order_id))
    assert payment is not None
    await rig.till.event(payment, Outcome.REFUNDED, "refund1", 10000)
    await rig.drain(rounds=2)

    _, credit = rig.sim.invoices
    assert (credit.number, credit.receipt_type, credit.original, credit.total) == (2, "R", 1, 100.0)
    # The part refunded is spread over the lines, rounded down to the cent: 380 and 65 of 445 -> 85.39 and 14.60;
    # the cent rounding left goes to the largest line (85.40). VAT 85.40 * 16/116 = 11.779... -> 11.78.
    assert [(item["itemCd"], item["totAmt"], item["taxAmt"]) for item in credit.body["itemList"]] == [
        ("KE2NTU0000002", 85.4, 11.78),
        ("KE2NTU0000004", 14.6, 0.0),
    ]
    assert credit.body["trdInvcNo"] == "SE0001-CN1"
    assert await rig.documents() == [("sale", 1, None, "submitted", 44500), ("credit", 2, 1, "submitted", 10000)]


async def test_a_refund_of_a_sale_made_before_the_shop_reported_to_etims_owes_no_credit_note(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    till = Till(database, clock, shop)
    payment = await till.order({"SUGAR-1KG": 1})
    await till.event(payment, Outcome.PAID, "pay1", payment.amount_minor)  # no eTIMS yet: nothing owed
    await configure(database, vault, clock, shop.tenant_id)
    await till.event(payment, Outcome.REFUNDED, "refund1", 5000)
    sim = EtimsSimulator()
    async with httpx.AsyncClient(transport=sim.mock_transport()) as http:
        worker = JobWorker(database, clock, job_handlers(FiscalKit(database, clock, http, vault)))
        rig = Rig(database, vault, clock, till, sim, worker)
        await rig.drain(rounds=2)
    assert await rig.jobs() == [("fiscal.etims", "done")]
    assert await rig.documents() == [] and sim.sales_calls == 0


async def test_bad_settings_are_refused_with_the_reason_and_a_product_without_class_waits(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    refusals = []
    for given in (
        {"kra_pin": "12345", "device_serial": SERIAL},
        {"kra_pin": PIN, "device_serial": "has space"},
        {"kra_pin": PIN, "device_serial": SERIAL, "branch_id": "1"},
        {"kra_pin": PIN, "device_serial": SERIAL, "default_tax_type": "Z"},
        {"kra_pin": PIN, "device_serial": SERIAL, "alert_after_hours": "0"},
        {"kra_pin": PIN},
    ):
        with pytest.raises(SetupError) as refused:
            EtimsSetup.parse(given)
        refusals.append(str(refused.value))
    assert refusals == [
        "etims kra_pin is a KRA PIN: A or P, nine digits, a letter (P051234567A)",
        "etims device_serial is the OSCU device serial KRA approved: letters, digits, - or _, at most 40",
        "etims branch_id is KRA's two-digit branch id (00 for the head office)",
        "etims default_tax_type is a KRA tax type: A (exempt), B (16%), C (zero-rated), D (non-VAT) or E (8%)",
        "etims alert_after_hours is a whole number of hours from 1 to 168",
        "etims needs the option device_serial",
    ]

    shop = await seed_shop(database, vault, clock)
    async with database.uow() as uow:
        setup = EtimsSetup.parse({"kra_pin": PIN, "device_serial": SERIAL})
        await devices.store(uow.session, vault, shop.tenant_id, setup, clock.now())
        await uow.commit()
    sim = EtimsSimulator()
    async with httpx.AsyncClient(transport=sim.mock_transport()) as http:
        kit = FiscalKit(database, clock, http, vault)
        worker = JobWorker(database, clock, job_handlers(kit))
        rig = Rig(database, vault, clock, Till(database, clock, shop), sim, worker)
        await rig.paid({"SUGAR-1KG": 1}, "pay1")
        await rig.drain(rounds=2)

        async with database.uow() as uow:
            tenant = await uow.session.get(Tenant, shop.tenant_id)
            assert tenant is not None
            with pytest.raises(ValueError) as told:
                await check(kit, uow.session, tenant)
            (job,) = await uow.session.scalars(select(PaymentJob))
    assert str(told.value) == (
        "12 product(s) without an item classification: add the catalog column item_class, "
        "or set --option default_item_class=CODE"
    )
    assert (job.status, job.last_error) == (
        "pending",
        "product SUGAR-1KG has no item classification (catalog column item_class)",
    )
    assert sim.invoices == [] and await rig.documents() == []  # no number taken for what cannot be sent


async def test_two_processes_workers_keep_the_sequence_gap_free_and_in_order(
    database: Database, vault: Vault, clock: FakeClock, database_url: str
) -> None:
    if database.dialect != "postgresql":
        pytest.skip("a race of two processes' connections: PostgreSQL")
    shop = await seed_shop(database, vault, clock)
    await configure(database, vault, clock, shop.tenant_id)
    till = Till(database, clock, shop)
    sim = EtimsSimulator()
    skus = ["RICE-2KG", "TEA-500G", "MILK-500", "OIL-1L", "FLOUR-2KG", "BEANS-1KG", "SALT-1KG", "EGGS-TRAY"]
    for index in range(16):
        payment = await till.order({skus[index % len(skus)]: 1 + index % 3})
        await till.event(payment, Outcome.PAID, f"pay{index}", payment.amount_minor)
    # Two "serve" processes: each its own engine (its own connections), its own HTTP client and worker.
    other = Database(database_url)
    try:
        async with (
            httpx.AsyncClient(transport=sim.mock_transport()) as http_a,
            httpx.AsyncClient(transport=sim.mock_transport()) as http_b,
        ):
            workers = [
                JobWorker(db, clock, job_handlers(FiscalKit(db, clock, http, vault)), concurrency=4)
                for db, http in ((database, http_a), (other, http_b))
            ]
            for _ in range(40):
                await asyncio.gather(*(worker.run_once() for worker in workers))
                clock.advance(seconds=10)
                if len(sim.invoices) == 16:
                    break
    finally:
        await other.dispose()
    assert sim.numbers(PIN) == list(range(1, 17))
    async with database.uow() as uow:
        numbers = list(await uow.session.scalars(select(FiscalDocument.number).order_by(FiscalDocument.number)))
        device = await uow.session.scalar(select(FiscalDevice))
        statuses = set(await uow.session.scalars(select(PaymentJob.status)))
    assert numbers == list(range(1, 17))
    assert device is not None and device.last_number == 16
    assert statuses == {"done"}
