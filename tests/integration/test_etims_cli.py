"""`dukabot fiscal set SLUG etims` as the operator runs it: the settings stored (the communication key encrypted and
never printed, kept when set again without it), a bad value one line naming the field with nothing stored; and
`dukabot doctor`'s eTIMS line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import FiscalDevice, Product
from core.settings import Settings
from core.vault import Vault
from fiscal import devices
from fiscal.etims.settings import EtimsSetup
from fiscal.registry import settings_manifest
from payments.setup import cli_manifest
from tests.integration.test_provider_settings_cli import TOKEN, Run, dukabot, in_thread, one_line_error
from tests.support.app import VAULT_KEY
from tests.support.seed import seed_shop
from webhooks.cli import main
from webhooks.doctor import Check, fiscal_checks
from webhooks.runtime import build_runtime

__all__ = ["dukabot"]  # the fixture, shared

PIN = "P051234567A"
KEY = "CMC0KEY1FROM2KRA3XYZ"


def test_the_settings_manifest_is_current_and_the_help_lists_it() -> None:
    assert json.loads(settings_manifest("etims").read_text(encoding="utf-8")) == cli_manifest(EtimsSetup)
    help_text = " ".join(CliRunner().invoke(main, ["fiscal", "set", "--help"]).stdout.split())
    assert "--kra-pin PIN etims: the shop's KRA PIN (P051234567A)." in help_text
    assert "etims: default_item_class=CODE, default_tax_type=T, alert_after_hours=H" in help_text


async def stored(database: Database, vault: Vault) -> tuple[dict[str, str], dict[str, str]]:
    async with database.uow() as uow:
        row = await uow.session.scalar(select(FiscalDevice))
        assert row is not None
        return dict(row.options), vault.decrypt_json(row.secrets_enc or "")


async def test_set_stores_the_settings_and_keeps_the_key_kra_issued(
    dukabot: Run, database: Database, vault: Vault
) -> None:
    assert (await in_thread(dukabot, "tenant", "add", "duka", "--name", "Duka", "--bot-token", TOKEN)).exit_code == 0
    given = ["--kra-pin", PIN.lower(), "--device-serial", "DUKA-0001", "--cmc-key", KEY]
    done = await in_thread(dukabot, "fiscal", "set", "duka", "etims", *given, "--option", "alert_after_hours=12")
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines() == [
        "KRA eTIMS is set for 'duka'.",
        "  alert_after_hours: 12",
        "  branch_id: 00",
        "  default_tax_type: B",
        "  device_serial: DUKA-0001",
        "  kra_pin: P051234567A",
        "  secrets stored encrypted: cmc_key",
        "  communication key: issued",
    ]
    assert KEY not in done.output
    options, secrets = await stored(database, vault)
    assert (options["kra_pin"], secrets) == (PIN, {"cmc_key": KEY})

    again = await in_thread(dukabot, "fiscal", "set", "duka", "etims", "--kra-pin", PIN, "--device-serial", "DUKA-0002")
    assert again.exit_code == 0, again.output
    options, secrets = await stored(database, vault)
    assert (options["device_serial"], options["alert_after_hours"], secrets) == ("DUKA-0002", "24", {"cmc_key": KEY})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--kra-pin", "A12", "--device-serial", "D1"], "Error: etims kra_pin is a KRA PIN: A or P, nine digits"),
        (["--kra-pin", PIN], "Error: etims needs the option device_serial"),
        (
            ["--kra-pin", PIN, "--device-serial", "D1", "--base-url", "http://kra.example.com"],
            "Error: etims base_url must be https:// (plain http:// only for localhost, e.g. a simulator)",
        ),
        (
            ["--kra-pin", PIN, "--device-serial", "D1", "--option", "default_tax_type=Z"],
            "Error: etims default_tax_type is a KRA tax type",
        ),
    ],
)
async def test_a_bad_value_is_one_line_and_stores_nothing(
    dukabot: Run, database: Database, args: list[str], expected: str
) -> None:
    assert (await in_thread(dukabot, "tenant", "add", "duka", "--name", "Duka", "--bot-token", TOKEN)).exit_code == 0
    message = one_line_error(await in_thread(dukabot, "fiscal", "set", "duka", "etims", *args))
    assert message.startswith(expected), message
    async with database.uow() as uow:
        assert (await uow.session.scalars(select(FiscalDevice))).all() == []


async def test_an_unknown_shop_or_option_is_refused(dukabot: Run) -> None:
    message = one_line_error(
        await in_thread(dukabot, "fiscal", "set", "nowhere", "etims", "--kra-pin", PIN, "--device-serial", "D1")
    )
    assert message == "Error: no shop with slug 'nowhere'"
    assert (await in_thread(dukabot, "tenant", "add", "duka", "--name", "Duka", "--bot-token", TOKEN)).exit_code == 0
    wrong = await in_thread(dukabot, "fiscal", "set", "duka", "etims", "--kra-pin", PIN, "--option", "colour=red")
    assert wrong.exit_code == 2
    assert (
        "etims takes --option KEY=VALUE with KEY one of default_item_class, default_tax_type, alert_after_hours, "
        "not 'colour=red'" in " ".join(wrong.stderr.split())
    )


async def test_doctor_says_what_the_shop_still_lacks_for_etims(
    database: Database, vault: Vault, clock: FakeClock, tmp_path: Path
) -> None:
    shop = await seed_shop(database, vault, clock)
    async with database.uow() as uow:
        setup = EtimsSetup.parse({"kra_pin": PIN, "device_serial": "DUKA-0001"})
        await devices.store(uow.session, vault, shop.tenant_id, setup, clock.now())
        await uow.commit()
    settings = Settings(database_url=database.url, secret_keys=VAULT_KEY, data_dir=tmp_path)
    runtime = build_runtime(settings, clock=clock)
    try:
        (lacking,) = await fiscal_checks(runtime, shop.tenant_id)
        async with database.uow() as uow:
            await uow.session.execute(update(Product).values(item_class="5059690800"))
            await uow.commit()
        (ready,) = await fiscal_checks(runtime, shop.tenant_id)
    finally:
        await runtime.close()
    assert lacking == Check(
        "mama-mboga: etims",
        False,
        "12 product(s) without an item classification: add the catalog column item_class, or set --option "
        "default_item_class=CODE; see dukabot fiscal set mama-mboga etims",
    )
    assert ready == Check(
        "mama-mboga: etims",
        True,
        "P051234567A branch 00, device DUKA-0001; https://etims-api.kra.go.ke/etims-api; device initialised on the "
        "first submission",
    )


async def test_the_catalog_names_each_products_item_class_and_tax_type(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    from admin import shops
    from admin.shops.errors import ShopError

    await seed_shop(database, vault, clock)
    header = "sku,name,price,category,item_class,tax_type\n"
    async with database.uow() as uow:
        await shops.import_catalog(
            uow.session,
            "mama-mboga",
            header + "S1,Soda,80,Drinks,5059690800,b\nS2,Water,50,Drinks,,\n",
            now=clock.now(),
        )
        await uow.commit()
    async with database.uow() as uow:
        rows = await uow.session.execute(
            select(Product.sku, Product.item_class, Product.tax_type).where(Product.sku.in_(["S1", "S2"]))
        )
        assert sorted(tuple(row) for row in rows) == [("S1", "5059690800", "B"), ("S2", None, None)]
        with pytest.raises(ShopError) as refused:
            await shops.import_catalog(
                uow.session, "mama-mboga", header + "S3,Juice,90,Drinks,50-59,F\n", now=clock.now()
            )
    assert (
        "line 2: item_class must be empty or a classification code of 2 to 10 digits; "
        "tax_type must be empty or one of A, B, C, D, E" in str(refused.value)
    )


async def test_keys_rotate_re_encrypts_the_communication_key(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    from cryptography.fernet import Fernet

    from admin.shops.key_rotation import rotate_keys

    shop = await seed_shop(database, vault, clock)
    async with database.uow() as uow:
        setup = EtimsSetup.parse({"kra_pin": PIN, "device_serial": "DUKA-0001", "cmc_key": KEY})
        await devices.store(uow.session, vault, shop.tenant_id, setup, clock.now())
        await uow.commit()
    new_key = Fernet.generate_key().decode()
    async with database.uow() as uow:
        assert await rotate_keys(uow.session, Vault([new_key, VAULT_KEY]), now=clock.now()) == 3
        await uow.commit()
    _, secrets = await stored(database, Vault([new_key]))  # the old key can go
    assert secrets == {"cmc_key": KEY}
