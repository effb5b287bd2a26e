from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.config_version import stamp
from core.db.tables import AuditEntry, ProviderConfig, Tenant, TenantAdmin


class TenantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_slug(self, slug: str) -> Tenant | None:
        return await self.session.scalar(select(Tenant).where(Tenant.slug == slug))

    async def by_id(self, tenant_id: int) -> Tenant | None:
        return await self.session.get(Tenant, tenant_id)

    async def all(self) -> list[Tenant]:
        return list(await self.session.scalars(select(Tenant).order_by(Tenant.slug)))

    async def learn_bot_username(self, tenant_id: int, username: str) -> bool:
        """Remember the bot's username as Telegram gave it (getMe), for the t.me links the shop hands out (promo
        codes, return pages); whether it changed. Running servers read it with the tenant's next configuration."""
        moved = await self.session.execute(
            update(Tenant)
            .where(Tenant.id == tenant_id, Tenant.bot_username.is_distinct_from(username))
            .values(bot_username=username)
            .execution_options(synchronize_session=False)
        )
        if not getattr(moved, "rowcount", 0):
            return False
        await stamp(self.session, [tenant_id])
        return True

    async def admin_ids(self, tenant_id: int) -> list[int]:
        rows = await self.session.scalars(
            select(TenantAdmin.tg_user_id).where(TenantAdmin.tenant_id == tenant_id).order_by(TenantAdmin.id)
        )
        return list(rows)

    async def alert_chats(self, tenant: Tenant) -> list[int]:
        """Where merchant alerts go: the tenant's alert group when one is set, else every admin's private chat."""
        if tenant.alert_chat_id is not None:
            return [tenant.alert_chat_id]
        return await self.admin_ids(tenant.id)

    async def alert_readers(self, tenant: Tenant) -> list[tuple[int, str]]:
        """``alert_chats`` with the language each reads: an admin's own (/adminlanguage), else the shop's; the
        alert group's is the shop's."""
        if tenant.alert_chat_id is not None:
            return [(tenant.alert_chat_id, tenant.language)]
        rows = await self.session.execute(
            select(TenantAdmin.tg_user_id, TenantAdmin.language)
            .where(TenantAdmin.tenant_id == tenant.id)
            .order_by(TenantAdmin.id)
        )
        return [(chat_id, language or tenant.language) for chat_id, language in rows.all()]

    async def is_admin(self, tenant_id: int, tg_user_id: int) -> bool:
        found = await self.session.scalar(
            select(TenantAdmin.id).where(TenantAdmin.tenant_id == tenant_id, TenantAdmin.tg_user_id == tg_user_id)
        )
        return found is not None

    async def admin_language(self, tenant_id: int, tg_user_id: int) -> str | None:
        """The language this admin chose for the merchant's side (/adminlanguage); None: not chosen (or no admin)."""
        found: str | None = await self.session.scalar(
            select(TenantAdmin.language).where(TenantAdmin.tenant_id == tenant_id, TenantAdmin.tg_user_id == tg_user_id)
        )
        return found

    async def set_admin_language(self, tenant_id: int, tg_user_id: int, language: str) -> bool:
        result = await self.session.execute(
            update(TenantAdmin)
            .where(TenantAdmin.tenant_id == tenant_id, TenantAdmin.tg_user_id == tg_user_id)
            .values(language=language)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def lock_admins(self, tenant_id: int) -> None:
        """Hold the tenant's row until the transaction ends, so changes to its admins happen one at a time.
        (PostgreSQL: a row lock; SQLite's write transactions are one at a time already.)"""
        await self.session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())

    async def remove_admin(self, tenant_id: int, tg_user_id: int) -> bool:
        result = await self.session.execute(
            delete(TenantAdmin).where(TenantAdmin.tenant_id == tenant_id, TenantAdmin.tg_user_id == tg_user_id)
        )
        return bool(getattr(result, "rowcount", 0))

    async def count_admins(self, tenant_id: int) -> int:
        count = await self.session.scalar(
            select(func.count()).select_from(TenantAdmin).where(TenantAdmin.tenant_id == tenant_id)
        )
        return int(count or 0)

    async def provider_configs(self, tenant_id: int, *, enabled_only: bool = True) -> list[ProviderConfig]:
        query = select(ProviderConfig).where(ProviderConfig.tenant_id == tenant_id)
        if enabled_only:
            query = query.where(ProviderConfig.enabled.is_(True))
        return list(await self.session.scalars(query.order_by(ProviderConfig.id)))

    async def provider_config(self, tenant_id: int, provider: str) -> ProviderConfig | None:
        return await self.session.scalar(
            select(ProviderConfig).where(ProviderConfig.tenant_id == tenant_id, ProviderConfig.provider == provider)
        )

    def audit(self, entry: AuditEntry) -> None:
        self.session.add(entry)
