"""The logs of a whole journey (customer buys and pays by hand, the merchant reviews, ships, checks sales, toggles
test mode), in both formats and at DEBUG, contain no secret: no bot token, webhook secret or vault key."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from core import logs
from core.db.engine import Database
from core.vault import Vault
from tests.integration.test_admin_chat import pay_by_hand, place_order
from tests.support.app import VAULT_KEY, shop_server


@pytest.mark.every_channel  # each library logs its own way (python-telegram-bot: every call's URL and parameters)
async def test_a_whole_journey_logs_no_secret(database: Database, vault: Vault, tmp_path: Path) -> None:
    stream = io.StringIO()
    handler = logs.handler("json", stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        async with shop_server(database, vault, tmp_path, webhooks=True) as server:
            shop = await server.add_shop()
            await server.start()
            admin = server.person(shop, 9001, "Mama")
            await admin.send("/start")
            customer = server.person(shop, 5001, "Wanjiru")
            code = await place_order(customer)
            await pay_by_hand(customer, "QK7ABC1234")
            await server.settle()
            await admin.send("/pending")
            await admin.send(f"/approve {code}")
            await admin.send(f"/ship {code} boda boda")
            await admin.send("/sales week")
            await admin.send("/testmode on")
            await admin.tap("🧪 Yes, turn test mode on")
            await server.person(shop, 5002).send("/admin")  # refused, and logged as such
            await server.settle()
            logging.getLogger("dukabot.test").error("a leaked token %s", shop.token)  # the last line of defence
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    written = stream.getvalue()
    assert written.count("\n") > 3  # the journey did log
    for secret in (shop.token, shop.token.split(":", 1)[1], shop.webhook_secret, VAULT_KEY):
        assert secret not in written
    assert "a leaked token [redacted]" in written
    entries = [json.loads(line) for line in written.splitlines()]
    assert any(entry.get("tenant") == shop.tenant_id for entry in entries)


def test_text_logs_carry_ids_and_hide_secrets() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("dukabot.test.text")
    logger.addHandler(logs.handler("text", stream))
    logger.propagate = False
    try:
        logger.warning(
            "paystack said %s with key %s",
            "Bearer sk_live_abcdef123456",
            "sk_test_4f1a9c2e7b3d8f6a0e5c1b9d7a3f",
            extra={"tenant": 3, "order": "K7Q2XA", "payment": 12},
        )
        try:
            raise RuntimeError("bot 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9 refused")
        except RuntimeError:
            logger.exception("failed", extra={"tenant": 3})
    finally:
        logger.handlers.clear()
        logger.propagate = True
    written = stream.getvalue()
    assert "[tenant=3 order=K7Q2XA payment=12]" in written
    assert "sk_live" not in written and "sk_test" not in written and "AAHdqTcv" not in written
    assert written.count("[redacted]") >= 3
