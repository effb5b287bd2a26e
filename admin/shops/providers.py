"""Payment methods of a shop: what each provider takes (:data:`PROVIDERS`), checking the settings given, and
:func:`set_provider`, which stores them (secrets encrypted as one bundle)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from admin.shops.errors import ShopError
from admin.shops.tenants import require_tenant
from core.db.repos.tenants import TenantRepository
from core.db.tables import AuditEntry, ProviderConfig
from core.vault import Vault

__all__ = ["PROVIDERS", "ProviderSpec", "c2b_secret", "decrypt_provider_secrets", "set_provider"]


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """What one payment method takes: secrets (encrypted as one bundle) and plain options."""

    name: str
    title: str
    required_secrets: tuple[str, ...] = ()
    required_options: tuple[str, ...] = ()
    optional_options: tuple[str, ...] = ()
    optional_secrets: tuple[str, ...] = ()

    @property
    def options(self) -> tuple[str, ...]:
        return self.required_options + self.optional_options

    @property
    def secrets(self) -> tuple[str, ...]:
        return self.required_secrets + self.optional_secrets


PROVIDERS: Final[Mapping[str, ProviderSpec]] = {
    "mpesa": ProviderSpec(
        name="mpesa",
        title="M-Pesa",
        required_secrets=("consumer_key", "consumer_secret", "passkey"),
        required_options=("shortcode",),
        optional_options=(
            "till",
            "base_url",
            "c2b_version",
            "c2b_validation",
            "ip_allowlist",
            "trusted_proxies",
            "test_shortcode",
            "test_till",
            "initiator_name",
        ),
        # A shop's own sandbox app, for test mode; without them test mode uses Daraja's public sandbox values.
        # security_credential (with the option initiator_name): Transaction Status confirms each C2B receipt.
        optional_secrets=("test_consumer_key", "test_consumer_secret", "test_passkey", "security_credential"),
    ),
    "paystack": ProviderSpec(
        name="paystack",
        title="Paystack",
        required_secrets=("secret_key",),
        optional_options=("base_url", "channels", "ask_email", "email_domain"),
        optional_secrets=("test_secret_key",),  # used while the shop is in test mode
    ),
    "manual": ProviderSpec(name="manual", title="Manual payment", required_options=("instructions",)),
}

SECRET_MAX: Final = 512
INSTRUCTIONS_MAX: Final = 1000
_SHORTCODE: Final = re.compile(r"\d{5,8}")
_LOCAL_HOSTS: Final = {"localhost", "127.0.0.1", "::1"}
_INITIATOR: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
C2B_SECRET: Final = "c2b_secret"  # noqa: S105 - a key in the M-Pesa secrets bundle, made here, never typed in


def _check_base_url(value: str) -> str:
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    local = (parts.hostname or "") in _LOCAL_HOSTS or (parts.hostname or "").startswith("127.")
    # The value is not echoed: a mistyped option may hold something that belongs elsewhere.
    if not parts.hostname or any(ch.isspace() for ch in value) or parts.query or parts.fragment:
        raise ShopError("base_url is not a URL such as https://sandbox.example.com")
    if parts.username or parts.password:
        raise ShopError("base_url must not carry credentials: give them as the provider's secrets")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise ShopError("base_url must be https:// (plain http:// only for localhost, e.g. a simulator)")
    return value


_SWITCH: Final = {
    "on": True,
    "yes": True,
    "true": True,
    "1": True,
    "off": False,
    "no": False,
    "false": False,
    "0": False,
}
_DOMAIN: Final = re.compile(r"(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
PAYSTACK_CHANNELS: Final = frozenset(
    {"card", "bank", "ussd", "qr", "mobile_money", "bank_transfer", "eft", "apple_pay", "payattitude"}
)


def _address(part: str) -> str:
    return str(ipaddress.ip_network(part, strict=False)) if "/" in part else str(ipaddress.ip_address(part))


def _check_addresses(provider: str, key: str, text: str) -> str:
    """Comma-separated IP addresses or networks, ``safaricom`` for Safaricom's published callback addresses, or (the
    allowlist only) ``off``."""
    parts = [part.strip().lower() for part in text.split(",") if part.strip()]
    if key == "ip_allowlist" and parts == ["off"]:
        return "off"
    try:
        cleaned = [part if part == "safaricom" else _address(part) for part in parts]
    except ValueError:
        raise ShopError(f"{provider} {key} is a comma-separated list of IP addresses (or: safaricom)") from None
    if not cleaned:
        raise ShopError(f"{provider} {key} is empty")
    return ",".join(cleaned)


def _clean_option(provider: str, key: str, value: Any) -> str:
    text = str(value).strip()
    if key in {"shortcode", "till", "test_shortcode", "test_till"}:
        if not _SHORTCODE.fullmatch(text):
            raise ShopError(f"{provider} {key} must be a number of 5 to 8 digits")
    elif key == "base_url":
        text = _check_base_url(text)
    elif key == "c2b_version":
        text = text.lower()
        if text not in {"v1", "v2"}:
            raise ShopError("mpesa c2b_version must be v1 or v2")
    elif key in {"c2b_validation", "ask_email"}:
        text = text.lower()
        if text not in _SWITCH:
            raise ShopError(f"{provider} {key} is on or off")
        text = "on" if _SWITCH[text] else "off"
    elif key in {"ip_allowlist", "trusted_proxies"}:
        text = _check_addresses(provider, key, text)
    elif key == "channels":
        chosen = [part.strip().lower() for part in text.split(",") if part.strip()]
        unknown = sorted(set(chosen) - PAYSTACK_CHANNELS)
        if not chosen or unknown:
            raise ShopError(f"paystack channels are a comma-separated choice of {', '.join(sorted(PAYSTACK_CHANNELS))}")
        text = ",".join(chosen)
    elif key == "email_domain":
        text = text.lower()
        if not _DOMAIN.fullmatch(text):
            raise ShopError("paystack email_domain is a domain name such as example.com")
    elif key == "initiator_name":
        if not _INITIATOR.fullmatch(text):
            raise ShopError("mpesa initiator_name is the API operator's user name (letters, digits, . _ -)")
    elif key == "instructions":
        if not text:
            raise ShopError("manual instructions are empty: say how customers pay (bank, till, cash on delivery)")
        if len(text) > INSTRUCTIONS_MAX:
            raise ShopError(f"manual instructions are longer than {INSTRUCTIONS_MAX} characters")
    return text


async def set_provider(
    session: AsyncSession,
    vault: Vault,
    slug: str,
    provider: str,
    secrets: Mapping[str, Any],
    options: Mapping[str, Any],
    now: datetime,
) -> ProviderConfig:
    """Configure (or reconfigure) one payment method of a shop and enable it. The secrets and options given replace
    the previous ones entirely; ``None`` values count as not given."""
    # Imported here, not at the top: every CLI command imports this package, and the Paystack client brings httpx.
    from payments.paystack.client import key_mode

    spec = PROVIDERS.get(provider)
    if spec is None:
        raise ShopError(f"unknown provider {provider[:20]!r}: use one of {', '.join(PROVIDERS)}")
    given_secrets = {key: value for key, value in secrets.items() if value is not None}
    given_options = {key: value for key, value in options.items() if value is not None}

    unknown = sorted(set(given_secrets) - set(spec.secrets))
    if unknown:
        what = "takes no secrets" if not spec.secrets else f"takes the secrets {', '.join(spec.secrets)}"
        raise ShopError(f"{provider} {what}, not {', '.join(unknown)}")
    unknown = sorted(set(given_options) - set(spec.options))
    if unknown:
        raise ShopError(f"{provider} takes the options {', '.join(spec.options)}, not {', '.join(unknown)}")

    clean_secrets: dict[str, str] = {}
    for key in spec.secrets:
        value = str(given_secrets.get(key, "")).strip()
        if not value:
            if key in spec.optional_secrets:
                continue
            raise ShopError(f"{provider} needs the secret {key}")
        if len(value) > SECRET_MAX or any(ch.isspace() for ch in value):
            raise ShopError(f"{provider} {key} does not look right (no spaces, at most {SECRET_MAX} characters)")
        clean_secrets[key] = value
    if provider == "paystack" and key_mode(clean_secrets["secret_key"]) == "unknown":
        raise ShopError("a Paystack secret key starts with sk_test_ or sk_live_ (a public pk_ key does not work here)")
    if provider == "paystack" and key_mode(clean_secrets.get("test_secret_key", "sk_test_")) != "test":
        raise ShopError("the Paystack test_secret_key starts with sk_test_")

    clean_options: dict[str, str] = {}
    for key in spec.required_options:
        if key not in given_options:
            raise ShopError(f"{provider} needs the option {key}")
    for key in spec.options:
        if key in given_options:
            clean_options[key] = _clean_option(provider, key, given_options[key])

    tenant = await require_tenant(session, slug)
    repo = TenantRepository(session)
    config = await repo.provider_config(tenant.id, provider)
    kept = decrypt_provider_secrets(vault, config).get(C2B_SECRET) if config is not None else None
    if kept:  # the C2B URLs registered with Daraja stay valid when the rest is set again
        clean_secrets[C2B_SECRET] = kept
    secrets_enc = vault.encrypt_json(clean_secrets) if clean_secrets else None
    created = config is None
    if config is None:
        config = ProviderConfig(
            tenant_id=tenant.id,
            provider=provider,
            enabled=True,
            secrets_enc=secrets_enc,
            options=clean_options,
            updated_at=now,
        )
        session.add(config)
    else:
        config.enabled = True
        config.secrets_enc = secrets_enc
        config.options = clean_options
        config.updated_at = now
    repo.audit(
        AuditEntry(
            tenant_id=tenant.id,
            actor_tg_id=None,
            action="provider.set",
            target=provider,
            allowed=True,
            # Option values are not secret (shortcodes, URLs, instructions); of the secrets only their names.
            details={
                "created": created,
                "options": clean_options,
                "secrets": sorted(key for key in clean_secrets if key != C2B_SECRET),
            },
            at=now,
        )
    )
    try:
        await session.flush()
    except IntegrityError:
        raise ShopError(f"{provider} was configured for {slug!r} at the same time by someone else: try again") from None
    return config


def decrypt_provider_secrets(vault: Vault, config: ProviderConfig) -> dict[str, str]:
    if not config.secrets_enc:
        return {}
    return {str(key): str(value) for key, value in vault.decrypt_json(config.secrets_enc).items()}


async def c2b_secret(session: AsyncSession, vault: Vault, slug: str, now: datetime, *, rotate: bool = False) -> str:
    """The secret of the shop's C2B URLs: made (random, 160 bits) when there is none or when ``rotate``; stored
    encrypted in the M-Pesa secrets bundle. The caller registers the URLs with Daraja in the same unit of work, so a
    refusal there rolls the new secret back and the old URLs keep working."""
    tenant = await require_tenant(session, slug)
    repo = TenantRepository(session)
    config = await repo.provider_config(tenant.id, "mpesa")
    if config is None:
        raise ShopError(f"M-Pesa is not set for {slug!r}: dukabot provider set {slug} mpesa ...")
    stored = decrypt_provider_secrets(vault, config)
    if stored.get(C2B_SECRET) and not rotate:
        return stored[C2B_SECRET]
    from payments.mpesa.c2b import new_c2b_secret  # not at the top: it brings the whole M-Pesa client

    stored[C2B_SECRET] = new_c2b_secret()
    config.secrets_enc = vault.encrypt_json(stored)
    config.updated_at = now
    repo.audit(
        AuditEntry(
            tenant_id=tenant.id,
            actor_tg_id=None,
            action="provider.c2b_secret",
            target="mpesa",
            allowed=True,
            details={"rotated": rotate},
            at=now,
        )
    )
    await session.flush()
    return stored[C2B_SECRET]
