"""What the sandbox knows of every provider's simulator, whatever the provider: how to make one, how to reach it in
process (an ``httpx.MockTransport``) or over the network (its aiohttp application, served on this machine), how to
close it, and how to open the demo merchant account the playground's shop uses.

Each provider's package (``sandbox/<name>/``) describes its simulator with one
:class:`ProviderSimulator` in its ``entry.py``; ``sandbox/registry.py`` lists them by provider name.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import httpx
from aiohttp import web

from sandbox.serving import serving


class Simulator(Protocol):
    def mock_transport(self) -> httpx.MockTransport:
        """An httpx transport answering as the provider, whatever the host of the URL."""
        ...


S = TypeVar("S", bound=Simulator)


@dataclass(frozen=True)
class DemoAccount:
    """A merchant account opened on a simulator: the provider settings (``dukabot provider set``) that point a shop
    at it, all but the simulator's base URL, which is known only once it is served."""

    secrets: Mapping[str, str]
    options: Mapping[str, Any]

    def settings(self, base_url: str) -> tuple[dict[str, str], dict[str, Any]]:
        return dict(self.secrets), {**self.options, "base_url": base_url}


@dataclass(frozen=True)
class PlayCommand(Generic[S]):
    """The playground's ``:<provider> WORD``: the customer's side of the provider (what the phone answers, what the
    checkout page is given), played by a person at the terminal."""

    words: tuple[str, ...]  # what WORD may be, the default first
    help: str  # what it does, for the terminal's :help (one line)
    act: Callable[[S, str], Awaitable[str]]
    """Do it on the running simulator: ``(sim, word)``, with ``word`` one of :attr:`words`; what to print."""


@dataclass(frozen=True)
class ProviderSimulator(Generic[S]):
    """One provider's simulator, as the playground and the tests use it."""

    provider: str
    create: Callable[..., S]
    """Make a fresh simulator; keyword options are its constructor's (``clock=FakeClock(...)`` and the like)."""
    app: Callable[[S], web.Application]
    """The simulator as a real aiohttp application; its cleanup closes the simulator."""
    close: Callable[[S], Awaitable[None]]
    """Cancel what the simulator still has to deliver (callbacks, webhooks) and close its clients."""
    open_demo_account: Callable[[S, str, str], DemoAccount]
    """Make the playground's merchant known to the simulator: ``(sim, shop_url, slug)``, where ``shop_url`` is the
    base URL of the shop's server and ``slug`` the demo shop's (for a provider whose webhook URL is registered with
    the account rather than sent with each payment)."""
    demo_options: Mapping[str, Any] = field(default_factory=dict)
    """Options of ``create`` for the playground, where a person, not a test, waits for the provider."""
    play: PlayCommand[S] | None = None
    """The playground's terminal command for the customer's side, if the provider needs one."""

    def transport(self, sim: S) -> httpx.MockTransport:
        return sim.mock_transport()

    @asynccontextmanager
    async def serve(self, sim: S, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Run ``sim`` on ``host:port`` (0: a free port) for the length of a block, yielding ``http://host:port``;
        the simulator is closed when the block ends."""
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError("a simulator listens on this machine only")
        async with serving(self.app(sim), host=host, port=port) as url:
            yield url
