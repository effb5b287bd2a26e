"""Mending a shop after `tenant add`, as the operator does it with the `dukabot` command: its admins (`tenant admin
add|remove|list`) and its name, currency, region and time zone (`tenant edit`), on SQLite and PostgreSQL, each change
audited; and two removals at once on PostgreSQL, which must leave the shop an admin."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from admin.shops.tenant_admins import Removal, remove_admin
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import AuditEntry, Customer, Order, Product, ProviderConfig, Tenant, TenantAdmin
from core.vault import Vault
from tests.support.app import VAULT_KEY, shop_server
from tests.support.locks import waiting_on_a_lock
from tests.support.seed import Shop, seed_shop
from webhooks.cli import main

MAMA, BABA = 9001, 9002


class Cli:
    """`dukabot ...` against the test's database, each run in a thread (every command runs its own event loop)."""

    def __init__(self, database: Database, data_dir: Path) -> None:
        self.env = {
            "DUKABOT_DATA_DIR": str(data_dir),
            "DUKABOT_DATABASE_URL": database.url,
            "DUKABOT_SECRET_KEYS": VAULT_KEY,
        }

    async def __call__(self, *args: str) -> Result:
        return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=self.env)


@pytest.fixture
def cli(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    return Cli(database, tmp_path)


@pytest.fixture
async def shop(database: Database, vault: Vault, clock: FakeClock) -> Shop:
    return await seed_shop(database, vault, clock, admin_id=MAMA)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def one_line_error(result: Result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message, message
    return message


async def audit(database: Database, shop: Shop) -> list[tuple[Any, ...]]:
    async with database.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.tenant_id == shop.tenant_id, AuditEntry.action != "tenant.create")
            .order_by(AuditEntry.id)
        )
        return [(row.actor_tg_id, row.action, row.target, row.allowed, row.details) for row in rows]


async def admins(database: Database, shop: Shop) -> list[int]:
    async with database.uow() as uow:
        rows = await uow.session.scalars(
            select(TenantAdmin.tg_user_id).where(TenantAdmin.tenant_id == shop.tenant_id).order_by(TenantAdmin.id)
        )
        return list(rows)


async def test_an_operator_adds_lists_and_removes_admins(cli: Cli, database: Database, shop: Shop) -> None:
    assert ok(await cli("tenant", "admin", "add", shop.slug, str(BABA))) == (
        f"{BABA} is now an admin of 'mama-mboga': they can run /admin in the shop's chat.\n"
    )
    again = await cli("tenant", "admin", "add", shop.slug, str(BABA))
    assert again.exit_code == 0 and again.stderr == f"{BABA} is already an admin of 'mama-mboga': nothing changed.\n"

    listing = ok(await cli("tenant", "admin", "list", shop.slug)).splitlines()
    assert listing[0] == "Admins of Mama Mboga Store (mama-mboga):"
    # Added at the FakeClock's moment, shown in the shop's zone (Kenya: EAT), labelled.
    assert [line.split()[0] for line in listing[1:]] == [str(MAMA), str(BABA)]
    assert listing[1].endswith("added 15 Jan 2026, 12:00 EAT"), listing
    assert f"admins:          {MAMA}, {BABA}\n" in ok(await cli("tenant", "show", shop.slug))

    assert ok(await cli("tenant", "admin", "remove", shop.slug, str(MAMA))) == (
        f"{MAMA} is no longer an admin of 'mama-mboga'.\n"
    )
    assert one_line_error(await cli("tenant", "admin", "remove", shop.slug, str(BABA))) == (
        f"Error: {BABA} is the last admin of 'mama-mboga': a shop needs one, so add another first "
        "(dukabot tenant admin add mama-mboga TG_USER_ID)"
    )
    assert one_line_error(await cli("tenant", "admin", "remove", shop.slug, "4242")) == (
        "Error: 4242 is not an admin of 'mama-mboga': see `dukabot tenant admin list mama-mboga`"
    )
    assert await admins(database, shop) == [BABA]
    assert await audit(database, shop) == [
        (None, "admin.added", str(BABA), True, {}),
        (None, "admin.removed", str(MAMA), True, {}),
        (None, "admin.remove", str(BABA), False, {"reason": "last admin"}),
    ]


