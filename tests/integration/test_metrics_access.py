"""Who may read /metrics, through the real server listening on every interface: with DUKABOT_METRICS_TOKEN only a
scrape with that bearer token, from anywhere; without it only this machine, not through a proxy (issue 12, item 12).

"Elsewhere" is this machine's own network address: the server sees a peer that is not loopback, as it sees a
Prometheus on another host (or, in a container, on the host)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from core.clock import FakeClock
from core.db.engine import Database
from core.settings import Settings
from tests.support.app import VAULT_KEY
from webhooks.app import build_app
from webhooks.runtime import build_runtime

TOKEN = "mt-7c1f0b9e2d4a6f8e3b5d7c9a1e3f5b7d"
LOCAL_ONLY = "/metrics answers only on this machine: set DUKABOT_METRICS_TOKEN to scrape it from elsewhere"
NEEDS_BEARER = "/metrics needs the header Authorization: Bearer DUKABOT_METRICS_TOKEN"

Scrape = Callable[..., Coroutine[Any, Any, tuple[int, str, dict[str, str]]]]


def network_address() -> str:
    """This machine's address on its network (the one its default route leaves from); no packet is sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # TEST-NET-2: only the route is looked up
            address = str(probe.getsockname()[0])
        except OSError:
            address = ""
    if not address or address.startswith("127."):
        pytest.skip("this machine has no network address besides loopback")
    return address


@asynccontextmanager
async def metrics_server(database: Database, tmp_path: Path, token: str | None) -> AsyncIterator[Scrape]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        database_url=database.url,
        secret_keys=VAULT_KEY,
        telegram_api="http://127.0.0.1:9",
        metrics_token=token,
    )
    runtime = build_runtime(settings, clock=FakeClock())
    server = TestServer(build_app(runtime, workers=False), host="0.0.0.0")  # noqa: S104 (reached from "elsewhere")
    await server.start_server()

    async def scrape(host: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
        url = f"http://{host}:{server.port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers or {}) as response:
            return response.status, await response.text(), dict(response.headers)

    try:
        yield scrape
    finally:
        await server.close()
        await runtime.close()


async def test_without_a_token_only_this_machine_reads_the_metrics(database: Database, tmp_path: Path) -> None:
    elsewhere = network_address()
    async with metrics_server(database, tmp_path, token=None) as scrape:
        status, body, _ = await scrape("127.0.0.1")
        assert status == 200
        assert "dukabot_outbox_depth 0.0" in body

        assert (await scrape(elsewhere))[:2] == (403, LOCAL_ONLY)
        # A reverse proxy on this machine connects from loopback, and says so.
        proxied = await scrape("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"})
        assert proxied[:2] == (403, LOCAL_ONLY)
        assert (await scrape("127.0.0.1", {"Forwarded": "for=203.0.113.9"}))[:2] == (403, LOCAL_ONLY)


async def test_with_a_token_every_scrape_needs_it(database: Database, tmp_path: Path) -> None:
    elsewhere = network_address()
    async with metrics_server(database, tmp_path, token=TOKEN) as scrape:
        status, body, _ = await scrape(elsewhere, {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200
        assert "dukabot_outbox_depth 0.0" in body
        assert (await scrape(elsewhere, {"Authorization": f"bearer {TOKEN}"}))[0] == 200  # the scheme's case is free

        for refused in (
            {},
            {"Authorization": "Bearer mt-wrong"},
            {"Authorization": f"Bearer {TOKEN[:-1]}"},  # a prefix of the token
            {"Authorization": f"Bearer {TOKEN}0"},  # the token and more
            {"Authorization": f"Basic {TOKEN}"},  # the token, but not as a bearer
            {"Authorization": "Bearer "},
        ):
            status, body, headers = await scrape(elsewhere, refused)
            assert (status, body) == (401, NEEDS_BEARER), refused
            assert headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
        # This machine needs it too once it is set: one rule, whoever asks.
        assert (await scrape("127.0.0.1"))[:2] == (401, NEEDS_BEARER)
        assert (await scrape("127.0.0.1", {"Authorization": f"Bearer {TOKEN}"}))[0] == 200


async def test_an_empty_token_setting_opens_nothing(database: Database, tmp_path: Path) -> None:
    elsewhere = network_address()
    async with metrics_server(database, tmp_path, token="") as scrape:
        assert (await scrape(elsewhere, {"Authorization": "Bearer "}))[:2] == (403, LOCAL_ONLY)
        assert (await scrape("127.0.0.1"))[0] == 200
