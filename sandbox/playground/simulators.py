"""The payment providers of the playground: every simulator of the sandbox registry as a real local server, the
demo shop's account on each, and the terminal commands that decide what the "customer's phone" or the "checkout
page" does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sandbox.contract import DemoAccount
from sandbox.registry import SIMULATORS


@dataclass(frozen=True)
class Running:
    sim: Any
    url: str
    account: DemoAccount


@dataclass
class PaymentSimulators:
    running: dict[str, Running]

    def provider_settings(self) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
        """(provider, secrets, options) for the demo shop, pointing at these simulators."""
        return [(provider, *each.account.settings(each.url)) for provider, each in self.running.items()]

    async def play(self, provider: str, word: str) -> str:
        """The terminal's ``:<provider> WORD``: the customer's side, which differs by provider (its simulator's
        :class:`~sandbox.contract.PlayCommand`)."""
        command = SIMULATORS[provider].play
        if command is None or provider not in self.running:
            return f"(:{provider} is no command of the playground)"
        if word not in command.words:
            return f"(:{provider} takes one of {', '.join(command.words)})"
        return await command.act(self.running[provider].sim, word)


def play_help() -> str:
    """The :help lines of the providers' own commands."""
    lines = []
    for provider, entry in SIMULATORS.items():
        if entry.play is not None:
            lines.append(f"  :{provider} WORD".ljust(21) + entry.play.help + ":")
            lines.append(" " * 21 + ", ".join(entry.play.words))
    return "\n".join(lines)


@asynccontextmanager
async def payment_simulators(
    shop_url: str, slug: str, options: Mapping[str, Mapping[str, Any]] | None = None
) -> AsyncIterator[PaymentSimulators]:
    """Every registered simulator on 127.0.0.1, with the demo shop ``slug`` (served at ``shop_url``) as its
    merchant. Each is closed when its server stops. ``options``: more keyword options of a provider's simulator
    (``{"mpesa": {"clock": ...}}``), over its playground defaults."""
    running: dict[str, Running] = {}
    async with AsyncExitStack() as stack:
        for provider, entry in SIMULATORS.items():
            sim = entry.create(**{**entry.demo_options, **(options or {}).get(provider, {})})
            account = entry.open_demo_account(sim, shop_url, slug)
            url = await stack.enter_async_context(entry.serve(sim))
            running[provider] = Running(sim, url, account)
        yield PaymentSimulators(running)
