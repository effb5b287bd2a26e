"""Channels (``bot.channels``) for transport tests, by library name: built against an API base (the fake Telegram),
given bots by token rather than by tenant row, and closed without aiogram's TLS pause. The suites marked
``every_channel`` get the library from the ``telegram_library`` fixture (tests/conftest.py)."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot import channels
from bot.channel import Channel, ChannelKit
from core.db.engine import Database
from core.vault import Vault

KEY = "YOKMvaqZ3xJ0pN1C6tyYl1vX6mW0Tr0t9n8zk0SxQ2E="


def channel_at(library: str, api_base: str, database: Database | None = None) -> Channel:
    """The ``library``'s channel on ``api_base``. Without ``database`` it reads no tenant: give it bots with
    :func:`adopt`."""
    return channels.build(
        library, ChannelKit(database or Database("sqlite+aiosqlite:///:memory:"), Vault([KEY]), api_base)
    )


def adopt(channel: Channel, tenant_id: int, token: str) -> Any:
    """The channel's bot for ``tenant_id``, built from ``token`` (the library's own Bot object)."""
    return channel.bots.adopt(tenant_id, token)  # type: ignore[attr-defined]


def library_module(library: str, name: str) -> Any:
    """A module of the library's folder: ``library_module("ptb", "notifier")`` is ``bot.ptb.notifier``."""
    return importlib.import_module(f"bot.{library}.{name}")


async def close_quickly(channel: Channel) -> None:
    """``close``, but aiogram's session shut without its 250 ms pause for TLS (plain HTTP to localhost needs none)."""
    inner = getattr(getattr(channel, "_session", None), "_session", None)
    if inner is not None:
        await inner.close()
    await channel.close()


@asynccontextmanager
async def serving(
    library: str, api_base: str, *, token: str | None = None, tenant_id: int = 1, database: Database | None = None
) -> AsyncIterator[Channel]:
    """The ``library``'s channel on ``api_base`` for the block, with ``token``'s bot as ``tenant_id``'s when given
    (else the tenants' own, read from ``database``), closed quickly after."""
    built = channel_at(library, api_base, database)
    if token is not None:
        adopt(built, tenant_id, token)
    try:
        yield built
    finally:
        await close_quickly(built)
