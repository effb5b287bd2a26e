"""Shop administration: the operations behind the operator CLI, the playground's seeding and the tests.

Every function works inside the caller's session and never commits: the caller's unit of work does, once, when the
whole operation has succeeded. A refused operation raises :class:`ShopError` with a message fit for an operator
(one line, never a secret) and leaves nothing to commit that the caller should keep: roll back on ``ShopError``.

Every change writes an :class:`~core.db.tables.AuditEntry` with ``actor_tg_id=None`` (the operator) and no secrets.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
import secrets as secrets_module
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import SystemClock, utc
from core.db.repos.tenants import TenantRepository
from core.db.tables import AuditEntry, Product, ProviderConfig, Tenant, TenantAdmin
from core.money import Money, MoneyError, exponent
from core.vault import Vault, VaultError, mask_secret

__all__ = [
    "CATALOG_COLUMNS",
    "PROVIDERS",
    "ImportReport",
    "ProviderSpec",
    "ShopError",
    "TenantSummary",
    "create_tenant",
    "decrypt_bot_token",
    "decrypt_provider_secrets",
    "decrypt_webhook_secret",
    "describe_tenant",
    "import_catalog",
    "list_tenants",
    "require_tenant",
    "rotate_keys",
    "set_provider",
]


class ShopError(Exception):
    """An operation refused, with a one-line message for the operator. ``problems`` lists the details, if several."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[str, ...] = tuple(problems or ())

    def __str__(self) -> str:
        return self.message


# --- tenants -------------------------------------------------------------------------------------------------------

SLUG_PATTERN: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
# "123456789:AAH..." as @BotFather hands it out: the bot's numeric id, a colon, about 35 url-safe characters.
BOT_TOKEN_PATTERN: Final = re.compile(r"(\d{3,20}):[A-Za-z0-9_-]{30,64}")
NAME_MAX: Final = 120
TG_ID_MAX: Final = 2**63 - 1


def _check_slug(slug: str) -> str:
    if not (2 <= len(slug) <= 40) or not SLUG_PATTERN.fullmatch(slug):
        raise ShopError("bad slug: use 2 to 40 characters of a-z, 0-9 and '-' (not at either end), e.g. 'mama-mboga'")
    return slug


def _check_bot_token(token: str) -> str:
    token = token.strip()
    if not BOT_TOKEN_PATTERN.fullmatch(token):
        # Never echo the token back: a typo in a real token is still mostly the token.
        raise ShopError("the bot token does not look like a Telegram bot token (digits:35 characters, from @BotFather)")
    return token


def _bot_id(token: str) -> str:
    return token.split(":", 1)[0]


async def require_tenant(session: AsyncSession, slug: str) -> Tenant:
    """The tenant with this slug, or ``ShopError``."""
    tenant = await TenantRepository(session).by_slug(slug)
    if tenant is None:
        raise ShopError(f"no shop with slug {slug[:60]!r}")
    return tenant


async def create_tenant(
    session: AsyncSession,
    vault: Vault,
    *,
    slug: str,
    name: str,
    bot_token: str,
    admins: list[int],
    currency: str = "KES",
    region: str = "KE",
    now: datetime,
) -> Tenant:
    """Create a shop: its encrypted bot token, a fresh encrypted webhook secret, and its admins (Telegram user ids)."""
    slug = _check_slug(slug)
    name = name.strip()
    if not name:
        raise ShopError("the shop needs a name")
    if len(name) > NAME_MAX:
        raise ShopError(f"the shop name is longer than {NAME_MAX} characters")
    token = _check_bot_token(bot_token)
    currency = currency.strip().upper()
    try:
        exponent(currency)
    except MoneyError:
        raise ShopError(f"unsupported currency {currency[:10]!r}") from None
    region = region.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ShopError(f"unknown region {region[:10]!r}: use a two-letter country code such as KE, NG, GH, ZA")
    admin_ids: list[int] = []
    for admin in admins:
        if isinstance(admin, bool) or not isinstance(admin, int) or not 0 < admin <= TG_ID_MAX:
            raise ShopError(f"bad admin id {admin!r}: a Telegram user id is a positive whole number")
        if admin not in admin_ids:
            admin_ids.append(admin)

    repo = TenantRepository(session)
    if await repo.by_slug(slug) is not None:
        raise ShopError(f"a shop with slug {slug!r} already exists")
    for other in await repo.all():
        try:
            other_token = vault.decrypt(other.bot_token_enc)
        except VaultError:
            continue  # `keys rotate` and `tenant show` report unreadable secrets; they do not block a new shop
        if _bot_id(other_token) == _bot_id(token):
            raise ShopError(f"this bot already serves shop {other.slug!r}: each shop needs its own bot")

    tenant = Tenant(
        slug=slug,
        name=name,
        currency=currency,
        region=region,
        bot_token_enc=vault.encrypt(token),
        # Telegram allows 1-256 characters of A-Za-z0-9_-; token_urlsafe(32) gives 43 of them.
        webhook_secret_enc=vault.encrypt(secrets_module.token_urlsafe(32)),
        test_mode=False,
        payment_timeout_minutes=30,
        created_at=now,
    )
    session.add(tenant)
    try:
        await session.flush()
    except IntegrityError:
        raise ShopError(f"a shop with slug {slug!r} already exists") from None
    for admin in admin_ids:
        session.add(TenantAdmin(tenant_id=tenant.id, tg_user_id=admin, created_at=now))
    repo.audit(
        AuditEntry(
            tenant_id=tenant.id,
            actor_tg_id=None,
            action="tenant.create",
            target=slug,
            allowed=True,
            details={"name": name, "currency": currency, "region": region, "admins": admin_ids},
            at=now,
        )
    )
    await session.flush()
    return tenant


