"""The C2B URLs carry a random secret of the shop's own: a confirmation under any other secret the shop uses (the
Telegram webhook secret or anything derived from it, the Daraja credentials, a payment's STK token) is refused 404
and changes nothing; `provider rotate-c2b` makes a new one and the old URL dies; a live shop takes C2B calls from
Safaricom's addresses only; and two copies of one confirmation at once leave one payment, no orphan."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from admin import shops
from admin.cli import register as register_commands
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import AuditEntry, Order, Payment, PaymentEvent
from core.vault import Vault
from payments.mpesa.c2b import c2b_urls
from payments.mpesa.tables import C2BReceipt
from payments.states import PaymentStatus
from sandbox.mpesa.models import dumps
from sandbox.mpesa.simulator import SANDBOX_PASSKEY
from tests.integration.test_mpesa_c2b import SLUG, failed_push, register
from tests.integration.test_mpesa_checkout_kit import KEY, SECRET, VAULT_KEY, Rig, mpesa_rig

WEBHOOK_SECRET = "secret-mama-mboga"  # tests.support.seed
WAITING_FOR_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
)


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with mpesa_rig(database, vault, clock, tmp_path) as running:
        await running.seed()
        yield running


def confirmation(order_code: str, receipt: str = "SKL51ZDR4F", amount: str = "420.00") -> bytes:
    return dumps(
        {
            "TransactionType": "Pay Bill",
            "TransID": receipt,
            "TransTime": "20260115120000",
            "TransAmount": amount,
            "BusinessShortCode": "174379",
            "BillRefNumber": order_code,
            "InvoiceNumber": "",
            "OrgAccountBalance": "420.00",
            "ThirdPartyTransID": "",
            "MSISDN": "bbff37cea44ac0b2d964ee0dfb8d2df8513dc7ba1b36129a929fc3fbd6dd4af4",
            "FirstName": "JOHN",
            "MiddleName": "",
            "LastName": "",
        }
    )


async def snapshot(rig: Rig) -> dict[str, Any]:
    async with rig.database.uow() as uow:
        session = uow.session
        found: dict[str, Any] = {
            "payments": [(p.id, p.status) for p in await session.scalars(select(Payment).order_by(Payment.id))],
            "orders": [(o.id, o.status) for o in await session.scalars(select(Order).order_by(Order.id))],
            "events": await session.scalar(select(func.count()).select_from(PaymentEvent)),
            "receipts": await session.scalar(select(func.count()).select_from(C2BReceipt)),
        }
    found["outbox"] = [sent.key for sent in await rig.outbox()]
    return found


def old_derived_token(secret: str) -> str:
    """What the C2B token used to be: derived from the Telegram webhook secret, which Telegram holds."""
    return hmac.new(secret.encode(), f"mpesa-c2b:{SLUG}".encode(), hashlib.sha256).hexdigest()[:40]


async def test_a_confirmation_under_any_other_secret_of_the_shop_is_refused(rig: Rig) -> None:
    real, _ = await register(rig)
    await failed_push(rig)
    order = await rig.order()
    stk_token = (await rig.payment()).callback_token
    assert stk_token is not None
    before = await snapshot(rig)
    others = [
        old_derived_token(WEBHOOK_SECRET),
        WEBHOOK_SECRET,
        hashlib.sha256(WEBHOOK_SECRET.encode()).hexdigest()[:40],
        SANDBOX_PASSKEY[:40],
        SANDBOX_PASSKEY,
        KEY,
        SECRET,
        stk_token,
        "0" * 40,
    ]
    async with httpx.AsyncClient() as http:
        for token in others:
            for url in c2b_urls(rig.base_url, SLUG, token):
                answer = await http.post(url, content=confirmation(order.code))
                assert (answer.status_code, answer.json()) == (404, {"ResultCode": 1, "ResultDesc": "Rejected"})
    assert await snapshot(rig) == before
    assert (await rig.order()).status == "awaiting_payment"
    # The shop's own secret pays.
    async with httpx.AsyncClient() as http:
        assert (await http.post(real, content=confirmation(order.code))).status_code == 200
    assert (await rig.order()).status == "paid"


async def test_a_shop_that_never_registered_has_no_c2b_urls(rig: Rig) -> None:
    await failed_push(rig)
    order = await rig.order()
    before = await snapshot(rig)
    async with httpx.AsyncClient() as http:
        for token in (old_derived_token(WEBHOOK_SECRET), "0" * 40):
            for url in c2b_urls(rig.base_url, SLUG, token):
                answer = await http.post(url, content=confirmation(order.code))
                assert (answer.status_code, answer.json()) == (404, {"ResultCode": 1, "ResultDesc": "Rejected"})
    assert await snapshot(rig) == before


async def test_setting_mpesa_again_keeps_the_c2b_secret(rig: Rig) -> None:
    url, _ = await register(rig)
    async with rig.database.uow() as uow:
        await shops.set_provider(
            uow.session,
            rig.vault,
            SLUG,
            "mpesa",
            {"consumer_key": KEY, "consumer_secret": SECRET, "passkey": SANDBOX_PASSKEY},
            {"shortcode": "174379", "base_url": rig.sim_url, "ip_allowlist": "127.0.0.1"},
            rig.clock.now(),
        )
        await uow.commit()
    await failed_push(rig)
    async with httpx.AsyncClient() as http:
        assert (await http.post(url, content=confirmation((await rig.order()).code))).status_code == 200
    assert (await rig.order()).status == "paid"


def run_cli(*args: str, database: Database, data_dir: Path) -> Any:
    root = click.Group("dukabot")
    register_commands(root)
    env = {"DUKABOT_DATA_DIR": str(data_dir), "DUKABOT_DATABASE_URL": database.url, "DUKABOT_SECRET_KEYS": VAULT_KEY}
    return CliRunner().invoke(root, list(args), env=env)


async def test_rotation_makes_a_new_secret_registers_it_and_the_old_url_dies(rig: Rig, tmp_path: Path) -> None:
    first = await asyncio.to_thread(
        run_cli,
        "provider",
        "register-c2b",
        SLUG,
        "--public-url",
        rig.base_url,
        database=rig.database,
        data_dir=tmp_path,
    )
    assert first.exit_code == 0, first.output
    urls = rig.sim.shortcodes["174379"].urls
    assert urls is not None
    old = urls.confirmation_url
    again = await asyncio.to_thread(
        run_cli,
        "provider",
        "register-c2b",
        SLUG,
        "--public-url",
        rig.base_url,
        database=rig.database,
        data_dir=tmp_path,
    )
    assert again.exit_code == 0 and rig.sim.shortcodes["174379"].urls.confirmation_url == old  # type: ignore[union-attr]

    rotated = await asyncio.to_thread(
        run_cli, "provider", "rotate-c2b", SLUG, "--public-url", rig.base_url, database=rig.database, data_dir=tmp_path
    )
    assert rotated.exit_code == 0, rotated.output
    new = rig.sim.shortcodes["174379"].urls.confirmation_url  # type: ignore[union-attr]
    token = new.split("/")[-2]
    assert new != old and len(token) == 40 and int(token, 16) >= 0
    for output in (first.output, again.output, rotated.output):
        assert token not in output and old.split("/")[-2] not in output  # never shown
    async with rig.database.uow() as uow:
        actions = list(
            await uow.session.scalars(select(AuditEntry.details).where(AuditEntry.action == "provider.c2b_secret"))
        )
    assert actions == [{"rotated": False}, {"rotated": True}]

    await failed_push(rig)
    order = await rig.order()
    before = await snapshot(rig)
    async with httpx.AsyncClient() as http:
        stale = await http.post(old, content=confirmation(order.code))
        assert stale.status_code == 404 and await snapshot(rig) == before
        assert (await http.post(new, content=confirmation(order.code))).status_code == 200
    assert (await rig.order()).status == "paid"


async def test_a_refused_rotation_keeps_the_old_secret(rig: Rig, tmp_path: Path) -> None:
    url, _ = await register(rig)
    rig.sim.allow_url_overwrite = False  # production: "Urls are already registered"
    refused = await asyncio.to_thread(
        run_cli, "provider", "rotate-c2b", SLUG, "--public-url", rig.base_url, database=rig.database, data_dir=tmp_path
    )
    assert refused.exit_code == 1 and "already registered" in refused.output
    await failed_push(rig)
    async with httpx.AsyncClient() as http:
        assert (await http.post(url, content=confirmation((await rig.order()).code))).status_code == 200
    assert (await rig.order()).status == "paid"


async def test_a_live_shop_takes_c2b_from_safaricom_only(
    database: Database, vault: Vault, clock: FakeClock, tmp_path: Path
) -> None:
    async with mpesa_rig(database, vault, clock, tmp_path) as rig:
        await rig.seed(ip_allowlist=None, trusted_proxies="127.0.0.1")  # the default of a live shop
        url, _ = await register(rig)
        await failed_push(rig)  # its STK callback came from outside the ranges too: refused, the push still open
        order = await rig.order()
        before = await snapshot(rig)
        async with httpx.AsyncClient() as http:
            for outsider in ("10.0.0.9", "196.201.214.199", "8.8.8.8"):
                refused = await http.post(url, content=confirmation(order.code), headers={"X-Forwarded-For": outsider})
                assert (refused.status_code, refused.json()) == (403, {"ResultCode": 1, "ResultDesc": "Rejected"})
            assert await snapshot(rig) == before
            paid = await http.post(url, content=confirmation(order.code), headers={"X-Forwarded-For": "196.201.212.69"})
        assert paid.status_code == 200 and (await rig.order()).status == "paid"


# A race between two connections: PostgreSQL only (SQLite serialises writers).
@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
async def test_two_copies_of_one_confirmation_at_once_leave_one_payment(rig: Rig) -> None:
    url, _ = await register(rig)
    await failed_push(rig)  # no open attempt: the confirmation opens one
    order = await rig.order()
    body = confirmation(order.code)
    async with rig.database.engine.connect() as holder, rig.database.engine.connect() as watcher:
        # Hold the order row so that both copies get as far as they can and wait, together, inside their transaction.
        await holder.execute(text("SELECT id FROM orders WHERE id = :id FOR UPDATE"), {"id": order.id})
        async with httpx.AsyncClient() as http:
            copies = [asyncio.create_task(http.post(url, content=body)) for _ in range(2)]
            waiting = 0
            for _ in range(20000):
                waiting = await watcher.scalar(WAITING_FOR_A_LOCK)
                await watcher.rollback()
                if waiting == 2:
                    break
                await asyncio.sleep(0)
            assert waiting == 2
            await holder.rollback()
            answers = await asyncio.gather(*copies)
    assert [a.status_code for a in answers] == [200, 200]
    payments = await rig.payments()
    assert [(p.status, p.provider_txn_id) for p in payments if p.status != PaymentStatus.FAILED] == [
        (PaymentStatus.PAID, "SKL51ZDR4F")
    ]
    assert [p.status for p in payments] == [PaymentStatus.FAILED, PaymentStatus.PAID]
    assert (await rig.order()).status == "paid"
    async with rig.database.uow() as uow:
        receipts = list(await uow.session.scalars(select(C2BReceipt.receipt)))
    assert receipts == ["SKL51ZDR4F"]
