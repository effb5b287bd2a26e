"""The shop operations behind the operator CLI, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from admin import shops
from admin.shops import ShopError
from core.clock import FakeClock
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import AuditEntry, Product, ProviderConfig, Tenant
from core.vault import Vault, VaultError

TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"
OTHER_TOKEN = "220302654:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsawX"
MPESA_SECRETS = {
    "consumer_key": "ck-9f8e7d6c5b4a39281706",
    "consumer_secret": "cs-0a1b2c3d4e5f60718293",
    "passkey": "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919",
}
PAYSTACK_KEY = "sk_test_4f1a9c2e7b3d8f6a0e5c1b9d7a3f2e8c6b4d0a1f"
SAMPLE_CATALOG = Path(__file__).parents[2] / "admin" / "sample_catalog.csv"
HEADER = "sku,name,price,category,description,photo_url,stock\n"


async def make_shop(database: Database, vault: Vault, clock: FakeClock, slug: str = "duka", token: str = TOKEN) -> None:
    async with database.uow() as uow:
        await shops.create_tenant(
            uow.session, vault, slug=slug, name="Mama Duka", bot_token=token, admins=[111, 222], now=clock.now()
        )
        await uow.commit()


async def audit_entries(database: Database, action: str) -> list[AuditEntry]:
    async with database.uow() as uow:
        entries = list(await uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        uow.session.expunge_all()  # leaving the unit of work rolls back, which would expire them
        return entries


async def products(database: Database, slug: str = "duka") -> dict[str, Product]:
    async with database.uow() as uow:
        tenant = await shops.require_tenant(uow.session, slug)
        rows = await uow.session.scalars(select(Product).where(Product.tenant_id == tenant.id))
        found = {product.sku: product for product in rows}
        uow.session.expunge_all()
        return found


# --- tenants -------------------------------------------------------------------------------------------------------


async def test_create_tenant_encrypts_token_and_makes_a_webhook_secret(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    await make_shop(database, vault, clock)

    async with database.uow() as uow:
        tenant = await shops.require_tenant(uow.session, "duka")
        assert (tenant.name, tenant.currency, tenant.region, tenant.test_mode) == ("Mama Duka", "KES", "KE", False)
        assert TOKEN not in tenant.bot_token_enc
        assert shops.decrypt_bot_token(vault, tenant) == TOKEN
        secret = shops.decrypt_webhook_secret(vault, tenant)
        assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", secret)
        assert secret not in tenant.webhook_secret_enc
        assert await TenantRepository(uow.session).admin_ids(tenant.id) == [111, 222]

    [entry] = await audit_entries(database, "tenant.create")
    assert entry.actor_tg_id is None and entry.target == "duka"
    assert entry.details["admins"] == [111, 222]
    assert TOKEN not in json.dumps(entry.details) and secret not in json.dumps(entry.details)


async def test_every_tenant_gets_its_own_webhook_secret(database: Database, vault: Vault, clock: FakeClock) -> None:
    await make_shop(database, vault, clock, "one")
    await make_shop(database, vault, clock, "two", token=OTHER_TOKEN)
    async with database.uow() as uow:
        one = await shops.require_tenant(uow.session, "one")
        two = await shops.require_tenant(uow.session, "two")
        assert shops.decrypt_webhook_secret(vault, one) != shops.decrypt_webhook_secret(vault, two)


async def test_duplicate_slug_is_refused(database: Database, vault: Vault, clock: FakeClock) -> None:
    await make_shop(database, vault, clock)
    async with database.uow() as uow:
        with pytest.raises(ShopError, match="'duka' already exists"):
            await shops.create_tenant(
                uow.session, vault, slug="duka", name="Again", bot_token=OTHER_TOKEN, admins=[], now=clock.now()
            )


async def test_the_same_bot_cannot_serve_two_shops(database: Database, vault: Vault, clock: FakeClock) -> None:
    await make_shop(database, vault, clock)
    async with database.uow() as uow:
        with pytest.raises(ShopError, match="already serves shop 'duka'") as caught:
            await shops.create_tenant(
                uow.session, vault, slug="other", name="Other", bot_token=TOKEN, admins=[], now=clock.now()
            )
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    "slug", ["a", "Duka", "mama duka", "-duka", "duka-", "mama_duka", "duka!", "x" * 41, "", "dùka"]
)
async def test_bad_slug_is_refused(database: Database, vault: Vault, clock: FakeClock, slug: str) -> None:
    async with database.uow() as uow:
        with pytest.raises(ShopError, match="bad slug"):
            await shops.create_tenant(
                uow.session, vault, slug=slug, name="Shop", bot_token=TOKEN, admins=[], now=clock.now()
            )
        assert await TenantRepository(uow.session).all() == []


@pytest.mark.parametrize("slug", ["ab", "mama-mboga", "duka42", "x" * 40])
async def test_good_slugs(database: Database, vault: Vault, clock: FakeClock, slug: str) -> None:
    await make_shop(database, vault, clock, slug)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "110201543:short",
        "bot110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9",
        "110201543AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9",
        "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PAL Dsaw9",
    ],
)
async def test_bad_bot_token_is_refused_without_echoing_it(
    database: Database, vault: Vault, clock: FakeClock, token: str
) -> None:
    async with database.uow() as uow:
        with pytest.raises(ShopError, match="does not look like a Telegram bot token") as caught:
            await shops.create_tenant(
                uow.session, vault, slug="duka", name="Shop", bot_token=token, admins=[], now=clock.now()
            )
    if token:
        assert token not in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "  "}, "needs a name"),
        ({"currency": "XYZ"}, "unsupported currency"),
        ({"region": "ZZ"}, "unknown region"),
        ({"admins": [0]}, "bad admin id"),
        ({"admins": [-5]}, "bad admin id"),
    ],
)
async def test_other_bad_tenant_fields(
    database: Database, vault: Vault, clock: FakeClock, changes: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {"slug": "duka", "name": "Shop", "bot_token": TOKEN, "admins": [1]} | changes
    async with database.uow() as uow:
        with pytest.raises(ShopError, match=message):
            await shops.create_tenant(uow.session, vault, now=clock.now(), **fields)  # type: ignore[arg-type]


async def test_currency_and_region_are_normalised(database: Database, vault: Vault, clock: FakeClock) -> None:
    async with database.uow() as uow:
        tenant = await shops.create_tenant(
            uow.session,
            vault,
            slug="lagos",
            name="Lagos Shop",
            bot_token=TOKEN,
            admins=[7, 7],
            currency="ngn",
            region="ng",
            now=clock.now(),
        )
        assert (tenant.currency, tenant.region) == ("NGN", "NG")
        assert await TenantRepository(uow.session).admin_ids(tenant.id) == [7]


async def test_list_tenants(database: Database, vault: Vault, clock: FakeClock) -> None:
    await make_shop(database, vault, clock, "zeta")
    await make_shop(database, vault, clock, "alpha", token=OTHER_TOKEN)
    async with database.uow() as uow:
        await shops.set_provider(uow.session, vault, "zeta", "manual", {}, {"instructions": "Cash"}, clock.now())
        await shops.set_provider(uow.session, vault, "zeta", "paystack", {"secret_key": PAYSTACK_KEY}, {}, clock.now())
        await shops.import_catalog(uow.session, "zeta", SAMPLE_CATALOG.read_text(), now=clock.now())
        await uow.commit()
    async with database.uow() as uow:
        summaries = await shops.list_tenants(uow.session)
    assert [summary.slug for summary in summaries] == ["alpha", "zeta"]
    zeta = summaries[1]
    assert (zeta.admins, zeta.providers, zeta.products) == (2, ("manual", "paystack"), 13)
    assert summaries[0].providers == () and summaries[0].products == 0
    assert PAYSTACK_KEY not in json.dumps([summary.as_dict() for summary in summaries])


# --- providers -----------------------------------------------------------------------------------------------------


async def stored_config(database: Database, provider: str, slug: str = "duka") -> ProviderConfig:
    async with database.uow() as uow:
        tenant = await shops.require_tenant(uow.session, slug)
        config = await TenantRepository(uow.session).provider_config(tenant.id, provider)
        assert config is not None
        uow.session.expunge_all()
        return config


async def test_set_mpesa_encrypts_the_secrets(database: Database, vault: Vault, clock: FakeClock) -> None:
    await make_shop(database, vault, clock)
    async with database.uow() as uow:
        await shops.set_provider(
            uow.session,
            vault,
            "duka",
            "mpesa",
            MPESA_SECRETS,
            {
                "shortcode": "174379",
                "till": "5123456",
                "base_url": "https://sandbox.safaricom.co.ke/",
                "c2b_version": "V2",
            },
            clock.now(),
        )
        await uow.commit()

    config = await stored_config(database, "mpesa")
    assert config.enabled
    assert config.secrets_enc is not None
    for value in MPESA_SECRETS.values():
        assert value not in config.secrets_enc
        assert value not in json.dumps(config.options)
    assert shops.decrypt_provider_secrets(vault, config) == MPESA_SECRETS
    assert config.options == {
        "shortcode": "174379",
        "till": "5123456",
        "base_url": "https://sandbox.safaricom.co.ke",
        "c2b_version": "v2",
    }
    [entry] = await audit_entries(database, "provider.set")
    assert entry.target == "mpesa" and entry.details["secrets"] == ["consumer_key", "consumer_secret", "passkey"]
    for value in MPESA_SECRETS.values():
        assert value not in json.dumps(entry.details)


async def test_set_paystack_encrypts_the_key(database: Database, vault: Vault, clock: FakeClock) -> None:
    await make_shop(database, vault, clock)
    async with database.uow() as uow:
        await shops.set_provider(
            uow.session,
            vault,
            "duka",
            "paystack",
            {"secret_key": PAYSTACK_KEY},
            {"base_url": "http://127.0.0.1:9100"},
            clock.now(),
        )
        await uow.commit()
    config = await stored_config(database, "paystack")
    assert config.secrets_enc is not None and PAYSTACK_KEY not in config.secrets_enc
    assert shops.decrypt_provider_secrets(vault, config) == {"secret_key": PAYSTACK_KEY}
    assert config.options == {"base_url": "http://127.0.0.1:9100"}
    [entry] = await audit_entries(database, "provider.set")
    assert PAYSTACK_KEY not in json.dumps(entry.details)


async def test_set_manual_has_no_secrets(database: Database, vault: Vault, clock: FakeClock) -> None:
    await make_shop(database, vault, clock)
    instructions = "Pay to till 5123456, then send a photo of the M-Pesa message.\nOr pay cash on delivery."
    async with database.uow() as uow:
        await shops.set_provider(uow.session, vault, "duka", "manual", {}, {"instructions": instructions}, clock.now())
        await uow.commit()
    config = await stored_config(database, "manual")
    assert config.secrets_enc is None
    assert config.options == {"instructions": instructions}
    assert shops.decrypt_provider_secrets(vault, config) == {}


async def test_setting_a_provider_again_replaces_it(database: Database, vault: Vault, clock: FakeClock) -> None:
    await make_shop(database, vault, clock)
    for key, base_url in ((PAYSTACK_KEY, "https://api.paystack.co"), ("sk_live_new0000000000000000", None)):
        async with database.uow() as uow:
            await shops.set_provider(
                uow.session, vault, "duka", "paystack", {"secret_key": key}, {"base_url": base_url}, clock.now()
            )
            await uow.commit()
    config = await stored_config(database, "paystack")
    assert shops.decrypt_provider_secrets(vault, config) == {"secret_key": "sk_live_new0000000000000000"}
    assert config.options == {}
    async with database.uow() as uow:
        count = await uow.session.scalar(select(func.count()).select_from(ProviderConfig))
    assert count == 1
    assert len(await audit_entries(database, "provider.set")) == 2


@pytest.mark.parametrize(
    ("provider", "secrets", "options", "message"),
    [
        ("nopay", {}, {}, "unknown provider"),
        ("mpesa", {**MPESA_SECRETS, "passkey": ""}, {"shortcode": "174379"}, "needs the secret passkey"),
        ("mpesa", MPESA_SECRETS, {}, "needs the option shortcode"),
        ("mpesa", MPESA_SECRETS, {"shortcode": "17a379"}, "shortcode must be a number"),
        ("mpesa", MPESA_SECRETS, {"shortcode": "174379", "till": "12"}, "till must be a number"),
        ("mpesa", MPESA_SECRETS, {"shortcode": "174379", "c2b_version": "v3"}, "c2b_version must be v1 or v2"),
        ("mpesa", MPESA_SECRETS, {"shortcode": "174379", "secret_key": "x"}, "takes the options"),
        ("mpesa", MPESA_SECRETS, {"shortcode": "174379", "base_url": "http://evil.example.com"}, "must be https"),
        ("mpesa", MPESA_SECRETS, {"shortcode": "174379", "base_url": "not a url"}, "is not a URL"),
        (
            "mpesa",
            MPESA_SECRETS,
            {"shortcode": "174379", "base_url": "https://u:p@sandbox.example.com"},
            "must not carry credentials",
        ),
        ("paystack", {"secret_key": "pk_test_abcdefabcdef"}, {}, "starts with sk_test_ or sk_live_"),
        ("paystack", {"secret_key": PAYSTACK_KEY, "passkey": "x"}, {}, "not passkey"),
        ("paystack", {}, {}, "needs the secret secret_key"),
        ("manual", {}, {}, "needs the option instructions"),
        ("manual", {}, {"instructions": "   "}, "instructions are empty"),
        ("manual", {}, {"instructions": "x" * 1001}, "longer than 1000"),
        ("manual", {"secret_key": PAYSTACK_KEY}, {"instructions": "Cash"}, "takes no secrets"),
        ("mpesa", MPESA_SECRETS, {"shortcode": "174379", "c2b_validation": "maybe"}, "c2b_validation is on or off"),
        ("mpesa", MPESA_SECRETS, {"shortcode": "174379", "ip_allowlist": "1.2.3.999"}, "list of IP addresses"),
        ("mpesa", MPESA_SECRETS, {"shortcode": "174379", "test_shortcode": "12"}, "test_shortcode must be a number"),
        ("paystack", {"secret_key": PAYSTACK_KEY}, {"channels": "card,cheque"}, "channels are a comma-separated"),
        ("paystack", {"secret_key": PAYSTACK_KEY}, {"email_domain": "not a domain"}, "email_domain is a domain"),
        ("paystack", {"secret_key": PAYSTACK_KEY, "test_passkey": "x"}, {}, "not test_passkey"),
    ],
)
async def test_bad_provider_settings_are_refused(
    database: Database,
    vault: Vault,
    clock: FakeClock,
    provider: str,
    secrets: dict[str, str],
    options: dict[str, str],
    message: str,
) -> None:
    await make_shop(database, vault, clock)
    async with database.uow() as uow:
        with pytest.raises(ShopError, match=message) as caught:
            await shops.set_provider(uow.session, vault, "duka", provider, secrets, options, clock.now())
        for value in [*MPESA_SECRETS.values(), PAYSTACK_KEY, "pk_test_abcdefabcdef"]:
            assert value not in str(caught.value)
        tenant = await shops.require_tenant(uow.session, "duka")
        assert await TenantRepository(uow.session).provider_configs(tenant.id, enabled_only=False) == []


async def test_provider_for_an_unknown_shop(database: Database, vault: Vault, clock: FakeClock) -> None:
    async with database.uow() as uow:
        with pytest.raises(ShopError, match="no shop with slug 'nope'"):
            await shops.set_provider(uow.session, vault, "nope", "manual", {}, {"instructions": "Cash"}, clock.now())


# --- catalog -------------------------------------------------------------------------------------------------------


async def import_text(database: Database, text: str, clock: FakeClock, slug: str = "duka") -> shops.ImportReport:
    async with database.uow() as uow:
        report = await shops.import_catalog(uow.session, slug, text, now=clock.now())
        await uow.commit()
    return report


async def test_import_the_sample_catalog(database: Database, vault: Vault, clock: FakeClock) -> None:
    await make_shop(database, vault, clock)
    report = await import_text(database, SAMPLE_CATALOG.read_text(encoding="utf-8"), clock)
    assert (report.created, report.updated, report.unchanged, report.total) == (13, 0, 0, 13)
    assert report.categories == ("Groceries", "Household", "Phone accessories")

    found = await products(database)
    sugar = found["GRO-SUGAR-1KG"]
    assert (sugar.price_minor, sugar.currency, sugar.stock, sugar.active) == (19950, "KES", 30, True)
    assert sugar.description == "White sugar, 1kg packet."
    assert found["GRO-TEA-250"].stock is None
    assert found["ACC-POWERBANK"].price_minor == 250000
    assert all(product.photo_url is None for product in found.values())
    [entry] = await audit_entries(database, "catalog.import")
    assert entry.details == {"rows": 13, "created": 13, "updated": 0, "unchanged": 0}


async def test_import_upserts_by_sku_and_leaves_other_products_alone(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    await make_shop(database, vault, clock)
    await import_text(
        database,
        HEADER + "A1,Apple,50,Fruit,,,10\nB1,Banana,20,Fruit,,,\nC1,Cherry,300,Fruit,,,5\n",
        clock,
    )
    report = await import_text(
        database,
        HEADER
        + "A1,Apple,55.50,Fruit,Crisp,https://img.example.com/a.jpg,8\nB1,Banana,20,Fruit,,,\nD1,Dates,400,Dry,,,\n",
        clock,
    )
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    found = await products(database)
    assert sorted(found) == ["A1", "B1", "C1", "D1"]
    apple = found["A1"]
    assert (apple.price_minor, apple.description, apple.photo_url, apple.stock) == (
        5550,
        "Crisp",
        "https://img.example.com/a.jpg",
        8,
    )
    assert found["C1"].price_minor == 30000  # not in the second file: untouched


async def test_import_uses_the_shop_currency(database: Database, vault: Vault, clock: FakeClock) -> None:
    async with database.uow() as uow:
        await shops.create_tenant(
            uow.session, vault, slug="kampala", name="K", bot_token=TOKEN, admins=[], currency="UGX", now=clock.now()
        )
        await uow.commit()
    await import_text(database, HEADER + "S1,Soda,1500,Drinks,,,\n", clock, slug="kampala")
    soda = (await products(database, "kampala"))["S1"]
    assert (soda.price_minor, soda.currency) == (1500, "UGX")
    async with database.uow() as uow:
        with pytest.raises(ShopError, match="UGX has no decimals: give a whole amount such as 1250"):
            await shops.import_catalog(uow.session, "kampala", HEADER + "S2,Soda,1500.50,Drinks,,,\n")


async def test_import_accepts_excel_csv(database: Database, vault: Vault, clock: FakeClock) -> None:
    await make_shop(database, vault, clock)
    text = '\ufeffSKU,Name,Price,Category\r\nA1,Apple,"1,250.00",Fruit\r\n\r\nB1,"Banana\nbunch",20,Fruit\r\n'
    report = await import_text(database, text, clock)
    assert report.created == 2
    found = await products(database)
    assert found["A1"].price_minor == 125000 and found["A1"].stock is None and found["A1"].description == ""


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("X1,Thing,0,Misc,,,", "price must be more than 0"),
        ("X1,Thing,-5,Misc,,,", "price must be more than 0"),
        ("X1,Thing,12.505,Misc,,,", "KES takes at most 2 decimals, such as 12.50"),
        ("X1,Thing,abc,Misc,,,", "not an amount"),
        ("X1,Thing,1e3,Misc,,,", "not an amount"),
        ("X1,Thing,,Misc,,,", "price is missing"),
        ("X1,,100,Misc,,,", "name is missing"),
        ("X1,Thing,100,,,,", "category is missing"),
        (",Thing,100,Misc,,,", "sku is missing"),
        ("X 1,Thing,100,Misc,,,", "sku must be"),
        ("X1,Thing,100,Misc,,,-1", "stock '-1' is not a whole number"),
        ("X1,Thing,100,Misc,,,2.5", "stock '2.5' is not a whole number"),
        ("X1,Thing,100,Misc,,,lots", "stock 'lots' is not a whole number"),
        ("X1,Thing,100,Misc,,http://img.example.com/x.jpg,", "photo_url must be empty or an https"),
        ("X1,Thing,100,Misc,a,b,1,extra", "more fields than columns"),
    ],
)
async def test_a_bad_row_refuses_the_whole_file(
    database: Database, vault: Vault, clock: FakeClock, row: str, reason: str
) -> None:
    await make_shop(database, vault, clock)
    text = HEADER + "OK1,Good,100,Misc,,,\n" + row + "\nOK2,Good too,100,Misc,,,\n"
    async with database.uow() as uow:
        with pytest.raises(ShopError, match=re.escape("line 3: ") + ".*" + re.escape(reason)) as caught:
            await shops.import_catalog(uow.session, "duka", text, now=clock.now())
        assert "nothing written" in str(caught.value)
        assert not uow.session.new and not uow.session.dirty
    assert await products(database) == {}
    assert await audit_entries(database, "catalog.import") == []


async def test_bad_rows_leave_existing_products_unchanged(database: Database, vault: Vault, clock: FakeClock) -> None:
    await make_shop(database, vault, clock)
    await import_text(database, HEADER + "A1,Apple,50,Fruit,,,10\n", clock)
    text = HEADER + "A1,Apple,99,Fruit,,,1\nB1,,0,Fruit,,,x\nC1,Cherry,1.001,Fruit,,,\nA1,Apple again,5,Fruit,,,\n"
    async with database.uow() as uow:
        with pytest.raises(ShopError) as caught:
            await shops.import_catalog(uow.session, "duka", text, now=clock.now())
    message = str(caught.value)
    assert "(3 bad rows)" in message
    assert "line 3: name is missing; price must be more than 0" in message
    assert "stock 'x'" in message
    assert "line 4: price: '1.001': KES takes at most 2 decimals, such as 12.50" in message
    assert "line 5: sku 'A1' is already on line 2" in message
    assert "\n" not in message
    assert len(caught.value.problems) == 3
    assert (await products(database))["A1"].price_minor == 5000


async def test_many_bad_rows_are_summarised(database: Database, vault: Vault, clock: FakeClock) -> None:
    await make_shop(database, vault, clock)
    text = HEADER + "".join(f"X{i},Thing,0,Misc,,,\n" for i in range(25))
    async with database.uow() as uow:
        with pytest.raises(ShopError, match=r"\(25 bad rows\).*line 11: .*; and 15 more$") as caught:
            await shops.import_catalog(uow.session, "duka", text, now=clock.now())
    assert "line 12" not in str(caught.value)
    assert len(caught.value.problems) == 25


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the catalog is empty"),
        ("\n\n", "the catalog is empty"),
        (HEADER, "has no products"),
        ("sku,name,prce,category\nA,B,1,C\n", "unknown columns: 'prce'.*missing columns: price"),
        ("sku,name,price,category,sku\n", "repeated columns: sku"),
        ("sku;name;price;category\nA;B;1;C\n", "separated by ';'"),
        (HEADER + 'A1,"Apple,50,Fruit,,,\n', "line 2"),
    ],
)
async def test_bad_files(database: Database, vault: Vault, clock: FakeClock, text: str, message: str) -> None:
    await make_shop(database, vault, clock)
    async with database.uow() as uow:
        with pytest.raises(ShopError, match=message):
            await shops.import_catalog(uow.session, "duka", text, now=clock.now())
    assert await products(database) == {}


async def test_import_into_an_unknown_shop(database: Database) -> None:
    async with database.uow() as uow:
        with pytest.raises(ShopError, match="no shop with slug 'nope'"):
            await shops.import_catalog(uow.session, "nope", HEADER + "A1,Apple,50,Fruit,,,\n")


# --- describe ------------------------------------------------------------------------------------------------------


async def configure_everything(database: Database, vault: Vault, clock: FakeClock) -> None:
    await make_shop(database, vault, clock)
    async with database.uow() as uow:
        await shops.set_provider(
            uow.session, vault, "duka", "mpesa", MPESA_SECRETS, {"shortcode": "174379"}, clock.now()
        )
        await shops.set_provider(uow.session, vault, "duka", "paystack", {"secret_key": PAYSTACK_KEY}, {}, clock.now())
        await shops.set_provider(uow.session, vault, "duka", "manual", {}, {"instructions": "Cash"}, clock.now())
        await shops.import_catalog(uow.session, "duka", SAMPLE_CATALOG.read_text(), now=clock.now())
        await uow.commit()


async def test_describe_masks_every_secret(database: Database, vault: Vault, clock: FakeClock) -> None:
    await configure_everything(database, vault, clock)
    async with database.uow() as uow:
        info = await shops.describe_tenant(uow.session, vault, "duka")
        webhook_secret = shops.decrypt_webhook_secret(vault, await shops.require_tenant(uow.session, "duka"))

    dumped = json.dumps(info)
    for secret in [TOKEN, TOKEN.split(":")[1], webhook_secret, PAYSTACK_KEY, *MPESA_SECRETS.values()]:
        assert secret not in dumped
    assert info["bot_token"] == "••••••" + TOKEN[-4:]
    assert info["webhook_secret"] == "••••••" + webhook_secret[-4:]
    assert info["bot_id"] == "110201543"
    assert (info["slug"], info["name"], info["currency"], info["admins"]) == ("duka", "Mama Duka", "KES", [111, 222])
    assert (info["products"], info["categories"], info["problems"]) == (13, 3, [])
    by_name = {entry["provider"]: entry for entry in info["providers"]}
    assert by_name["mpesa"]["secrets"] == {key: "••••••" + value[-4:] for key, value in MPESA_SECRETS.items()}
    assert by_name["mpesa"]["options"] == {"shortcode": "174379"}
    assert by_name["paystack"]["secrets"] == {"secret_key": "••••••" + PAYSTACK_KEY[-4:]}
    assert by_name["paystack"]["key_mode"] == "test"
    assert by_name["manual"]["secrets"] == {} and by_name["manual"]["options"] == {"instructions": "Cash"}


async def test_describe_reports_secrets_it_cannot_open(database: Database, vault: Vault, clock: FakeClock) -> None:
    await configure_everything(database, vault, clock)
    stranger = Vault([Fernet.generate_key().decode()])
    async with database.uow() as uow:
        info = await shops.describe_tenant(uow.session, stranger, "duka")
    assert info["bot_token"] == "(cannot decrypt with the configured keys)"
    assert len(info["problems"]) == 4  # token, webhook secret, mpesa, paystack


async def test_describe_an_unknown_shop(database: Database, vault: Vault) -> None:
    async with database.uow() as uow:
        with pytest.raises(ShopError, match="no shop"):
            await shops.describe_tenant(uow.session, vault, "nope")


# --- keys ----------------------------------------------------------------------------------------------------------


async def test_rotate_keys_then_only_the_new_key_is_needed(database: Database, vault: Vault, clock: FakeClock) -> None:
    await configure_everything(database, vault, clock)
    await make_shop(database, vault, clock, "second", token=OTHER_TOKEN)
    old_key = "YOKMvaqZ3xJ0pN1C6tyYl1vX6mW0Tr0t9n8zk0SxQ2E="  # the `vault` fixture's key
    new_key = Fernet.generate_key().decode()

    async with database.uow() as uow:
        count = await shops.rotate_keys(uow.session, Vault([new_key, old_key]), now=clock.now())
        await uow.commit()
    assert count == 2 * 2 + 2  # two shops (token, webhook secret), mpesa and paystack bundles; manual has none

    only_new = Vault([new_key])
    async with database.uow() as uow:
        for slug, token in (("duka", TOKEN), ("second", OTHER_TOKEN)):
            tenant = await shops.require_tenant(uow.session, slug)
            assert shops.decrypt_bot_token(only_new, tenant) == token
            shops.decrypt_webhook_secret(only_new, tenant)
            with pytest.raises(VaultError):
                shops.decrypt_bot_token(vault, tenant)
        duka = await shops.require_tenant(uow.session, "duka")
        configs = await TenantRepository(uow.session).provider_configs(duka.id)
        secrets = {config.provider: shops.decrypt_provider_secrets(only_new, config) for config in configs}
        assert secrets == {"mpesa": MPESA_SECRETS, "paystack": {"secret_key": PAYSTACK_KEY}, "manual": {}}
        assert (await shops.describe_tenant(uow.session, only_new, "duka"))["problems"] == []
    [entry] = await audit_entries(database, "keys.rotate")
    assert entry.tenant_id is None and entry.details == {"secrets": 6, "shops": 2}


async def test_rotate_without_the_old_key_changes_nothing(database: Database, vault: Vault, clock: FakeClock) -> None:
    await configure_everything(database, vault, clock)
    async with database.uow() as uow:
        before = (await shops.require_tenant(uow.session, "duka")).bot_token_enc
    async with database.uow() as uow:
        with pytest.raises(ShopError, match=r"shop 'duka' cannot be decrypted.*nothing was changed"):
            await shops.rotate_keys(uow.session, Vault([Fernet.generate_key().decode()]), now=clock.now())
    async with database.uow() as uow:
        tenant = await uow.session.scalar(select(Tenant).where(Tenant.slug == "duka"))
        assert tenant is not None and tenant.bot_token_enc == before
        assert shops.decrypt_bot_token(vault, tenant) == TOKEN


async def test_mpesa_options_and_sandbox_credentials_are_stored_cleaned(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    await make_shop(database, vault, clock)
    options = {
        "shortcode": "600111",
        "c2b_validation": "YES",
        "ip_allowlist": "safaricom, 196.201.214.200",
        "trusted_proxies": "10.0.0.1",
        "test_shortcode": "174379",
    }
    secrets = {**MPESA_SECRETS, "test_consumer_key": "sandbox-ck", "test_passkey": "sandbox-passkey"}
    async with database.uow() as uow:
        await shops.set_provider(uow.session, vault, "duka", "mpesa", secrets, options, clock.now())
        await uow.commit()
    config = await stored_config(database, "mpesa")
    assert config.options["c2b_validation"] == "on"
    assert config.options["ip_allowlist"] == "safaricom,196.201.214.200"
    assert config.options["test_shortcode"] == "174379"
    assert config.secrets_enc is not None and "sandbox-passkey" not in config.secrets_enc
    stored = vault.decrypt_json(config.secrets_enc)
    assert stored["test_consumer_key"] == "sandbox-ck" and "test_consumer_secret" not in stored


async def test_paystack_channels_and_email_policy_are_stored(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    await make_shop(database, vault, clock)
    options = {"channels": "Card, mobile_money", "ask_email": "on", "email_domain": "Duka.Example.com"}
    async with database.uow() as uow:
        await shops.set_provider(
            uow.session, vault, "duka", "paystack", {"secret_key": PAYSTACK_KEY}, options, clock.now()
        )
        await uow.commit()
    config = await stored_config(database, "paystack")
    assert config.options == {"channels": "card,mobile_money", "ask_email": "on", "email_domain": "duka.example.com"}
