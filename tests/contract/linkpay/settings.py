"""What the operator sets for LinkPay: its live API key, the secret its webhooks are signed with, and a test key
used while the shop is in test mode."""

from __future__ import annotations

from typing import ClassVar

from payments.setup import ProviderSetup, Secret, setting


class LinkPaySetup(ProviderSetup):
    provider: ClassVar[str] = "linkpay"

    api_key: Secret = setting("live API key, lp_live_...", metavar="K")
    webhook_secret: Secret = setting("the secret LinkPay signs its webhooks with.", metavar="S")
    test_api_key: Secret | None = setting("an lp_test_ key, used while the shop is in test mode.", default=None)