async def test_wrong_admin_commands_are_one_line(cli: Cli, shop: Shop) -> None:
    assert one_line_error(await cli("tenant", "admin", "add", "nobody", "1")) == "Error: no shop with slug 'nobody'"
    for args in (("add", shop.slug, "0"), ("add", shop.slug, "abc"), ("remove", shop.slug, "9" * 20)):
        result = await cli("tenant", "admin", *args)
        assert result.exit_code == 2 and "Invalid value for 'TG_USER_ID'" in result.stderr, result.output


async def test_tenant_edit_changes_name_region_and_time_zone(cli: Cli, database: Database, shop: Shop) -> None:
    show = ok(await cli("tenant", "show", shop.slug))
    assert (
        "  time zone:       Africa/Nairobi (the region's usual zone; set another: "
        "dukabot tenant edit mama-mboga --timezone ZONE)\n" in show
    )
    changed = await cli("tenant", "edit", shop.slug, "--name", " Mama Mboga Market ", "--timezone", "Africa/Kampala")
    assert ok(changed) == (
        "Shop 'mama-mboga' changed: name Mama Mboga Store → Mama Mboga Market; "
        "time zone (the region's usual zone) → Africa/Kampala.\n"
    )
    show = ok(await cli("tenant", "show", shop.slug))
    assert show.startswith("Mama Mboga Market (mama-mboga)\n") and "  time zone:       Africa/Kampala\n" in show
    assert ok(await cli("tenant", "edit", shop.slug, "--region", "ug", "--timezone", "")) == (
        "Shop 'mama-mboga' changed: region KE → UG; time zone Africa/Kampala → (the region's usual zone).\n"
    )
    same = await cli("tenant", "edit", shop.slug, "--region", "UG")
    assert same.exit_code == 0 and same.stderr == "Nothing changed: shop 'mama-mboga' already has those settings.\n"

    assert one_line_error(await cli("tenant", "edit", shop.slug, "--timezone", "Nairobi")) == (
        "Error: unknown time zone 'Nairobi': use an IANA name such as Africa/Nairobi or Africa/Lagos"
    )
    assert "unknown region 'XX'" in one_line_error(await cli("tenant", "edit", shop.slug, "--region", "XX"))
    assert "unsupported currency 'EUR'" in one_line_error(await cli("tenant", "edit", shop.slug, "--currency", "EUR"))
    nothing = await cli("tenant", "edit", shop.slug)
    assert nothing.exit_code == 2 and (
        "nothing to change: give --name, --currency, --region, --timezone, --language or --cart-reminder"
        in nothing.stderr
    )
    assert ok(await cli("tenant", "edit", shop.slug, "--language", "SW")) == (
        "Shop 'mama-mboga' changed: language en → sw.\n"
    )
    assert "  language:        sw\n" in ok(await cli("tenant", "show", shop.slug))
    assert one_line_error(await cli("tenant", "edit", shop.slug, "--language", "de")) == (
        "Error: unknown language 'de': use one of en, sw, fr"
    )
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, shop.tenant_id)
        assert tenant is not None and (tenant.name, tenant.region, tenant.timezone) == ("Mama Mboga Market", "UG", None)
    assert await audit(database, shop) == [
        (
            None,
            "tenant.edit",
            shop.slug,
            True,
            {
                "name": ["Mama Mboga Store", "Mama Mboga Market"],
                "timezone": [None, "Africa/Kampala"],
            },
        ),
        (
            None,
            "tenant.edit",
            shop.slug,
            True,
            {"region": ["KE", "UG"], "timezone": ["Africa/Kampala", None]},
        ),
        (None, "tenant.edit", shop.slug, True, {"language": ["en", "sw"]}),
    ]


