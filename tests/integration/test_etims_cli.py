"""`dukabot fiscal set SLUG etims` as the operator runs it: the settings stored (the communication key encrypted and
never printed, kept when set again without it), a bad value one line naming the field with nothing stored."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.db.engine import Database
from core.db.tables import FiscalDevice
from core.vault import Vault
from fiscal.etims.settings import EtimsSetup
from fiscal.registry import settings_manifest
from payments.setup import cli_manifest
from tests.integration.test_provider_settings_cli import TOKEN, Run, dukabot, in_thread, one_line_error
from webhooks.cli import main

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
