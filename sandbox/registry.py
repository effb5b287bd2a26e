"""Every provider's simulator, by the provider's name: the playground and the tests find a simulator here rather
than by importing a provider's module. A provider joins the sandbox with one line below (its ``entry.SIMULATOR``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sandbox.contract import ProviderSimulator
from sandbox.corefy import entry as corefy
from sandbox.feexpay import entry as feexpay
from sandbox.flutterwave import entry as flutterwave
from sandbox.mpesa import entry as mpesa
from sandbox.paypal import entry as paypal
from sandbox.paystack import entry as paystack
from sandbox.stripe import entry as stripe
from sandbox.telegram import entry as telegram

SIMULATORS: Mapping[str, ProviderSimulator[Any]] = MappingProxyType(
    {
        entry.provider: entry
        for entry in (
            mpesa.SIMULATOR,
            paystack.SIMULATOR,
            flutterwave.SIMULATOR,
            stripe.SIMULATOR,
            paypal.SIMULATOR,
            feexpay.SIMULATOR,
            corefy.SIMULATOR,
            telegram.SIMULATOR,
        )
    }
)


def simulator(provider: str) -> ProviderSimulator[Any]:
    """The simulator of ``provider`` (its name in ``dukabot provider set``)."""
    try:
        return SIMULATORS[provider]
    except KeyError:
        raise LookupError(f"the sandbox has no simulator for {provider!r} (it has: {', '.join(SIMULATORS)})") from None