async def test_the_cart_reminder_delay_is_set_shown_and_turned_off(cli: Cli, database: Database, shop: Shop) -> None:
    show = ok(await cli("tenant", "show", shop.slug))
    assert "  cart reminder:   after 6h untouched, never 21:00-08:00 shop time\n" in show
    assert ok(await cli("tenant", "edit", shop.slug, "--cart-reminder", "90m")) == (
        "Shop 'mama-mboga' changed: cart reminder 6h → 90m.\n"
    )
    for wrong in ("10m", "8d", "soon", "-3h", "99999h"):
        assert one_line_error(await cli("tenant", "edit", shop.slug, "--cart-reminder", wrong)) == (
            f"Error: cart reminder delay {wrong!r}: give a time from 30m to 7d (e.g. 6h, 90m, 1d), or off for none"
        )
    assert ok(await cli("tenant", "edit", shop.slug, "--cart-reminder", "off")) == (
        "Shop 'mama-mboga' changed: cart reminder 90m → off.\n"
    )
    show = ok(await cli("tenant", "show", shop.slug))
    assert "  cart reminder:   off (turn on: dukabot tenant edit mama-mboga --cart-reminder 6h)\n" in show
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, shop.tenant_id)
        assert tenant is not None and tenant.cart_reminder_minutes == 0
    assert [row[4] for row in await audit(database, shop)] == [
        {"cart_reminder_minutes": [360, 90]},
        {"cart_reminder_minutes": [90, 0]},
    ]


