"""Every fiscal integration of this build, one line each (see :mod:`fiscal`). Importing it loads only the
declarations (``dukabot --help`` reads them)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from fiscal import etims
from fiscal.contract import FiscalEntry, FiscalKit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.fiscal_stamp import FiscalStamp
    from payments.jobs import JobHandler

ENTRIES: Final[Mapping[str, FiscalEntry]] = MappingProxyType({entry.name: entry for entry in (etims.ENTRY,)})
NAMES: Final = tuple(ENTRIES)


def job_handlers(kit: FiscalKit) -> dict[str, JobHandler]:
    """The payment-job handlers of every integration, by kind (for ``payments.jobs.JobWorker``)."""
    from payments.fiscal_hook import job_kind

    return {job_kind(name): entry.handler(kit) for name, entry in ENTRIES.items()}


class RegisteredStamps:
    """``core.fiscal_stamp.FiscalStamps`` of this build: the first integration that stamped the order."""

    async def for_order(self, session: AsyncSession, tenant_id: int, order_id: int) -> FiscalStamp | None:
        for entry in ENTRIES.values():
            found = await entry.stamps().for_order(session, tenant_id, order_id)
            if found is not None:
                return found
        return None


def settings_manifest(name: str) -> Path:
    """``settings.json`` in the integration's folder: its settings model as the command line needs it, written by
    ``python -m fiscal.registry`` (a test checks it is current) so that ``--help`` imports no pydantic."""
    return Path(sys.modules[ENTRIES[name].setup.__module__].__file__ or ".").parent / "settings.json"


def write_manifests() -> list[Path]:
    import json

    from payments.setup import cli_manifest

    written = []
    for name, entry in ENTRIES.items():
        path = settings_manifest(name)
        path.write_text(json.dumps(cli_manifest(entry.setup()), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_manifests():
        print(written_path)
