"""`dukabot notify set|off` as the operator runs it: the settings stored (secrets encrypted, printed masked), the
shop's receipt copies kept in step, a bad value one line with nothing stored; and `dukabot doctor`'s lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import NotifyChannel, Tenant
from core.settings import Settings
from core.vault import Vault, mask_secret
from tests.integration.test_email_receipts import SmtpServer, free_port
from tests.integration.test_provider_settings_cli import TOKEN, Run, dukabot, in_thread, one_line_error
from tests.support.app import VAULT_KEY
from tests.support.notify import set_channel
from tests.support.seed import seed_shop
from webhooks.doctor import Check, notify_checks
from webhooks.runtime import build_runtime

__all__ = ["dukabot"]  # the fixture, shared

KEY = "atsk_0123456789abcdef"


async def rows(database: Database, vault: Vault) -> list[tuple[str, bool, str, dict[str, object], dict[str, str]]]:
    async with database.uow() as uow:
        found = await uow.session.scalars(select(NotifyChannel).order_by(NotifyChannel.channel))
        return [
            (
                r.channel,
                r.enabled,
                r.receipts,
                dict(r.options),
                vault.decrypt_json(r.secrets_enc) if r.secrets_enc else {},
            )
            for r in found
        ]


async def copies(database: Database) -> str:
    async with database.uow() as uow:
        tenant = await uow.session.scalar(select(Tenant))
        assert tenant is not None
        return tenant.receipt_copies


async def test_set_and_off_store_the_settings_and_keep_the_copies_in_step(
    dukabot: Run, database: Database, vault: Vault
) -> None:
    assert (await in_thread(dukabot, "tenant", "add", "duka", "--name", "Duka", "--bot-token", TOKEN)).exit_code == 0
    done = await in_thread(
        dukabot,
        "notify",
        "set",
        "duka",
        "sms",
        "--username",
        "dukaapp",
        "--sender-id",
        "DUKA",
        "--receipts",
        "always",
        extra_env={"DUKABOT_SMS_API_KEY": KEY},
    )
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines() == [
        "sms receipts are set for 'duka' (always).",
        "  sender_id: DUKA",
        "  username: dukaapp",
        f"  api_key: {mask_secret(KEY)} (stored encrypted)",
    ]
    assert KEY not in done.output
    mail = await in_thread(
        dukabot,
        "notify",
        "set",
        "duka",
        "email",
        "--host",
        "smtp.duka.co.ke",
        "--from",
        "receipts@duka.co.ke",
        "--username",
        "receipts",
        "--password",
        "s3cret-pass",
    )
    assert mail.exit_code == 0, mail.output
    assert "s3cret-pass" not in mail.output
    assert await rows(database, vault) == [
        (
            "email",
            True,
            "always",
            {
                "host": "smtp.duka.co.ke",
                "port": 587,
                "security": "starttls",
                "from_address": "receipts@duka.co.ke",
                "username": "receipts",
            },
            {"password": "s3cret-pass"},
        ),
        ("sms", True, "always", {"username": "dukaapp", "sender_id": "DUKA"}, {"api_key": KEY}),
    ]
    assert await copies(database) == "email,sms"

    off = await in_thread(dukabot, "notify", "off", "duka", "sms")
    assert (off.exit_code, off.stdout) == (0, "sms receipts are off for 'duka'.\n")
    assert await copies(database) == "email"
    assert [(channel, enabled) for channel, enabled, *_ in await rows(database, vault)] == [
        ("email", True),
        ("sms", False),
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["sms", "--username", "dukaapp"], "Error: api key: the application's API key from Africa's Talking"),
        (["sms", "--username", "bad name!", "--api-key", KEY], "Error: username: the Africa's Talking application's"),
        (["sms", "--username", "d", "--api-key", KEY, "--sender-id", "FAR-TOO-LONG-ID"], "Error: sender id:"),
        (["email", "--host", "smtp.duka.co.ke"], "Error: from: the address receipts come from"),
        (["email", "--host", "smtp.duka.co.ke", "--from", "a@duka.co.ke", "--port", "99999"], "Error: port:"),
        (["email", "--host", "smtp.duka.co.ke", "--from", "a@duka.co.ke", "--username", "u"], "Error: username and"),
    ],
)
async def test_a_bad_value_is_one_line_and_stores_nothing(
    dukabot: Run, database: Database, vault: Vault, args: list[str], expected: str
) -> None:
    assert (await in_thread(dukabot, "tenant", "add", "duka", "--name", "Duka", "--bot-token", TOKEN)).exit_code == 0
    message = one_line_error(await in_thread(dukabot, "notify", "set", "duka", *args))
    assert message.startswith(expected), message
    assert await rows(database, vault) == []
    assert await copies(database) == ""


async def test_an_unknown_shop_or_a_setting_of_the_other_channel_is_refused(dukabot: Run) -> None:
    nowhere = await in_thread(dukabot, "notify", "set", "nowhere", "sms", "--username", "d", "--api-key", KEY)
    assert one_line_error(nowhere) == "Error: no shop with slug 'nowhere'"
    wrong = await in_thread(dukabot, "notify", "set", "nowhere", "sms", "--host", "smtp.duka.co.ke")
    assert wrong.exit_code == 2
    assert "--host is not a setting of sms" in wrong.stderr


async def test_doctor_shows_the_sms_settings_and_tries_the_smtp_server(
    database: Database, vault: Vault, clock: FakeClock, tmp_path: Path
) -> None:
    from notify.email.settings import EmailSettings
    from notify.sms.settings import SmsSettings

    shop = await seed_shop(database, vault, clock)
    smtp = SmtpServer(free_port())
    await set_channel(database, vault, clock, shop.tenant_id, SmsSettings("dukaapp", KEY))
    await set_channel(
        database, vault, clock, shop.tenant_id, EmailSettings("127.0.0.1", smtp.port, "none", "receipts@duka.co.ke")
    )
    runtime = build_runtime(Settings(database_url=database.url, secret_keys=VAULT_KEY, data_dir=tmp_path), clock=clock)
    try:
        down = await notify_checks(runtime, shop.tenant_id)
        smtp.start()
        try:
            up = await notify_checks(runtime, shop.tenant_id)
        finally:
            smtp.stop()
    finally:
        await runtime.close()
    sms_line = Check(
        "mama-mboga: sms",
        True,
        f"Africa's Talking dukaapp at https://api.africastalking.com, from Africa's Talking's shared sender, key "
        f"{mask_secret(KEY)}, receipts: fallback; delivery reports: /notify/sms/mama-mboga/reports",
    )
    where = f"127.0.0.1:{smtp.port} (none) as receipts@duka.co.ke"
    assert down == [Check("mama-mboga: email", False, f"{where}: cannot reach it (SMTPConnectError)"), sms_line]
    assert up == [Check("mama-mboga: email", True, f"{where}: the server answers"), sms_line]
