"""What one tenant's M-Pesa set-up is, read from its stored provider configuration.

Options (plain, per tenant) and secrets (encrypted bundle), as ``dukabot provider set SLUG mpesa`` stores them:

* secrets ``consumer_key``, ``consumer_secret``, ``passkey``; optional ``test_consumer_key``,
  ``test_consumer_secret``, ``test_passkey`` used in test mode;
* options ``shortcode`` (the Paybill, or the store number of a till), ``till`` (Buy Goods), ``base_url``,
  ``c2b_version`` (``v1``/``v2``, default ``v2``); optional ``test_shortcode``, ``c2b_validation`` (reject unknown
  account numbers at the C2B validation URL), ``ip_allowlist`` (``safaricom``, a comma-separated list of addresses
  or networks, or ``off``) and ``trusted_proxies`` (addresses whose ``X-Forwarded-For`` is believed);
* the C2B URL secret ``c2b_secret`` (made by ``provider register-c2b``, never by hand, kept by ``provider set``);
* for Transaction Status (every C2B receipt confirmed with Daraja before it pays): option ``initiator_name`` and
  secret ``security_credential`` (the initiator's password encrypted with Safaricom's certificate, as the portal
  gives it).

The source-IP allowlist is on by default for a live shop (Safaricom's published callback addresses) and off in test
mode (the sandbox publishes none); ``ip_allowlist`` overrides both.

Test mode: the sandbox host (unless ``base_url`` says otherwise) and, unless the tenant stored test credentials of its
own, the public sandbox Paybill ``174379`` with its published passkey (reference §A.2.2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator

from payments.registry import TenantProviderConfig
from payments.setup import BaseUrl, ProviderSetup, Secret, Switch, addresses, digits, setting

SANDBOX_URL = "https://sandbox.safaricom.co.ke"
PRODUCTION_URL = "https://api.safaricom.co.ke"
SANDBOX_SHORTCODE = "174379"
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"  # the published sandbox passkey
# Safaricom's published callback addresses (reference §A.3.5).
SAFARICOM_IPS = frozenset(
    {
        "196.201.214.200",
        "196.201.214.206",
        "196.201.213.114",
        "196.201.214.207",
        "196.201.214.208",
        "196.201.213.44",
        "196.201.212.127",
        "196.201.212.138",
        "196.201.212.129",
        "196.201.212.136",
        "196.201.212.74",
        "196.201.212.69",
    }
)


ALLOWLIST_OFF = "off"


def _addresses(value: Any) -> frozenset[str]:
    """Addresses and networks (``196.201.214.0/24``) as written; ``safaricom`` stands for :data:`SAFARICOM_IPS`."""
    if value is None or value is False or value == "" or str(value).strip().lower() == ALLOWLIST_OFF:
        return frozenset()
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    found: set[str] = set()
    for item in items:
        text = str(item).strip()
        if text.lower() == "safaricom":
            found |= SAFARICOM_IPS
        elif text:
            found.add(text)
    return frozenset(found)


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class MpesaSettings:
    base_url: str
    consumer_key: str
    consumer_secret: str = field(repr=False)
    shortcode: str
    passkey: str = field(repr=False)
    till: str | None
    c2b_version: Literal["v1", "v2"]
    test_mode: bool
    c2b_validation: bool = False
    allowlist: frozenset[str] = frozenset()
    trusted_proxies: frozenset[str] = frozenset()
    c2b_secret: str = field(default="", repr=False)
    initiator_name: str = ""
    security_credential: str = field(default="", repr=False)

    @property
    def confirms_receipts(self) -> bool:
        """With initiator credentials, each C2B receipt is confirmed by Transaction Status before it pays."""
        return bool(self.initiator_name and self.security_credential)

    @property
    def paybill(self) -> str | None:
        """The business number customers can pay by Paybill with an account number; None for a till."""
        return None if self.till else self.shortcode

    @property
    def complete(self) -> bool:
        return bool(self.consumer_key and self.consumer_secret and self.shortcode and self.passkey)

    @classmethod
    def from_config(cls, config: TenantProviderConfig) -> MpesaSettings:
        return cls.read(config.secrets, config.options, test_mode=config.test_mode)

    @classmethod
    def read(cls, secrets: Mapping[str, str], options: Mapping[str, Any], *, test_mode: bool) -> MpesaSettings:
        def opt(name: str) -> str:
            value = options.get(name)
            return "" if value is None else str(value).strip()

        def secret(name: str) -> str:
            return str(secrets.get(name) or "").strip()

        version: Literal["v1", "v2"] = "v1" if opt("c2b_version").lower() == "v1" else "v2"
        allowlist = options.get("ip_allowlist")
        if allowlist is None and not test_mode:
            allowlist = "safaricom"
        common: dict[str, Any] = {
            "c2b_version": version,
            "test_mode": test_mode,
            "c2b_validation": _flag(options.get("c2b_validation")),
            "allowlist": _addresses(allowlist),
            "trusted_proxies": _addresses(options.get("trusted_proxies")),
            "c2b_secret": secret("c2b_secret"),
            "initiator_name": opt("initiator_name"),
            "security_credential": secret("security_credential"),
        }
        if test_mode:
            own = bool(secret("test_passkey") and opt("test_shortcode"))
            return cls(
                base_url=(opt("base_url") or SANDBOX_URL).rstrip("/"),
                consumer_key=secret("test_consumer_key") or secret("consumer_key"),
                consumer_secret=secret("test_consumer_secret") or secret("consumer_secret"),
                shortcode=opt("test_shortcode") if own else SANDBOX_SHORTCODE,
                passkey=secret("test_passkey") if own else SANDBOX_PASSKEY,
                till=(opt("test_till") or None) if own else None,
                **common,
            )
        return cls(
            base_url=(opt("base_url") or PRODUCTION_URL).rstrip("/"),
            consumer_key=secret("consumer_key"),
            consumer_secret=secret("consumer_secret"),
            shortcode=opt("shortcode"),
            passkey=secret("passkey"),
            till=opt("till") or None,
            **common,
        )


# --- what the operator sets (``dukabot provider set SLUG mpesa``) ---------------------------------------------------

_INITIATOR = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _allowlist(value: str) -> str:
    return addresses(value, named={"safaricom": "safaricom"}, allow_off=True)


def _proxies(value: str) -> str:
    return addresses(value, named={"safaricom": "safaricom"})


def _version(value: str) -> str:
    if value.lower() not in {"v1", "v2"}:
        raise ValueError("must be v1 or v2")
    return value.lower()


def _initiator(value: str) -> str:
    if not _INITIATOR.fullmatch(value):
        raise ValueError("is the API operator's user name (letters, digits, . _ -)")
    return value


Shortcode = Annotated[str, digits(5, 8)]


class MpesaSetup(ProviderSetup):
    """The settings of ``dukabot provider set SLUG mpesa``; :meth:`resolved` is what the provider runs with."""

    provider: ClassVar[str] = "mpesa"

    consumer_key: Secret = setting("Daraja app consumer key.", metavar="K")
    consumer_secret: Secret = setting("Daraja app consumer secret.", metavar="S")
    shortcode: Shortcode = setting("the Paybill number, or the till's store number.", metavar="N")
    passkey: Secret = setting("Lipa Na M-Pesa passkey.", metavar="P")
    till: Shortcode | None = setting(
        "the Buy Goods till number, when payments go to a till.", metavar="N", default=None
    )
    base_url: BaseUrl | None = setting(
        "another API host (a sandbox, a simulator, a test double).", metavar="URL", default=None
    )
    c2b_version: Annotated[Literal["v1", "v2"], BeforeValidator(_version)] | None = setting(
        "the C2B API version of the Paybill fallback.", metavar="v1|v2", default=None
    )
    c2b_validation: Switch | None = setting(
        "refuse unknown account numbers at the C2B validation URL.", metavar="on|off", cli="option", default=None
    )
    ip_allowlist: Annotated[str, AfterValidator(_allowlist)] | None = setting(
        "the addresses Daraja calls from (default for a live shop: safaricom).",
        metavar="safaricom|off|IP[/N],...",
        cli="option",
        default=None,
    )
    trusted_proxies: Annotated[str, AfterValidator(_proxies)] | None = setting(
        "addresses whose X-Forwarded-For is believed.", metavar="IP,...", cli="option", default=None
    )
    test_shortcode: Shortcode | None = setting(
        "the shop's own sandbox shortcode, for test mode.", metavar="N", cli="option", default=None
    )
    test_till: Shortcode | None = setting(
        "the shop's own sandbox till, for test mode.", metavar="N", cli="option", default=None
    )
    test_consumer_key: Secret | None = setting(
        "the shop's own sandbox app, used in test mode.", metavar="K", default=None
    )
    test_consumer_secret: Secret | None = setting(
        "the shop's own sandbox app, used in test mode.", metavar="S", default=None
    )
    test_passkey: Secret | None = setting(
        "the sandbox passkey of --option test_shortcode=N.", metavar="P", default=None
    )
    initiator_name: Annotated[str, AfterValidator(_initiator)] | None = setting(
        "the API operator's user name (with --security-credential).", metavar="NAME", cli="option", default=None
    )
    security_credential: Secret | None = setting(
        "the initiator's encrypted password (with --option initiator_name=NAME): each C2B receipt is then "
        "confirmed with Daraja's Transaction Status before its order is paid.",
        metavar="C",
        default=None,
    )
    c2b_secret: Secret | None = setting(
        "the secret of the shop's C2B URLs (made by provider register-c2b).", cli="managed", default=None
    )

    def resolved(self, *, test_mode: bool) -> MpesaSettings:
        """The test-mode variant (sandbox host, the shop's or Daraja's public test credentials) or the live one."""
        secrets, options = self.stored()
        return MpesaSettings.read(secrets, options, test_mode=test_mode)
