"""A shop's markets on the operator's side, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: catalog prices read
in the shop's currency with per-language names and descriptions, and payment methods refused for a currency they do
not take. Every refusal changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from admin import shops
from admin.shops import ShopError
from core.clock import FakeClock
from core.db.engine import Database
from core.db.repos.catalog import CatalogRepository
from core.db.tables import AuditEntry, Product, ProviderConfig
from core.product_text import product_description, product_name
from core.vault import Vault

TOKEN = "330403765:CCHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw7"
HEADER = "sku,name,price,category,description,photo_url,stock,name_fr,description_fr,name_sw\n"
CATALOG = HEADER + (
    "GARI,Gari 1kg,800,Groceries,Toasted cassava.,,40,Gari 1 kg,Gari de manioc.,Gari kilo 1\n"
    "OIL,Palm Oil 1l,1250,Groceries,Red palm oil.,,,,,\n"
)


async def cotonou(database: Database, vault: Vault, clock: FakeClock) -> None:
    async with database.uow() as uow:
        await shops.create_tenant(
            uow.session, vault, slug="cotonou", name="Boutique", bot_token=TOKEN, admins=[1], currency="XOF",
            region="BJ", now=clock.now(),
        )  # fmt: skip
        await uow.commit()


async def imported(database: Database, text: str, clock: FakeClock) -> None:
    async with database.uow() as uow:
        await shops.import_catalog(uow.session, "cotonou", text, now=clock.now())
        await uow.commit()


async def stored(database: Database) -> dict[str, tuple[str, int, dict[str, dict[str, str]]]]:
    async with database.uow() as uow:
        rows = await uow.session.execute(select(Product.sku, Product.name, Product.price_minor, Product.translations))
        return {sku: (name, price, translations) for sku, name, price, translations in rows}


async def test_names_and_descriptions_per_language_are_stored_and_shown(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    await cotonou(database, vault, clock)
    await imported(database, CATALOG, clock)
    gari_in = {"fr": {"name": "Gari 1 kg", "description": "Gari de manioc."}, "sw": {"name": "Gari kilo 1"}}
    assert await stored(database) == {"GARI": ("Gari 1kg", 800, gari_in), "OIL": ("Palm Oil 1l", 1250, {})}
    async with database.uow() as uow:
        gari = await uow.session.scalar(select(Product).where(Product.sku == "GARI"))
        assert gari is not None
        assert [product_name(gari, language) for language in ("en", "fr", "sw", "fr-BJ")] == [
            "Gari 1kg", "Gari 1 kg", "Gari kilo 1", "Gari 1 kg",
        ]  # fmt: skip
        # No Swahili description: the default one.
        assert [product_description(gari, language) for language in ("fr", "sw")] == [
            "Gari de manioc.", "Toasted cassava.",
        ]  # fmt: skip
        _, shelf = await CatalogRepository(uow.session).shelf(gari.tenant_id)
    assert [(item.name, product_name(item, "fr")) for item in shelf] == [
        ("Gari 1kg", "Gari 1 kg"),
        ("Palm Oil 1l", "Palm Oil 1l"),
    ]

    # A variant removed in the next file is removed from the product, and the shelves see a new version.
    async with database.uow() as uow:
        before = (await shops.require_tenant(uow.session, "cotonou")).config_version
    await imported(database, CATALOG.replace("Gari 1 kg,Gari de manioc.,Gari kilo 1", ",,"), clock)
    assert (await stored(database))["GARI"] == ("Gari 1kg", 800, {})
    async with database.uow() as uow:
        assert (await shops.require_tenant(uow.session, "cotonou")).config_version != before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            HEADER + "A,Apple,12.50,Fruit,,,,,,\n",
            "line 2: price: '12.50': XOF has no decimals: give a whole amount such as 1250",
        ),
        (HEADER + f"A,Apple,100,Fruit,,,,{'x' * 121},,\n", "line 2: name_fr is longer than 120 characters"),
        (HEADER + f"A,Apple,100,Fruit,,,,,{'x' * 1001},\n", "line 2: description_fr is longer than 1000 characters"),
    ],
)
async def test_bad_rows_refuse_the_file(
    database: Database, vault: Vault, clock: FakeClock, text: str, message: str
) -> None:
    await cotonou(database, vault, clock)
    await imported(database, CATALOG, clock)
    with pytest.raises(ShopError) as refused:
        await imported(database, text.replace("A,Apple", "GARI,Gari 1kg"), clock)
    assert str(refused.value) == f"catalog not imported, nothing written (1 bad row): {message}"
    assert (await stored(database))["GARI"][0:2] == ("Gari 1kg", 800)


async def test_a_language_without_texts_is_an_unknown_column(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    await cotonou(database, vault, clock)
    with pytest.raises(ShopError) as refused:
        await imported(database, "sku,name,price,category,name_de\nA,Apple,100,Fruit,Apfel\n", clock)
    assert str(refused.value) == (
        "line 1: unknown columns: 'name_de' (the columns are "
        "sku,name,price,category,description,photo_url,stock,item_class,tax_type; "
        "optional for each language: name_fr,description_fr,name_sw,description_sw)"
    )
    assert await stored(database) == {}


async def test_a_provider_that_does_not_take_the_shops_currency_is_refused(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    await cotonou(database, vault, clock)
    secrets = {"consumer_key": "ck-1", "consumer_secret": "cs-1", "passkey": "pk-1"}
    async with database.uow() as uow:
        with pytest.raises(ShopError) as refused:
            await shops.set_provider(
                uow.session, vault, "cotonou", "mpesa", secrets, {"shortcode": "174379"}, clock.now()
            )
        assert str(refused.value) == (
            "M-Pesa does not take XOF, the currency of 'cotonou': it takes KES; nothing was changed"
        )
        with pytest.raises(ShopError) as refused:
            await shops.set_provider(
                uow.session,
                vault,
                "cotonou",
                "paypal",
                {"client_secret": "EFsecret0123456789"},
                {"client_id": "AbCdEf0123456789xyz", "webhook_id": "8PT597110X687430LKGECATA"},
                clock.now(),
            )
        assert str(refused.value) == (
            "PayPal does not take XOF, the currency of 'cotonou': it takes USD (or set its conversion options); "
            "nothing was changed"
        )
        await uow.commit()
    async with database.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(ProviderConfig)) == 0
        assert (
            await uow.session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "provider.set")
            )
            == 0
        )
    # One that takes it, and a manual payment (any currency), are set.
    async with database.uow() as uow:
        await shops.set_provider(
            uow.session, vault, "cotonou", "manual", {}, {"instructions": "MoMo 0197000000"}, clock.now()
        )
        await uow.commit()
    async with database.uow() as uow:
        assert await uow.session.scalar(select(ProviderConfig.provider)) == "manual"
