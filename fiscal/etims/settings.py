"""What the operator sets for KRA eTIMS (``dukabot fiscal set SLUG etims``), checked before it is stored.

The KRA PIN, the branch id and the OSCU device serial are what KRA approved for the shop; the communication key
(``cmc_key``) is issued by KRA when the device is initialised: dukabot initialises the device itself on its first
submission and keeps the key encrypted, or takes one given here (a device already initialised elsewhere)."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Final

from pydantic import AfterValidator

from payments.setup import BaseUrl, ProviderSetup, Secret, setting

_PIN: Final = re.compile(r"[AP]\d{9}[A-Z]")
_SERIAL: Final = re.compile(r"[A-Za-z0-9_-]{1,40}")
_CLASS: Final = re.compile(r"\d{2,10}")
TAX_TYPES: Final = ("A", "B", "C", "D", "E")
# KRA's sandbox and live OSCU hosts (SOURCES.md).
LIVE_URL: Final = "https://etims-api.kra.go.ke/etims-api"
SANDBOX_URL: Final = "https://etims-api-sbx.kra.go.ke/etims-api"
# The hours after which a sale still unsubmitted is reported to the merchant (SOURCES.md: ours).
ALERT_AFTER_HOURS: Final = 24


def _pin(value: str) -> str:
    value = value.upper()
    if not _PIN.fullmatch(value):
        raise ValueError("is a KRA PIN: A or P, nine digits, a letter (P051234567A)")
    return value


def _branch(value: str) -> str:
    if not re.fullmatch(r"\d{2}", value):
        raise ValueError("is KRA's two-digit branch id (00 for the head office)")
    return value


def _serial(value: str) -> str:
    if not _SERIAL.fullmatch(value):
        raise ValueError("is the OSCU device serial KRA approved: letters, digits, - or _, at most 40")
    return value


def _item_class(value: str) -> str:
    if not _CLASS.fullmatch(value):
        raise ValueError("is a KRA item classification code: 2 to 10 digits")
    return value


def _tax_type(value: str) -> str:
    value = value.upper()
    if value not in TAX_TYPES:
        raise ValueError("is a KRA tax type: A (exempt), B (16%), C (zero-rated), D (non-VAT) or E (8%)")
    return value


def _hours(value: str) -> str:
    if not value.isdigit() or not 1 <= int(value) <= 168:
        raise ValueError("is a whole number of hours from 1 to 168")
    return value


class EtimsSetup(ProviderSetup):
    provider: ClassVar[str] = "etims"

    kra_pin: Annotated[str, AfterValidator(_pin)] = setting("the shop's KRA PIN (P051234567A).", metavar="PIN")
    device_serial: Annotated[str, AfterValidator(_serial)] = setting(
        "the OSCU device serial KRA approved for the PIN and branch.", metavar="SERIAL"
    )
    branch_id: Annotated[str, AfterValidator(_branch)] = setting(
        "KRA's branch id (00: the head office).", metavar="NN", default="00"
    )
    cmc_key: Secret | None = setting(
        "the communication key, only if the device was initialised elsewhere.", metavar="KEY", default=None
    )
    default_item_class: Annotated[str, AfterValidator(_item_class)] | None = setting(
        "the item classification code of products that name none.", metavar="CODE", cli="option", default=None
    )
    default_tax_type: Annotated[str, AfterValidator(_tax_type)] = setting(
        "the tax type of products that name none (B: VAT 16%).", metavar="T", cli="option", default="B"
    )
    alert_after_hours: Annotated[str, AfterValidator(_hours)] = setting(
        "hours after which an unsubmitted invoice is reported to the merchant.",
        metavar="H",
        cli="option",
        default=str(ALERT_AFTER_HOURS),
    )
    base_url: BaseUrl | None = setting("another OSCU host (a simulator).", metavar="URL", default=None)

    @classmethod
    def facts(cls, secrets: Any, options: Any) -> dict[str, str]:
        return {"communication key": "issued" if secrets.get("cmc_key") else "not yet (first submission initialises)"}

    def host(self, test_mode: bool) -> str:
        return self.base_url or (SANDBOX_URL if test_mode else LIVE_URL)