async def test_currency_changes_until_the_first_order_and_hides_old_prices(
    cli: Cli, database: Database, shop: Shop, clock: FakeClock
) -> None:
    changed = await cli("tenant", "edit", shop.slug, "--currency", "ugx")
    assert ok(changed).startswith("Shop 'mama-mboga' changed: currency KES → UGX.\n")
    assert changed.stderr == (
        "Products priced in KES are hidden until the catalog is imported again with UGX prices (hidden: 12): "
        "dukabot catalog import mama-mboga FILE\n"
    )
    assert (await audit(database, shop))[-1] == (
        None,
        "tenant.edit",
        shop.slug,
        True,
        {"currency": ["KES", "UGX"], "hidden_products": 12},
    )
    async with database.uow() as uow:
        products = (await uow.session.execute(select(Product.currency, Product.active))).all()
        assert products and set(products) == {("KES", False)}
        customer = Customer(tenant_id=shop.tenant_id, tg_user_id=5, chat_id=5, created_at=clock.now())
        uow.session.add(customer)
        await uow.session.flush()
        uow.session.add(
            Order(
                tenant_id=shop.tenant_id,
                customer_id=customer.id,
                code="AB12CD",
                status="awaiting_payment",
                total_minor=50_000,
                currency="UGX",
                contact_name="Wanjiku",
                contact_phone="+256712345678",
                delivery_method="pickup",
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
        await uow.commit()

    assert one_line_error(await cli("tenant", "edit", shop.slug, "--currency", "KES", "--name", "Renamed")) == (
        "Error: the currency of 'mama-mboga' stays UGX: it has orders in UGX (count: 1), and its sales and refunds "
        "are counted in it"
    )
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, shop.tenant_id)
        assert tenant is not None and (tenant.currency, tenant.name) == ("UGX", "Mama Mboga Store")  # nothing changed
    assert (await audit(database, shop))[-1] == (
        None,
        "tenant.edit",
        shop.slug,
        False,
        {"currency": ["UGX", "KES"], "name": ["Mama Mboga Store", "Renamed"], "reason": "orders in UGX"},
    )


async def test_two_removals_at_once_leave_the_shop_an_admin(database: Database, shop: Shop, clock: FakeClock) -> None:
    """Mama and Baba are the admins; the operator removes Mama while another operator removes Baba. The first
    removal holds its transaction open; the second must wait for it in the database, then find Baba the last admin."""
    if database.dialect != "postgresql":
        pytest.skip("a race is only a race on PostgreSQL (SQLite lets one writer in at a time)")
    async with database.uow() as uow:
        uow.session.add(TenantAdmin(tenant_id=shop.tenant_id, tg_user_id=BABA, created_at=clock.now()))
        await uow.commit()
    first_done, let_go = asyncio.Event(), asyncio.Event()

    async def remove(tg_user_id: int, *, hold: bool) -> Removal:
        async with database.uow() as uow:
            outcome = await remove_admin(uow.session, shop.slug, tg_user_id, now=clock.now())
            if hold:
                first_done.set()
                await let_go.wait()
            await uow.commit()
            return outcome

    first = asyncio.create_task(remove(MAMA, hold=True))
    await first_done.wait()
    second = asyncio.create_task(remove(BABA, hold=False))
    await waiting_on_a_lock(database, 1)  # the second removal is held behind the first, not merely started
    let_go.set()
    assert await asyncio.gather(first, second) == [Removal.REMOVED, Removal.LAST_ADMIN]
    assert await admins(database, shop) == [BABA]


async def test_a_shop_created_without_an_admin_is_mended_from_the_cli(
    cli: Cli, database: Database, vault: Vault, tmp_path: Path
) -> None:
    """The merchant is told the chat commands are not theirs until the operator adds them; then /admin works."""
    async with shop_server(database, vault, tmp_path, webhooks=True) as server:
        shop = await server.add_shop(admins=())
        await server.start()
        merchant = server.person(shop, 7007, "Akinyi")
        assert "This command is for the shop's admins." in await merchant.send("/admin")
        assert (
            "  admins:          (none: nobody can run /admin; add one: dukabot tenant admin add mama-mboga "
            "TG_USER_ID)\n" in ok(await cli("tenant", "show", shop.slug))
        )
        assert "Shop 'mama-mboga' has no admin" in ok(await cli("tenant", "admin", "list", shop.slug))

        ok(await cli("tenant", "admin", "add", shop.slug, "7007"))
        menu = await merchant.send("/admin")
        assert menu.text.startswith("🏪 Mama Mboga Store"), menu


async def test_a_currency_its_payment_methods_cannot_take_is_refused_unless_they_are_disabled_with_it(
    cli: Cli, database: Database, shop: Shop, clock: FakeClock
) -> None:
    async with database.uow() as uow:
        uow.session.add(
            ProviderConfig(
                tenant_id=shop.tenant_id,
                provider="mpesa",
                enabled=True,
                options={"shortcode": "174379"},
                updated_at=clock.now(),
            )
        )
        await uow.commit()

    assert one_line_error(await cli("tenant", "edit", shop.slug, "--currency", "UGX", "--name", "Renamed")) == (
        "Error: the currency of 'mama-mboga' stays KES: its payment methods mpesa cannot take UGX (M-Pesa takes KES); "
        "nothing was changed. Give --disable-providers to disable them with the change"
    )
    assert await shop_state(database, shop) == ("KES", "Mama Mboga Store", 12, {"manual": True, "mpesa": True})
    assert (await audit(database, shop))[-1] == (
        None,
        "tenant.edit",
        shop.slug,
        False,
        {"currency": ["KES", "UGX"], "name": ["Mama Mboga Store", "Renamed"], "reason": "providers: mpesa"},
    )

    changed = await cli("tenant", "edit", shop.slug, "--currency", "UGX", "--disable-providers")
    assert ok(changed).startswith("Shop 'mama-mboga' changed: currency KES → UGX.\n")
    assert changed.stderr.splitlines()[-1] == (
        "Payment methods disabled, as they cannot take UGX: mpesa "
        "(dukabot provider set mama-mboga PROVIDER ... enables one again)"
    )
    assert await shop_state(database, shop) == ("UGX", "Mama Mboga Store", 0, {"manual": True, "mpesa": False})
    assert (await audit(database, shop))[-1][3:] == (
        True,
        {"currency": ["KES", "UGX"], "hidden_products": 12, "disabled_providers": ["mpesa"]},
    )


async def shop_state(database: Database, shop: Shop) -> tuple[str, str, int, dict[str, bool]]:
    """The shop's currency and name, how many products it shows, and which payment methods are enabled."""
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, shop.tenant_id)
        assert tenant is not None
        shown = await uow.session.scalar(
            select(func.count()).select_from(Product).where(Product.tenant_id == shop.tenant_id, Product.active)
        )
        configs = await uow.session.execute(
            select(ProviderConfig.provider, ProviderConfig.enabled).where(ProviderConfig.tenant_id == shop.tenant_id)
        )
        return tenant.currency, tenant.name, int(shown or 0), {provider: enabled for provider, enabled in configs}
