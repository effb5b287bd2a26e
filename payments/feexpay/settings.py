"""What the operator sets for FeexPay (``dukabot provider set SLUG feexpay``), checked before it is stored.

The API key (``fp_…``, from the merchant's FeexPay dashboard) calls the API; the shop id names the FeexPay shop the
money goes to. In test mode the shop's test key and test shop id are used: FeexPay's sandbox is reached with sandbox
credentials (SOURCES.md: unconfirmed whether it has a host of its own; ``base_url`` points elsewhere when it does)."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator

from payments.setup import BaseUrl, ProviderSetup, Secret, setting

_SHOP_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")


def _api_key(value: Any) -> Any:
    if not value.get_secret_value().startswith("fp_"):
        raise ValueError("starts with fp_ (the API key of FeexPay's dashboard, Développeurs > Clés API)")
    return value


def _shop_id(value: str) -> str:
    if not _SHOP_ID.match(value.strip()):
        raise ValueError("is the shop id of FeexPay's dashboard: 6 to 64 letters and digits")
    return value.strip()


class FeexPaySetup(ProviderSetup):
    provider: ClassVar[str] = "feexpay"

    api_key: Annotated[Secret, AfterValidator(_api_key)] = setting("API key, fp_...", metavar="K")
    shop_id: Annotated[str, AfterValidator(_shop_id)] = setting(
        "the FeexPay shop id the money goes to.", metavar="ID", cli="option"
    )
    test_api_key: Annotated[Secret, AfterValidator(_api_key)] | None = setting(
        "a sandbox API key, used while the shop is in test mode.", metavar="K", default=None
    )
    test_shop_id: Annotated[str, AfterValidator(_shop_id)] | None = setting(
        "the sandbox shop id, used while the shop is in test mode.", metavar="ID", cli="option", default=None
    )
    base_url: BaseUrl | None = setting(
        "another API host (FeexPay's sandbox host if it has one, a simulator).", metavar="URL", default=None
    )
