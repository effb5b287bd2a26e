"""Africa's Talking's SMS API running on this machine, in its wire format as far as it is known
(``notify/sms/SOURCES.md``): ``POST /version1/messaging`` with the ``apiKey`` header and a form body answers 201 with
``SMSMessageData.Recipients`` (status 101 "Success" and a fresh ``ATXid_`` message id per recipient).

It knows one application (``username``, ``api_key``): another key answers 401 in plain text, as Africa's Talking
does. :meth:`refuse` makes a number answer a status code of choice (403 InvalidPhoneNumber, 405 InsufficientBalance,
406 UserInBlacklist...); :meth:`down` answers 503, or drops the connection (``drop=True``). :meth:`report` posts a
delivery report for a message it accepted to the callback URL it was given, as Africa's Talking would.

Run it in process (:meth:`AtSimulator.mock_transport`) or as a real server (:func:`build_app`)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
from aiohttp import web

STATUS_NAMES = {
    101: "Success",
    401: "RiskHold",
    402: "InvalidSenderId",
    403: "InvalidPhoneNumber",
    404: "UnsupportedNumberType",
    405: "InsufficientBalance",
    406: "UserInBlacklist",
    407: "CouldNotRoute",
    409: "DoNotDisturbRejection",
    500: "InternalServerError",
    501: "GatewayError",
    502: "RejectedByGateway",
}


@dataclass
class Sms:
    message_id: str
    username: str
    to: str
    text: str
    sender: str | None


@dataclass
class AtSimulator:
    username: str = "sandbox"
    api_key: str = "atsk_simulator_key_0001"
    callback_url: str | None = None  # where delivery reports go (the shop's /notify/sms/{tenant}/reports)
    sent: list[Sms] = field(default_factory=list)
    calls: int = 0  # every messaging request received, answered or not
    _down: bool = False
    _drop: bool = False
    _refused: dict[str, int] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- driven by the tests and the playground -------------------------------------------------------------------

    def down(self, *, drop: bool = False) -> None:
        self._down, self._drop = True, drop

    def up(self) -> None:
        self._down = self._drop = False

    def refuse(self, number: str, status_code: int) -> None:
        """Every message to ``number`` answers ``status_code`` (one of ``STATUS_NAMES``)."""
        self._refused[number] = status_code

    def report_fields(self, sms: Sms, status: str, failure_reason: str = "") -> dict[str, str]:
        fields = {"id": sms.message_id, "status": status, "phoneNumber": sms.to, "networkCode": "63902"}
        if failure_reason:
            fields["failureReason"] = failure_reason
        return fields

    async def report(
        self, http: httpx.AsyncClient, sms: Sms, status: str = "Success", failure_reason: str = ""
    ) -> httpx.Response:
        """Post a delivery report of ``sms`` to ``callback_url`` (form-encoded, unsigned, as Africa's Talking)."""
        if self.callback_url is None:
            raise RuntimeError("the simulator was given no callback URL for delivery reports")
        return await http.post(self.callback_url, data=self.report_fields(sms, status, failure_reason))

    # --- the wire -----------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        self.calls += 1
        if self._down:
            return 503, "Service Unavailable"
        if method != "POST" or path.rstrip("/") != "/version1/messaging":
            return 404, "Not Found"
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        if headers.get("apikey") != self.api_key or form.get("username") != self.username:
            return 401, "The supplied authentication is invalid"
        if not form.get("to") or not form.get("message"):
            return 400, {"SMSMessageData": {"Message": "InvalidRequest", "Recipients": []}}
        recipients = []
        for number in form["to"].split(","):
            number = number.strip()
            code = self._refused.get(number, 101)
            if code == 101:
                message_id = f"ATXid_sim{next(self._ids):08d}"
                self.sent.append(Sms(message_id, form["username"], number, form["message"], form.get("from")))
                recipients.append(_recipient(number, 101, message_id, "KES 0.8000"))
            else:
                recipients.append(_recipient(number, code, "None", "0"))
        accepted = sum(1 for r in recipients if r["statusCode"] == 101)
        return 201, {
            "SMSMessageData": {
                "Message": f"Sent to {accepted}/{len(recipients)} Total Cost: KES 0.8000",
                "Recipients": recipients,
            }
        }

    def mock_transport(self) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            if self._drop:
                raise httpx.ConnectError("connection refused", request=request)
            headers = {name.lower(): value for name, value in request.headers.items()}
            status, body = self.handle(request.method, request.url.path, headers, request.content)
            return _response(status, body)

        return httpx.MockTransport(answer)


def _recipient(number: str, code: int, message_id: str, cost: str) -> dict[str, Any]:
    return {
        "statusCode": code,
        "number": number,
        "status": STATUS_NAMES.get(code, "Failed"),
        "cost": cost,
        "messageId": message_id,
        "messageParts": 1,
    }


def _response(status: int, body: Any) -> httpx.Response:
    if isinstance(body, str):
        return httpx.Response(status, text=body)
    return httpx.Response(status, json=body)


def build_app(sim: AtSimulator) -> web.Application:
    """The simulator as a real aiohttp application (``--base-url http://127.0.0.1:PORT``)."""
    app = web.Application()

    async def handle(request: web.Request) -> web.StreamResponse:
        if sim._drop:  # a connection that closes without an answer
            transport = request.transport
            if transport is not None:
                transport.close()
            return web.Response(status=503)
        headers = {name.lower(): value for name, value in request.headers.items()}
        status, body = sim.handle(request.method, request.path, headers, await request.read())
        if isinstance(body, str):
            return web.Response(status=status, text=body)
        return web.json_response(body, status=status)

    app.router.add_route("*", "/{tail:.*}", handle)
    return app
