"""The LinkPay provider object: what ``payments.registry`` builds for a shop from its stored settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

import httpx

from payments.base import (
    RATE_LIMITED,
    Callback,
    LinkButton,
    Outcome,
    ProviderError,
    ProviderEvent,
    RefundRequest,
    RefundResult,
    Started,
    StartRequest,
)
from payments.registry import ProviderDeps, ProviderFactory, TenantProviderConfig
from tests.contract.linkpay import INFO
from tests.contract.linkpay.wire import (
    LIVE_HOST,
    REFUND_PATH,
    SANDBOX_HOST,
    START_PATH,
    Link,
    parse_link,
    parse_refund,
    total,
    verified_webhook,
)

_CHECKS = (timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5))


def webhook_path(tenant_slug: str) -> str:
    return f"/pay/linkpay/{tenant_slug}"


class LinkPayProvider:
    name: ClassVar[str] = INFO.name

    def __init__(self, config: TenantProviderConfig, deps: ProviderDeps) -> None:
        test_key = config.secrets.get("test_api_key", "")
        # Test mode: the sandbox host with the test key, never the live host (the contract's test-mode case).
        self.test_mode = config.test_mode
        self.host = SANDBOX_HOST if config.test_mode else LIVE_HOST
        self.key = test_key if config.test_mode else config.secrets.get("api_key", "")
        self.webhook_secret = config.secrets.get("webhook_secret", "")
        self.notify_url = deps.callback_base.rstrip("/") + webhook_path(config.tenant_slug)
        self.http = deps.http

    @property
    def sandboxed(self) -> bool:
        return self.test_mode

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        try:
            return await self.http.request(
                method, self.host + path, json=body, headers={"Authorization": f"Key {self.key}"}, timeout=10
            )
        except httpx.TimeoutException:  # it may have reached LinkPay: the starter never sends it again
            raise ProviderError("LinkPay did not answer in time", code="timeout", retryable=True) from None
        except httpx.TransportError:
            raise ProviderError("LinkPay could not be reached", code="network", retryable=True) from None

    async def start(self, start: StartRequest) -> Started:
        if not INFO.takes(start.amount):  # refused before any request
            raise ProviderError(f"LinkPay does not take {start.amount}", code="amount_not_taken")
        answer = await self._call(
            "POST",
            START_PATH,
            {
                "merchant_ref": start.payment_reference,
                "total": total(start.amount),
                "currency": start.amount.currency,
                "notify": self.notify_url,
            },
        )
        if answer.status_code == 401:
            raise ProviderError("LinkPay refused the API key", code="invalid_key", misconfigured=True)
        if answer.status_code != 201:
            raise ProviderError(f"LinkPay answered {answer.status_code}", code="refused")
        link = parse_link(answer.json().get("link"))
        return Started(
            text_key="linkpay.started_test" if self.test_mode else "linkpay.started",
            link=LinkButton("linkpay.button_pay", link.pay_url),
            provider_ref=link.id,
        )

    def read_webhook(self, request: Callback) -> Link | RefundResult:
        """A verified webhook's link or refund (InvalidCallback 401 before anything is read, 400 after)."""
        return verified_webhook(request.body, request.headers, self.webhook_secret)[1]

    def parse_callback(self, request: Callback) -> list[ProviderEvent]:
        found = self.read_webhook(request)
        event = self._event(found) if isinstance(found, Link) else None
        return [] if event is None else [event]

    async def query(self, payment_reference: str, provider_ref: str | None) -> ProviderEvent | None:
        answer = await self._call("GET", f"{START_PATH}/by-ref/{payment_reference}")
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise ProviderError(f"LinkPay answered {answer.status_code}", code="refused", retryable=True)
        return self._event(parse_link(answer.json().get("link")))

    @staticmethod
    def _event(link: Link) -> ProviderEvent | None:
        """The link's state as one fact; its key names the fact, not the message that told it, so the webhook and
        the query telling the same payment are one event."""
        if link.state == "paid":
            outcome, reason = Outcome.PAID, None
        elif link.state == "declined":
            outcome, reason = Outcome.FAILED, link.decline_reason or "declined"
        else:
            return None
        return ProviderEvent(
            provider=INFO.name,
            event_key=f"{link.state}:{link.id}",
            payment_reference=link.merchant_ref,
            outcome=outcome,
            amount=link.amount if outcome is Outcome.PAID else None,
            provider_txn_id=link.id,
            reason=reason,
            occurred_at=link.paid_at,
            raw=dict(link.raw),
            provider_ref=link.id,
        )

    # --- refunds (payments.base.RefundingProvider) ------------------------------------------------------------

    async def refund(self, request: RefundRequest) -> RefundResult:
        answer = await self._call(
            "POST",
            REFUND_PATH,
            {
                "merchant_ref": request.payment_reference,
                "total": total(request.amount),
                "currency": request.amount.currency,
                "idempotency_key": str(request.refund_id),  # ours and unique: a repeat is the same refund
            },
        )
        if answer.status_code == 429:
            raise ProviderError("LinkPay is busy", code=RATE_LIMITED, retryable=True)
        if answer.status_code != 201:
            raise ProviderError(f"LinkPay refused the refund ({answer.status_code})", code="refused")
        return parse_refund(answer.json().get("refund"))

    async def refund_status(self, provider_refund_id: str, payment_reference: str) -> RefundResult | None:
        answer = await self._call("GET", f"{REFUND_PATH}/{provider_refund_id}")
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise ProviderError(f"LinkPay answered {answer.status_code}", code="refused", retryable=True)
        return parse_refund(answer.json().get("refund"))

    def refund_next_check(self, checks_done: int) -> timedelta:
        return timedelta(minutes=10) * (checks_done + 1)

    @property
    def refund_horizon(self) -> timedelta:
        return timedelta(days=7)

    def next_check(self, checks_done: int) -> timedelta | None:
        return _CHECKS[checks_done] if checks_done < len(_CHECKS) else timedelta(minutes=10)

    def lifetime(self, tenant_timeout: timedelta) -> timedelta:
        return tenant_timeout

    async def check(self) -> str:
        answer = await self._call("GET", "/v2/whoami")
        if answer.status_code != 200:
            raise ProviderError("LinkPay refused the API key", code="invalid_key", misconfigured=True)
        return f"LinkPay accepted the {answer.json().get('mode', '?')} key ({self.host})"


def _factory(config: TenantProviderConfig, deps: ProviderDeps) -> LinkPayProvider:
    return LinkPayProvider(config, deps)


FACTORY: ProviderFactory = _factory
