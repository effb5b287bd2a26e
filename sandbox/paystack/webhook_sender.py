"""Webhook delivery for the Paystack simulator, as Paystack does it (reference B.3.1).

The body is compact JSON ``{"event", "data"}``, sent as is and signed over those exact bytes with HMAC-SHA512
of the merchant's secret key in ``x-paystack-signature``. Only a 200 counts as delivered: any other status, an
error or a timeout is retried on a schedule (Paystack's, compressed in time). An event can be delivered
several times, some copies at once, to exercise idempotency. Every attempt is recorded."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import json
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from core.clock import Clock
from payments.paystack.signature import SIGNATURE_HEADER, sign

# (url, body, headers) -> HTTP status of the answer. Raise on a network error; the dispatcher handles
# timeouts.
Sender = Callable[[str, bytes, Mapping[str, str]], Awaitable[int]]
Sleep = Callable[[float], Awaitable[None]]

HOUR = 3600.0
DEFAULT_SCALE = 0.05 / HOUR  # one Paystack hour lasts 50 ms


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Seconds to wait before each retry (after the first attempt fails), and the time limit of one attempt."""

    delays: tuple[float, ...]
    attempt_timeout: float = 5.0

    @classmethod
    def paystack_test(cls, *, scale: float = DEFAULT_SCALE, attempt_timeout: float = 5.0) -> RetryPolicy:
        """Test mode: hourly for 10 hours."""
        return cls(tuple([HOUR * scale] * 10), attempt_timeout)

    @classmethod
    def paystack_live(cls, *, scale: float = DEFAULT_SCALE, attempt_timeout: float = 5.0) -> RetryPolicy:
        """Live mode: every 3 minutes for the first 4 tries, then hourly for the next 72 hours."""
        return cls(tuple([180.0 * scale] * 4 + [HOUR * scale] * 72), attempt_timeout)

    @classmethod
    def none(cls, *, attempt_timeout: float = 5.0) -> RetryPolicy:
        return cls((), attempt_timeout)


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """One event the simulator emitted (delivered once per copy, each copy with its retries)."""

    id: int
    event: str
    url: str | None
    body: bytes
    signature: str
    emitted_at: datetime

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One HTTP attempt: ``status`` is the answer's code, or None with ``error`` when there was no answer."""

    event_id: int
    event: str
    url: str
    copy: int
    attempt: int
    status: int | None
    error: str | None
    at: datetime
    body: bytes = field(repr=False)
    signature: str = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.status == 200


def is_loopback_url(url: str) -> bool:
    host = httpx.URL(url).host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LoopbackSender:
    """The default sender: a real HTTP POST, refused unless the URL is on this machine. One connection pool,
    opened on first use and closed by ``aclose`` (the simulator's ``close``)."""

    def __init__(self, *, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None

    async def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        if not is_loopback_url(url):
            raise PermissionError(f"the simulator only delivers webhooks to this machine, not {url!r}")
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout, trust_env=False)
        response = await self._http.post(url, content=body, headers=dict(headers))
        return response.status_code

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def loopback_sender(*, timeout: float = 10.0) -> LoopbackSender:
    return LoopbackSender(timeout=timeout)


def client_sender(http: httpx.AsyncClient) -> Sender:
    """A sender that posts through a given client (e.g. one with a MockTransport in front of a test app)."""

    async def send(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        response = await http.post(url, content=body, headers=dict(headers))
        return response.status_code

    return send


class WebhookDispatcher:
    def __init__(
        self,
        *,
        sender: Sender,
        clock: Clock,
        retry: RetryPolicy,
        copies: int = 1,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.sender = sender
        self.retry = retry
        self.copies = copies
        self._clock = clock
        self._sleep = sleep
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self.events: list[OutgoingEvent] = []
        self.deliveries: list[Delivery] = []

    def emit(
        self,
        event: str,
        data: Mapping[str, Any],
        *,
        secret_key: str,
        url: str | None,
        copies: int | None = None,
        deliver: bool = True,
    ) -> OutgoingEvent:
        """Serialise, sign and record an event, and start delivering it in the background. With ``deliver=False``
        it is only recorded, as a webhook Paystack never got through; ``resend`` can deliver it later."""
        body = json.dumps({"event": event, "data": data}, separators=(",", ":")).encode()
        outgoing = OutgoingEvent(
            id=next(self._ids),
            event=event,
            url=url,
            body=body,
            signature=sign(body, secret_key),
            emitted_at=self._clock.now(),
        )
        self.events.append(outgoing)
        if url is not None and deliver:
            self._spawn(self._deliver_copies(outgoing, copies if copies is not None else self.copies))
        return outgoing

    def resend(self, event_id: int, *, copies: int = 1) -> None:
        """Deliver an already emitted event again (same bytes, same signature), as Paystack's retries do."""
        outgoing = next(e for e in self.events if e.id == event_id)
        if outgoing.url is None:
            raise ValueError("that event has no webhook URL")
        self._spawn(self._deliver_copies(outgoing, copies))

    async def drain(self, limit: float = 10.0) -> None:
        """Wait until every delivery (retries included) has finished."""
        async with asyncio.timeout(limit):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if isinstance(self.sender, LoopbackSender):
            await self.sender.aclose()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_copies(self, outgoing: OutgoingEvent, copies: int) -> None:
        """The first half of the copies go out at the same moment, the rest one after another."""
        copies = max(1, copies)
        together = (copies + 1) // 2
        await asyncio.gather(*(self._deliver(outgoing, copy) for copy in range(1, together + 1)))
        for copy in range(together + 1, copies + 1):
            await self._deliver(outgoing, copy)

    async def _deliver(self, outgoing: OutgoingEvent, copy: int) -> None:
        assert outgoing.url is not None
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: outgoing.signature}
        for attempt, delay in enumerate((0.0, *self.retry.delays), start=1):
            if delay:
                await self._sleep(delay)
            status: int | None = None
            error: str | None = None
            try:
                async with asyncio.timeout(self.retry.attempt_timeout):
                    status = await self.sender(outgoing.url, outgoing.body, headers)
            except TimeoutError:
                error = "timeout"
            except Exception as exc:  # a refused connection and the like: a failed attempt, not a crash
                error = f"{type(exc).__name__}: {exc}"
            self.deliveries.append(
                Delivery(
                    event_id=outgoing.id,
                    event=outgoing.event,
                    url=outgoing.url,
                    copy=copy,
                    attempt=attempt,
                    status=status,
                    error=error,
                    at=self._clock.now(),
                    body=outgoing.body,
                    signature=outgoing.signature,
                )
            )
            if status == 200:
                return
