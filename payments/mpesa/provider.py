"""The M-Pesa provider: what ``payments.registry`` builds for a tenant (``FACTORY``).

* ``start``: an STK push (M-Pesa Express) to the customer's phone, Paybill or Till, with the order code as the
  account reference and a callback URL carrying the payment's own random token.
* ``parse_callback``: an STK result callback, already matched to its payment by that token, becomes one event.
* ``query``: STK Query for payments whose callback did not come (reconciliation); "being processed" is no answer yet.
* ``next_check`` / ``lifetime``: ask from about 20 s after the push, backing off, for about 3 minutes; then expire.
* ``check``: a real OAuth call with the tenant's credentials (``dukabot doctor``).

Event keys (unique per tenant and provider; they still name the tenant, as they did when the key was unique per
provider only, so events recorded then stay duplicates): a paid callback or a C2B confirmation is
``receipt:{tenant}:{receipt}`` (one receipt pays once, whichever way it is reported); any other final answer about a
push, from its callback or from a query, is ``stk:{tenant}:{CheckoutRequestID}`` (one push ends once).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar, Literal
from urllib.parse import urlparse

from core.money import Money
from core.phones import display
from payments.base import Callback, InvalidCallback, Outcome, ProviderError, ProviderEvent, Started, StartRequest
from payments.mpesa.client import MAX_AMOUNT, MIN_AMOUNT, DarajaClient, DarajaError
from payments.mpesa.codes import ResultInfo
from payments.mpesa.fields import is_msisdn
from payments.mpesa.messages import why
from payments.mpesa.settings import SANDBOX_SHORTCODE, SANDBOX_URL, MpesaSettings
from payments.mpesa.tokens import TokenCache
from payments.mpesa.wire import StkCallback, parse_stk_callback
from payments.registry import ProviderDeps, ProviderFactory, TenantProviderConfig

NAME = "mpesa"
TOKEN_CACHE = "mpesa.token_cache"  # noqa: S105 - the key of the shared TokenCache in ProviderDeps.shared
STK_PATH = "/pay/stk/"
C2B_CHECK_PATH = "/pay/c2b/"  # + result/{token} or timeout/{token}: Transaction Status answers about a C2B receipt
# When to query a push that has not been answered: waits after 0, 1, 2... queries (about 3 minutes in all).
CHECK_WAITS = tuple(timedelta(seconds=s) for s in (20, 10, 15, 15, 30, 30, 30, 30))
# An unanswered push is given up a little after the last query.
STK_LIFETIME = sum(CHECK_WAITS, timedelta()) + timedelta(seconds=20)


def amount_allowed(amount: Money) -> bool:
    """M-Pesa takes whole shillings from Ksh 1 to 250,000 (reference §A.6)."""
    if amount.currency != "KES" or not amount.is_whole_major():
        return False
    return MIN_AMOUNT <= int(amount.major()) <= MAX_AMOUNT


def jsonable(value: Any) -> Any:
    """A parsed Daraja body made fit for a JSON column: amounts (Decimals) as their exact text."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def receipt_key(tenant_id: int, receipt: str) -> str:
    return f"receipt:{tenant_id}:{receipt.strip().upper()}"


def push_key(tenant_id: int, checkout_request_id: str) -> str:
    return f"stk:{tenant_id}:{checkout_request_id}"


def result_event(
    tenant_id: int,
    reference: str,
    checkout_request_id: str,
    info: ResultInfo,
    raw: dict[str, Any],
    *,
    from_query: bool = False,
) -> ProviderEvent:
    """A final, non-receipt answer about one push (a failure, or a query's "paid" without its receipt). A query's
    "paid" carries no amount and vouches that the amount is the attempt's: the push asked for exactly that."""
    return ProviderEvent(
        provider=NAME,
        event_key=push_key(tenant_id, checkout_request_id),
        payment_reference=reference,
        outcome=info.outcome,
        reason=None if info.outcome is Outcome.PAID else why(info.code),
        reason_code=info.code,
        raw=raw,
        provider_ref=checkout_request_id,
        amount_is_attempts=from_query and info.outcome is Outcome.PAID,
    )


