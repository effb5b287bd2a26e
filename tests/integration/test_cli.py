"""The operator CLI as an operator runs it: a fresh data dir, `db upgrade`, then the shop commands.

These tests are synchronous on purpose: every command runs its own ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet

from admin import shops
from admin.cli import register
from core.db.engine import Database
from core.settings import Settings
from core.vault import Vault

SAMPLE_CATALOG = Path(__file__).parents[2] / "admin" / "sample_catalog.csv"
TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"
OTHER_TOKEN = "220302654:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsawX"
CONSUMER_KEY = "ck9f8e7d6c5b4a39281706aa"
CONSUMER_SECRET = "cs0a1b2c3d4e5f60718293bb"
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
PAYSTACK_KEY = "sk_test_4f1a9c2e7b3d8f6a0e5c1b9d7a3f2e8c6b4d0a1f"
SECRETS = [TOKEN, TOKEN.split(":")[1], OTHER_TOKEN, CONSUMER_KEY, CONSUMER_SECRET, PASSKEY, PAYSTACK_KEY]

Invoke = Callable[..., Result]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name in ("DUKABOT_DATABASE_URL", "DUKABOT_SECRET_KEYS", "DUKABOT_BOT_TOKEN", "DUKABOT_PAYSTACK_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "var"


@pytest.fixture
def outputs() -> list[str]:
    """Everything any command printed, to check that no secret ever appears."""
    return []


@pytest.fixture
def invoke(data_dir: Path, outputs: list[str]) -> Iterator[Invoke]:
    root = click.Group("dukabot")
    register(root)
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict[str, str | None] | None = None) -> Result:
        result = runner.invoke(root, list(args), input=input, env={"DUKABOT_DATA_DIR": str(data_dir), **(env or {})})
        outputs.extend([result.stdout, result.stderr])
        return result

    yield run
    for text in outputs:
        for secret in SECRETS:
            assert secret not in text


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def one_line_error(result: Result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)  # handled: no traceback
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    assert "\n" not in message, message
    assert result.stdout == ""
    return message


@pytest.fixture
def shop(invoke: Invoke) -> Invoke:
    ok(invoke("db", "upgrade"))
    ok(invoke("tenant", "add", "duka", "--name", "Mama Duka", "--bot-token", TOKEN, "--admin", "111"))
    return invoke


def webhook_secret(data_dir: Path, slug: str) -> str:
    settings = Settings(data_dir=data_dir)
    vault = Vault.from_settings(None, settings.key_file)

    async def read() -> str:
        database = Database(settings.resolved_database_url())
        try:
            async with database.uow() as uow:
                return shops.decrypt_webhook_secret(vault, await shops.require_tenant(uow.session, slug))
        finally:
            await database.dispose()

    return asyncio.run(read())


def test_the_whole_operator_sequence(invoke: Invoke, data_dir: Path, outputs: list[str]) -> None:
    result = ok(invoke("db", "upgrade"))
    assert "Upgraded from an empty database to revision" in result.stdout
    assert "Already up to date" in ok(invoke("db", "upgrade")).stdout

    result = ok(
        invoke("tenant", "add", "duka", "--name", "Mama Duka", "--bot-token", TOKEN, "--admin", "111", "--admin", "222")
    )
    assert "Shop 'duka' created: Mama Duka (KES, KE, en)." in result.stdout
    key_file = data_dir / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    result = ok(
        invoke(
            "provider",
            "set",
            "duka",
            "mpesa",
            "--consumer-key",
            CONSUMER_KEY,
            "--consumer-secret",
            CONSUMER_SECRET,
            "--shortcode",
            "174379",
            "--passkey",
            PASSKEY,
            "--till",
            "5123456",
            "--base-url",
            "http://127.0.0.1:9000",
        )
    )
    assert "M-Pesa is set for 'duka'." in result.stdout
    assert "secrets stored encrypted: consumer_key, consumer_secret, passkey" in result.stdout
    ok(invoke("provider", "set", "duka", "paystack", "--secret-key", PAYSTACK_KEY))
    ok(invoke("provider", "set", "duka", "manual", "--instructions", "Pay to till 5123456 and send the SMS."))

    result = ok(invoke("catalog", "import", "duka", str(SAMPLE_CATALOG)))
    assert "Catalog of 'duka' imported. Products: 13 (13 new, 0 updated, 0 unchanged)." in result.stdout
    assert "Groceries, Household, Phone accessories" in result.stdout

    result = ok(invoke("tenant", "list"))
    header, row = result.stdout.strip().splitlines()
    assert header.split() == ["SLUG", "NAME", "CURRENCY", "REGION", "MODE", "ADMINS", "PRODUCTS", "PAYMENTS"]
    assert row.split() == ["duka", "Mama", "Duka", "KES", "KE", "live", "2", "13", "manual,mpesa,paystack"]

    result = ok(invoke("tenant", "show", "duka"))
    assert "Mama Duka (duka)" in result.stdout
    assert "••••••" + TOKEN[-4:] in result.stdout
    assert "••••••" + PASSKEY[-4:] in result.stdout
    assert "shortcode:       174379" in result.stdout
    assert "111, 222" in result.stdout
    assert "13 in 3 categories" in result.stdout
    assert result.stderr == ""

    info = json.loads(ok(invoke("tenant", "show", "duka", "--json")).stdout)
    assert {entry["provider"] for entry in info["providers"]} == {"mpesa", "paystack", "manual"}
    assert json.loads(ok(invoke("tenant", "list", "--json")).stdout)[0]["providers"] == ["manual", "mpesa", "paystack"]

    secret = webhook_secret(data_dir, "duka")
    assert all(secret not in text for text in outputs)
    assert any("••••••" + secret[-4:] in text for text in outputs)


def test_secrets_can_come_from_hidden_prompts(invoke: Invoke) -> None:
    ok(invoke("db", "upgrade"))
    result = ok(invoke("tenant", "add", "duka", "--name", "Duka", "--admin", "1", input=TOKEN + "\n"))
    assert "Bot token from @BotFather:" in result.stdout

    result = ok(
        invoke(
            "provider",
            "set",
            "duka",
            "mpesa",
            "--shortcode",
            "174379",
            input=f"{CONSUMER_KEY}\n{CONSUMER_SECRET}\n{PASSKEY}\n",
        )
    )
    assert "M-Pesa consumer key:" in result.stdout and "M-Pesa passkey:" in result.stdout
    result = ok(invoke("provider", "set", "duka", "paystack", input=PAYSTACK_KEY + "\n"))
    assert "Paystack secret key:" in result.stdout

    info = json.loads(ok(invoke("tenant", "show", "duka", "--json")).stdout)
    by_name = {entry["provider"]: entry for entry in info["providers"]}
    assert by_name["mpesa"]["secrets"]["passkey"] == "••••••" + PASSKEY[-4:]
    assert by_name["paystack"]["secrets"]["secret_key"] == "••••••" + PAYSTACK_KEY[-4:]
    assert info["bot_token"] == "••••••" + TOKEN[-4:]


def test_secrets_can_come_from_the_environment(invoke: Invoke) -> None:
    ok(invoke("db", "upgrade"))
    ok(invoke("tenant", "add", "duka", "--name", "Duka", env={"DUKABOT_BOT_TOKEN": TOKEN}))
    env = {
        "DUKABOT_MPESA_CONSUMER_KEY": CONSUMER_KEY,
        "DUKABOT_MPESA_CONSUMER_SECRET": CONSUMER_SECRET,
        "DUKABOT_MPESA_PASSKEY": PASSKEY,
        "DUKABOT_PAYSTACK_SECRET_KEY": PAYSTACK_KEY,
    }
    ok(invoke("provider", "set", "duka", "mpesa", "--shortcode", "174379", env=env))
    # The M-Pesa variables still set do not get in the way of another provider.
    ok(invoke("provider", "set", "duka", "paystack", env=env))
    ok(invoke("provider", "set", "duka", "manual", "--instructions", "Cash on delivery", env=env))
    info = json.loads(ok(invoke("tenant", "show", "duka", "--json")).stdout)
    assert len(info["providers"]) == 3


def test_keys_rotate(shop: Invoke, data_dir: Path) -> None:
    ok(shop("provider", "set", "duka", "paystack", "--secret-key", PAYSTACK_KEY))
    old_key = (data_dir / "secret.key").read_text().strip()
    new_key = Fernet.generate_key().decode()

    result = ok(shop("keys", "rotate", env={"DUKABOT_SECRET_KEYS": f"{new_key},{old_key}"}))
    assert "Re-encrypted 3 secrets under the first key." in result.stdout

    result = ok(shop("tenant", "show", "duka", env={"DUKABOT_SECRET_KEYS": new_key}))
    assert "••••••" + TOKEN[-4:] in result.stdout and result.stderr == ""
    result = ok(shop("tenant", "show", "duka"))  # the old key file alone no longer opens them
    assert "(cannot decrypt with the configured keys)" in result.stdout
    assert "Problem: the bot token cannot be decrypted" in result.stderr

    result = ok(shop("keys", "rotate", env={"DUKABOT_SECRET_KEYS": new_key}))
    assert "Only one key is configured" in result.stderr


def test_keys_rotate_without_the_old_key_fails_cleanly(shop: Invoke) -> None:
    message = one_line_error(shop("keys", "rotate", env={"DUKABOT_SECRET_KEYS": Fernet.generate_key().decode()}))
    assert "shop 'duka' cannot be decrypted" in message and "nothing was changed" in message


def test_tenant_list_when_empty(invoke: Invoke) -> None:
    ok(invoke("db", "upgrade"))
    assert "No shops yet" in ok(invoke("tenant", "list")).stdout
    assert json.loads(ok(invoke("tenant", "list", "--json")).stdout) == []


def test_help_texts(invoke: Invoke) -> None:
    root_help = ok(invoke("--help")).stdout
    for group in ("db", "tenant", "provider", "catalog", "keys"):
        assert group in root_help
    help_text = ok(invoke("provider", "set", "--help")).stdout
    assert "mpesa     --consumer-key K --consumer-secret S --shortcode N --passkey P" in help_text
    assert "DUKABOT_PAYSTACK_SECRET_KEY" in help_text
    assert "sku,name,price,category,description,photo_url,stock" in ok(invoke("catalog", "import", "--help")).stdout
    assert "DUKABOT_BOT_TOKEN" in ok(invoke("tenant", "add", "--help")).stdout


# --- errors: one line on stderr, exit 1 (refused) or 2 (usage) ------------------------------------------------------


def test_commands_before_db_upgrade(invoke: Invoke) -> None:
    assert "run `dukabot db upgrade` first" in one_line_error(invoke("tenant", "list"))


def test_duplicate_tenant(shop: Invoke) -> None:
    message = one_line_error(shop("tenant", "add", "duka", "--name", "Again", "--bot-token", OTHER_TOKEN))
    assert message == "Error: a shop with slug 'duka' already exists"


def test_same_bot_for_two_shops(shop: Invoke) -> None:
    message = one_line_error(shop("tenant", "add", "other", "--name", "Other", "--bot-token", TOKEN))
    assert "already serves shop 'duka'" in message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["tenant", "add", "Bad Slug", "--name", "X", "--bot-token", TOKEN], "bad slug"),
        (["tenant", "add", "ok", "--name", "X", "--bot-token", TOKEN[:-20]], "does not look like a Telegram bot token"),
        (["tenant", "add", "ok", "--name", "X", "--bot-token", OTHER_TOKEN, "--currency", "EUR"], "unsupported"),
        (["tenant", "show", "nope"], "no shop with slug 'nope'"),
        (["catalog", "import", "nope", str(SAMPLE_CATALOG)], "no shop with slug 'nope'"),
        (["provider", "set", "duka", "paystack", "--secret-key", "pk_live_" + "a" * 20], "sk_test_ or sk_live_"),
        (
            [
                *("provider", "set", "duka", "mpesa", "--shortcode", "12", "--consumer-key", CONSUMER_KEY),
                *("--consumer-secret", CONSUMER_SECRET, "--passkey", PASSKEY),
            ],
            "shortcode must be a number",
        ),
        (["provider", "set", "duka", "manual", "--instructions", " "], "instructions are empty"),
    ],
)
def test_refused_operations_exit_1(shop: Invoke, args: list[str], expected: str) -> None:
    message = one_line_error(shop(*args))
    assert message.startswith("Error: ") and expected in message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["tenant", "add", "ok", "--bot-token", TOKEN], "Missing option '--name'"),
        (["tenant", "add", "ok", "--name", "X", "--bot-token", TOKEN, "--admin", "abc"], "--admin"),
        (["tenant", "add", "ok", "--name", "X", "--bot-token", TOKEN, "--admin", "0"], "--admin"),
        (["provider", "set", "duka", "nopay"], "'nopay' is not one of"),
        (["provider", "set", "duka", "paystack", "--secret-key", PAYSTACK_KEY, "--shortcode", "174379"], "--shortcode"),
        (["provider", "set", "duka", "manual", "--instructions", "Cash", "--passkey", PASSKEY], "--passkey"),
        (["provider", "set", "duka", "mpesa", "--consumer-key", CONSUMER_KEY], "mpesa needs --shortcode"),
        (["provider", "set", "duka", "manual"], "manual needs --instructions"),
        (["catalog", "import", "duka", "missing.csv"], "missing.csv"),
        (["tenant", "frobnicate"], "No such command"),
        (
            ["provider", "set", "duka", "paystack", "--secret-key", PAYSTACK_KEY, "--option", "ask_email"],
            "--option takes KEY=VALUE",
        ),
        (
            ["provider", "set", "duka", "paystack", "--secret-key", PAYSTACK_KEY, "--option", "colour=blue"],
            "paystack has no option 'colour'",
        ),
    ],
)
def test_wrong_usage_exits_2(shop: Invoke, args: list[str], expected: str) -> None:
    result = shop(*args)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert "Traceback" not in result.output


def test_bad_catalog_writes_nothing(shop: Invoke, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "sku,name,price,category,description,photo_url,stock\n"
        "A1,Apple,50,Fruit,,,\n"
        "B1,Banana,0,Fruit,,,\n"
        "C1,,12.505,Fruit,,,lots\n",
        encoding="utf-8",
    )
    message = one_line_error(shop("catalog", "import", "duka", str(bad)))
    assert "nothing written (2 bad rows)" in message
    assert "line 3: price must be more than 0" in message
    assert (
        "line 4: name is missing; price: '12.505': KES takes at most 2 decimals, such as 12.50; stock 'lots'" in message
    )
    assert json.loads(ok(shop("tenant", "show", "duka", "--json")).stdout)["products"] == 0


def test_catalog_from_stdin_and_not_utf8(shop: Invoke, tmp_path: Path) -> None:
    result = ok(shop("catalog", "import", "duka", "-", input="sku,name,price,category\nA1,Apple,50,Fruit\n"))
    assert "1 new" in result.stdout
    latin = tmp_path / "latin.csv"
    latin.write_bytes("sku,name,price,category\nA1,Caf\xe9,50,Fruit\n".encode("latin-1"))
    assert "is not UTF-8 text" in one_line_error(shop("catalog", "import", "duka", str(latin)))


def test_bad_setting_is_one_line(invoke: Invoke) -> None:
    message = one_line_error(invoke("tenant", "show", "x", env={"DUKABOT_SECRET_KEYS": "not-a-fernet-key"}))
    assert "not a valid Fernet key" in message and "not-a-fernet-key" not in message
    message = one_line_error(invoke("db", "upgrade", env={"DUKABOT_PORT": "99999"}), code=2)
    assert message.startswith("Error: bad setting DUKABOT_PORT")


def test_unreachable_database_is_one_line(invoke: Invoke) -> None:
    url = "postgresql+asyncpg://dukabot:hunter2secret@127.0.0.1:1/dukabot"
    message = one_line_error(invoke("db", "upgrade", env={"DUKABOT_DATABASE_URL": url}))
    assert message.startswith("Error: database postgresql+asyncpg://dukabot:***@127.0.0.1:1/dukabot")
    assert "hunter2secret" not in message


def test_provider_options_from_the_command_line(shop: Invoke) -> None:
    result = shop(
        *("provider", "set", "duka", "paystack", "--secret-key", PAYSTACK_KEY),
        *("--option", "channels=card,mobile_money", "--option", "ask_email=on"),
    )
    assert result.exit_code == 0, result.output
    assert "channels: card,mobile_money" in result.output and "ask_email: on" in result.output
    assert PAYSTACK_KEY not in result.output
