"""/metrics counts the outbox by status, superseded rows included, and every status shows even at zero; and the
provider events recorded but not applied yet, apart from those that failed too often and wait for an operator."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update

from core import outbox
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import InboundEvent, OutboxMessage
from core.messages import Message
from core.settings import Settings
from core.vault import Vault
from payments import ingest
from tests.support.app import VAULT_KEY
from tests.support.seed import seed_shop
from webhooks.app import build_app
from webhooks.runtime import build_runtime


async def test_outbox_messages_by_status(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> None:
    shop = await seed_shop(database, vault, clock)
    statuses = ["pending", "pending", "sent", "superseded", "superseded", "superseded", "dead"]
    async with database.uow() as uow:
        for n, status in enumerate(statuses):
            key = f"test:{n}"
            await outbox.enqueue(
                uow.session,
                tenant_id=shop.tenant_id,
                chat_id=5001,
                dedupe_key=key,
                message=Message("hi"),
                now=clock.now(),
            )
            await uow.session.execute(
                update(OutboxMessage).where(OutboxMessage.dedupe_key == key).values(status=status)
            )
        for n, attempts in enumerate([0, 1, ingest.MAX_ATTEMPTS]):
            uow.session.add(
                InboundEvent(
                    tenant_id=shop.tenant_id,
                    provider="mpesa",
                    event_key=f"stk:test-{n}",
                    event={},
                    received_at=clock.now(),
                    attempts=attempts,
                )
            )
        await uow.commit()

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        database_url=database.url,
        secret_keys=VAULT_KEY,
        telegram_api="http://127.0.0.1:9",
    )
    runtime = build_runtime(settings, clock=clock)
    async with TestClient(TestServer(build_app(runtime, workers=False))) as client:
        scraped = await (await client.get("/metrics")).text()
    await runtime.close()
    for line in (
        'dukabot_outbox_messages{status="pending"} 2.0',
        'dukabot_outbox_messages{status="sent"} 1.0',
        'dukabot_outbox_messages{status="superseded"} 3.0',
        'dukabot_outbox_messages{status="dead"} 1.0',
        'dukabot_outbox_messages{status="undeliverable"} 0.0',
        "dukabot_outbox_depth 2.0",
        "dukabot_outbox_dead_letters 1.0",
        "dukabot_inbound_events_waiting 2.0",
        "dukabot_inbound_events_stuck 1.0",
    ):
        assert line in scraped, line
