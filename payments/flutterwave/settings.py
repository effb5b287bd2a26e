"""What the operator sets for Flutterwave (``dukabot provider set SLUG flutterwave``), checked before it is stored.

The secret key (``FLWSECK-…``, or a ``FLWSECK_TEST-…`` one) calls the API; the secret hash is what the shop typed
into Flutterwave's dashboard (Settings → Webhooks) and what every v3 webhook carries in ``verif-hash``. In test mode
the shop's test key (and test hash) is used when it has one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator

from payments.flutterwave.wire import CHANNELS, is_test_key
from payments.setup import BaseUrl, ProviderSetup, Secret, setting


def _secret_key(value: Any) -> Any:
    if not value.get_secret_value().startswith("FLWSECK"):
        raise ValueError("starts with FLWSECK- or FLWSECK_TEST- (a public FLWPUBK key does not work here)")
    return value


def _test_key(value: Any) -> Any:
    if not is_test_key(value.get_secret_value()):
        raise ValueError("is a test key, FLWSECK_TEST-...")
    return value


def _hash(value: Any) -> Any:
    if len(value.get_secret_value()) < 16:
        raise ValueError("is at least 16 characters (anyone who guesses it can post webhooks)")
    return value


def _channels(value: str) -> str:
    chosen = [part.strip().lower() for part in value.split(",") if part.strip()]
    if not chosen or set(chosen) - CHANNELS:
        raise ValueError(f"are a comma-separated choice of {', '.join(sorted(CHANNELS))}")
    return ",".join(dict.fromkeys(chosen))


class FlutterwaveSetup(ProviderSetup):
    provider: ClassVar[str] = "flutterwave"

    secret_key: Annotated[Secret, AfterValidator(_secret_key)] = setting(
        "secret key, FLWSECK-... (or FLWSECK_TEST-...)", metavar="K"
    )
    secret_hash: Annotated[Secret, AfterValidator(_hash)] = setting(
        "the secret hash set on Flutterwave's dashboard (Settings > Webhooks): checks verif-hash.", metavar="H"
    )
    hmac_secret: Annotated[Secret, AfterValidator(_hash)] | None = setting(
        "also accept webhooks signed in flutterwave-signature (HMAC-SHA256) with this secret.",
        metavar="S",
        default=None,
    )
    test_secret_key: Annotated[Secret, AfterValidator(_test_key)] | None = setting(
        "a FLWSECK_TEST- key, used while the shop is in test mode.", metavar="K", default=None
    )
    test_secret_hash: Annotated[Secret, AfterValidator(_hash)] | None = setting(
        "the test dashboard's secret hash, when it differs.", metavar="H", default=None
    )
    base_url: BaseUrl | None = setting(
        "another API host (a sandbox, a simulator, a test double).", metavar="URL", default=None
    )
    payment_options: Annotated[str, AfterValidator(_channels)] | None = setting(
        "the checkout's channels (default: every channel of the account).",
        metavar="card,mpesa,mobilemoney,banktransfer,ussd",
        cli="option",
        default=None,
    )

    @classmethod
    def facts(cls, secrets: Mapping[str, str], options: Mapping[str, Any]) -> dict[str, str]:
        if "secret_key" not in secrets:
            return {}
        return {"key_mode": "test" if is_test_key(secrets["secret_key"]) else "live"}
