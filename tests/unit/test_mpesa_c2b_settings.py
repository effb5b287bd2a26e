"""The M-Pesa settings this work added, as `provider set` stores them and MpesaSettings reads them: the allowlist
(off, networks, the live default), the initiator credentials, and a C2B secret the operator can neither give nor
lose by setting M-Pesa again."""

from __future__ import annotations

import pytest

from admin import shops
from admin.shops import ShopError
from core.clock import FakeClock
from core.db.engine import Database
from core.vault import Vault
from payments.mpesa.settings import SAFARICOM_IPS, MpesaSettings
from tests.support.mpesa import c2b_secret
from tests.unit.test_shops import MPESA_SECRETS, make_shop, stored_config


async def set_mpesa(
    database: Database, vault: Vault, clock: FakeClock, secrets: dict[str, str], **options: str
) -> None:
    async with database.uow() as uow:
        await shops.set_provider(
            uow.session, vault, "duka", "mpesa", secrets, {"shortcode": "600111", **options}, clock.now()
        )
        await uow.commit()


async def test_initiator_credentials_and_allowlist_forms_are_stored(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    await make_shop(database, vault, clock)
    secrets = {**MPESA_SECRETS, "security_credential": "Q3JlZGVudGlhbA=="}
    await set_mpesa(
        database, vault, clock, secrets, initiator_name="api_op.1", ip_allowlist="196.201.214.0/24, 10.0.0.1"
    )
    config = await stored_config(database, "mpesa")
    assert config.options == {
        "shortcode": "600111",
        "initiator_name": "api_op.1",
        "ip_allowlist": "196.201.214.0/24,10.0.0.1",
    }
    assert config.secrets_enc is not None and "Q3JlZGVudGlhbA" not in config.secrets_enc
    settings = MpesaSettings.read(vault.decrypt_json(config.secrets_enc), config.options, test_mode=False)
    assert settings.confirms_receipts and settings.security_credential == "Q3JlZGVudGlhbA=="
    assert "Q3JlZGVudGlhbA" not in repr(settings)
    await set_mpesa(database, vault, clock, MPESA_SECRETS, ip_allowlist="OFF")
    assert (await stored_config(database, "mpesa")).options["ip_allowlist"] == "off"


@pytest.mark.parametrize(
    ("options", "secrets", "message"),
    [
        ({"initiator_name": "api op"}, {}, "initiator_name is the API operator's user name"),
        ({"initiator_name": "x" * 65}, {}, "initiator_name is the API operator's user name"),
        ({"ip_allowlist": "off,10.0.0.1"}, {}, "list of IP addresses"),
        ({"trusted_proxies": "off"}, {}, "list of IP addresses"),
        ({}, {"c2b_secret": "ab" * 20}, "not c2b_secret"),
    ],
)
async def test_bad_settings_are_refused(
    database: Database, vault: Vault, clock: FakeClock, options: dict[str, str], secrets: dict[str, str], message: str
) -> None:
    await make_shop(database, vault, clock)
    with pytest.raises(ShopError, match=message):
        await set_mpesa(database, vault, clock, {**MPESA_SECRETS, **secrets}, **options)


def test_the_allowlist_is_on_for_a_live_shop_unless_it_says_otherwise() -> None:
    def read(test_mode: bool, **options: str) -> frozenset[str]:
        return MpesaSettings.read({}, {"shortcode": "600111", **options}, test_mode=test_mode).allowlist

    assert read(False) == SAFARICOM_IPS and read(True) == frozenset()
    assert read(False, ip_allowlist="off") == frozenset() and read(True, ip_allowlist="safaricom") == SAFARICOM_IPS
    assert read(False, ip_allowlist="196.201.214.0/24") == frozenset({"196.201.214.0/24"})


async def test_the_c2b_secret_is_made_once_kept_and_rotated(database: Database, vault: Vault, clock: FakeClock) -> None:
    await make_shop(database, vault, clock)
    async with database.uow() as uow:
        with pytest.raises(ShopError, match="M-Pesa is not set"):
            await c2b_secret(uow.session, vault, "duka", clock.now())
    await set_mpesa(database, vault, clock, MPESA_SECRETS)
    async with database.uow() as uow:
        first = await c2b_secret(uow.session, vault, "duka", clock.now())
        same = await c2b_secret(uow.session, vault, "duka", clock.now())
        await uow.commit()
    await set_mpesa(database, vault, clock, MPESA_SECRETS)
    async with database.uow() as uow:
        kept = await c2b_secret(uow.session, vault, "duka", clock.now())
        rotated = await c2b_secret(uow.session, vault, "duka", clock.now(), rotate=True)
        await uow.commit()
    assert first == same == kept != rotated and len(rotated) == 40
    config = await stored_config(database, "mpesa")
    assert config.secrets_enc is not None and rotated not in config.secrets_enc
    assert vault.decrypt_json(config.secrets_enc)["c2b_secret"] == rotated
