"""The simulator as a real aiohttp server (end-to-end tests, the offline playground).

Daraja's own paths answer exactly as :meth:`DarajaSimulator.handle` does. A few control routes under ``/_sim/``
let a playground page or a test drive it from outside the process:

* ``GET  /_sim/state``: pushes, their outcomes and the callbacks delivered (with our server's status codes);
* ``POST /_sim/outcome``: ``{"phone": "2547...", "result_code": 1032}`` (or ``"hold": true``, or
  ``"result_code": null`` to go back to the default) scripts how pushes to that phone end;
* ``POST /_sim/stk/{checkout_request_id}/complete``: ``{"result_code": 0}`` decides a held push;
* ``POST /_sim/c2b/pay``: ``{"shortcode", "bill_ref", "amount", "msisdn", "msisdn_format"}`` pays by Paybill.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, get_args

from aiohttp import web

from sandbox.mpesa.models import PhoneFormat, SimOutcome, StkTransaction
from sandbox.mpesa.simulator import SANDBOX_MSISDN, DarajaSimulator

SIMULATOR = web.AppKey("daraja_simulator", DarajaSimulator)


def build_app(sim: DarajaSimulator, *, close_simulator: bool = True) -> web.Application:
    """An aiohttp application serving ``sim``; with ``close_simulator`` its cleanup closes the simulator."""
    app = web.Application()
    app[SIMULATOR] = sim
    app.router.add_get("/_sim/state", _state)
    app.router.add_post("/_sim/outcome", _outcome)
    app.router.add_post("/_sim/stk/{checkout}/complete", _complete)
    app.router.add_post("/_sim/c2b/pay", _c2b_pay)
    app.router.add_route("*", "/{tail:.*}", _daraja)
    if close_simulator:

        async def close(_: web.Application) -> None:
            await sim.aclose()

        app.on_cleanup.append(close)
    return app


async def _daraja(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    body = await request.read()
    answer = await sim.handle(
        request.method, request.path, dict(request.query), {str(k): v for k, v in request.headers.items()}, body
    )
    return web.Response(status=answer.status, body=answer.content, content_type="application/json")


def _txn(txn: StkTransaction) -> dict[str, Any]:
    return {
        "checkout_request_id": txn.checkout_request_id,
        "phone": txn.phone,
        "amount": txn.amount,
        "account_reference": txn.account_reference,
        "pending": txn.pending,
        "result_code": None if txn.outcome is None else txn.outcome.code,
        "receipt": txn.receipt,
        "callback_status": None if txn.callback is None else txn.callback.status,
    }


async def _state(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    return web.json_response(
        {
            "transactions": [_txn(t) for t in sim.transactions.values()],
            "callbacks": [
                {"kind": c.kind, "url": c.url, "ref": c.ref, "status": c.status, "error": c.error}
                for c in sim.callbacks
            ],
        }
    )


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body must be a JSON object") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data


def _outcome_of(data: dict[str, Any]) -> SimOutcome:
    if data.get("hold"):
        return SimOutcome(hold=True)
    return SimOutcome(
        data.get("result_code", 0), data.get("result_desc"), send_callback=bool(data.get("send_callback", True))
    )


async def _outcome(request: web.Request) -> web.Response:
    sim, data = request.app[SIMULATOR], await _json(request)
    phone = str(data.get("phone", ""))
    sim.set_outcome(phone, None if data.get("result_code", 0) is None else _outcome_of(data))
    return web.json_response({"phone": phone})


async def _complete(request: web.Request) -> web.Response:
    sim, data = request.app[SIMULATOR], await _json(request)
    checkout = request.match_info["checkout"]
    txn = sim.transactions.get(checkout)
    if txn is None:
        raise web.HTTPNotFound(text=f"no push {checkout}")
    if not txn.pending:
        raise web.HTTPConflict(text=f"{checkout} already ended")
    outcome = _outcome_of(data)
    if outcome.hold:
        raise web.HTTPBadRequest(text="complete needs a result_code, not hold")
    record = await sim.complete(checkout, outcome)
    return web.json_response({"transaction": _txn(txn), "delivered": bool(record and record.delivered)})


async def _c2b_pay(request: web.Request) -> web.Response:
    sim, data = request.app[SIMULATOR], await _json(request)
    shortcode = str(data.get("shortcode", ""))
    if shortcode not in sim.shortcodes:
        raise web.HTTPNotFound(text=f"no shortcode {shortcode}")
    amount, msisdn_format = data.get("amount", 1), data.get("msisdn_format", "hashed")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
        raise web.HTTPBadRequest(text="amount must be a whole number of shillings")
    if msisdn_format not in get_args(PhoneFormat):
        raise web.HTTPBadRequest(text=f"msisdn_format must be one of {get_args(PhoneFormat)}")
    result = await sim.c2b_pay(
        shortcode,
        str(data.get("bill_ref", "")),
        amount,
        str(data.get("msisdn", SANDBOX_MSISDN)),
        msisdn_format=msisdn_format,
    )
    confirmation = result.confirmation
    return web.json_response(
        {
            "trans_id": result.trans_id,
            "accepted": result.accepted,
            "result_code": result.result_code,
            "confirmation_status": None if confirmation is None else confirmation.status,
        }
    )


class SimulatorServer:
    """Serve a simulator on ``host:port`` (default 127.0.0.1 and a free port) for the length of a block::

    async with SimulatorServer(sim) as server:
        client = DarajaClient(http, base_url=server.url, ...)
    """

    def __init__(self, sim: DarajaSimulator, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        self._runner = web.AppRunner(build_app(self.sim))
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.url

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
