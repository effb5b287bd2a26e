"""The registry (payments/providers.py) lists every provider folder, under one name everywhere; each declaration
holds together (checked at import), its settings model is the one the command line reads, and its metadata says
what the provider code does (M-Pesa's whole shillings, Paystack's minimums)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.money import Money
from core.texts import has
from payments.base import Capability, CurrencyLimits, ProviderInfo, ProviderInfoError, ProviderKind
from payments.mpesa.provider import amount_allowed
from payments.paystack.limits import AmountNotAllowed, check_amount
from payments.providers import ENTRIES, provider_factories
from payments.setup import ProviderSetup, cli_manifest

PAYMENTS = Path(__file__).parents[2] / "payments"


def test_every_provider_folder_is_registered_under_its_own_name() -> None:
    folders = {path.parent.name for path in PAYMENTS.glob("*/provider.py")} | {
        path.parent.name for path in PAYMENTS.glob("*/settings.py")
    }
    assert (
        folders
        == set(ENTRIES)
        == {
            "mpesa",
            "paystack",
            "flutterwave",
            "stripe",
            "paypal",
            "feexpay",
            "corefy",
            "telegram",
            "manual",
        }
    )
    for name, entry in ENTRIES.items():
        model = entry.setup()
        assert entry.info.name == name and model.provider == name
        assert issubclass(model, ProviderSetup)
        assert has(entry.info.display_key), entry.info.display_key
        assert entry.settings_manifest.parent == PAYMENTS / name
    assert set(provider_factories()) == {name for name, entry in ENTRIES.items() if entry.factory is not None}
    assert {name for name, entry in ENTRIES.items() if entry.info.kind is ProviderKind.MANUAL_PROOF} == {"manual"}


def test_the_command_line_reads_the_models_as_they_are() -> None:
    """``settings.json`` is written from the model by ``python -m payments.setup``: run it when this fails."""
    for entry in ENTRIES.values():
        written = json.loads(entry.settings_manifest.read_text(encoding="utf-8"))
        assert written == cli_manifest(entry.setup()), f"stale {entry.settings_manifest}: python -m payments.setup"


def test_a_secret_is_never_in_the_models_words() -> None:
    model = ENTRIES["mpesa"].setup()
    secret = "ck-do-not-show-9f8e7d6c5b"
    parsed = model.parse(
        {"consumer_key": secret, "consumer_secret": "s" * 12, "passkey": "p" * 12, "shortcode": "174379"}
    )
    assert secret not in repr(parsed) and secret not in str(parsed) and secret not in parsed.model_dump_json()
    assert parsed.stored()[0]["consumer_key"] == secret  # only the bundle to encrypt holds it


@pytest.mark.parametrize(
    ("amount", "taken"),
    [
        (Money(100, "KES"), True),
        (Money(250_000_00, "KES"), True),
        (Money(250_001_00, "KES"), False),
        (Money(1050, "KES"), False),  # cents: M-Pesa takes whole shillings
        (Money(50, "KES"), False),
        (Money(1000, "USD"), False),
    ],
)
def test_mpesa_declares_the_amounts_its_provider_takes(amount: Money, taken: bool) -> None:
    assert ENTRIES["mpesa"].info.takes(amount) is taken
    assert amount_allowed(amount) is taken


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (Money(1000, "KES"), None),
        (Money(1050, "KES"), "step"),  # the flow says "M-Pesa takes whole shillings" (mpesa.not_offered.step)
        (Money(250_001_00, "KES"), "limits"),
        (Money(0, "KES"), "limits"),
        (Money(50, "KES"), "step"),
        (Money(1000, "USD"), "currency"),
    ],
)
def test_why_mpesa_cannot_take_an_amount(amount: Money, reason: str | None) -> None:
    """The reasons the M-Pesa chat step (payments/mpesa/chat.py) tells the customer, said by the metadata."""
    assert ENTRIES["mpesa"].info.refusal(amount) == reason
    assert ENTRIES["manual"].info.refusal(amount) is None


def test_the_test_mode_variant_of_mpesa_settings() -> None:
    """Test mode: the sandbox host and Daraja's public sandbox Paybill, unless the shop has test credentials."""
    from payments.mpesa.settings import PRODUCTION_URL, SANDBOX_SHORTCODE, SANDBOX_URL

    setup = (
        ENTRIES["mpesa"]
        .setup()
        .parse({"consumer_key": "k" * 12, "consumer_secret": "s" * 12, "passkey": "p" * 12, "shortcode": "600111"})
    )
    live, test = setup.resolved(test_mode=False), setup.resolved(test_mode=True)
    assert (live.base_url, live.shortcode, live.passkey) == (PRODUCTION_URL, "600111", "p" * 12)
    assert (test.base_url, test.shortcode) == (SANDBOX_URL, SANDBOX_SHORTCODE) and test.passkey != "p" * 12


def test_paystack_declares_the_limits_its_provider_checks() -> None:
    info = ENTRIES["paystack"].info
    for limits in info.currencies:
        for minor, taken in (
            (limits.minimum_minor, True),
            (limits.minimum_minor - 1, False),
            (limits.maximum_minor, True),
            (limits.maximum_minor + 1, False),
        ):
            amount = Money(minor, limits.currency)
            assert info.takes(amount) is taken, amount
            if taken:
                check_amount(amount)
            else:
                with pytest.raises(AmountNotAllowed):
                    check_amount(amount)
    assert info.supports(Capability.PARTIAL_REFUND) and not ENTRIES["mpesa"].info.supports(Capability.REFUND)
    assert ENTRIES["manual"].info.takes(Money(1, "UGX"))  # no limits of its own: the merchant checks the proof


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda: CurrencyLimits("KES", 0, 100, 200), "KES has exponent 2, not 0"),
        (lambda: CurrencyLimits("XYZ", 2, 100, 200), "'XYZ' is not a currency"),
        (lambda: CurrencyLimits("KES", 2, 300, 200), "minimum <= maximum"),
        (lambda: CurrencyLimits("KES", 2, 150, 200, step_minor=100), "not a multiple of the step"),
        (lambda: ProviderInfo("M-Pesa", "provider.mpesa", ProviderKind.PHONE_PUSH), "lower-case"),
        (lambda: ProviderInfo("mpesa", "provider mpesa", ProviderKind.PHONE_PUSH), "text-catalog key"),
        (lambda: ProviderInfo("mpesa", "p.m", ProviderKind.PHONE_PUSH, countries=frozenset({"Kenya"})), "not Kenya"),
        (
            lambda: ProviderInfo(
                "x1", "p.x", ProviderKind.HOSTED_LINK, capabilities=frozenset({Capability.PARTIAL_REFUND})
            ),
            "partial refunds without refunds",
        ),
        (
            lambda: ProviderInfo(
                "x1",
                "p.x",
                ProviderKind.HOSTED_LINK,
                currencies=(CurrencyLimits("KES", 2, 1, 2), CurrencyLimits("KES", 2, 1, 3)),
            ),
            "listed twice",
        ),
    ],
)
def test_a_declaration_that_contradicts_itself_fails_at_import(declare: object, message: str) -> None:
    with pytest.raises(ProviderInfoError, match=message):
        declare()  # type: ignore[operator]