def decrypt_bot_token(vault: Vault, tenant: Tenant) -> str:
    return vault.decrypt(tenant.bot_token_enc)


def decrypt_webhook_secret(vault: Vault, tenant: Tenant) -> str:
    return vault.decrypt(tenant.webhook_secret_enc)


def decrypt_provider_secrets(vault: Vault, config: ProviderConfig) -> dict[str, str]:
    if not config.secrets_enc:
        return {}
    return {str(key): str(value) for key, value in vault.decrypt_json(config.secrets_enc).items()}


@dataclass(frozen=True, slots=True)
class TenantSummary:
    """One line of ``dukabot tenant list``: no secrets at all."""

    slug: str
    name: str
    currency: str
    region: str
    test_mode: bool
    admins: int
    providers: tuple[str, ...]
    products: int
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "currency": self.currency,
            "region": self.region,
            "test_mode": self.test_mode,
            "admins": self.admins,
            "providers": list(self.providers),
            "products": self.products,
            "created_at": self.created_at.isoformat(timespec="seconds"),
        }


async def list_tenants(session: AsyncSession) -> list[TenantSummary]:
    tenants = await TenantRepository(session).all()
    admin_rows = await session.execute(select(TenantAdmin.tenant_id, func.count()).group_by(TenantAdmin.tenant_id))
    admins: dict[int, int] = {tenant_id: count for tenant_id, count in admin_rows}
    product_rows = await session.execute(
        select(Product.tenant_id, func.count()).where(Product.active.is_(True)).group_by(Product.tenant_id)
    )
    products: dict[int, int] = {tenant_id: count for tenant_id, count in product_rows}
    providers: dict[int, list[str]] = {}
    provider_rows = await session.execute(
        select(ProviderConfig.tenant_id, ProviderConfig.provider)
        .where(ProviderConfig.enabled.is_(True))
        .order_by(ProviderConfig.provider)
    )
    for tenant_id, provider in provider_rows:
        providers.setdefault(tenant_id, []).append(provider)
    return [
        TenantSummary(
            slug=tenant.slug,
            name=tenant.name,
            currency=tenant.currency,
            region=tenant.region,
            test_mode=tenant.test_mode,
            admins=int(admins.get(tenant.id, 0)),
            providers=tuple(providers.get(tenant.id, ())),
            products=int(products.get(tenant.id, 0)),
            created_at=utc(tenant.created_at),
        )
        for tenant in tenants
    ]


_UNREADABLE: Final = "(cannot decrypt with the configured keys)"


