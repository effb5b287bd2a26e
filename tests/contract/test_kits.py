"""The suite covers every provider: a provider registered without a kit, or a kit left for a provider that is no
longer registered, fails here (and each case fails for the provider without a kit)."""

from __future__ import annotations

from payments.providers import provider_factories
from tests.contract.kits import KITS


def test_every_registered_provider_has_a_contract_kit() -> None:
    registered = set(provider_factories())
    assert registered - set(KITS) == set(), "write a kit for it: see tests/contract/README.md"
    online = {name for name, kit in KITS.items() if kit.online}
    assert online - registered == set(), "a kit for a provider that is not registered"
    assert {name for name, kit in KITS.items() if not kit.online} == {"manual"}
