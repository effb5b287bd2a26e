"""The routes a provider answers (callbacks, webhooks, a return page), declared free of any web framework.

A provider's folder lists its :class:`InboundRoute` values (``payments/<name>/routes.py``, loaded through the
``routes`` hook of its :class:`~payments.base.ProviderEntry`); ``webhooks/`` mounts whatever the registry lists,
reads each body bounded by the route's limit, hands the handler an :class:`InboundRequest` and an
:class:`InboundContext`, and turns its :class:`InboundResponse` into the HTTP answer. So the web server names no
provider, and a provider's answers (a result-code JSON, bare statuses) stay in its folder.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from payments.base import Callback

if TYPE_CHECKING:  # types only: importing this module loads no database layer
    from core.clock import Clock
    from core.db.engine import Database
    from core.vault import Vault
    from payments.ingest import Check, Ingest
    from payments.registry import ProviderRegistry

DEFAULT_MAX_BODY = 1024 * 1024  # provider callbacks are small; a route that expects less says so


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """One request as a handler sees it: the raw body (signatures are over those exact bytes), headers with
    lower-cased names, the path's parameters, the query string and the caller's address."""

    body: bytes
    headers: Mapping[str, str]
    path_params: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)
    remote_ip: str | None = None

    def callback(self, path_params: Mapping[str, str] | None = None) -> Callback:
        """The request as a provider's parser takes it, with other path parameters when given."""
        params = self.path_params if path_params is None else path_params
        return Callback(self.body, self.headers, params, self.remote_ip)


@dataclass(frozen=True, slots=True)
class InboundResponse:
    """The answer: ``json`` (any JSON value), else ``text``, else ``html``, else an empty body.

    ``changed``: something was committed that may owe messages, so the outbox relay is woken. ``outcome``: the label
    of the callback counter (None: the request is not counted, as for a page a person opens)."""

    status: int = 200
    json: Any = None
    text: str | None = None
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    changed: bool = False
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class InboundContext:
    """What a route's handler may use of the running server."""

    database: Database
    registry: ProviderRegistry
    clock: Clock
    vault: Vault
    wake_jobs: Callable[[], None]  # a payment job was owed (the job worker runs it without waiting for its poll)
    # Runs a route's check of a request and commits the events it gives for the server to apply off the request
    # (``payments.ingest.Ingest.record``): how many were new, or the check's refusal. None: no applier is running,
    # so a route applies its events itself before answering.
    record: Callable[[Check[InboundResponse]], Awaitable[int | InboundResponse]] | None = None
    # The same inbox, for what it knows without the database: event keys known committed, and what a route's full
    # check found about a request it may see again (``Ingest.known``, ``recall``, ``remember``).
    inbox: Ingest | None = None


Handler = Callable[[InboundContext, InboundRequest], Awaitable[InboundResponse]]


@dataclass(frozen=True, slots=True)
class InboundRoute:
    """``path`` is an aiohttp-style pattern (``/pay/stk/{token}``); its parameters are screened by the server
    (short runs of letters, digits, ``-``, ``_``) before the handler runs. ``name`` is unique within the provider."""

    method: Literal["GET", "POST"]
    path: str
    name: str
    handler: Handler
    max_body_bytes: int = DEFAULT_MAX_BODY
