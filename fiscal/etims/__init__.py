"""KRA eTIMS through OSCU (the Online Sales Control Unit): every sale of a Kenyan VAT-registered shop signed by KRA,
every refund a credit note. Only the declaration and loaders here (see :mod:`fiscal`); facts and their sources in
SOURCES.md."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fiscal.contract import FiscalEntry, FiscalKit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.db.tables import Tenant
    from core.fiscal_stamp import FiscalStamps
    from payments.jobs import JobHandler


def _setup() -> type[Any]:
    from fiscal.etims.settings import EtimsSetup

    return EtimsSetup


def _handler(kit: FiscalKit) -> JobHandler:
    from fiscal.etims.jobs import EtimsJobs

    return EtimsJobs(kit)


async def _check(kit: FiscalKit, session: AsyncSession, tenant: Tenant) -> str:
    from fiscal.etims.stamps import check

    return await check(kit, session, tenant)


def _stamps() -> FiscalStamps:
    from fiscal.etims.stamps import EtimsStamps

    return EtimsStamps()


ENTRY = FiscalEntry("etims", "KRA eTIMS", setup=_setup, handler=_handler, check=_check, stamps=_stamps)
