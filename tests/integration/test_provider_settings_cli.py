"""`dukabot provider set` as the operator runs it (the console script's entry point), its options made from each
provider's settings model: the help lists them, a bad value is one line naming the field, and no secret is ever
printed or logged, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from core.db.engine import Database
from core.db.tables import ProviderConfig
from payments.providers import ENTRIES
from payments.setup import cli_kind
from webhooks.cli import main

VAULT_KEY = "YOKMvaqZ3xJ0pN1C6tyYl1vX6mW0Tr0t9n8zk0SxQ2E="  # the `vault` fixture's key
TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"
CONSUMER_KEY = "ck9f8e7d6c5b4a39281706aa"
CONSUMER_SECRET = "cs0a1b2c3d4e5f60718293bb"
PASSKEY = "pk-bfb279f9aa9bdbcf158e97dd71a467cd"
TEST_PASSKEY = "tp-0e5c1b9d7a3f2e8c6b4d0a1f"
CREDENTIAL = "sc-Zm9vYmFyYmF6cXV4cXV1eA=="
PAYSTACK_KEY = "sk_live_4f1a9c2e7b3d8f6a0e5c1b9d7a3f2e8c"
MPESA_GIVEN = {
    "consumer_key": CONSUMER_KEY,
    "consumer_secret": CONSUMER_SECRET,
    "passkey": PASSKEY,
    "security_credential": CREDENTIAL,
    "test_passkey": TEST_PASSKEY,
}
SECRETS = (TOKEN, TOKEN.split(":")[1], CONSUMER_KEY, CONSUMER_SECRET, PASSKEY, TEST_PASSKEY, CREDENTIAL, PAYSTACK_KEY)

Run = Callable[..., Result]


@pytest.fixture
def dukabot(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    env = {"DUKABOT_DATA_DIR": str(tmp_path / "var"), "DUKABOT_DATABASE_URL": database.url}
    env["DUKABOT_SECRET_KEYS"] = VAULT_KEY

    def run(*args: str, extra_env: dict[str, str] | None = None, input: str | None = None) -> Result:
        return CliRunner().invoke(main, list(args), env={**env, **(extra_env or {})}, input=input)

    return run


async def in_thread(run: Run, *args: str, **kwargs: object) -> Result:
    """Each command runs its own event loop, as from a shell."""
    return await asyncio.to_thread(run, *args, **kwargs)


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    message = result.stderr.strip()
    assert "\n" not in message, message
    return message


def test_the_help_lists_every_option_of_every_model() -> None:
    """Made from the models, through the same files the command line reads: a new field shows up by itself."""
    help_text = " ".join(CliRunner().invoke(main, ["provider", "set", "--help"]).stdout.split())
    for entry in ENTRIES.values():
        for field_name, field in entry.setup().model_fields.items():
            kind = cli_kind(field)
            if kind == "flag":
                assert f"--{field_name.replace('_', '-')}" in help_text
                assert " ".join(str(field.description).split()) in help_text, field_name
            elif kind == "option":
                assert f"{field_name}=" in help_text
            else:  # managed: made by the provider's own commands, never typed in
                assert field_name.replace("_", "-") not in help_text and f"{field_name}=" not in help_text
    assert "mpesa: Daraja app consumer key. [env var: DUKABOT_MPESA_CONSUMER_KEY]" in help_text
    assert "mpesa, paystack, flutterwave, paypal: another API" in help_text
    assert "paystack --secret-key K [--base-url URL] [--test-secret-key K]" in help_text
    commands = CliRunner().invoke(main, ["provider", "--help"]).stdout
    for command in ("set", "register-c2b", "rotate-c2b", "recheck-c2b"):  # M-Pesa's own, from its folder
        assert f"  {command} " in commands


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["mpesa", "--till", "12"], "Error: mpesa till must be a number of 5 to 8 digits"),
        (["mpesa", "--option", "c2b_validation=maybe"], "Error: mpesa c2b_validation is on or off"),
        (
            ["mpesa", "--option", "ip_allowlist=10.0.0.300"],
            "Error: mpesa ip_allowlist is a comma-separated list of IP addresses (or: safaricom)",
        ),
        (
            ["mpesa", "--base-url", "http://daraja.example.com"],
            "Error: mpesa base_url must be https:// (plain http:// only for localhost, e.g. a simulator)",
        ),
        (["mpesa", "--test-passkey", TEST_PASSKEY + " x"], "Error: mpesa test_passkey does not look right"),
        (
            ["paystack", "--secret-key", PAYSTACK_KEY, "--test-secret-key", PAYSTACK_KEY],
            "Error: paystack test_secret_key starts with sk_test_",
        ),
        (["paystack", "--secret-key", "pk_live_" + PASSKEY], "Error: paystack secret_key starts with sk_test_"),
        (["manual", "--instructions", "x" * 1001], "Error: manual instructions are longer than 1000 characters"),
    ],
)
async def test_a_bad_value_is_one_line_naming_the_field(dukabot: Run, args: list[str], expected: str) -> None:
    assert (await in_thread(dukabot, "tenant", "add", "duka", "--name", "Duka", "--bot-token", TOKEN)).exit_code == 0
    mpesa = ["--consumer-key", CONSUMER_KEY, "--consumer-secret", CONSUMER_SECRET, "--passkey", PASSKEY]
    base = [*mpesa, "--shortcode", "174379"] if args[0] == "mpesa" else []
    message = one_line_error(await in_thread(dukabot, "provider", "set", "duka", *args, *base))
    assert message.startswith(expected), message
    assert not any(secret in message for secret in SECRETS)
    shown = json.loads((await in_thread(dukabot, "tenant", "show", "duka", "--json")).stdout)
    assert shown["providers"] == []  # nothing stored


async def test_secrets_never_reach_the_output_or_the_logs(dukabot: Run, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    results = [await in_thread(dukabot, "tenant", "add", "duka", "--name", "Duka", "--bot-token", TOKEN)]
    results.append(
        await in_thread(
            dukabot,
            *("provider", "set", "duka", "mpesa", "--shortcode", "174379", "--passkey", PASSKEY),
            *("--test-passkey", TEST_PASSKEY, "--option", "test_shortcode=600111"),
            *("--security-credential", CREDENTIAL, "--option", "initiator_name=apiop"),
            extra_env={"DUKABOT_MPESA_CONSUMER_KEY": CONSUMER_KEY},
            input=CONSUMER_SECRET + "\n",  # the one left out is asked for, hidden
        )
    )
    results.append(await in_thread(dukabot, "provider", "set", "duka", "paystack", input=PAYSTACK_KEY + "\n"))
    results.append(await in_thread(dukabot, "provider", "set", "duka", "paystack", "--secret-key", PAYSTACK_KEY + "!"))
    results.append(await in_thread(dukabot, "tenant", "show", "duka"))
    shown = await in_thread(dukabot, "tenant", "show", "duka", "--json")
    results.append(shown)
    assert [result.exit_code for result in results] == [0, 0, 0, 0, 0, 0]  # (a "!" is no space: still a key)
    assert "M-Pesa consumer secret:" in results[1].stdout and "Paystack secret key:" in results[2].stdout
    assert "secrets stored encrypted: consumer_key, consumer_secret, passkey, security_credential, test_passkey" in (
        results[1].stdout
    )
    by_name = {entry["provider"]: entry for entry in json.loads(shown.stdout)["providers"]}
    masked = {name: "••••••" + value[-4:] for name, value in MPESA_GIVEN.items()}
    assert by_name["mpesa"]["secrets"] == masked
    assert by_name["mpesa"]["options"] == {
        "shortcode": "174379",
        "test_shortcode": "600111",
        "initiator_name": "apiop",
    }
    assert by_name["paystack"]["key_mode"] == "live"  # the model's own facts beside the masked key
    printed = " ".join(text for result in results for text in (result.stdout, result.stderr))
    logged = " ".join(record.getMessage() + repr(record.__dict__) for record in caplog.records)
    for secret in SECRETS:
        assert secret not in printed and secret not in logged


async def test_doctor_checks_stored_settings_where_there_is_nothing_to_call(dukabot: Run, database: Database) -> None:
    """Manual payments have no provider to ask: doctor checks what is stored with the provider's settings model."""
    nowhere = {"DUKABOT_TELEGRAM_API": "http://127.0.0.1:1"}  # only the payment lines matter here
    assert (await in_thread(dukabot, "tenant", "add", "duka", "--name", "Duka", "--bot-token", TOKEN)).exit_code == 0
    assert (await in_thread(dukabot, "provider", "set", "duka", "manual", "--instructions", "Cash")).exit_code == 0
    good = await in_thread(dukabot, "doctor", "duka", extra_env=nowhere)
    async with database.uow() as uow:  # stored before the instructions had a limit, say
        await uow.session.execute(
            update(ProviderConfig).where(ProviderConfig.provider == "manual").values(options={"instructions": ""})
        )
        await uow.commit()
    bad = await in_thread(dukabot, "doctor", "duka", extra_env=nowhere)
    assert manual_line(good) == "ok duka: manual settings complete; nothing to call"
    assert manual_line(bad) == (
        "FAIL duka: manual manual instructions are empty: say how customers pay (bank, till, cash on delivery); "
        "set it again: dukabot provider set duka manual ..."
    )


def manual_line(result: Result) -> str:
    (line,) = [line for line in result.stdout.splitlines() if "duka: manual" in line]
    return " ".join(line.split())