async def describe_tenant(session: AsyncSession, vault: Vault, slug: str) -> dict[str, Any]:
    """Everything about a shop, JSON-ready, with every secret masked (``••••••1a2b``). Secrets that the configured
    keys cannot decrypt are reported under ``problems`` rather than failing."""
    tenant = await require_tenant(session, slug)
    repo = TenantRepository(session)
    problems: list[str] = []
    try:
        token = decrypt_bot_token(vault, tenant)
        bot_token, bot_id = mask_secret(token), _bot_id(token)
    except VaultError:
        bot_token, bot_id = _UNREADABLE, None
        problems.append("the bot token cannot be decrypted with the configured keys")
    try:
        webhook_secret = mask_secret(decrypt_webhook_secret(vault, tenant))
    except VaultError:
        webhook_secret = _UNREADABLE
        problems.append("the webhook secret cannot be decrypted with the configured keys")

    providers: list[dict[str, Any]] = []
    for config in await repo.provider_configs(tenant.id, enabled_only=False):
        entry: dict[str, Any] = {
            "provider": config.provider,
            "enabled": config.enabled,
            "options": dict(config.options or {}),
            "secrets": {},
            "updated_at": utc(config.updated_at).isoformat(timespec="seconds"),
        }
        try:
            values = decrypt_provider_secrets(vault, config)
        except VaultError:
            problems.append(f"the {config.provider} secrets cannot be decrypted with the configured keys")
            entry["secrets"] = {"*": _UNREADABLE}
        else:
            entry["secrets"] = {key: mask_secret(values[key]) for key in sorted(values)}
            if config.provider == "paystack" and "secret_key" in values:
                entry["key_mode"] = _paystack_mode(values["secret_key"])
        providers.append(entry)

    products = await session.execute(
        select(func.count(), func.count(func.distinct(Product.category))).where(
            Product.tenant_id == tenant.id, Product.active.is_(True)
        )
    )
    product_count, category_count = products.one()
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "currency": tenant.currency,
        "region": tenant.region,
        "bot_id": bot_id,
        "bot_username": tenant.bot_username,
        "bot_token": bot_token,
        "webhook_secret": webhook_secret,
        "test_mode": tenant.test_mode,
        "payment_timeout_minutes": tenant.payment_timeout_minutes,
        "alert_chat_id": tenant.alert_chat_id,
        "admins": await repo.admin_ids(tenant.id),
        "providers": providers,
        "products": int(product_count or 0),
        "categories": int(category_count or 0),
        "created_at": utc(tenant.created_at).isoformat(timespec="seconds"),
        "problems": problems,
    }


# --- payment providers ---------------------------------------------------------------------------------------------


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
        ),
        # A shop's own sandbox app, for test mode; without them test mode uses Daraja's public sandbox values.
        optional_secrets=("test_consumer_key", "test_consumer_secret", "test_passkey"),
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


def _paystack_mode(secret_key: str) -> str:
    if secret_key.startswith("sk_test_"):
        return "test"
    if secret_key.startswith("sk_live_"):
        return "live"
    return "unknown"


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


def _check_addresses(provider: str, key: str, text: str) -> str:
    """Comma-separated IP addresses, or ``safaricom`` for Safaricom's published callback addresses."""
    parts = [part.strip().lower() for part in text.split(",") if part.strip()]
    try:
        cleaned = [part if part == "safaricom" else str(ipaddress.ip_address(part)) for part in parts]
    except ValueError:
        raise ShopError(f"{provider} {key} is a comma-separated list of IP addresses (or: safaricom)") from None
    if not cleaned:
        raise ShopError(f"{provider} {key} is empty")
    return ",".join(cleaned)


def _clean_option(provider: str, key: str, value: Any) -> str:
    text = str(value).strip()
    if key in {"shortcode", "till"}:
        if not _SHORTCODE.fullmatch(text):
            raise ShopError(f"{provider} {key} must be a number of 5 to 8 digits")
    elif key == "base_url":
        text = _check_base_url(text)
    elif key == "c2b_version":
        text = text.lower()
        if text not in {"v1", "v2"}:
            raise ShopError("mpesa c2b_version must be v1 or v2")
    elif key in {"test_shortcode", "test_till"}:
        if not _SHORTCODE.fullmatch(text):
            raise ShopError(f"{provider} {key} must be a number of 5 to 8 digits")
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
    if provider == "paystack" and _paystack_mode(clean_secrets["secret_key"]) == "unknown":
        raise ShopError("a Paystack secret key starts with sk_test_ or sk_live_ (a public pk_ key does not work here)")
    if provider == "paystack" and _paystack_mode(clean_secrets.get("test_secret_key", "sk_test_")) != "test":
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
            details={"created": created, "options": clean_options, "secrets": sorted(clean_secrets)},
            at=now,
        )
    )
    try:
        await session.flush()
    except IntegrityError:
        raise ShopError(f"{provider} was configured for {slug!r} at the same time by someone else: try again") from None
    return config


# --- catalog -------------------------------------------------------------------------------------------------------

CATALOG_COLUMNS: Final = ("sku", "name", "price", "category", "description", "photo_url", "stock")
_REQUIRED_COLUMNS: Final = ("sku", "name", "price", "category")
SKU_MAX: Final = 64
CATEGORY_MAX: Final = 60
DESCRIPTION_MAX: Final = 1000  # Telegram photo captions hold 1024 characters, with the name and price
PHOTO_URL_MAX: Final = 2048
STOCK_MAX: Final = 2**31 - 1
PRICE_MAX_MINOR: Final = 10**12
PROBLEMS_SHOWN: Final = 10
_DIGITS: Final = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    categories: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(slots=True)
class _Row:
    line: int
    sku: str
    name: str
    price_minor: int
    category: str
    description: str
    photo_url: str | None
    stock: int | None


