"""The registry: every payment provider of this build, one line each, in the order the operator reads them.

A provider is a folder ``payments/<name>/`` whose ``__init__`` declares its :class:`~payments.base.ProviderEntry`
(metadata, settings model, factory, its own CLI commands); adding one is that folder plus a line here. Importing
this module loads only the declarations: no HTTP client, no pydantic (``dukabot --help`` reads it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from payments import manual, mpesa, paystack
from payments.base import ProviderEntry, ProviderInfoError

if TYPE_CHECKING:
    from payments.registry import ProviderFactory

ENTRIES: Final[Mapping[str, ProviderEntry]] = {
    entry.name: entry for entry in (mpesa.ENTRY, paystack.ENTRY, manual.ENTRY)
}
NAMES: Final = tuple(ENTRIES)


def _by_button_code(entries: Mapping[str, ProviderEntry]) -> dict[int, ProviderEntry]:
    """Every provider by the code of its payment-menu button: each has one, and no two share one (a button already
    sent in a chat must keep meaning the provider it was made for)."""
    found: dict[int, ProviderEntry] = {}
    for item in entries.values():
        code = item.info.button_code
        if code is None:
            raise ProviderInfoError(f"{item.name}: a registered provider declares its button_code")
        taken = found.setdefault(code, item)
        if taken is not item:
            raise ProviderInfoError(f"{item.name}: button_code {code} is {taken.name}'s")
    return found


BY_BUTTON_CODE: Final[Mapping[int, ProviderEntry]] = _by_button_code(ENTRIES)


def entry(name: str) -> ProviderEntry | None:
    return ENTRIES.get(name)


def by_button_code(code: int) -> ProviderEntry | None:
    """The provider a payment-menu button names (``core.buttons.PayWith.method``)."""
    return BY_BUTTON_CODE.get(code)


def provider_factories() -> dict[str, ProviderFactory]:
    """The factories of the providers that have a provider object (manual payments need none)."""
    found = {name: entry.factory() for name, entry in ENTRIES.items() if entry.factory is not None}
    return {name: factory for name, factory in found.items() if factory is not None}
