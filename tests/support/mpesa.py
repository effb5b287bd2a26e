"""An M-Pesa shop as most journey tests want it: the Daraja simulator served on 127.0.0.1 with one app, and a shop
whose M-Pesa points at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from admin import shops
from core.vault import Vault
from payments.mpesa.c2b import new_c2b_secret
from sandbox.mpesa.server import SimulatorServer
from sandbox.mpesa.simulator import SANDBOX_PASSKEY, DarajaSimulator
from tests.support.seed import Shop

APP_KEY, APP_SECRET = "app-key", "app-secret"


def mpesa_settings(base_url: str) -> dict[str, tuple[Mapping[str, str], Mapping[str, str]]]:
    """``ShopServer.add_shop(providers=...)`` for M-Pesa on the sandbox shortcode at ``base_url``. A live shop takes
    callbacks from Safaricom's addresses only; the simulator calls from this machine."""
    secrets = {"consumer_key": APP_KEY, "consumer_secret": APP_SECRET, "passkey": SANDBOX_PASSKEY}
    return {"mpesa": (secrets, {"shortcode": "174379", "base_url": base_url, "ip_allowlist": "127.0.0.1"})}


@asynccontextmanager
async def daraja(seed: int = 3) -> AsyncIterator[tuple[DarajaSimulator, str]]:
    """The Daraja simulator with our app registered, served for the length of a block: ``(simulator, base_url)``."""
    sim = DarajaSimulator(seed=seed)
    sim.add_app(APP_KEY, APP_SECRET)
    async with SimulatorServer(sim) as served:
        yield sim, served.url


__all__ = ["APP_KEY", "APP_SECRET", "Shop", "daraja", "mpesa_settings"]


async def c2b_secret(session: AsyncSession, vault: Vault, slug: str, now: datetime, *, rotate: bool = False) -> str:
    """The shop's C2B URL secret, made when missing (or rotated), as ``dukabot provider register-c2b`` makes it: a
    ``managed`` field of M-Pesa's settings, through the operator's generic :func:`admin.shops.managed_secret`."""
    return await shops.managed_secret(session, vault, slug, "mpesa", "c2b_secret", new_c2b_secret, now, rotate=rotate)
