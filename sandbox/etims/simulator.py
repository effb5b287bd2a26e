"""A KRA OSCU that runs on this machine and answers in its wire format (as far as it is known:
``fiscal/etims/SOURCES.md``): ``resultCd`` "000" and ``data`` on success, KRA-style codes otherwise.

It knows devices by (PIN, branch, serial): ``POST /selectInitOsdcInfo`` issues a communication key once per device
(a second initialisation answers "902", as KRA's "already installed"), ``/saveItem`` registers items, and
``/saveTrnsSalesOsdc`` signs an invoice when the headers carry the key, the items are registered and ``invcNo`` is
new for the branch (a number seen before answers "924", ours). Taken down (:meth:`down`) it answers 503, or drops
the connection (``drop=True``); :meth:`refuse_next` makes the next sale answer a code of choice.

Run it in process (:meth:`EtimsSimulator.mock_transport`) or as a real server (:func:`build_app`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web


@dataclass
class Invoice:
    pin: str
    branch: str
    number: int
    receipt_type: str
    original: int
    total: float
    body: dict[str, Any]
    signature: str


@dataclass
class EtimsSimulator:
    sdc_id: str = "KRACU0100000001"
    keys: dict[tuple[str, str, str], str] = field(default_factory=dict)
    items: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    invoices: list[Invoice] = field(default_factory=list)
    sales_calls: int = 0  # every saveTrnsSalesOsdc received, answered or not
    _down: bool = False
    _drop: bool = False
    _refuse: list[tuple[str, str]] = field(default_factory=list)

    # --- driven by the tests and the playground -------------------------------------------------------------------

    def down(self, *, drop: bool = False) -> None:
        self._down, self._drop = True, drop

    def up(self) -> None:
        self._down = self._drop = False

    def refuse_next(self, code: str, message: str) -> None:
        self._refuse.append((code, message))

    def numbers(self, pin: str, branch: str = "00") -> list[int]:
        """The invoice numbers the branch received, in the order received."""
        return [invoice.number for invoice in self.invoices if (invoice.pin, invoice.branch) == (pin, branch)]

    # --- the wire --------------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        if self._down:
            return 503, {"resultCd": "999", "resultMsg": "Service Unavailable"}
        if method != "POST":
            return 405, _answer("910", "Request parameter error")
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return 200, _answer("910", "Request parameter error")
        if not isinstance(data, dict):
            return 200, _answer("910", "Request parameter error")
        pin, branch = headers.get("tin", ""), headers.get("bhfid", "")
        route = path.rsplit("/", 1)[-1]
        if route == "selectInitOsdcInfo":
            return 200, self._init(data)
        device = next((device for device, key in self.keys.items() if device[:2] == (pin, branch)), None)
        if device is None or headers.get("cmckey") != self.keys[device]:
            return 200, _answer("901", "It is not valid device")
        if route == "saveItem":
            code = str(data.get("itemCd") or "")
            if not code or not data.get("itemClsCd") or data.get("taxTyCd") not in ("A", "B", "C", "D", "E"):
                return 200, _answer("910", "Request parameter error")
            self.items.setdefault((pin, branch), set()).add(code)
            return 200, _answer("000", "It is succeeded")
        if route == "saveTrnsSalesOsdc":
            return 200, self._sale(pin, branch, data)
        return 404, _answer("910", "Request parameter error")

    def _init(self, data: dict[str, Any]) -> dict[str, Any]:
        device = (str(data.get("tin")), str(data.get("bhfId")), str(data.get("dvcSrlNo")))
        if not all(device) or not device[2]:
            return _answer("910", "Request parameter error")
        if device in self.keys:
            return _answer("902", "This device is installed")
        key = hashlib.sha256("/".join(device).encode()).hexdigest()[:32].upper()
        self.keys[device] = key
        return _answer(
            "000", "It is succeeded", {"info": {"cmcKey": key, "sdcId": self.sdc_id, "mrcNo": "WIS01000001"}}
        )

    def _sale(self, pin: str, branch: str, data: dict[str, Any]) -> dict[str, Any]:
        self.sales_calls += 1
        if self._refuse:
            code, message = self._refuse.pop(0)
            return _answer(code, message)
        number = data.get("invcNo")
        if not isinstance(number, int) or number in self.numbers(pin, branch):
            return _answer("924", "Invoice number already used")
        known = self.items.get((pin, branch), set())
        items = data.get("itemList") or []
        if not items or any(item.get("itemCd") not in known for item in items):
            return _answer("910", "Request parameter error")
        lines = round(sum(float(item.get("totAmt", 0)) for item in items), 2)
        if lines != round(float(data.get("totAmt", -1)), 2):
            return _answer("910", "Request parameter error")
        signature = hashlib.sha256(f"{pin}{branch}{number}".encode()).hexdigest()[:16].upper()
        self.invoices.append(
            Invoice(
                pin, branch, number, str(data.get("rcptTyCd")), int(data.get("orgInvcNo") or 0), lines, data, signature
            )
        )
        total = len(self.numbers(pin, branch))
        return _answer(
            "000",
            "It is succeeded",
            {
                "curRcptNo": str(total),
                "totRcptNo": str(total),
                "intrlData": hashlib.sha256(signature.encode()).hexdigest()[:26].upper(),
                "rcptSign": signature,
                "sdcDateTime": "20261205103000",
            },
        )

    def mock_transport(self) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            if self._drop:
                raise httpx.ConnectError("connection refused", request=request)
            headers = {name.lower(): value for name, value in request.headers.items()}
            status, body = self.handle(request.method, request.url.path, headers, request.content)
            return httpx.Response(status, json=body)

        return httpx.MockTransport(answer)


def _answer(code: str, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"resultCd": code, "resultMsg": message, "resultDt": "20261205103000", "data": data}


def build_app(sim: EtimsSimulator) -> web.Application:
    """The simulator as a real aiohttp application (``--base-url http://127.0.0.1:PORT``)."""
    app = web.Application()

    async def handle(request: web.Request) -> web.StreamResponse:
        headers = {name.lower(): value for name, value in request.headers.items()}
        status, body = sim.handle(request.method, request.path, headers, await request.read())
        return web.json_response(body, status=status)

    app.router.add_route("*", "/{tail:.*}", handle)
    return app
