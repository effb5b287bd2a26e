"""One line of the registry (:class:`ProviderEntry`): how a provider's parts are loaded, and what the operator CLI and
the server process hand them (:class:`OperatorKit`, :class:`ProcessKit`). Re-exported by :mod:`payments.base`."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

from payments.info import ProviderInfo

if TYPE_CHECKING:  # types only: importing this module loads no HTTP client and no database layer
    import asyncio

    import httpx
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.clock import Clock
    from core.db.engine import Database
    from core.db.tables import Tenant
    from core.vault import Vault
    from payments.chat import ChatStep, MerchantCommand
    from payments.evidence import EvidenceReader
    from payments.inbound import InboundRoute
    from payments.jobs import JobHandler
    from payments.notices import ProviderNotices
    from payments.registry import ProviderRegistry


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    """One line of the registry (:mod:`payments.providers`): what a provider is, and how to load its parts.

    The parts are loaded only when needed, so that listing providers (``dukabot --help``) imports no HTTP client
    and no pydantic: ``setup`` returns its settings model (a :class:`payments.setup.ProviderSetup`), ``factory`` its
    ``ProviderFactory`` (None: no provider object, as for manual payments), ``commands`` its own subcommands of
    ``dukabot provider`` (Click commands, given the :class:`OperatorKit`; their module imports only Click at the
    top, since ``dukabot --help`` lists them), ``routes`` the requests it answers (:mod:`payments.inbound`: its
    callbacks and pages, mounted by the web server), ``chat`` its step in the customer's conversation
    (:class:`payments.chat.ChatStep`: what it asks before the start, its buttons; None: the shop's own proof step,
    for a manual payment), ``process`` what it adds to the server process (its shared objects, payment-job handlers
    and workers: :class:`ProcessParts`, given the :class:`ProcessKit`)."""

    info: ProviderInfo
    setup: Callable[[], type[Any]]
    factory: Callable[[], Any] | None = None
    commands: Callable[[OperatorKit], Sequence[Any]] | None = None
    routes: Callable[[], Sequence[InboundRoute]] | None = None
    chat: Callable[[], ChatStep] | None = None
    process: Callable[[ProcessKit], ProcessParts] | None = None
    # What the merchant checks a payment against, read from the provider's payload (payments.evidence): its reader.
    evidence: Callable[[], EvidenceReader] | None = None
    # What the customer reads in the provider's own way (payments.notices.ProviderNotices): its receipt, the end of
    # an attempt, the buttons kept on the started message; None: the generic messages.
    notices: Callable[[], ProviderNotices] | None = None
    # Commands the shop's admins type in the chat (``/connect``), by name without the slash; the shop's own commands
    # come first. Like a chat step, a command makes no request to the provider (its routes and jobs do).
    merchant_commands: Callable[[], Mapping[str, MerchantCommand]] | None = None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def settings_manifest(self) -> Path:
        """``settings.json`` in the provider's folder: what the command line needs of its settings model, written
        from the model (``python -m payments.setup``) so that ``--help`` reads it without importing pydantic."""
        return Path(sys.modules[self.setup.__module__].__file__ or ".").parent / "settings.json"


class OperatorSession(Protocol):
    """One unit of work of an operator command (see :class:`OperatorKit`)."""

    session: AsyncSession

    async def tenant(self, slug: str) -> Tenant:
        """The shop, or the command refused with "no shop with slug ..."."""
        ...

    async def provider(self, tenant: Tenant, name: str, http: httpx.AsyncClient, callback_base: str) -> Any:
        """The shop's configured provider object (as the server builds it), or None."""
        ...

    async def managed_secret(
        self, slug: str, provider: str, field: str, make: Callable[[], str], *, rotate: bool
    ) -> str:
        """A secret the provider makes itself (a ``managed`` settings field): made when missing or rotated."""
        ...


class OperatorKit(Protocol):
    """What a provider's own ``dukabot provider`` commands use of the operator CLI. The CLI hands it to the
    provider's ``commands`` hook, so that a provider folder imports nothing from ``admin/``."""

    def refuse(self, message: str) -> NoReturn:
        """Stop the command: one line on stderr, exit status 1."""
        ...

    def done(self, message: str) -> None: ...

    def public_url(self, given: str | None) -> str | None:
        """``given`` or DUKABOT_PUBLIC_URL, without a trailing slash; None when neither is an http(s) URL."""
        ...

    def run(self, work: Callable[[OperatorSession], Awaitable[T]]) -> T:
        """Run ``work`` in one unit of work, committed when it returns; shop errors become one line."""
        ...


# --- What a provider adds to the server process (``ProviderEntry.process``) -----------------------------------------


class ProcessKit(Protocol):
    """What the server hands a provider's ``process`` hook, once, when it builds itself: the real objects every part
    of the process shares (the composition root, :mod:`webhooks.runtime`, builds them)."""

    @property
    def database(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def http(self) -> httpx.AsyncClient: ...

    @property
    def vault(self) -> Vault: ...

    @property
    def redis(self) -> Redis | None:
        """Shared state for several server processes (``DUKABOT_REDIS_URL``); None: this process is alone."""
        ...

    @property
    def registry(self) -> ProviderRegistry:
        """Builds a tenant's provider objects (for jobs that call the provider)."""
        ...


class Worker(Protocol):
    """A loop of a provider's own, started with the server and stopped with it."""

    @property
    def name(self) -> str: ...

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, then return (soon: the server waits a few seconds for it)."""
        ...


@dataclass(frozen=True, slots=True)
class ProcessParts:
    """A provider's process-wide parts: ``shared`` objects its provider objects find in ``ProviderDeps.shared``
    (a token cache, with its Redis store when there is one), the handlers of its payment-job kinds
    (:class:`payments.jobs.JobHandler`, each kind named ``<provider>.<job>``), and its own ``workers``."""

    shared: Mapping[str, Any] = field(default_factory=dict)
    jobs: Mapping[str, JobHandler] = field(default_factory=dict)
    workers: Sequence[Worker] = ()
