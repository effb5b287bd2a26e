"""The suite covers every provider: a provider registered without a kit, or a kit left for a provider that is no
longer registered, fails here (and each case fails for the provider without a kit)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from payments import providers
from payments.base import ProviderInfoError, ProviderKind
from payments.providers import provider_factories
from payments.setup import cli_manifest
from tests.contract import linkpay
from tests.contract.kits import KITS


def test_every_registered_provider_has_a_contract_kit() -> None:
    registered = set(provider_factories())
    assert registered - set(KITS) == set(), "write a kit for it: see tests/contract/README.md"
    online = {name for name, kit in KITS.items() if kit.online}
    assert online - registered == set(), "a kit for a provider that is not registered"
    assert {name for name, kit in KITS.items() if not kit.online} == {"manual"}


def test_the_suites_own_provider_is_registered_for_its_cases_only() -> None:
    """LinkPay is in the registry while a case runs (conftest.py); ``registered`` checks what it adds as the built-in
    lines are checked, and restores the registry when its block ends."""
    assert providers.entry("linkpay") is linkpay.ENTRY and providers.by_button_code(901) is linkpay.ENTRY
    before = (dict(providers.ENTRIES), dict(providers.BY_BUTTON_CODE), providers.NAMES)
    with pytest.raises(ProviderInfoError, match="linkpay: already registered"), providers.registered(linkpay.ENTRY):
        pass
    same_code = dataclasses.replace(linkpay.ENTRY, info=dataclasses.replace(linkpay.INFO, name="linkpay_two"))
    with (
        pytest.raises(ProviderInfoError, match="linkpay_two: button_code 901 is linkpay's"),
        providers.registered(same_code),
    ):
        pass
    other = dataclasses.replace(same_code, info=dataclasses.replace(same_code.info, button_code=902))
    with providers.registered(other):
        assert providers.NAMES[-1] == "linkpay_two" and providers.by_button_code(902) is other
    assert (dict(providers.ENTRIES), dict(providers.BY_BUTTON_CODE), providers.NAMES) == before


def test_the_example_providers_settings_manifest_is_current() -> None:
    written = json.loads(linkpay.ENTRY.settings_manifest.read_text(encoding="utf-8"))
    assert written == cli_manifest(linkpay.ENTRY.setup())


def test_what_reads_the_registry_reads_it_when_asked_so_a_provider_registered_later_counts() -> None:
    """A provider registered after import (as the suite's own are) is a choice on the command line, a push when it
    declares that kind, and its buttons are on the customer's routes: nothing keeps what the registry said at import."""
    from click.testing import CliRunner

    from admin.cli.provider_commands import provider
    from core.db.tables import Payment
    from flows.buttons import CUSTOMER
    from payments.attempts import is_push
    from tests.contract.linkpay.buttons import LinkStatus

    assert LinkStatus in CUSTOMER.kinds() and CUSTOMER.takes(LinkStatus(7).pack())
    assert is_push(Payment(provider="linkpay", callback_token="ab")) is False  # a hosted link
    pushing = dataclasses.replace(
        linkpay.ENTRY,
        info=dataclasses.replace(linkpay.INFO, name="pushpay", button_code=903, kind=ProviderKind.PHONE_PUSH),
    )
    with providers.registered(pushing):
        assert is_push(Payment(provider="pushpay", callback_token="ab")) is True
        refused = CliRunner().invoke(provider, ["set", "shop", "nopay"])
        names = (
            "mpesa",
            "paystack",
            "flutterwave",
            "stripe",
            "paypal",
            "feexpay",
            "corefy",
            "telegram",
            "manual",
            "linkpay",
            "pushpay",
        )
        choices = ", ".join(f"'{name}'" for name in names)
        assert f"'nopay' is not one of {choices}" in refused.output
    assert is_push(Payment(provider="pushpay", callback_token="ab")) is False  # gone with its block
