"""What a fiscal integration declares (:class:`FiscalEntry`) and what the process hands it (:class:`FiscalKit`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.clock import Clock
    from core.db.engine import Database
    from core.db.tables import Tenant
    from core.fiscal_stamp import FiscalStamps
    from core.vault import Vault
    from payments.jobs import JobHandler


@dataclass(frozen=True, slots=True)
class FiscalKit:
    """The process's shared objects, built by the composition root (``webhooks.runtime``)."""

    database: Database
    clock: Clock
    http: httpx.AsyncClient
    vault: Vault


@dataclass(frozen=True, slots=True)
class FiscalEntry:
    """One line of :mod:`fiscal.registry`. ``setup``: its settings model (a ``payments.setup.ProviderSetup``, so
    ``dukabot fiscal set`` reads and stores it as ``provider set`` does); ``handler``: the job handler of its kind
    ``fiscal.<name>``; ``check``: one line for ``dukabot doctor`` (raises with the reason when it fails);
    ``stamps``: what its documents print on a receipt."""

    name: str
    label: str  # as printed and told to the operator: "KRA eTIMS"
    setup: Callable[[], type[Any]]
    handler: Callable[[FiscalKit], JobHandler]
    check: Callable[[FiscalKit, AsyncSession, Tenant], Awaitable[str]]
    stamps: Callable[[], FiscalStamps]
