"""The web server mounts every provider's routes from the registry and knows no provider by name (issue 13,
"Inbound endpoints"): each route is declared in the provider's folder (``payments/<name>/routes.py``), and the one
generic adapter (:mod:`webhooks.inbound`) bounds the body, answers as the provider says, wakes the relay and counts
the outcome under the provider's name."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.clock import FakeClock
from core.db.engine import Database
from core.settings import Settings
from payments.base import ProviderEntry, ProviderInfo, ProviderKind
from payments.inbound import InboundContext, InboundRequest, InboundResponse, InboundRoute
from payments.providers import ENTRIES
from tests.support.app import VAULT_KEY
from webhooks import inbound
from webhooks.app import build_app
from webhooks.runtime import Runtime, build_runtime

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_NAMES = re.compile(r"mpesa|m-pesa|paystack|daraja|flutterwave|stripe|paypal|feexpay|corefy", re.IGNORECASE)
# Still naming a provider, outside the inbound routes: the product's one-line description in ``dukabot --help``, and
# the composition root, which builds M-Pesa's payment jobs and shared token cache (the next piece of issue 13 lets a
# provider declare those too). Nothing that serves a request is among them.
NOT_YET_APART = frozenset({"cli.py", "runtime.py"})


def test_no_module_of_the_web_server_names_a_provider() -> None:
    named = {
        path.name: sorted({match.lower() for match in PROVIDER_NAMES.findall(path.read_text(encoding="utf-8"))})
        for path in sorted((ROOT / "webhooks").glob("*.py"))
        if path.name not in NOT_YET_APART
    }
    assert {name: words for name, words in named.items() if words} == {}
    assert all((ROOT / "webhooks" / name).is_file() for name in NOT_YET_APART)  # no stale exception


@asynccontextmanager
async def running(
    database: Database, tmp_path: Path, extra: dict[str, ProviderEntry]
) -> AsyncIterator[tuple[Runtime, web.Application, str]]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        database_url=database.url,
        secret_keys=VAULT_KEY,
        telegram_api="http://127.0.0.1:9",
    )
    runtime = build_runtime(settings, clock=FakeClock())
    app = build_app(runtime, workers=False)
    inbound.mount(app, extra)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield runtime, app, f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()
        await runtime.close()


def _mounted(app: web.Application) -> dict[str, tuple[set[str], str]]:
    found: dict[str, tuple[set[str], str]] = {}
    for resource in app.router.resources():
        if resource.name is not None:
            found[resource.name] = ({route.method for route in resource}, resource.canonical)
    return found


async def test_every_registered_providers_declared_routes_are_mounted(database: Database, tmp_path: Path) -> None:
    async with running(database, tmp_path, {}) as (_, app, _):
        mounted = _mounted(app)
    declared = {
        f"{name}.{route.name}": route
        for name, entry in ENTRIES.items()
        for route in (entry.routes() if entry.routes is not None else ())
    }
    expected = {"mpesa.stk", "mpesa.c2b_confirm", "paystack.webhook", "paystack.return_page", "stripe.webhook"}
    assert expected <= set(declared)
    for name, route in declared.items():
        methods, path = mounted[name]
        assert path == route.path
        assert methods == ({"GET", "HEAD"} if route.method == "GET" else {route.method})
    assert set(mounted) == set(declared)  # the providers' routes are all the named ones: no copy left behind


async def _echo(context: InboundContext, request: InboundRequest) -> InboundResponse:
    if request.query.get("page"):
        return InboundResponse(200, html=f"<p>{request.path_params['shop']}</p>", headers={"Cache-Control": "no-store"})
    said = {"body": request.body.decode(), "header": request.headers.get("x-demo"), "shop": request.path_params["shop"]}
    return InboundResponse(202, json=said, changed=True, outcome="echoed")


DEMO = ProviderEntry(
    ProviderInfo(name="demo", display_key="provider.demo", kind=ProviderKind.MANUAL_PROOF),
    setup=lambda: dict,
    routes=lambda: (
        InboundRoute("POST", "/pay/demo/{shop}", "echo", _echo, max_body_bytes=16),
        InboundRoute("GET", "/pay/demo/{shop}/page", "page", _echo),
    ),
)


async def test_a_declared_route_is_answered_as_its_provider_says(database: Database, tmp_path: Path) -> None:
    async with running(database, tmp_path, {"demo": DEMO}) as (runtime, _, base), aiohttp.ClientSession() as http:
        async with http.post(f"{base}/pay/demo/duka", data=b'{"a": 1}', headers={"X-Demo": "yes"}) as response:
            assert (response.status, await response.json()) == (
                202,
                {"body": '{"a": 1}', "header": "yes", "shop": "duka"},
            )
        async with http.post(f"{base}/pay/demo/duka", data=b"x" * 17) as response:
            assert (response.status, await response.text()) == (413, "body too large")
        async with http.post(f"{base}/pay/demo/du%00ka", data=b"{}") as response:
            assert response.status == 404  # the edge's path check, before the provider's handler
        async with http.get(f"{base}/pay/demo/duka/page?page=1") as response:
            assert (response.status, response.content_type, await response.text()) == (200, "text/html", "<p>duka</p>")
            assert response.headers["Cache-Control"] == "no-store"
        metrics = runtime.metrics.render().decode()
    assert 'dukabot_provider_callbacks_total{outcome="echoed",provider="demo"} 1.0' in metrics
    assert 'dukabot_provider_callbacks_total{outcome="too_large",provider="demo"} 1.0' in metrics
    assert 'dukabot_callback_seconds_count{provider="demo"} 1.0' in metrics  # the page is not a callback
