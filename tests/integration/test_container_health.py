"""The image's health check (``python -m webhooks.healthcheck``, the Dockerfile's HEALTHCHECK) asks where clients reach
the server, so a server listening on loopback only is unhealthy, not green while unreachable (issue 12, item 12).

The real app on a real socket, and the check in its own process, as Docker runs it; this machine's network address
stands for the container's."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from core.clock import FakeClock
from core.db.engine import Database
from core.settings import Settings
from tests.integration.test_metrics_access import network_address
from tests.support.app import VAULT_KEY
from webhooks.app import build_app
from webhooks.runtime import build_runtime


async def health_check(port: int) -> tuple[int, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("DUKABOT_")}
    env["DUKABOT_PORT"] = str(port)
    check = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "webhooks.healthcheck", env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(check.communicate(), timeout=30)
    assert check.returncode is not None
    return check.returncode, out.decode()


@pytest.mark.parametrize(("host", "healthy"), [("0.0.0.0", True), ("127.0.0.1", False)])  # noqa: S104
async def test_the_health_check_fails_when_clients_cannot_reach_the_server(
    database: Database, tmp_path: Path, host: str, healthy: bool
) -> None:
    address = network_address()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        database_url=database.url,
        secret_keys=VAULT_KEY,
        telegram_api="http://127.0.0.1:9",
    )
    runtime = build_runtime(settings, clock=FakeClock())
    server = TestServer(build_app(runtime, workers=False), host=host)
    await server.start_server()
    port = server.port
    try:
        status, said = await health_check(port)
    finally:
        await server.close()
        await runtime.close()
    if healthy:
        assert (status, said) == (0, "")
    else:
        assert status == 1
        assert said.startswith(f"unhealthy: http://{address}:{port}/healthz: "), said
        assert said.count("\n") == 1
