"""Creating a shop, finding one by slug, and reading its own secrets (bot token, webhook secret)."""

from __future__ import annotations

import re
import secrets as secrets_module
from datetime import datetime
from typing import Final

import phonenumbers
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from admin.shops.errors import ShopError
from core.db.repos.tenants import TenantRepository
from core.db.tables import AuditEntry, Tenant, TenantAdmin
from core.money import MoneyError, exponent
from core.texts import LANGUAGES
from core.vault import Vault, VaultError

__all__ = [
    "NAME_MAX",
    "bot_id_of",
    "check_currency",
    "check_name",
    "check_region",
    "create_tenant",
    "decrypt_bot_token",
    "decrypt_webhook_secret",
    "require_tenant",
    "set_bot_token",
]

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


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ShopError("the shop needs a name")
    if len(name) > NAME_MAX:
        raise ShopError(f"the shop name is longer than {NAME_MAX} characters")
    return name


def check_currency(currency: str) -> str:
    currency = currency.strip().upper()
    try:
        exponent(currency)
    except MoneyError:
        raise ShopError(f"unsupported currency {currency[:10]!r}") from None
    return currency


def check_region(region: str) -> str:
    region = region.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ShopError(f"unknown region {region[:10]!r}: use a two-letter country code such as KE, NG, GH, ZA")
    return region


def bot_id_of(token: str) -> str:
    return token.split(":", 1)[0]


def check_language(language: str) -> str:
    """A language dukabot speaks (``en``, ``sw``, ``fr``): what customers read when it does not speak theirs."""
    code = language.strip().lower()
    if code not in LANGUAGES:
        raise ShopError(f"unknown language {language[:20]!r}: use one of {', '.join(LANGUAGES)}")
    return code


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
    language: str = "en",
    now: datetime,
) -> Tenant:
    """Create a shop: its encrypted bot token, a fresh encrypted webhook secret, and its admins (Telegram user ids)."""
    slug = _check_slug(slug)
    name = check_name(name)
    token = _check_bot_token(bot_token)
    currency = check_currency(currency)
    region = check_region(region)
    language = check_language(language)
    admin_ids: list[int] = []
    for admin in admins:
        if isinstance(admin, bool) or not isinstance(admin, int) or not 0 < admin <= TG_ID_MAX:
            raise ShopError(f"bad admin id {admin!r}: a Telegram user id is a positive whole number")
        if admin not in admin_ids:
            admin_ids.append(admin)

    repo = TenantRepository(session)
    if await repo.by_slug(slug) is not None:
        raise ShopError(f"a shop with slug {slug!r} already exists")
    await _refuse_bot_of_another_shop(repo, vault, token, slug)

    tenant = Tenant(
        slug=slug,
        name=name,
        currency=currency,
        region=region,
        language=language,
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
            details={"name": name, "currency": currency, "region": region, "language": language, "admins": admin_ids},
            at=now,
        )
    )
    await session.flush()
    return tenant


async def _refuse_bot_of_another_shop(repo: TenantRepository, vault: Vault, token: str, slug: str) -> None:
    for other in await repo.all():
        if other.slug == slug:
            continue
        try:
            other_token = vault.decrypt(other.bot_token_enc)
        except VaultError:
            continue  # `keys rotate` and `tenant show` report unreadable secrets; they do not block a shop's bot
        if bot_id_of(other_token) == bot_id_of(token):
            raise ShopError(f"this bot already serves shop {other.slug!r}: each shop needs its own bot")


async def set_bot_token(session: AsyncSession, vault: Vault, slug: str, bot_token: str, *, now: datetime) -> bool:
    """Give the shop a new bot token (a revoked one replaced at @BotFather, or another bot). A bot disabled because
    Telegram refused its token is enabled again: the pollers pick it up. True when it had been disabled."""
    tenant = await require_tenant(session, slug)
    token = _check_bot_token(bot_token)
    repo = TenantRepository(session)
    await _refuse_bot_of_another_shop(repo, vault, token, tenant.slug)
    was_disabled = tenant.bot_disabled_at is not None
    previous_bot = _bot_id_or_none(vault, tenant)
    tenant.bot_token_enc = vault.encrypt(token)
    tenant.bot_disabled_at = tenant.bot_disabled_reason = None
    if previous_bot != bot_id_of(token):
        tenant.bot_username = None  # another bot: its name is learnt again
    repo.audit(
        AuditEntry(
            tenant_id=tenant.id,
            actor_tg_id=None,
            action="tenant.bot_token",
            target=tenant.slug,
            allowed=True,
            # The bot's id is public (it is in every message the bot sends); the token is not.
            details={"bot_id": bot_id_of(token), "was_disabled": was_disabled},
            at=now,
        )
    )
    await session.flush()
    return was_disabled


def _bot_id_or_none(vault: Vault, tenant: Tenant) -> str | None:
    try:
        return bot_id_of(vault.decrypt(tenant.bot_token_enc))
    except VaultError:
        return None


def decrypt_bot_token(vault: Vault, tenant: Tenant) -> str:
    return vault.decrypt(tenant.bot_token_enc)


def decrypt_webhook_secret(vault: Vault, tenant: Tenant) -> str:
    return vault.decrypt(tenant.webhook_secret_enc)
