"""The shop journey in English, Swahili and French: the same customer buys through the real server (catalog, cart,
checkout, paying by hand with a proof, the merchant approving it, the receipt, /orders) in each language, and every
text any part of the server rendered meanwhile is checked by its catalog key (``core.texts.listen``): asked for in
the conversation's language and served from that language's catalog. So no key is missing, and no English text is
rendered into a Swahili or French conversation, whatever its words.

Each run also walks a different step of the fallback chain (customer's language, else the shop's, else English):
the Swahili customer's Telegram speaks Swahili; the French one's speaks German, which dukabot does not, so the
French shop's language is used; the merchant of the French shop has no Telegram language at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from core import texts
from core.db.engine import Database
from core.db.tables import Customer, Order
from core.money import Money
from core.vault import Vault
from tests.support.app import ShopServer, shop_server


@dataclass(frozen=True)
class Run:
    language: str  # what the whole conversation must be in
    shop_language: str
    customer_telegram: str | None
    merchant_telegram: str | None


RUNS = [
    Run("en", "en", "en", "en"),
    Run("sw", "sw", "sw-TZ", "sw"),
    Run("fr", "fr", "de", None),
]


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def _order(database: Database, tenant_id: int) -> Order:
    async with database.uow() as uow:
        order = await uow.session.scalar(select(Order).where(Order.tenant_id == tenant_id))
    assert order is not None
    return order


@pytest.mark.parametrize("run", RUNS, ids=[run.language for run in RUNS])
async def test_the_journey_reads_only_its_own_language(server: ShopServer, database: Database, run: Run) -> None:
    language = run.language

    def t(key: str, **values: object) -> str:
        return texts.text(key, language, **values)

    rendered: list[tuple[str, str, str]] = []
    shop = await server.add_shop(language=run.shop_language)
    await server.start()
    merchant = server.person(shop, 9001, "Mama", language_code=run.merchant_telegram)
    customer = server.person(shop, 5001, "Wanjiru", language_code=run.customer_telegram)

    with texts.listen(lambda key, asked, served: rendered.append((key, asked, served))):
        welcome = await merchant.send("/start")
        assert t("admin.welcome") in welcome.text
        start = await customer.send("/start")
        assert start.messages[0].content == t("start.greeting", name="Wanjiru", shop="Mama Mboga Store")
        await customer.tap("Groceries")
        await customer.tap(f"Pishori Rice 2kg · {Money(42000, 'KES').format(language)}")
        assert (await customer.tap(t("button.add_to_cart"))).notice == t("cart.added", name="Pishori Rice 2kg")
        cart = await customer.send("/cart")
        assert t("cart.title") in cart.text
        asked_name = await customer.tap(t("button.checkout"))
        assert asked_name.text == t("checkout.ask_name")
        asked_phone = await customer.send("Wanjiru Kamau")
        assert asked_phone.text == t("checkout.ask_phone_for", example="0712 123 456", international="+254 712 123 456")
        assert t("phone.invalid", example="0712 123 456") in await customer.send("0712")
        assert (await customer.send("0712 345 678")).text == t("checkout.ask_delivery")
        await customer.tap(t("button.pickup"))
        placed = await customer.tap(t("button.confirm_order"))
        order = await _order(database, shop.tenant_id)
        assert t("button.cancel_order") in [label for row in placed.last.buttons for label, _ in row]
        await customer.tap(t("method.manual"))
        assert (await customer.photo(caption="QK7ABC1234")).text == t("proof.received", code=order.code)

        await server.settle()
        proof = merchant.find(order.code)
        approved = await merchant.tap(t("button.approve"), message=proof)
        assert approved.notice == t("admin.proof_approved", code=order.code)
        await server.settle()
        receipt_head = t("receipt.paid", code=order.code, amount="", provider="", txn="", time="").split("\n")[0]
        assert customer.messages[-1].content.startswith(receipt_head)
        orders = await customer.send("/orders")
        assert orders.text.startswith(t("orders.title"))
        help_reply = await customer.send("/help")
        assert [label for row in help_reply.last.buttons for label, _ in row][-1] == t("button.language")

    assert {key for key, _, _ in rendered} >= {
        "start.greeting",
        "checkout.ask_phone_for",
        "receipt.paid",
        "orders.title",
    }
    elsewhere = sorted(
        {(key, asked, served) for key, asked, served in rendered if (asked, served) != (language, language)}
    )
    assert elsewhere == [], f"texts rendered outside {language!r}: {elsewhere}"
    async with database.uow() as uow:
        stored = await uow.session.scalar(select(Customer.language).where(Customer.tg_user_id == customer.id))
    assert stored == language
