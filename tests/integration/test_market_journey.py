"""A shop in Cotonou, selling in CFA francs (no minor units) to a customer who reads French: prices, the phone step
(the shop's region, and a number from abroad), the order, the merchant's approval and the receipt, each as the
customer reads it, through the real server, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from core.buttons import PayWith
from core.clock import SystemClock
from core.db.engine import Database
from core.db.tables import Customer, Order, Payment, Product, ProviderConfig
from core.vault import Vault
from payments import providers
from tests.support import shop_times
from tests.support.app import Person, Shop, ShopServer, shop_server

COTONOU_CATALOG = """\
sku,name,price,category,description,photo_url,stock,name_fr,description_fr
EPI-GARI-1KG,Gari 1kg,800,Épicerie,"Toasted cassava grains, 1kg.",,40,Gari 1 kg,"Gari de manioc, 1 kg."
EPI-HUILE-1L,Palm Oil 1l,1250,Épicerie,Red palm oil.,,,Huile rouge 1 l,Huile de palme rouge.
"""
INSTRUCTIONS = "Envoyez le montant au 01 97 00 00 00 (MTN MoMo), puis la capture ici."
# French writes amounts with narrow no-break spaces between thousands and a no-break space before the unit (CLDR).
NNBSP, NBSP = "\u202f", "\u00a0"
FRENCH_MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")


def cfa(amount: str) -> str:
    return amount.replace(" ", NNBSP) + f"{NBSP}F{NNBSP}CFA"


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def speaks(database: Database, shop: Shop, person: Person, language: str) -> None:
    """The customer's language, as Telegram's language_code or /language sets it."""
    async with database.uow() as uow:
        await uow.session.execute(
            update(Customer)
            .where(Customer.tenant_id == shop.tenant_id, Customer.tg_user_id == person.id)
            .values(language=language, language_chosen=True)
        )
        await uow.commit()


async def paid_in_cotonou(database: Database, shop: Shop, code: str) -> str:
    event = await shop_times.paid_event(database, shop.tenant_id, code)
    moment = event.received_at.replace(tzinfo=event.received_at.tzinfo or UTC).astimezone(ZoneInfo("Africa/Porto-Novo"))
    return f"{moment:%d} {FRENCH_MONTHS[moment.month - 1]} {moment:%Y, %H:%M} WAT"


async def test_a_french_customer_buys_in_cfa_francs_in_cotonou(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop(
        "cotonou", "Boutique Cotonou", region="BJ", currency="XOF", catalog=COTONOU_CATALOG, instructions=INSTRUCTIONS
    )
    await server.start()
    merchant = server.person(shop, 9001, "Afi")
    await merchant.send("/start")
    customer = server.person(shop, 7101, "Koffi")
    await customer.send("/start")
    await speaks(database, shop, customer, "fr")

    listed = await customer.tap("Épicerie")
    assert [text for row in listed.last.buttons for text, _ in row][:2] == [
        f"Gari 1 kg · {cfa('800')}",
        f"Huile rouge 1 l · {cfa('1 250')}",
    ]
    gari = await customer.tap(f"Gari 1 kg · {cfa('800')}")
    assert gari.last.content == f"Gari 1 kg\n{cfa('800')}\nGari de manioc, 1 kg.\n40 en stock"
    await customer.tap("➕ Ajouter au panier")
    await customer.send("/cart")
    assert f"Total{NBSP}: {cfa('1 600')}" in await customer.tap_in_row("Gari", "+")

    await customer.tap("✅ Commander")
    ask_phone = await customer.send("Koffi Mensah")
    assert ask_phone.text == (
        "Votre numéro de téléphone, pour vous joindre au sujet de la commande (par exemple 01 95 12 34 56, ou depuis "
        f"l'étranger avec l'indicatif du pays, comme +229 01 95 12 34 56){NBSP}:"
    )
    refused = await customer.send("0712 345 678")  # a Kenyan number written the Kenyan way: not a number in Benin
    assert refused.text == (
        f"Ce numéro n'est pas valide. Vérifiez-le et tapez-le comme ceci{NBSP}: 01 95 12 34 56.\n"
        f"Un numéro d'un autre pays{NBSP}? Tapez-le avec l'indicatif du pays, comme +229 01 95 12 34 56."
    )
    await customer.send("+33 6 12 34 56 78")  # the customer is in France this week
    summary = await customer.tap("🏪 Retrait en boutique")
    assert f"• Gari 1 kg × 2 = {cfa('1 600')}\nTotal{NBSP}: {cfa('1 600')}\n" in summary.text
    assert "+33 6 12 34 56 78" in summary.text

    placed = await customer.tap("✅ Confirmer la commande")
    code = placed.text.removeprefix("La commande ").split(" ", 1)[0]
    assert f"Montant à payer{NBSP}: {cfa('1 600')}." in placed.text
    instructions = await customer.tap("💵 Payer directement et envoyer la preuve")
    assert INSTRUCTIONS in instructions and cfa("1 600") in instructions
    await customer.photo(caption="MOMO12345")

    await server.settle()
    proof = merchant.find(f"Proof of payment for order {code}")
    assert "Amount due: XOF 1,600\n" in proof.content  # the merchant's alert, in the merchant's own language
    await merchant.tap("✅ Approve", message=proof)
    await server.settle()
    receipt = customer.find(code)
    assert receipt.content.splitlines()[2] == f"Montant{NBSP}: {cfa('1 600')}"
    assert receipt.content.splitlines()[-1].endswith(await paid_in_cotonou(database, shop, code))

    async with database.uow() as uow:
        order = await uow.session.scalar(select(Order).where(Order.tenant_id == shop.tenant_id, Order.code == code))
        assert order is not None
        assert (order.total_minor, order.currency, order.contact_phone) == (1600, "XOF", "+33612345678")
        payment = await uow.session.scalar(select(Payment).where(Payment.order_id == order.id))
        assert payment is not None and (payment.status, payment.paid_minor) == ("paid", 1600)
        names = dict(
            (
                await uow.session.execute(
                    select(Product.sku, Product.translations).where(Product.tenant_id == shop.tenant_id)
                )
            ).all()
        )
    assert names["EPI-GARI-1KG"] == {"fr": {"name": "Gari 1 kg", "description": "Gari de manioc, 1 kg."}}


async def test_a_method_that_does_not_take_the_shops_currency_is_refused_at_checkout(
    server: ShopServer, database: Database
) -> None:
    """A method set before its currency was checked (an M-Pesa row in a CFA shop): never offered, and its button,
    pressed anyway, is answered with why and the methods that remain; no payment is opened."""
    shop = await server.add_shop(
        "porto-novo", "Boutique", region="BJ", currency="XOF", catalog=COTONOU_CATALOG, instructions=INSTRUCTIONS
    )
    async with database.uow() as uow:
        uow.session.add(
            ProviderConfig(
                tenant_id=shop.tenant_id, provider="mpesa", enabled=True, options={}, updated_at=SystemClock().now()
            )
        )
        await uow.commit()
    await server.start()
    customer = server.person(shop, 7102, "Koffi")
    await customer.send("/start")
    await speaks(database, shop, customer, "fr")
    await customer.tap("Épicerie")
    await customer.tap(f"Gari 1 kg · {cfa('800')}")
    await customer.tap("➕ Ajouter au panier")
    await customer.send("/cart")
    await customer.tap("✅ Commander")
    await customer.send("Koffi Mensah")
    await customer.send("01 95 12 34 56")
    await customer.tap("🏪 Retrait en boutique")
    placed = await customer.tap("✅ Confirmer la commande")
    assert [text for row in placed.last.buttons for text, _ in row] == [
        "💵 Payer directement et envoyer la preuve",
        "✖ Annuler la commande",
    ]
    async with database.uow() as uow:
        order_id = await uow.session.scalar(select(Order.id).where(Order.tenant_id == shop.tenant_id))
    assert order_id is not None
    mpesa = providers.entry("mpesa")
    assert mpesa is not None and mpesa.info.button_code is not None
    refused = await customer.tap(message=placed.last, data=PayWith(order_id, mpesa.info.button_code).pack())
    assert refused.messages[0].text == (
        f"M-Pesa ne prend pas le XOF, la monnaie de cette boutique{NBSP}: choisissez un autre moyen de paiement."
    )
    assert [text for row in refused.last.buttons for text, _ in row] == [
        "💵 Payer directement et envoyer la preuve",
        "✖ Annuler la commande",
    ]
    async with database.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Payment)) == 0