def _parse_row(values: dict[str, str], currency: str) -> tuple[_Row | None, list[str]]:
    reasons: list[str] = []
    sku = values.get("sku", "").strip()
    if not sku:
        reasons.append("sku is missing")
    elif len(sku) > SKU_MAX or any(ch.isspace() or not ch.isprintable() for ch in sku):
        reasons.append(f"sku must be at most {SKU_MAX} characters without spaces")
    name = values.get("name", "").strip()
    if not name:
        reasons.append("name is missing")
    elif len(name) > NAME_MAX:
        reasons.append(f"name is longer than {NAME_MAX} characters")

    price_minor = 0
    raw_price = values.get("price", "").strip()
    if not raw_price:
        reasons.append("price is missing")
    elif "e" in raw_price.lower():
        reasons.append(f"price {raw_price[:20]!r} is not an amount such as 1250 or 12.50")
    else:
        try:
            price_minor = Money.parse(raw_price, currency).minor
        except MoneyError as exc:
            reasons.append(f"price: {exc}")
        else:
            if price_minor <= 0:
                reasons.append(f"price must be more than 0 (got {raw_price[:20]})")
            elif price_minor > PRICE_MAX_MINOR:
                reasons.append("price is too large")

    category = values.get("category", "").strip()
    if not category:
        reasons.append("category is missing")
    elif len(category) > CATEGORY_MAX:
        reasons.append(f"category is longer than {CATEGORY_MAX} characters")

    description = values.get("description", "").strip()
    if len(description) > DESCRIPTION_MAX:
        reasons.append(f"description is longer than {DESCRIPTION_MAX} characters")

    photo_url: str | None = values.get("photo_url", "").strip() or None
    if photo_url is not None:
        parts = urlsplit(photo_url)
        if (
            parts.scheme != "https"
            or not parts.hostname
            or len(photo_url) > PHOTO_URL_MAX
            or any(ch.isspace() for ch in photo_url)
        ):
            reasons.append("photo_url must be empty or an https:// URL")

    stock: int | None = None
    raw_stock = values.get("stock", "").strip()
    if raw_stock:
        if not _DIGITS.fullmatch(raw_stock):
            reasons.append(f"stock {raw_stock[:20]!r} is not a whole number of 0 or more (leave it empty for no limit)")
        elif int(raw_stock) > STOCK_MAX:
            reasons.append("stock is too large")
        else:
            stock = int(raw_stock)

    if reasons:
        return None, reasons
    row = _Row(0, sku, name, price_minor, category, description, photo_url, stock)
    return row, []


def _parse_catalog(csv_text: str, currency: str) -> list[_Row]:
    text = csv_text.removeprefix("\ufeff")  # Excel's "CSV UTF-8" starts with a byte-order mark
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[str] = []
    rows: list[_Row] = []
    first_line_of: dict[str, int] = {}
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise ShopError("the catalog is empty: the first line names the columns " + ",".join(CATALOG_COLUMNS))
        columns = [cell.strip().lower() for cell in header]
        if len(columns) == 1 and ";" in columns[0]:
            raise ShopError("the catalog's columns are separated by ';': save it as comma-separated CSV")
        unknown = [column for column in columns if column not in CATALOG_COLUMNS]
        missing = [column for column in _REQUIRED_COLUMNS if column not in columns]
        doubled = sorted({column for column in columns if columns.count(column) > 1})
        if unknown or missing or doubled:
            details = []
            if unknown:
                details.append("unknown column(s) " + ", ".join(repr(c[:30]) for c in unknown))
            if missing:
                details.append("missing column(s) " + ", ".join(missing))
            if doubled:
                details.append("repeated column(s) " + ", ".join(doubled))
            raise ShopError(
                f"line {reader.line_num}: {'; '.join(details)} (the columns are {','.join(CATALOG_COLUMNS)})"
            )

        previous_line = reader.line_num
        for record in reader:
            line = previous_line + 1
            previous_line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(columns):
                problems.append(f"line {line}: more fields than columns (quote a field that holds a comma)")
                continue
            values = dict(zip(columns, record, strict=False))
            row, reasons = _parse_row(values, currency)
            if row is not None and row.sku in first_line_of:
                reasons = [f"sku {row.sku!r} is already on line {first_line_of[row.sku]}"]
                row = None
            if row is None:
                problems.append(f"line {line}: " + "; ".join(reasons))
                continue
            row.line = line
            first_line_of[row.sku] = line
            rows.append(row)
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: {exc}")

    if problems:
        shown = "; ".join(problems[:PROBLEMS_SHOWN])
        more = len(problems) - PROBLEMS_SHOWN
        suffix = f"; and {more} more" if more > 0 else ""
        count = f"{len(problems)} bad row" + ("s" if len(problems) != 1 else "")
        raise ShopError(f"catalog not imported, nothing written ({count}): {shown}{suffix}", problems)
    if not rows:
        raise ShopError("the catalog has no products: add one line per product under the column names")
    return rows


