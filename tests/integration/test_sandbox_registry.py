"""The sandbox registry: a provider's simulator found by name answers the same in process (its httpx transport) and
as a real server (its aiohttp app), so a test may use either and the playground the second."""

from __future__ import annotations

import httpx
import pytest

from sandbox.registry import SIMULATORS
from tests.support.simulators import in_process, served

# A request no provider accepts: no credentials, a path of no API.
STRAY = ("POST", "/no/such/endpoint", b'{"amount": 100}')
# Daraja puts a random request id in every error: seeded, two simulators draw the same one.
SAME_IDS = {"mpesa": {"seed": 7}}


async def answer(http: httpx.AsyncClient, base_url: str) -> tuple[int, str]:
    method, path, body = STRAY
    response = await http.request(method, base_url + path, content=body, headers={"Content-Type": "application/json"})
    return response.status_code, response.text


@pytest.mark.parametrize("provider", sorted(SIMULATORS))
async def test_served_and_in_process_the_simulator_answers_alike(provider: str) -> None:
    options = SAME_IDS.get(provider, {})
    async with served(provider, **options) as (_, url), httpx.AsyncClient() as network:
        over_the_network = await answer(network, url)
    async with in_process(provider, **options) as (_, http):
        in_memory = await answer(http, "http://simulator.invalid")

    assert over_the_network == in_memory
    assert 400 <= in_memory[0] < 500, in_memory


@pytest.mark.parametrize("provider", sorted(SIMULATORS))
async def test_the_demo_account_points_the_shop_at_the_served_simulator(provider: str) -> None:
    entry = SIMULATORS[provider]
    sim = entry.create()
    account = entry.open_demo_account(sim, "http://127.0.0.1:8080", "demo")
    async with entry.serve(sim) as url:
        secrets, options = account.settings(url)

    assert options["base_url"] == url
    assert url.startswith("http://127.0.0.1:")
    assert secrets and all(secrets.values())
