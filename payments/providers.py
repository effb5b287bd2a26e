"""The registry: every payment provider of this build, one line each, in the order the operator reads them.

A provider is a folder ``payments/<name>/`` whose ``__init__`` declares its :class:`~payments.base.ProviderEntry`
(metadata, settings model, factory, its own CLI commands); adding one is that folder plus a line here. Importing
this module loads only the declarations: no HTTP client, no pydantic (``dukabot --help`` reads it)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

from payments import corefy, feexpay, flutterwave, manual, mpesa, paypal, paystack, telegram
from payments import stripe as stripe_provider
from payments.base import ProviderEntry, ProviderInfoError

if TYPE_CHECKING:
    from payments.registry import ProviderFactory

_ENTRIES: dict[str, ProviderEntry] = {
    entry.name: entry
    for entry in (
        mpesa.ENTRY,
        paystack.ENTRY,
        flutterwave.ENTRY,
        stripe_provider.ENTRY,
        paypal.ENTRY,
        feexpay.ENTRY,
        corefy.ENTRY,
        telegram.ENTRY,
        manual.ENTRY,
    )
}
ENTRIES: Final[Mapping[str, ProviderEntry]] = _ENTRIES
NAMES: tuple[str, ...] = tuple(ENTRIES)


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


_BY_BUTTON_CODE = _by_button_code(ENTRIES)
BY_BUTTON_CODE: Final[Mapping[int, ProviderEntry]] = _BY_BUTTON_CODE


@contextmanager
def registered(*extra: ProviderEntry) -> Iterator[None]:
    """The registry with ``extra`` providers added, until the block ends (the contract suite's own test provider:
    the product never calls this). Checked as the built-in lines are; everything that reads the registry when it
    runs sees them (the server built inside the block, its routes, the chat, refunds), but not what was derived from
    it at import (the flags of ``dukabot provider set``, its help)."""
    global NAMES
    clash = [item.name for item in extra if item.name in _ENTRIES]
    if clash:
        raise ProviderInfoError(f"{clash[0]}: already registered")
    combined = {**_ENTRIES, **{item.name: item for item in extra}}
    by_code = _by_button_code(combined)
    saved = (dict(_ENTRIES), dict(_BY_BUTTON_CODE), NAMES)
    _ENTRIES.update(combined)
    _BY_BUTTON_CODE.update(by_code)
    NAMES = tuple(_ENTRIES)
    try:
        yield
    finally:
        _ENTRIES.clear()
        _ENTRIES.update(saved[0])
        _BY_BUTTON_CODE.clear()
        _BY_BUTTON_CODE.update(saved[1])
        NAMES = saved[2]


def entry(name: str) -> ProviderEntry | None:
    return ENTRIES.get(name)


def by_button_code(code: int) -> ProviderEntry | None:
    """The provider a payment-menu button names (``core.buttons.PayWith.method``)."""
    return BY_BUTTON_CODE.get(code)


def provider_factories() -> dict[str, ProviderFactory]:
    """The factories of the providers that have a provider object (manual payments need none)."""
    found = {name: entry.factory() for name, entry in ENTRIES.items() if entry.factory is not None}
    return {name: factory for name, factory in found.items() if factory is not None}
