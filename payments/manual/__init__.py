"""Manual payment: the shop's own instructions (bank, till, cash on delivery), a proof the merchant checks.

What it is, for the registry (:mod:`payments.providers`). It has no provider object: nothing to call."""

from __future__ import annotations

from typing import Any

from core.texts import register_catalog
from payments.base import ProviderEntry, ProviderInfo, ProviderKind

register_catalog(f"{__name__}.locales")

# Any currency the shop sells in, any amount: the merchant checks each proof.
INFO = ProviderInfo(name="manual", display_key="provider.manual", kind=ProviderKind.MANUAL_PROOF, button_code=1)


def _setup() -> type[Any]:
    from payments.manual.settings import ManualSetup

    return ManualSetup


ENTRY = ProviderEntry(INFO, setup=_setup)
