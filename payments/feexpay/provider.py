"""The FeexPay provider object: what ``payments.registry`` builds for a shop from its stored settings.

- ``start``: a request-to-pay on the network the customer confirmed in the chat (``StartRequest.choices``), else the
  one its number's prefix says (``networks.py``); our payment reference travels in ``callback_info``.
- ``parse_callback``: FeexPay signs nothing (SOURCES.md), so a callback tells no event: it is a hint naming a
  FeexPay reference, which the route asks the status endpoint about (:meth:`confirm`). Only that answer moves money.
- ``query``: the status of the payment's FeexPay reference, for the reconciler, on a schedule like STK Query's.

No refunds: FeexPay's API offers payouts, not refunds of a collection (SOURCES.md), so refunds are the merchant's
tasks (``payments/merchant_refunds.py``). Test mode is the shop's sandbox key and sandbox shop id."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import ClassVar

from core.phones import PhoneError, display, parse_mobile
from payments.base import Callback, Outcome, ProviderError, ProviderEvent, ReviewWord, Started, StartRequest
from payments.feexpay import INFO
from payments.feexpay.client import FeexPayClient, FeexPayError
from payments.feexpay.networks import BY_CODE, DIAL_CODES, Network, guess
from payments.feexpay.wire import FAILED, LIVE_HOST, SUCCESSFUL, Transaction, hint_reference, request_body
from payments.registry import ProviderDeps, ProviderFactory, TenantProviderConfig

NAME = INFO.name
# When the reconciler asks about an open request-to-pay: waits after 0, 1, 2… queries. The phone's prompt lives a
# minute or two; the tenant's timeout (at most LIFETIME_CAP) expires what FeexPay never settles.
CHECK_WAITS = tuple(timedelta(seconds=s) for s in (20, 15, 15, 30, 30, 60, 60, 120))
LATER_CHECK = timedelta(minutes=5)
LIFETIME_CAP = timedelta(minutes=30)


def network_for(phone_e164: str | None, chosen: str | None) -> Network | None:
    """The customer's choice when it is a network of the phone's country, else the one the prefix says."""
    if not phone_e164:
        return None
    try:
        phone = parse_mobile(phone_e164, "BJ")
    except PhoneError:
        return None
    picked = BY_CODE.get(chosen or "")
    if picked is not None and picked.country == phone.region:
        return picked
    dial = DIAL_CODES.get(phone.region)
    if dial is None:
        return None
    return guess(phone.region, phone.digits[len(dial) :])


class FeexPayProvider:
    name: ClassVar[str] = NAME

    def __init__(self, config: TenantProviderConfig, deps: ProviderDeps) -> None:
        secrets, options = config.secrets, dict(config.options)
        live = (str(secrets.get("api_key", "")).strip(), str(options.get("shop_id", "")).strip())
        sandbox = (str(secrets.get("test_api_key", "")).strip(), str(options.get("test_shop_id", "")).strip())
        base_url = str(options.get("base_url") or LIVE_HOST)
        self.test_mode = config.test_mode
        key, self.shop_id = sandbox if config.test_mode else live
        self.client = FeexPayClient(deps.http, api_key=key, base_url=base_url) if key else None
        # The other mode's key: a payment started before the shop switched is known under the key that started it.
        other = live[0] if config.test_mode else sandbox[0]
        self.other_client = FeexPayClient(deps.http, api_key=other, base_url=base_url) if other else None
        self.tenant_slug = config.tenant_slug

    def __repr__(self) -> str:
        return f"FeexPayProvider({self.tenant_slug!r}, test_mode={self.test_mode})"

    @property
    def sandboxed(self) -> bool:
        return self.test_mode

    def _client(self) -> FeexPayClient:
        if self.client is None or not self.shop_id:
            mode = "sandbox" if self.test_mode else "live"
            raise ProviderError(f"FeexPay: no {mode} API key and shop id", code="not_configured", misconfigured=True)
        return self.client

    # --- starting ------------------------------------------------------------------------------------------------

    async def start(self, start: StartRequest) -> Started:
        refusal = INFO.refusal(start.amount)
        if refusal is not None:  # refused before any request
            raise ProviderError(f"FeexPay does not take {start.amount.format()}", code=f"amount_{refusal}")
        network = network_for(start.customer_phone, start.choices.get("network"))
        if network is None or start.customer_phone is None:
            raise ProviderError("FeexPay: no mobile-money network for this number", code="no_network")
        client = self._client()
        digits = start.customer_phone.lstrip("+")
        body = request_body(
            phone_digits=digits,
            amount=start.amount,
            shop_id=self.shop_id,
            first_name=start.shop_name,
            last_name=start.order_code,
            description=f"{start.shop_name} {start.order_code}",
            ours=start.payment_reference,
        )
        try:
            reference = await client.request_to_pay(network.code, body)
        except FeexPayError as error:
            if error.code == "provider_unavailable":  # the push may have left: never sent again
                raise ProviderError(str(error), code="feexpay.unconfirmed", retryable=True) from None
            raise
        return Started(
            text_key="feexpay.started_test" if self.test_mode else "feexpay.started",
            values={"phone": display(start.customer_phone), "network": network.label},
            provider_ref=reference,
        )

    def next_check(self, checks_done: int) -> timedelta | None:
        return CHECK_WAITS[checks_done] if checks_done < len(CHECK_WAITS) else LATER_CHECK

    def lifetime(self, tenant_timeout: timedelta) -> timedelta:
        return min(tenant_timeout, LIFETIME_CAP)

    async def check(self) -> str:
        client = self._client()
        await client.check_key()
        return f"FeexPay accepted the {'sandbox' if self.test_mode else 'live'} API key ({client.base_url})"

    # --- callbacks: hints only -----------------------------------------------------------------------------------

    def parse_callback(self, request: Callback) -> list[ProviderEvent]:
        """No event: FeexPay's callback is unsigned, so what it says is never believed (the route asks the status
        endpoint about the reference it names: :meth:`confirm`). Raises InvalidCallback for a body naming none."""
        hint_reference(request.body)
        return []

    async def confirm(self, reference: str) -> Transaction:
        """What the status endpoint says of a FeexPay reference, under the key that knows it. FeexPayError
        ``not_found`` when neither of the shop's keys knows it (a made-up reference)."""
        try:
            return await self._client().status(reference)
        except FeexPayError as error:
            if error.code != "not_found" or self.other_client is None:
                raise
        return await self.other_client.status(reference)

    # --- reconciliation ------------------------------------------------------------------------------------------

    async def query(self, payment_reference: str, provider_ref: str | None) -> ProviderEvent | None:
        if not provider_ref:  # the start's answer was lost: only a callback naming it (or expiry) can settle it
            return None
        try:
            txn = await self.confirm(provider_ref)
        except FeexPayError as error:
            if error.code == "not_found":
                return None
            raise
        if txn.our_reference not in (None, payment_reference):
            event = transaction_event(txn, payment_reference)
            # The merchant reads why in their language; the event's record keeps it in English.
            why = ReviewWord("feexpay.held.other_payment", {"reference": txn.our_reference[:40]})
            return None if event is None else replace(event, review=why.render("en"), review_words=(why,))
        return transaction_event(txn, payment_reference)


def transaction_event(txn: Transaction, payment_reference: str) -> ProviderEvent | None:
    """A status answer as one fact about ``payment_reference``: paid or failed; None while pending. The key names
    the fact (``successful:<reference>``), so a hint's check and the reconciler's query agree."""
    if txn.status == SUCCESSFUL:
        outcome, reason = Outcome.PAID, None
    elif txn.status == FAILED:
        outcome, reason = Outcome.FAILED, txn.message or "the request was declined or not approved on the phone"
    else:
        return None
    return ProviderEvent(
        provider=NAME,
        event_key=f"{txn.status.lower()}:{txn.reference}",
        payment_reference=payment_reference,
        outcome=outcome,
        amount=txn.amount if outcome is Outcome.PAID else None,  # what FeexPay says arrived, never the order's
        provider_txn_id=txn.reference,
        reason=reason,
        reason_code=txn.status.lower(),
        raw=dict(txn.raw),
        provider_ref=txn.reference,
        channel="mobile_money",
    )


def _factory(config: TenantProviderConfig, deps: ProviderDeps) -> FeexPayProvider:
    return FeexPayProvider(config, deps)


FACTORY: ProviderFactory = _factory
