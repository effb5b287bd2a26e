"""What the providers add to the server process, gathered from the registry: their shared objects, the handlers of
their payment-job kinds and their workers (each provider's ``ProviderEntry.process`` hook, in its folder).

The composition root (:mod:`webhooks.runtime`) builds a :class:`ProcessDeps` once and calls :func:`gather`; it names
no provider. A provider's parts are checked here so that two providers can never take each other's job kinds or
shared objects: each must be named ``<provider>.<what>``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from redis.asyncio import Redis

from core.clock import Clock
from core.db.engine import Database
from core.vault import Vault
from payments.base import ProcessParts, ProviderEntry, Worker
from payments.jobs import JobHandler
from payments.registry import ProviderRegistry


@dataclass(frozen=True, slots=True)
class ProcessDeps:
    """The :class:`payments.base.ProcessKit` the server hands every provider's ``process`` hook."""

    database: Database
    clock: Clock
    http: httpx.AsyncClient
    vault: Vault
    redis: Redis | None
    registry: ProviderRegistry


class ProcessPartsError(ValueError):
    """A provider's process parts are named outside its own name: a mistake of its folder, found at start-up."""


def gather(entries: Iterable[ProviderEntry], deps: ProcessDeps) -> ProcessParts:
    """Every provider's parts, together. Raises :class:`ProcessPartsError` on a name outside its provider."""
    shared: dict[str, Any] = {}
    jobs: dict[str, JobHandler] = {}
    workers: list[Worker] = []
    for entry in entries:
        if entry.process is None:
            continue
        parts = entry.process(deps)
        for what, names in (("shared object", parts.shared), ("job kind", parts.jobs)):
            foreign = sorted(name for name in names if not name.startswith(f"{entry.name}."))
            if foreign:
                raise ProcessPartsError(f"{entry.name}: a {what} is named {entry.name}.<what>, not {foreign[0]!r}")
        shared.update(parts.shared)
        jobs.update(parts.jobs)
        workers.extend(parts.workers)
    return ProcessParts(shared=shared, jobs=jobs, workers=tuple(workers))