async def import_catalog(
    session: AsyncSession, slug: str, csv_text: str, *, now: datetime | None = None
) -> ImportReport:
    """Add or update a shop's products from CSV (``sku,name,price,category,description,photo_url,stock``; price in
    major units such as ``1250`` or ``12.50``, in the shop's currency). Products are matched by sku; products not in
    the file are left alone. All or nothing: any bad row refuses the whole file, naming each bad line."""
    tenant = await require_tenant(session, slug)
    rows = _parse_catalog(csv_text, tenant.currency)
    existing = {
        product.sku: product for product in await session.scalars(select(Product).where(Product.tenant_id == tenant.id))
    }
    created = updated = unchanged = 0
    for row in rows:
        wanted: dict[str, Any] = {
            "name": row.name,
            "price_minor": row.price_minor,
            "currency": tenant.currency,
            "category": row.category,
            "description": row.description,
            "photo_url": row.photo_url,
            "stock": row.stock,
            "active": True,
        }
        product = existing.get(row.sku)
        if product is None:
            session.add(Product(tenant_id=tenant.id, sku=row.sku, **wanted))
            created += 1
        elif any(getattr(product, key) != value for key, value in wanted.items()):
            for key, value in wanted.items():
                setattr(product, key, value)
            updated += 1
        else:
            unchanged += 1
    report = ImportReport(created, updated, unchanged, tuple(sorted({row.category for row in rows})))
    TenantRepository(session).audit(
        AuditEntry(
            tenant_id=tenant.id,
            actor_tg_id=None,
            action="catalog.import",
            target=slug,
            allowed=True,
            details={"rows": len(rows), "created": created, "updated": updated, "unchanged": unchanged},
            at=now or SystemClock().now(),
        )
    )
    try:
        await session.flush()
    except IntegrityError:
        raise ShopError(f"the catalog of {slug!r} was changed at the same time by someone else: try again") from None
    return report


# --- keys ----------------------------------------------------------------------------------------------------------


async def rotate_keys(session: AsyncSession, vault: Vault, *, now: datetime | None = None) -> int:
    """Re-encrypt every bot token, webhook secret and provider bundle under the vault's first key; the count of
    values re-encrypted. A value that no configured key opens refuses the whole rotation (nothing is changed)."""
    count = 0
    tenants = list(await session.scalars(select(Tenant).order_by(Tenant.id).with_for_update()))
    slugs = {tenant.id: tenant.slug for tenant in tenants}
    for tenant in tenants:
        try:
            tenant.bot_token_enc = vault.rotate(tenant.bot_token_enc)
            tenant.webhook_secret_enc = vault.rotate(tenant.webhook_secret_enc)
        except VaultError:
            raise ShopError(
                f"the secrets of shop {tenant.slug!r} cannot be decrypted with the configured keys: "
                "keep the old key in the list until the rotation has run; nothing was changed"
            ) from None
        count += 2
    configs = await session.scalars(
        select(ProviderConfig)
        .where(ProviderConfig.secrets_enc.is_not(None))
        .order_by(ProviderConfig.id)
        .with_for_update()
    )
    for config in configs:
        assert config.secrets_enc is not None
        try:
            config.secrets_enc = vault.rotate(config.secrets_enc)
        except VaultError:
            raise ShopError(
                f"the {config.provider} secrets of shop {slugs.get(config.tenant_id, '?')!r} cannot be decrypted "
                "with the configured keys: keep the old key in the list until the rotation has run; nothing was changed"
            ) from None
        count += 1
    TenantRepository(session).audit(
        AuditEntry(
            tenant_id=None,
            actor_tg_id=None,
            action="keys.rotate",
            target=None,
            allowed=True,
            details={"secrets": count, "shops": len(tenants)},
            at=now or SystemClock().now(),
        )
    )
    await session.flush()
    return count
