"""The eTIMS job (kind ``fiscal.etims``): number the document, then initialise the device, register its items and
submit it, outside any transaction, until KRA signs it.

Never submitted twice: a document is numbered once (``fiscal.devices``), its request is built once and stored, and
every later try sends that same request with that same invoice number, so a try whose answer was lost cannot become
a second invoice. Numbers go to KRA in order: a document waits while one before it on the device is unsigned. KRA out
of reach, or refusing, puts the job back with a back-off (30 s doubling to an hour); the merchant hears of it once
the shop's ``alert_after_hours`` have passed (``fiscal.overdue``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import FiscalDevice, FiscalDocument, Order, PaymentJob, Product, Tenant
from fiscal import devices
from fiscal.contract import FiscalKit
from fiscal.etims import wire
from fiscal.etims.client import OscuClient, Unreachable
from fiscal.etims.settings import EtimsSetup
from payments import jobs
from payments.fiscal_hook import job_kind
from payments.jobs import Job
from payments.setup import SetupError

log = logging.getLogger(__name__)

NAME: Final = "etims"
CURRENCY: Final = "KES"
WAIT_FOR_EARLIER: Final = timedelta(seconds=5)
FIRST_BACKOFF: Final = 30.0
MAX_BACKOFF: Final = 3600.0


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF))


@dataclass(frozen=True, slots=True)
class _Ready:
    """What the submission needs, read in the numbering transaction."""

    device_id: int
    document_id: int
    setup: EtimsSetup
    test_mode: bool
    cmc_key: str | None
    registered: frozenset[str]
    request: dict[str, Any]


class EtimsJobs:
    def __init__(self, kit: FiscalKit) -> None:
        self.kit = kit

    async def run(self, job: Job) -> None:
        ready = await self._prepare(job)
        if ready is None:
            return
        client = OscuClient(
            self.kit.http, ready.setup.host(ready.test_mode), ready.setup.kra_pin, ready.setup.branch_id, ready.cmc_key
        )
        try:
            if client.cmc_key is None:
                await self._initialise(client, ready)
            for item in ready.request.get("itemList", []):
                if item.get("itemCd") not in ready.registered:
                    await self._register(client, ready, item)
            told = await client.call(wire.SALES_PATH, ready.request)
        except Unreachable as error:
            await self._failed(job, ready, f"KRA out of reach: {error}")
            return
        except _Refused as error:
            await self._failed(job, ready, str(error))
            return
        found = wire.signed(told.data) if told.ok else None
        if found is None:
            why = "signed without a signature" if told.ok else f"KRA answered {told.code}: {told.message[:200]}"
            await self._failed(job, ready, why)
            return
        await self._signed(job, ready, found, client.cmc_key)

    async def abandon(self, job: Job, error: BaseException) -> None:
        now = self.kit.clock.now()
        async with self.kit.database.uow() as uow:
            await jobs.retry_later(uow.session, job.id, now + backoff(job.attempts), type(error).__name__, now)
            await uow.commit()

    # --- the numbering transaction -------------------------------------------------------------------------------

    async def _prepare(self, job: Job) -> _Ready | None:
        now = self.kit.clock.now()
        async with self.kit.database.uow() as uow:
            session = uow.session
            device = await devices.device(session, job.tenant_id, NAME)
            tenant = await session.get(Tenant, job.tenant_id)
            if device is None or not device.enabled or tenant is None:
                await jobs.finish(session, job.id, now)  # the shop stopped reporting: nothing owed any more
                await uow.commit()
                return None
            try:
                values = devices.stored_values(device, self.kit.vault, EtimsSetup)
                setup = EtimsSetup.parse(values)
            except SetupError as error:
                await jobs.retry_later(session, job.id, now + backoff(job.attempts), str(error), now)
                await uow.commit()
                return None
            assert isinstance(setup, EtimsSetup)
            source_key = str(job.payload["key"])
            document = await devices.document(session, job.tenant_id, source_key)
            if document is None:
                made = await self._number(session, job, device, tenant, setup, source_key, now)
                if isinstance(made, str):
                    await jobs.retry_later(session, job.id, now + backoff(job.attempts), made, now)
                    await uow.commit()
                    return None
                if made is None:
                    await jobs.finish(session, job.id, now)
                    await uow.commit()
                    return None
                document = made
            if document.status == devices.SUBMITTED:
                await jobs.finish(session, job.id, now)
                await uow.commit()
                return None
            earlier = await devices.waiting_on(session, device.id, document.number)
            if earlier is not None:
                why = f"invoice {document.number} waits for invoice {earlier}"
                await jobs.retry_later(session, job.id, now + WAIT_FOR_EARLIER, why, now)
                await uow.commit()
                return None
            ready = _Ready(
                device.id,
                document.id,
                setup,
                tenant.test_mode,
                values.get("cmc_key"),
                frozenset(str(code) for code in device.registered_items or []),
                dict(document.request),
            )
            await uow.commit()
        return ready

    async def _number(
        self,
        session: AsyncSession,
        job: Job,
        device: FiscalDevice,
        tenant: Tenant,
        setup: EtimsSetup,
        source_key: str,
        now: datetime,
    ) -> FiscalDocument | str | None:
        """The document, numbered; a reason to wait (text); None when nothing is owed (not in shillings, or the
        refund of a sale KRA never saw)."""
        order = await session.get(Order, int(job.payload["order_id"]))
        if order is None or order.currency != CURRENCY or str(job.payload.get("currency")) != CURRENCY:
            log.warning(
                "etims: order %s of tenant %s is not in KES: no invoice", job.payload.get("order_id"), tenant.id
            )
            return None
        credit = job.payload.get("document") == "credit"
        original = 0
        if credit:
            sale = await devices.sale_of(session, tenant.id, device.id, order.id)
            if sale is None and not await _sale_owed(session, tenant.id, order.id):
                # Sold before the shop reported to eTIMS: KRA never saw the sale, so there is nothing to credit.
                log.warning("etims: refund of order %s, whose sale was never reported: no credit note", order.id)
                return None
            if sale is None:
                return "the credit note waits for the sale's invoice"
            original = sale.number
        lines = await _lines(session, order, setup)
        if isinstance(lines, str):
            return lines
        amount = int(job.payload["amount_minor"])
        if credit:
            lines = wire.scaled(lines, amount)
        document = await devices.number_document(
            session,
            device,
            kind="credit" if credit else "sale",
            source_key=source_key,
            order_id=order.id,
            payment_id=job.payment_id,
            amount_minor=amount if credit else sum(line.total_minor for line in lines),
            currency=CURRENCY,
            original_number=original or None,
            request={},
            now=now,
        )
        credits = 0
        if credit:
            credits = (
                await session.scalar(
                    select(func.count()).where(
                        FiscalDocument.device_id == device.id,
                        FiscalDocument.order_id == order.id,
                        FiscalDocument.kind == "credit",
                    )
                )
                or 1
            )
        document.request = wire.invoice(
            pin=setup.kra_pin,
            branch=setup.branch_id,
            number=document.number,
            original_number=original,
            trader_number=f"{order.code}-CN{credits}" if credit else order.code,
            customer_name=order.contact_name,
            customer_phone=order.contact_phone,
            shop_name=tenant.name,
            lines=lines,
            at=now,
            credit=credit,
        )
        return document

    # --- the calls and their results ------------------------------------------------------------------------------

    async def _initialise(self, client: OscuClient, ready: _Ready) -> None:
        setup = ready.setup
        told = await client.call(wire.INIT_PATH, wire.init_request(setup.kra_pin, setup.branch_id, setup.device_serial))
        key, unit = wire.communication_key(told.data) if told.ok else (None, None)
        if key is None:
            raise _Refused(f"device initialisation: KRA answered {told.code}: {told.message[:200]}")
        now = self.kit.clock.now()
        async with self.kit.database.uow() as uow:
            await devices.add_secret(uow.session, self.kit.vault, ready.device_id, "cmc_key", key, now)
            device = await uow.session.get(FiscalDevice, ready.device_id)
            if device is not None and unit:
                device.options = {**device.options, "control_unit": unit}
            await uow.commit()
        client.cmc_key = key

    async def _register(self, client: OscuClient, ready: _Ready, item: dict[str, Any]) -> None:
        told = await client.call(
            wire.ITEM_PATH, wire.item_registration(ready.setup.kra_pin, ready.setup.branch_id, item)
        )
        if not told.ok:
            if told.transient:
                raise Unreachable(f"item registration: {told.code}")
            raise _Refused(f"item {item.get('itemCd')} registration: KRA answered {told.code}: {told.message[:200]}")
        async with self.kit.database.uow() as uow:
            device = await uow.session.get(FiscalDevice, ready.device_id, with_for_update=True)
            if device is not None:
                device.registered_items = sorted({*device.registered_items, str(item.get("itemCd"))})
            await uow.commit()

    async def _failed(self, job: Job, ready: _Ready, why: str) -> None:
        now = self.kit.clock.now()
        log.warning("etims: invoice of job %s not signed: %s", job.id, why)
        async with self.kit.database.uow() as uow:
            document = await uow.session.get(FiscalDocument, ready.document_id)
            if document is not None:
                document.attempts += 1
                document.last_error = why[:500]
            await jobs.retry_later(uow.session, job.id, now + backoff(job.attempts), why, now)
            await uow.commit()

    async def _signed(self, job: Job, ready: _Ready, found: wire.Signed, cmc_key: str | None) -> None:
        now = self.kit.clock.now()
        setup = ready.setup
        async with self.kit.database.uow() as uow:
            document = await uow.session.get(FiscalDocument, ready.document_id)
            device = await uow.session.get(FiscalDevice, ready.device_id)
            assert document is not None and device is not None
            document.status = devices.SUBMITTED
            document.attempts += 1
            document.receipt_number = found.receipt_number or str(document.number)
            document.signature = found.signature
            document.internal_data = found.internal_data
            document.control_unit = str(device.options.get("control_unit") or setup.device_serial)
            document.qr_payload = wire.qr_payload(
                setup.kra_pin, setup.branch_id, found.signature, test_mode=ready.test_mode
            )
            document.signed_at = found.signed_at or now
            document.submitted_at = now
            document.last_error = None
            await jobs.finish(uow.session, job.id, now)
            await uow.commit()


class _Refused(Exception):
    """KRA answered and said no (a code that is not its own failure)."""


async def _lines(session: AsyncSession, order: Order, setup: EtimsSetup) -> list[wire.Line] | str:
    ids = [item.product_id for item in order.items if item.product_id is not None]
    products = (
        {product.id: product for product in (await session.scalars(select(Product).where(Product.id.in_(ids)))).all()}
        if ids
        else {}
    )
    lines = []
    for item in order.items:
        product = products.get(item.product_id) if item.product_id is not None else None
        item_class = (product.item_class if product else None) or setup.default_item_class
        if item_class is None:
            return f"product {item.sku} has no item classification (catalog column item_class)"
        tax_type = (product.tax_type if product else None) or setup.default_tax_type
        key = item.product_id if item.product_id is not None else item.id
        lines.append(
            wire.Line(
                wire.item_code(key),
                item_class,
                item.name,
                item.quantity,
                item.unit_price_minor * item.quantity,
                tax_type,
            )
        )
    if not lines:
        return "the order has no items"
    return lines


async def _sale_owed(session: AsyncSession, tenant_id: int, order_id: int) -> bool:
    """Whether a sales invoice of the order is still owed (its job not yet run to a document)."""
    pending = await session.scalars(
        select(PaymentJob.payload).where(
            PaymentJob.tenant_id == tenant_id,
            PaymentJob.kind == job_kind(NAME),
            PaymentJob.status.in_([jobs.JobStatus.PENDING.value, jobs.JobStatus.RUNNING.value]),
        )
    )
    return any(payload.get("document") == "sale" and int(payload.get("order_id", 0)) == order_id for payload in pending)
