"""What the operator sets for Corefy (``dukabot provider set SLUG corefy``), checked before it is stored.

Corefy authenticates the private API with the commerce account's id and an API key (HTTP Basic); the key decides
whether a request is live or test, and Corefy's manager issues the API host. Callbacks are signed with the account's
secret key, the live one or the test one after the mode of the operation. In test mode the shop's test API key (and,
where Corefy issued one, its sandbox host) is used."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator

from payments.setup import BaseUrl, ProviderSetup, Secret, setting


def _account(value: str) -> str:
    if not value or len(value) > 64 or not all(ch.isalnum() or ch in "_-" for ch in value):
        raise ValueError("is the commerce account's id (letters, digits, _ and -), e.g. coma_vT6LDU0TxOxmbOot")
    return value


def _signing(value: Any) -> Any:
    if len(value.get_secret_value()) < 16:
        raise ValueError("is at least 16 characters (anyone who guesses it can post callbacks)")
    return value


def _service(value: str) -> str:
    if not value or len(value) > 80 or not all(ch.isalnum() or ch in "_-" for ch in value):
        raise ValueError("is a Corefy service id, e.g. payment_card_kes_hpp")
    return value.lower()


class CorefySetup(ProviderSetup):
    provider: ClassVar[str] = "corefy"

    account_id: Annotated[str, AfterValidator(_account)] = setting(
        "the commerce account's id (Account settings > Integration), the API's login.", metavar="coma_..."
    )
    api_key: Secret = setting("the account's live API key, the API's password.", metavar="K")
    secret_key: Annotated[Secret, AfterValidator(_signing)] = setting(
        "the live secret key Corefy signs callbacks with (X-Signature).", metavar="sk_live_..."
    )
    api_url: BaseUrl = setting("the private API's host, as Corefy's manager issued it.", metavar="URL")
    test_api_key: Secret | None = setting(
        "the account's test API key, used while the shop is in test mode.", metavar="K", default=None
    )
    test_secret_key: Annotated[Secret, AfterValidator(_signing)] | None = setting(
        "the test secret key Corefy signs test-mode callbacks with.", metavar="sk_test_...", default=None
    )
    test_api_url: BaseUrl | None = setting(
        "the sandbox API host for test mode, when Corefy issued one (default: the API host).",
        metavar="URL",
        default=None,
    )
    service: Annotated[str, AfterValidator(_service)] | None = setting(
        "one Corefy service to route every payment to (default: the hosted page offers every method of the account).",
        metavar="SERVICE",
        cli="option",
        default=None,
    )
    base_url: BaseUrl | None = setting(
        "another API host for both modes (a simulator, a test double).", metavar="URL", default=None
    )

    @classmethod
    def facts(cls, secrets: Mapping[str, str], options: Mapping[str, Any]) -> dict[str, str]:
        return {"test_mode_ready": "yes" if "test_api_key" in secrets and "test_secret_key" in secrets else "no"}