def stk_event(tenant_id: int, reference: str, callback: StkCallback) -> ProviderEvent:
    """The event an STK callback reports."""
    raw = jsonable(callback.raw)
    if not callback.succeeded:
        return result_event(tenant_id, reference, callback.checkout_request_id, callback.result, raw)
    assert callback.receipt_number is not None  # the parser refuses a success without one
    return ProviderEvent(
        provider=NAME,
        event_key=receipt_key(tenant_id, callback.receipt_number),
        payment_reference=reference,
        outcome=Outcome.PAID,
        amount=callback.amount_money(),
        provider_txn_id=callback.receipt_number,
        reason_code="0",
        occurred_at=callback.transaction_date,
        raw=raw,
        provider_ref=callback.checkout_request_id,
    )


def parse_stk(tenant_id: int, request: Callback) -> list[ProviderEvent]:
    """An STK callback for the payment its URL token named (``path_params``: ``reference`` and, when the push was
    confirmed, ``checkout``). A result for another push than this payment's is refused."""
    callback = parse_stk_callback(request.body)
    expected = request.path_params.get("checkout") or ""
    if expected and callback.checkout_request_id != expected:
        raise InvalidCallback("stk callback: CheckoutRequestID is not this payment's push", 403)
    return [stk_event(tenant_id, request.path_params["reference"], callback)]


def client_ip(settings: MpesaSettings, request: Callback) -> str | None:
    """The caller's address: the peer, or, when the peer is a trusted proxy, the last address its
    ``X-Forwarded-For`` added that is not itself a trusted proxy."""
    peer = request.remote_ip
    if peer is None or peer not in settings.trusted_proxies:
        return peer
    forwarded = next((v for k, v in request.headers.items() if k.lower() == "x-forwarded-for"), "")
    for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        if hop not in settings.trusted_proxies:
            return hop
    return peer


def check_source(settings: MpesaSettings, request: Callback) -> None:
    """With an allowlist (a live shop has one unless it opted out), only its addresses may call back (403)."""
    if not settings.allowlist:
        return
    address = client_ip(settings, request)
    if not address_allowed(address, settings.allowlist):
        raise InvalidCallback(f"callback from {address or 'an unknown address'}, not in the allowlist", 403)


def address_allowed(address: str | None, allowlist: frozenset[str]) -> bool:
    """Whether ``address`` is one of the allowlist's addresses or inside one of its networks."""
    try:
        caller = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    for entry in allowlist:
        try:
            if caller in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


