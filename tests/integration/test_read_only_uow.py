"""A read-only unit of work reads what is committed and cannot write, on SQLite and PostgreSQL; the connection it
used writes again afterwards (the pool hands the same connections to both kinds)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from core.clock import FakeClock
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.vault import Vault
from tests.support.seed import seed_shop


async def _tenant_count(database: Database) -> int:
    async with database.uow(read_only=True) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Tenant)) or 0)


async def test_a_read_only_unit_of_work_reads_committed_rows(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    seeded = await seed_shop(database, vault, clock)
    async with database.uow(read_only=True) as uow:
        tenant = await TenantRepository(uow.session).by_id(seeded.tenant_id)
    assert tenant is not None
    assert tenant.slug == seeded.slug  # loaded values stay readable after the unit of work


async def test_a_read_only_unit_of_work_cannot_write(database: Database, vault: Vault, clock: FakeClock) -> None:
    seeded = await seed_shop(database, vault, clock)
    before = await _tenant_count(database)
    with pytest.raises(DBAPIError) as refused:
        async with database.uow(read_only=True) as uow:
            forge = text("UPDATE tenants SET name = 'forged' WHERE id = :id")
            await uow.session.execute(forge, {"id": seeded.tenant_id})
            await uow.commit()
    assert "read" in str(refused.value.orig).lower()  # sqlite: "readonly database"; postgres: "read-only transaction"
    async with database.uow() as uow:  # and a writing unit of work after it writes as before
        tenant = await TenantRepository(uow.session).by_id(seeded.tenant_id)
        assert tenant is not None
        assert tenant.name != "forged"
        tenant.name = "Renamed"
        await uow.commit()
    async with database.uow(read_only=True) as uow:
        renamed = await TenantRepository(uow.session).by_id(seeded.tenant_id)
        assert renamed is not None
        assert renamed.name == "Renamed"
    assert await _tenant_count(database) == before
