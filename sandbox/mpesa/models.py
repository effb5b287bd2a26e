"""The Daraja simulator's vocabulary: scripted outcomes, its records, and how it sends callbacks.

Kept apart from :mod:`sandbox.mpesa.simulator` so tests and the playground can import outcomes and records
without the engine.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx

from payments.mpesa.codes import RESULT_DESCRIPTIONS, normalise_code

PhoneFormat = Literal["plain", "string", "masked", "hashed"]
CallbackKind = Literal["stk", "c2b_validation", "c2b_confirmation", "transaction_status"]
PRODUCTS = frozenset({"stk", "c2b_v1", "c2b_v2", "transaction_status"})


@dataclass(frozen=True, slots=True)
class SimOutcome:
    """How a push ends. ``hold`` leaves it pending until ``sim.complete()``; ``send_callback=False`` decides the
    result (the STK query reports it) but never POSTs the callback, like a lost sandbox callback."""

    result_code: int | str = 0
    result_desc: str | None = None
    send_callback: bool = True
    hold: bool = False

    @property
    def code(self) -> str:
        return normalise_code(self.result_code)

    @property
    def desc(self) -> str:
        return self.result_desc or RESULT_DESCRIPTIONS.get(self.code, "Error")

    @property
    def paid(self) -> bool:
        return self.code == "0" and not self.hold

    @classmethod
    def of(cls, value: SimOutcome | int | str) -> SimOutcome:
        return value if isinstance(value, SimOutcome) else cls(value)


SUCCESS = SimOutcome(0)
INSUFFICIENT_FUNDS = SimOutcome(1)
EXPIRED = SimOutcome(1019)
CANCELLED = SimOutcome(1032)
UNREACHABLE = SimOutcome(1037)
WRONG_PIN = SimOutcome(2001)
NO_CALLBACK = SimOutcome(0, send_callback=False)
HOLD = SimOutcome(hold=True)


@dataclass(slots=True)
class SimApp:
    consumer_key: str
    consumer_secret: str = field(repr=False)
    products: frozenset[str] = PRODUCTS


@dataclass(slots=True)
class C2BUrls:
    confirmation_url: str
    validation_url: str
    response_type: str
    version: str


@dataclass(slots=True)
class SimShortcode:
    shortcode: str
    passkey: str | None = field(default=None, repr=False)
    tills: frozenset[str] = frozenset()
    external_validation: bool = False
    balance: Decimal = Decimal(0)
    urls: C2BUrls | None = None
    initiators: dict[str, str] = field(default_factory=dict, repr=False)  # name -> security credential


@dataclass(slots=True)
class CallbackRecord:
    """One POST the simulator made to our server, with what our server answered."""

    kind: CallbackKind
    url: str
    body: dict[str, Any]
    content: bytes
    ref: str  # CheckoutRequestID or TransID
    status: int | None = None
    response: bytes = b""
    error: str | None = None
    sent_at: datetime | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(slots=True, eq=False)
class StkTransaction:
    checkout_request_id: str
    merchant_request_id: str
    shortcode: str
    transaction_type: str
    party_b: str
    phone: str
    amount: int
    callback_url: str
    account_reference: str
    created_at: datetime
    outcome: SimOutcome | None = None  # None while pending
    receipt: str | None = None
    completed_at: datetime | None = None
    callback: CallbackRecord | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def pending(self) -> bool:
        return self.outcome is None


@dataclass(slots=True)
class C2BResult:
    trans_id: str
    accepted: bool
    result_code: str = "0"
    validation: CallbackRecord | None = None
    confirmation: CallbackRecord | None = None


@dataclass(frozen=True, slots=True)
class SimResponse:
    status: int
    body: Mapping[str, Any]

    @property
    def content(self) -> bytes:
        return dumps(self.body)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    method: str
    path: str
    status: int
    error_code: str | None = None


def dumps(value: Any) -> bytes:
    """JSON with Decimals written as numbers with their own digits (``"Value": 1.00``, as Daraja writes)."""
    raw: dict[str, str] = {}

    def default(obj: object) -> str:
        if isinstance(obj, Decimal):
            marker = f"__sim_decimal_{len(raw)}__"
            raw[json.dumps(marker)] = format(obj, "f")
            return marker
        raise TypeError(f"{type(obj).__name__} is not JSON")

    text = json.dumps(value, default=default)
    for marker, number in raw.items():
        text = text.replace(marker, number)
    return text.encode()


class Ids:
    """Daraja-looking identifiers from one (optionally seeded) random source."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)

    def _pick(self, alphabet: str, n: int) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(n))

    def hex_id(self) -> str:  # "2654-4b64-97ff-b827b542881d3130"
        h = string.hexdigits[:16]
        return (
            f"{self._pick(h, 4)}-{self._pick(h, 4)}-{self._pick(h, 4)}-{self._pick(h, 12)}{self._pick('0123456789', 4)}"
        )

    def checkout_id(self, local: datetime) -> str:  # "ws_CO_1007202409152617172396192"
        return f"ws_CO_{local:%d%m%Y%H%M%S}{local.microsecond // 1000:03d}{self._pick(string.digits, 9)}"

    def receipt(self) -> str:  # "NLJ7RT61SV"
        upper = string.ascii_uppercase
        return self._pick(upper, 3) + self._pick(upper + string.digits, 7)

    def token(self) -> str:  # "c9SQxWWhmdVRlyh0zh8gZDTkubVF"
        return self._pick(string.ascii_letters + string.digits, 28)


class CallbackSender(Protocol):
    """Delivers one callback; returns our server's status and body. Raise on network failure."""

    async def __call__(
        self, url: str, content: bytes, headers: Mapping[str, str], time_limit: float
    ) -> tuple[int, bytes]: ...


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HttpxSender:
    """Sends callbacks with an httpx client. ``loopback_only`` refuses any host but 127.0.0.1/::1/localhost."""

    def __init__(self, client: httpx.AsyncClient, *, loopback_only: bool = True) -> None:
        self._client = client
        self._loopback_only = loopback_only

    async def __call__(
        self, url: str, content: bytes, headers: Mapping[str, str], time_limit: float
    ) -> tuple[int, bytes]:
        if self._loopback_only and not is_loopback(url):
            raise ConnectionRefusedError(f"simulator sends callbacks to loopback hosts only, not {url}")
        response = await self._client.post(url, content=content, headers=dict(headers), timeout=time_limit)
        return response.status_code, response.content


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """Money M-Pesa moved into a shortcode (an STK payment or a C2B one): what Transaction Status can tell."""

    receipt: str
    shortcode: str
    amount: Decimal
    msisdn: str
    first_name: str
    kind: Literal["stk", "c2b"]
    at: datetime


@dataclass(slots=True)
class StatusRequest:
    """One accepted Transaction Status request, and the result POSTed for it (None while held)."""

    originator_conversation_id: str
    conversation_id: str
    receipt: str
    shortcode: str
    initiator_valid: bool
    result_url: str
    timeout_url: str
    occasion: str = ""
    result: CallbackRecord | None = None
