"""`dukabot doctor` tells a server it could not reach from credentials that were refused, for every check it runs:
the database, Telegram, and each payment provider: Paystack's simulator refusing an unknown key with 401, Daraja's
refusing unknown credentials with its own error code (HTTP 400), and base URLs where nothing listens."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url

from admin import shops
from core.clock import FakeClock
from core.db.engine import Database
from core.vault import Vault
from sandbox.telegram import FakeTelegramServer
from tests.support.app import VAULT_KEY, new_bot_token
from tests.support.simulators import served
from webhooks.cli import main

REFUSED_KEY = "sk_test_" + "a1" * 20  # the simulator knows no merchant: it answers 401
MPESA_SECRETS = {"consumer_key": "ck" + "7" * 22, "consumer_secret": "cs" + "8" * 22, "passkey": "pk" + "9" * 30}
NOWHERE = "http://127.0.0.1:1"  # nothing listens on port 1


async def doctor(env: dict[str, str | None], *args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, main, ["doctor", *args], env=env)


def line_of(result: Result, what: str) -> str:
    (line,) = [line for line in result.stdout.splitlines() if f"  {what}  " in line]
    return " ".join(line.split())


@pytest.fixture
def base_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    return {"DUKABOT_DATA_DIR": str(tmp_path), "DUKABOT_SECRET_KEYS": VAULT_KEY, "DUKABOT_PUBLIC_URL": None}


@pytest.fixture
def env(database: Database, base_env: dict[str, str | None]) -> dict[str, str | None]:
    return {**base_env, "DUKABOT_DATABASE_URL": database.url}


async def point_providers_at(database: Database, vault: Vault, paystack: str, mpesa: str) -> None:
    now = FakeClock().now()
    async with database.uow() as uow:
        await shops.set_provider(
            uow.session, vault, "mama", "paystack", {"secret_key": REFUSED_KEY}, {"base_url": paystack}, now
        )
        options = {"shortcode": "174379", "base_url": mpesa}
        await shops.set_provider(uow.session, vault, "mama", "mpesa", MPESA_SECRETS, options, now)
        await uow.commit()


async def test_unreachable_is_not_refused(database: Database, vault: Vault, env: dict[str, str | None]) -> None:
    token = new_bot_token()
    async with (
        FakeTelegramServer() as telegram,
        served("paystack") as (_, paystack_url),
        served("mpesa") as (_, daraja_url),
    ):
        telegram.fake.add_bot(token, "mama_bot", "Mama")
        async with database.uow() as uow:
            await shops.create_tenant(
                uow.session, vault, slug="mama", name="Mama", bot_token=token, admins=[1], now=FakeClock().now()
            )
            await uow.commit()
        await point_providers_at(database, vault, paystack_url, daraja_url)
        refused = await doctor({**env, "DUKABOT_TELEGRAM_API": telegram.base_url}, "mama")
        await point_providers_at(database, vault, NOWHERE, NOWHERE)
        unreachable = await doctor({**env, "DUKABOT_TELEGRAM_API": NOWHERE}, "mama")

    assert refused.exit_code == 1, refused.output
    # The token works; inline mode (@mama_bot words in any chat) is BotFather's switch, off for this bot.
    assert line_of(refused, "mama: telegram") == (
        "ok mama: telegram @mama_bot (live); inline mode off: turn it on in BotFather with /setinline"
    )
    assert line_of(refused, "mama: paystack") == (
        "FAIL mama: paystack credentials refused: Paystack check key: Invalid key (HTTP 401)"
    )
    assert line_of(refused, "mama: mpesa") == (
        "FAIL mama: mpesa credentials refused: M-Pesa oauth: 400.008.01 Invalid Authentication passed (HTTP 400)"
    )
    assert unreachable.exit_code == 1, unreachable.output
    assert line_of(unreachable, "mama: mpesa") == "FAIL mama: mpesa could not reach 127.0.0.1:1: connection refused"
    assert (
        line_of(unreachable, "mama: telegram") == "FAIL mama: telegram could not reach 127.0.0.1:1: connection refused"
    )
    assert (
        line_of(unreachable, "mama: paystack") == "FAIL mama: paystack could not reach 127.0.0.1:1: connection refused"
    )
    for result in (refused, unreachable):
        for secret in (token, token.split(":")[1], REFUSED_KEY, VAULT_KEY, *MPESA_SECRETS.values()):
            assert secret not in result.output


async def test_a_database_out_of_reach(base_env: dict[str, str | None]) -> None:
    result = await doctor({**base_env, "DUKABOT_DATABASE_URL": "postgresql://dukabot:hunter2@127.0.0.1:1/dukabot"})
    assert result.exit_code == 1, result.output
    assert line_of(result, "database") == (
        "FAIL database postgresql+asyncpg://dukabot:***@127.0.0.1:1/dukabot: could not reach 127.0.0.1:1: "
        "connection refused"
    )
    assert "hunter2" not in result.output


@pytest.mark.postgres
async def test_a_database_refusing_the_role(base_env: dict[str, str | None]) -> None:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL suites skipped")
    nobody = make_url(os.environ["TEST_DATABASE_URL"]).set(username="nobody_at_all", password="pw")
    url = nobody.render_as_string(hide_password=False)
    result = await doctor({**base_env, "DUKABOT_DATABASE_URL": url})
    assert result.exit_code == 1, result.output
    assert line_of(result, "database").endswith(': credentials refused: role "nobody_at_all" does not exist'), (
        result.output
    )