class MpesaProvider:
    name: ClassVar[str] = NAME

    def __init__(self, config: TenantProviderConfig, deps: ProviderDeps) -> None:
        self.tenant_id = config.tenant_id
        self.settings = MpesaSettings.from_config(config)
        self.callback_base = deps.callback_base.rstrip("/")
        cache = deps.shared.get(TOKEN_CACHE)
        if not isinstance(cache, TokenCache):
            cache = deps.shared.setdefault(TOKEN_CACHE, TokenCache(deps.clock))
        self.client = DarajaClient(
            deps.http,
            base_url=self.settings.base_url,
            consumer_key=self.settings.consumer_key,
            consumer_secret=self.settings.consumer_secret,
            token_cache=cache,
            clock=deps.clock,
            c2b_version=self.settings.c2b_version,
        )

    @property
    def sandboxed(self) -> bool:
        """Daraja's sandbox host, or its sandbox shortcode: no real money moves."""
        sandbox_host = urlparse(SANDBOX_URL).hostname
        return urlparse(self.settings.base_url).hostname == sandbox_host or self.settings.shortcode == SANDBOX_SHORTCODE

    def __repr__(self) -> str:
        return f"MpesaProvider(tenant={self.tenant_id}, client={self.client!r})"

    def _require_setup(self) -> None:
        if not self.settings.complete:
            raise ProviderError("M-Pesa is not fully configured for this shop", code="provider.not_configured")

    async def start(self, start: StartRequest) -> Started:
        self._require_setup()
        if not amount_allowed(start.amount):
            raise ProviderError(f"M-Pesa cannot collect {start.amount}", code="mpesa.invalid_amount")
        phone = (start.customer_phone or "").lstrip("+")
        if not is_msisdn(phone):
            raise ProviderError("the customer has no M-Pesa number", code="mpesa.invalid_phone")
        reference = start.order_code.strip()[:12]
        try:
            accepted = await self.client.stk_push(
                shortcode=self.settings.shortcode,
                passkey=self.settings.passkey,
                amount=start.amount,
                phone=phone,
                callback_url=f"{self.callback_base}{STK_PATH}{start.callback_token}",
                account_reference=reference,
                description=f"Order {reference}",
                till=self.settings.till,
            )
        except DarajaError as error:
            if error.code in ("mpesa.timeout", "mpesa.bad_response"):
                # The push may have reached Daraja: never send it again blindly; the callback or expiry settles it.
                raise ProviderError(str(error), code="timeout", retryable=True) from None
            raise ProviderError(str(error), code=error.reason, retryable=error.retryable) from None
        return Started(
            text_key="mpesa.started",
            values={"phone": display("+" + phone)},
            provider_ref=accepted.checkout_request_id,
        )

    def parse_callback(self, request: Callback) -> list[ProviderEvent]:
        check_source(self.settings, request)
        return parse_stk(self.tenant_id, request)

    async def query(self, payment_reference: str, provider_ref: str | None) -> ProviderEvent | None:
        if not provider_ref or not self.settings.complete:
            return None  # a push whose answer never came back cannot be asked about: its callback or expiry decides
        answer = await self.client.stk_query(
            shortcode=self.settings.shortcode, passkey=self.settings.passkey, checkout_request_id=provider_ref
        )
        if answer.pending or answer.result_code is None:
            return None
        return result_event(
            self.tenant_id, payment_reference, provider_ref, answer.result, jsonable(answer.raw), from_query=True
        )

    def next_check(self, checks_done: int) -> timedelta | None:
        return CHECK_WAITS[checks_done] if 0 <= checks_done < len(CHECK_WAITS) else None

    def lifetime(self, tenant_timeout: timedelta) -> timedelta:
        return min(tenant_timeout, STK_LIFETIME)

    async def check(self) -> str:
        self._require_setup()
        expires_in = await self.client.check_credentials()
        mode = "test mode" if self.settings.test_mode else "live"
        kind = f"Till {self.settings.till}" if self.settings.till else f"Paybill {self.settings.shortcode}"
        return f"M-Pesa OAuth OK at {self.settings.base_url} ({mode}, {kind}; token valid {expires_in}s)"

    async def check_receipt(self, receipt: str, check_token: str) -> str:
        """Ask Transaction Status about a C2B receipt; Daraja posts the answer to ``/pay/c2b/result/{check_token}``
        (``/pay/c2b/timeout/{check_token}`` if it times out in its queue). Returns the ConversationID."""
        if not self.settings.confirms_receipts:
            raise ProviderError("M-Pesa has no initiator credentials for this shop", code="provider.not_configured")
        base = f"{self.callback_base}{C2B_CHECK_PATH}"
        try:
            accepted = await self.client.transaction_status(
                initiator=self.settings.initiator_name,
                security_credential=self.settings.security_credential,
                receipt=receipt,
                shortcode=self.settings.shortcode,
                result_url=f"{base}result/{check_token}",
                timeout_url=f"{base}timeout/{check_token}",
            )
        except DarajaError as error:
            raise ProviderError(str(error), code=error.reason, retryable=error.retryable) from None
        return accepted.conversation_id

    async def register_c2b(self, confirmation_url: str, validation_url: str) -> str:
        """Register the C2B URLs of the shop's shortcode (Paybill fallback); returns Daraja's description."""
        self._require_setup()
        response_type: Literal["Completed", "Cancelled"] = "Completed"  # never hold a customer's money on our outage
        answer = await self.client.register_c2b_urls(
            shortcode=self.settings.shortcode,
            confirmation_url=confirmation_url,
            validation_url=validation_url,
            response_type=response_type,
            version=self.settings.c2b_version,
        )
        return answer.response_description or "Success"


def build(config: TenantProviderConfig, deps: ProviderDeps) -> MpesaProvider:
    return MpesaProvider(config, deps)


FACTORY: ProviderFactory | None = build
