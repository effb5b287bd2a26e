"""A provider that declares a capability ships the words the generic code says for it (payments.base): the refund
steps of a provider that refunds, the refusals of a provider that confirms held money. A new provider that forgets
one fails here, not in a merchant's chat."""

from __future__ import annotations

import pytest

from core.texts import has
from payments.base import Capability
from payments.providers import ENTRIES

REFUND_TEXTS = (
    "refund.how",
    "refund.requested",
    "refund.not_configured",
    "refund.made_elsewhere",
    "refund.merchant.processed",
    "refund.merchant.needs-attention",
    "refund.merchant.unconfirmed",
    "refund.merchant.unresolved",
)
CONFIRM_HELD_TEXTS = ("review.missing", "review.unavailable", "review.disagrees", "review.not_found")


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_a_provider_ships_the_texts_of_what_it_declares(name: str) -> None:
    info = ENTRIES[name].info
    wanted = {
        Capability.REFUND: REFUND_TEXTS,
        Capability.CONFIRM_HELD: CONFIRM_HELD_TEXTS,
    }
    missing = [
        f"{name}.{key}"
        for capability, keys in wanted.items()
        if info.supports(capability)
        for key in keys
        if not has(f"{name}.{key}")
    ]
    assert missing == []


def test_the_registry_has_a_provider_of_each_capability_checked_here() -> None:
    refunders = {name for name, entry in ENTRIES.items() if entry.info.supports(Capability.REFUND)}
    assert refunders == {"paystack", "flutterwave", "stripe", "paypal", "corefy", "telegram"}
    confirmers = {name for name, entry in ENTRIES.items() if entry.info.supports(Capability.CONFIRM_HELD)}
    assert confirmers == {"paystack", "flutterwave"}
