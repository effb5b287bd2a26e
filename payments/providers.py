"""The providers this build can start, by name. Manual payments need no provider object."""

from __future__ import annotations

from payments.mpesa import provider as mpesa
from payments.paystack import provider as paystack
from payments.registry import ProviderFactory


def provider_factories() -> dict[str, ProviderFactory]:
    found = {"mpesa": mpesa.FACTORY, "paystack": paystack.FACTORY}
    return {name: factory for name, factory in found.items() if factory is not None}
