"""One kit per payment provider: everything the contract suite must know of a provider to run its cases on it.

A kit configures a shop with the provider (live or test mode), runs the provider's simulator, drives it (the customer
pays, or stays silent), produces the provider's callbacks in their exact wire format (genuine, forged, unsigned,
with a wrong amount or currency) and says which hosts are the provider's sandbox. What the cases assert (HTTP
answers, payment and order state, what the customer and the merchant read) is the same for every provider.

This module is the only place the suite imports the simulators from: when they move, only these imports change.
A new provider gets the suite by writing a ``Kit`` subclass and adding it to ``KITS`` (see README.md).
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Literal

import httpx
from aiohttp import web

from core.money import Money
from payments.corefy.signature import SIGNATURE_HEADER as COREFY_SIGNATURE
from payments.corefy.signature import basic_auth as corefy_auth
from payments.flutterwave.wire import HASH_HEADER as FLUTTERWAVE_HASH
from payments.paystack.signature import SIGNATURE_HEADER, sign
from sandbox.corefy.simulator import CorefySimulator
from sandbox.feexpay.entry import SIMULATOR as FEEXPAY_SIMULATOR
from sandbox.feexpay.simulator import FeexPaySimulator
from sandbox.flutterwave.simulator import FlutterwaveSimulator
from sandbox.hosted import build_app as hosted_app
from sandbox.mpesa.models import HOLD, SimOutcome, dumps
from sandbox.mpesa.server import SimulatorServer
from sandbox.mpesa.simulator import DarajaSimulator
from sandbox.paypal.entry import SIMULATOR as PAYPAL_SIMULATOR
from sandbox.paypal.simulator import PayPalSimulator
from sandbox.paystack.simulator import PaystackSimulator, RetryPolicy, serve
from sandbox.stripe.entry import SIMULATOR as STRIPE_SIMULATOR
from sandbox.stripe.simulator import StripeSimulator
from sandbox.stripe.state import SimEvent as StripeEvent
from sandbox.telegram import stars
from tests.contract.linkpay.simulator import LinkPaySimulator
from tests.contract.linkpay.wire import SIGNATURE_HEADER as LINKPAY_SIGNATURE
from tests.contract.linkpay.wire import START_PATH as LINKPAY_START
from tests.contract.network import Seen
from tests.support.app import Person
from webhooks.telegram import SECRET_HEADER as WEBHOOK_SECRET

# What a callback can be: the provider's own (genuine), signed by someone else or carrying a token that is not the
# payment's (forged), without its signature or token (unsigned), or genuine in form but for other money.
CallbackKind = Literal["genuine", "forged", "unsigned", "wrong_amount", "wrong_currency"]
Settings = tuple[Mapping[str, str], Mapping[str, Any]]  # (secrets, options), as ``dukabot provider set`` stores them


@dataclass(frozen=True, slots=True)
class Delivery:
    """One HTTP request a provider (or someone posing as one) would send to the server."""

    url: str
    body: bytes
    headers: Mapping[str, str]


class Kit(ABC):
    """What the contract suite needs of one provider. ``base_url`` (the server's address) and ``shop_slug`` are set
    by the suite before ``start``; the simulator runs inside ``running``."""

    name: ClassVar[str]  # the provider's registry name
    method_button: ClassVar[str]  # the button the customer presses under a placed order to pay this way
    start_path: ClassVar[str]  # the path of the request that starts a collection
    customer_phone: ClassVar[str] = "0712 345 678"  # the phone given at checkout
    refused: ClassVar[dict[str, int]] = {}  # the HTTP status the server answers a forged or unsigned callback with
    received: ClassVar[dict[str, str]] = {}  # the money a wrong_amount / wrong_currency callback reports

    paid_alert: ClassVar[str] = "is paid: KES 420"  # what the merchant reads, once, when the order is paid
    currency: ClassVar[str] = "KES"  # what the shop sells in: one the provider takes (PayPal takes no KES)
    online: ClassVar[bool] = True  # False: the manual method (no simulator, no callbacks; only some cases apply)
    queries: ClassVar[bool] = True  # False: it cannot be asked what became of a payment (only its report tells)
    reports_declines: ClassVar[bool] = True  # False: a declined payment never reaches the shop (it just expires)

    def __init__(self) -> None:
        self.base_url = ""
        self.shop_slug = ""
        self.test_mode = False
        self.merchant: Person | None = None  # set by the suite once the shop is served

    @abstractmethod
    def running(self) -> AbstractAsyncContextManager[dict[str, str]]:
        """Runs the simulator; yields the provider's real hosts, each mapped to the simulator's URL."""

    @abstractmethod
    def settings(self) -> Settings:
        """The shop's configuration of this provider: live credentials, and test ones where the provider has
        them. No ``base_url``: the shop talks to the provider's real hosts, which the suite's network routes to
        the simulator (so the hosts are what a real shop would call)."""

    @abstractmethod
    def is_sandbox(self, host: str, headers: Mapping[str, str]) -> bool:
        """Whether a request with this host and these headers goes to the provider's sandbox (test mode)."""

    def sandboxed(self, seen: Seen) -> bool:
        """Whether a request the network saw went to the provider's sandbox: by its host and headers, unless the
        provider has one host and one set of headers for both (its test credential is in the body)."""
        return self.is_sandbox(seen.host, seen.headers)

    async def start(self, customer: Person) -> None:
        """Under the placed order, choose this provider and confirm whatever it asks before it collects."""
        await customer.tap(self.method_button)

    async def press_again(self, customer: Person) -> None:
        """Press the button that started the collection once more (an impatient customer, an old message)."""
        await self.start(customer)

    @abstractmethod
    async def pay(self) -> None:
        """The customer pays the attempt started last; the provider sends no callback until ``callback``."""

    async def decline(self) -> None:
        """The customer declines the attempt started last (wrong PIN, card refused); the provider tells the server
        its usual way (a callback it sends now, or its status query later)."""
        raise NotImplementedError

    async def confirm_paid(self, order_code: str) -> None:
        """What tells the server that the attempt is paid: for an online provider, its genuine callback."""
        delivery = self.callback("genuine")
        if delivery is None:
            raise NotImplementedError(f"{self.name} is online but declares no genuine callback: override confirm_paid")
        status, _ = await deliver(delivery)
        assert status == 200, status

    @abstractmethod
    def callback(self, kind: CallbackKind) -> Delivery | None:
        """The provider's callback for the paid attempt, as ``kind``; None when the provider has no such case
        (M-Pesa's callback names no currency)."""

    query_after: ClassVar[dict[str, float]]  # how far the clock must move for the reconciler's first query

    # Refunds: who moves the money back (the provider, when the shop asks; the merchant by hand, when the provider
    # has no refund call; None: no refunds), and the words that tell the customer it has been sent.
    refunds_by: ClassVar[Literal["provider", "merchant"] | None] = None
    refund_sent: ClassVar[str] = ""

    @abstractmethod
    async def finish_refund(self, merchant: Person) -> None:
        """After the shop confirmed a refund (and the server asked the provider): whatever completes it, done
        twice (a webhook delivered twice, a Done pressed twice)."""

    def refunds_at_provider(self) -> int | None:
        """How many refunds the provider holds (None: the provider has no refunds of its own)."""
        return None


async def done_twice(merchant: Person, sent: str = "KES 100") -> None:
    """A refund the merchant sends by hand: its Done, pressed twice at once. The task waits in the merchant's menu
    (the confirmation's own Done may have been replaced by the answer to a second tap of Confirm). ``sent``: the
    refund as the shop's currency writes it."""
    await merchant.send("/admin")
    await merchant.tap("↩️ Refunds to send (1)")
    done = next(b for m in reversed(merchant.messages) for row in m.buttons for b, _ in row if "✅ Done:" in b)
    assert done.startswith(f"✅ Done: sent {sent} for "), done
    await asyncio.gather(merchant.tap(done), merchant.tap(done))


def _pick(items: list[Any], what: str) -> Any:
    assert items, f"the simulator has no {what}: was the collection started?"
    return items[-1]


class MpesaKit(Kit):
    """M-Pesa STK push, against the Daraja simulator. Daraja signs nothing: a callback is trusted because it comes to
    the payment's own URL (a random token per payment), from an allowed address, and names the payment's push."""

    name = "mpesa"
    method_button = "📱 M-Pesa"
    start_path = "/mpesa/stkpush/v1/processrequest"
    customer_phone = "0708 374 149"  # the sandbox test number: a Safaricom line
    refused: ClassVar[dict[str, int]] = {"forged": 403, "unsigned": 404}
    received: ClassVar[dict[str, str]] = {"wrong_amount": "KES 1"}
    query_after: ClassVar[dict[str, float]] = {"seconds": 20}
    KEY, SECRET, SHORTCODE, PASSKEY = "contract-key", "contract-secret", "600111", "contract-live-passkey"

    def __init__(self) -> None:
        super().__init__()
        self.sim = DarajaSimulator(seed=13)
        self.sim.add_app(self.KEY, self.SECRET)
        self.sim.add_shortcode(self.SHORTCODE, self.PASSKEY)
        self.sim.set_outcome("254708374149", HOLD)  # the phone rings until the kit decides what the customer does

    @asynccontextmanager
    async def running(self) -> AsyncIterator[dict[str, str]]:
        async with SimulatorServer(self.sim) as daraja:
            yield {"api.safaricom.co.ke": daraja.url, "sandbox.safaricom.co.ke": daraja.url}
            await self.sim.settle()

    def settings(self) -> Settings:
        secrets = {"consumer_key": self.KEY, "consumer_secret": self.SECRET, "passkey": self.PASSKEY}
        # A live shop takes callbacks from Safaricom's addresses only; here they come from this machine.
        return secrets, {"shortcode": self.SHORTCODE, "ip_allowlist": "127.0.0.1"}

    def is_sandbox(self, host: str, headers: Mapping[str, str]) -> bool:
        return host == "sandbox.safaricom.co.ke"

    refunds_by = "merchant"  # Daraja's reversal API is not used: the shop sends the money back by hand
    refund_sent = "The shop has sent you KES 100 back"

    async def start(self, customer: Person) -> None:
        await customer.tap(self.method_button)
        await customer.tap(f"✅ Yes, send to {self.customer_phone}")

    async def finish_refund(self, merchant: Person) -> None:
        await done_twice(merchant)

    async def press_again(self, customer: Person) -> None:
        await customer.tap(f"✅ Yes, send to {self.customer_phone}")

    async def pay(self) -> None:
        txn = _pick(list(self.sim.transactions.values()), "STK push")
        await self.sim.complete(txn.checkout_request_id, SimOutcome(0, send_callback=False))

    async def decline(self) -> None:
        txn = _pick(list(self.sim.transactions.values()), "STK push")
        await self.sim.complete(txn.checkout_request_id, 2001)  # a wrong PIN; Daraja calls back at once

    def callback(self, kind: CallbackKind) -> Delivery | None:
        txn = _pick(list(self.sim.transactions.values()), "STK push")
        body = self.sim.stk_body(txn.checkout_request_id, SimOutcome(0))
        url = txn.callback_url
        if kind == "wrong_currency":
            return None
        if kind == "wrong_amount":
            body["Body"]["stkCallback"]["CallbackMetadata"]["Item"][0]["Value"] = 1
        elif kind == "forged":  # the payment's URL, but the result of a push that is not this payment's
            body["Body"]["stkCallback"]["CheckoutRequestID"] = "ws_CO_04122026120000000708374149"
        elif kind == "unsigned":  # the result of this push, to a URL without the payment's token
            url = f"{self.base_url}/pay/stk/{'ab' * 20}"
        return Delivery(url, dumps(body), {"Content-Type": "application/json"})


class PaystackKit(Kit):
    """Paystack, against the Paystack simulator. Webhooks are signed with the shop's secret key (HMAC-SHA512 in
    ``x-paystack-signature``); test mode is the same host with the ``sk_test_`` key."""

    name = "paystack"
    method_button = "💳 Pay online"
    start_path = "/transaction/initialize"
    refused: ClassVar[dict[str, int]] = {"forged": 401, "unsigned": 401}
    received: ClassVar[dict[str, str]] = {"wrong_amount": "KES 300", "wrong_currency": "NGN 420"}
    query_after: ClassVar[dict[str, float]] = {"minutes": 1}
    LIVE_KEY, TEST_KEY = "sk_live_contract0000000000000001", "sk_test_contract0000000000000001"

    def __init__(self) -> None:
        super().__init__()
        # No webhook URL on the simulator's "dashboard": the kit delivers each webhook itself, when the case says.
        self.sim = PaystackSimulator(retry=RetryPolicy.none(), refund_delay=0)
        self.sim.add_merchant(self.LIVE_KEY)
        self.sim.add_merchant(self.TEST_KEY)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[dict[str, str]]:
        async with AsyncExitStack() as stack:
            stack.push_async_callback(self.sim.close)
            url = await stack.enter_async_context(serve(self.sim))
            yield {"api.paystack.co": url}

    def settings(self) -> Settings:
        return {"secret_key": self.LIVE_KEY, "test_secret_key": self.TEST_KEY}, {}

    def is_sandbox(self, host: str, headers: Mapping[str, str]) -> bool:
        return host == "api.paystack.co" and headers.get("authorization") == f"Bearer {self.TEST_KEY}"

    refunds_by = "provider"
    refund_sent = "A refund of KES 100 for order"

    async def finish_refund(self, merchant: Person) -> None:
        await self.sim.drain()
        for event in [e for e in self.sim.events if e.event.startswith("refund.")]:
            for _ in range(2):  # each webhook delivered twice
                status, _ = await deliver(
                    Delivery(
                        f"{self.base_url}/pay/paystack/{self.shop_slug}",
                        event.body,
                        {"Content-Type": "application/json", SIGNATURE_HEADER: event.signature},
                    )
                )
                assert status == 200, (event.event, status)

    def refunds_at_provider(self) -> int | None:
        return len(self.sim.refunds)

    @property
    def key(self) -> str:
        return self.TEST_KEY if self.test_mode else self.LIVE_KEY

    async def pay(self) -> None:
        txn = _pick(self.sim.transactions, "transaction")
        await self.sim.pay(txn.reference, secret_key=self.key)

    async def decline(self) -> None:
        txn = _pick(self.sim.transactions, "transaction")  # Paystack sends no webhook for it: Verify finds it
        await self.sim.pay(txn.reference, "failed", gateway_response="Declined", secret_key=self.key)

    def callback(self, kind: CallbackKind) -> Delivery | None:
        event = _pick([e for e in self.sim.events if e.event == "charge.success"], "charge.success event")
        body = event.body
        if kind in ("wrong_amount", "wrong_currency"):
            # Paystack collected other money: its webhook and its Verify answer agree on what it was.
            doctored = json.loads(body)
            txn = self.sim.transaction(doctored["data"]["reference"], secret_key=self.key)
            if kind == "wrong_amount":
                txn.amount = doctored["data"]["amount"] = 30000
            else:
                txn.currency = doctored["data"]["currency"] = "NGN"
            body = json.dumps(doctored).encode()
        headers = {"Content-Type": "application/json"}
        if kind != "unsigned":
            headers[SIGNATURE_HEADER] = sign(body, "sk_test_someone_else" if kind == "forged" else self.key)
        return Delivery(f"{self.base_url}/pay/paystack/{self.shop_slug}", body, headers)


class ManualKit(Kit):
    """Payment by hand: the customer sends a proof, the merchant approves it (the "callback"), and sends refunds
    back by hand. Cases about callbacks on the wire, queries, hosts and start timeouts do not apply."""

    name = "manual"
    online = False
    paid_alert = "is paid and the customer has been sent a receipt"  # the answer to the approval
    method_button = "💵 Pay by hand and upload proof"
    start_path = ""
    query_after: ClassVar[dict[str, float]] = {}
    refunds_by = "merchant"
    refund_sent = "The shop has sent you KES 100 back"

    def __init__(self) -> None:
        super().__init__()
        self.customer: Person | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[dict[str, str]]:
        yield {}

    def settings(self) -> Settings:
        return {}, {"instructions": "Send the amount to Till 123456 (Mama Mboga), then send the receipt here."}

    def is_sandbox(self, host: str, headers: Mapping[str, str]) -> bool:
        return False

    async def start(self, customer: Person) -> None:
        self.customer = customer
        await customer.tap(self.method_button)

    async def pay(self) -> None:
        assert self.customer is not None
        assert "was sent to the shop" in await self.customer.photo(caption="QAB12CD34E")

    async def confirm_paid(self, order_code: str) -> None:
        assert self.merchant is not None
        await self.merchant.send(f"/approve {order_code}")

    def callback(self, kind: CallbackKind) -> Delivery | None:
        return None

    async def finish_refund(self, merchant: Person) -> None:
        await done_twice(merchant)


class LinkPayKit(Kit):
    """LinkPay, the example provider of docs/adding-a-provider.md (``tests/contract/linkpay``), against its own
    simulator: a hosted link, HMAC-SHA256-signed webhooks, a sandbox host for test mode, refunds by its API."""

    name = "linkpay"
    method_button = "🔗 Pay by link"
    start_path = LINKPAY_START
    refused: ClassVar[dict[str, int]] = {"forged": 401, "unsigned": 401}
    received: ClassVar[dict[str, str]] = {"wrong_amount": "KES 300", "wrong_currency": "NGN 420"}
    query_after: ClassVar[dict[str, float]] = {"minutes": 1}
    refunds_by = "provider"
    refund_sent = "A refund of KES 100 for order"
    LIVE_KEY, TEST_KEY, WEBHOOK_SECRET = "lp_live_contract", "lp_test_contract", "whsec_contract"

    def __init__(self) -> None:
        super().__init__()
        self.sim = LinkPaySimulator({self.LIVE_KEY: "live", self.TEST_KEY: "test"}, self.WEBHOOK_SECRET)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[dict[str, str]]:
        async with self.sim.serving() as url:
            yield {"api.linkpay.example": url, "sandbox.linkpay.example": url}

    def settings(self) -> Settings:
        return {"api_key": self.LIVE_KEY, "webhook_secret": self.WEBHOOK_SECRET, "test_api_key": self.TEST_KEY}, {}

    def is_sandbox(self, host: str, headers: Mapping[str, str]) -> bool:
        return host == "sandbox.linkpay.example"

    async def pay(self) -> None:
        self.sim.pay()

    async def decline(self) -> None:
        self.sim.decline()  # LinkPay sends a webhook for it too; the case leaves it to the query

    def callback(self, kind: CallbackKind) -> Delivery | None:
        link = self.sim.last()
        if kind == "wrong_amount":  # LinkPay collected other money: its query says the same
            link.total = "300.00"
        elif kind == "wrong_currency":
            link.currency = "NGN"
        body, signature = self.sim.webhook(link, secret="whsec_someone_else" if kind == "forged" else None)
        headers = {"Content-Type": "application/json"}
        if kind != "unsigned":
            headers[LINKPAY_SIGNATURE] = signature
        return Delivery(f"{self.base_url}/pay/linkpay/{self.shop_slug}", body, headers)

    async def finish_refund(self, merchant: Person) -> None:
        for body, signature in self.sim.refund_webhooks():
            for _ in range(2):  # each webhook delivered twice
                headers = {"Content-Type": "application/json", LINKPAY_SIGNATURE: signature}
                status, _ = await deliver(Delivery(f"{self.base_url}/pay/linkpay/{self.shop_slug}", body, headers))
                assert status == 200, status

    def refunds_at_provider(self) -> int | None:
        return len(self.sim.refunds)


class FlutterwaveKit(Kit):
    """Flutterwave v3, against its simulator (``sandbox/flutterwave``): a hosted link, webhooks carrying the shop's
    secret hash in ``verif-hash``, believed only through verify; test mode is the same host with the test key."""

    name = "flutterwave"
    method_button = "🦋 Card, M-Pesa & more (Flutterwave)"
    start_path = "/v3/payments"
    refused: ClassVar[dict[str, int]] = {"forged": 401, "unsigned": 401}
    received: ClassVar[dict[str, str]] = {"wrong_amount": "KES 300", "wrong_currency": "NGN 420"}
    query_after: ClassVar[dict[str, float]] = {"minutes": 1}
    refunds_by = "provider"
    refund_sent = "A refund of KES 100 for order"
    LIVE_KEY, TEST_KEY = "FLWSECK-contract000000000000000000-X", "FLWSECK_TEST-contract0000000000000-X"
    HASH = "contract-secret-hash-0001"

    def __init__(self) -> None:
        super().__init__()
        self.sim = FlutterwaveSimulator()  # no dashboard webhook URL: the kit delivers each webhook itself
        self.sim.add_merchant(self.LIVE_KEY, self.HASH)
        self.sim.add_merchant(self.TEST_KEY, self.HASH)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[dict[str, str]]:
        runner = web.AppRunner(hosted_app(self.sim))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            yield {"api.flutterwave.com": f"http://127.0.0.1:{runner.addresses[0][1]}"}
        finally:
            await runner.cleanup()

    def settings(self) -> Settings:
        return {"secret_key": self.LIVE_KEY, "test_secret_key": self.TEST_KEY, "secret_hash": self.HASH}, {}

    def is_sandbox(self, host: str, headers: Mapping[str, str]) -> bool:
        return host == "api.flutterwave.com" and headers.get("authorization") == f"Bearer {self.TEST_KEY}"

    async def pay(self) -> None:
        self.sim.settle(self.sim.last(), "successful")

    async def decline(self) -> None:
        self.sim.settle(self.sim.last(), "failed")  # its webhook is left undelivered: verify finds it

    def callback(self, kind: CallbackKind) -> Delivery | None:
        txn = self.sim.last()
        if kind == "wrong_amount":  # Flutterwave collected other money: its verify says the same
            txn.amount = Decimal(300)
        elif kind == "wrong_currency":
            txn.currency = "NGN"
        sent = self.sim.webhook(txn, secret_hash="someone-elses-secret-hash" if kind == "forged" else None)
        headers = {k: v for k, v in sent.headers.items() if not (kind == "unsigned" and k == FLUTTERWAVE_HASH)}
        return Delivery(f"{self.base_url}/pay/flutterwave/{self.shop_slug}", sent.body, headers)

    async def finish_refund(self, merchant: Person) -> None:
        for sent in [*self.sim.complete_refunds(), *(s for s in self.sim.sent if b'"refund.' in s.body)]:
            for _ in range(2):  # each webhook delivered twice
                delivery = Delivery(f"{self.base_url}/pay/flutterwave/{self.shop_slug}", sent.body, sent.headers)
                status, _ = await deliver(delivery)
                assert status == 200, status

    def refunds_at_provider(self) -> int | None:
        return len(self.sim.refunds)


class PayPalKit(Kit):
    """PayPal Orders v2, against the PayPal simulator, in a shop selling in USD. A webhook is believed through
    PayPal's verify-webhook-signature and a GET of the order; the genuine callback is CHECKOUT.ORDER.APPROVED (the
    server captures). Test mode is PayPal's sandbox host with the sandbox app's credentials."""

    name = "paypal"
    method_button = "🅿️ PayPal"
    start_path = "/v2/checkout/orders"
    currency = "USD"
    paid_alert = "is paid: USD 420"
    refused: ClassVar[dict[str, int]] = {"forged": 401, "unsigned": 401}
    received: ClassVar[dict[str, str]] = {"wrong_amount": "USD 300"}
    query_after: ClassVar[dict[str, float]] = {"minutes": 1}
    refunds_by = "provider"
    refund_sent = "A refund of USD 100 for order"
    LIVE = ("contract-live-client", "contract-live-secret", "WH-CONTRACT-LIVE")
    SANDBOX = ("contract-sandbox-client", "contract-sandbox-secret", "WH-CONTRACT-SANDBOX")

    def __init__(self) -> None:
        super().__init__()
        self.sim = PayPalSimulator()
        self.sim.add_app(*self.LIVE, sandbox=False)
        self.sim.add_app(*self.SANDBOX, sandbox=True)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[dict[str, str]]:
        async with PAYPAL_SIMULATOR.serve(self.sim) as url:
            yield {"api-m.paypal.com": url, "api-m.sandbox.paypal.com": url}

    def settings(self) -> Settings:
        (live_id, live_secret, live_hook), (sandbox_id, sandbox_secret, sandbox_hook) = self.LIVE, self.SANDBOX
        options = {"client_id": live_id, "webhook_id": live_hook}
        options |= {"sandbox_client_id": sandbox_id, "sandbox_webhook_id": sandbox_hook}
        return {"client_secret": live_secret, "sandbox_client_secret": sandbox_secret}, options

    def is_sandbox(self, host: str, headers: Mapping[str, str]) -> bool:
        return host == "api-m.sandbox.paypal.com"

    async def pay(self) -> None:
        self.sim.approve()

    async def decline(self) -> None:
        self.sim.approve(decline=True)  # no webhook is delivered: the reconciler's capture finds it declined

    def callback(self, kind: CallbackKind) -> Delivery | None:
        if kind == "wrong_currency":
            return None  # PayPal captures in the order's currency: of dukabot's currencies, USD is PayPal's only one
        order = self.sim.last()
        if kind == "wrong_amount":  # PayPal's order holds other money: its capture and its GET say the same
            order.value = "300.00"
        approved = [
            d for d in self.sim.webhooks("CHECKOUT.ORDER.APPROVED") if json.loads(d.body)["resource"]["id"] == order.id
        ]
        made = _pick(approved, "CHECKOUT.ORDER.APPROVED webhook")
        headers = dict(made.headers)
        if kind == "forged":
            headers["PAYPAL-TRANSMISSION-SIG"] = "f" * 64
        elif kind == "unsigned":
            headers = {"Content-Type": "application/json"}
        return Delivery(f"{self.base_url}/pay/paypal/{self.shop_slug}", made.body, headers)

    async def finish_refund(self, merchant: Person) -> None:
        for made in self.sim.webhooks("PAYMENT.CAPTURE.REFUNDED"):
            for _ in range(2):  # each webhook delivered twice
                url = f"{self.base_url}/pay/paypal/{self.shop_slug}"
                status, _ = await deliver(Delivery(url, made.body, made.headers))
                assert status == 200, status

    def refunds_at_provider(self) -> int | None:
        return len(self.sim.refunds)


class StripeKit(Kit):
    """Stripe Checkout, against the Stripe simulator. Events are signed in ``Stripe-Signature`` with the endpoint's
    secret of the mode (live or test); test mode is the same host with the ``sk_test_`` key. A declined delayed
    payment is told by its event (the session's retrieval says only "complete, unpaid")."""

    name = "stripe"
    method_button = "💳 Pay by card (Stripe)"
    start_path = "/v1/checkout/sessions"
    refused: ClassVar[dict[str, int]] = {"forged": 401, "unsigned": 401}
    received: ClassVar[dict[str, str]] = {"wrong_amount": "KES 300", "wrong_currency": "NGN 420"}
    query_after: ClassVar[dict[str, float]] = {"minutes": 1}
    refunds_by = "provider"
    refund_sent = "A refund of KES 100 for order"
    LIVE_KEY, TEST_KEY = "sk_live_contract0000000000000001", "sk_test_contract0000000000000001"
    LIVE_SECRET, TEST_SECRET = "whsec_contract_live", "whsec_contract_test"

    def __init__(self) -> None:
        super().__init__()
        self.sim = StripeSimulator()  # no endpoint on its "dashboard": the kit delivers each event itself
        self.sim.add_key(self.LIVE_KEY)
        self.sim.add_key(self.TEST_KEY)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[dict[str, str]]:
        async with STRIPE_SIMULATOR.serve(self.sim) as url:
            yield {"api.stripe.com": url}

    def settings(self) -> Settings:
        secrets = {
            "secret_key": self.LIVE_KEY,
            "webhook_secret": self.LIVE_SECRET,
            "test_secret_key": self.TEST_KEY,
            "test_webhook_secret": self.TEST_SECRET,
        }
        return secrets, {}

    def is_sandbox(self, host: str, headers: Mapping[str, str]) -> bool:
        return host == "api.stripe.com" and headers.get("authorization") == f"Bearer {self.TEST_KEY}"

    def _delivery(self, event: StripeEvent, secrets: list[str] | None = None) -> Delivery:
        mine = [self.LIVE_SECRET if event.livemode else self.TEST_SECRET]
        body, headers = self.sim.signed(event, secrets=mine if secrets is None else secrets)
        return Delivery(f"{self.base_url}/pay/stripe/{self.shop_slug}", body, headers)

    async def pay(self) -> None:
        self.sim.pay(self.sim.last().id)

    async def decline(self) -> None:
        for event in self.sim.pay_later(self.sim.last().id, succeeds=False):
            status, _ = await deliver(self._delivery(event))
            assert status == 200, (event.type, status)

    def callback(self, kind: CallbackKind) -> Delivery | None:
        completed = [e for e in self.sim.events if e.type == "checkout.session.completed"]
        event = _pick(completed, "checkout.session.completed event")
        if kind in ("wrong_amount", "wrong_currency"):  # Stripe collected other money: its retrieval agrees
            session = self.sim.last()
            if kind == "wrong_amount":
                session.amount_total = 30000
            else:
                session.currency = "ngn"
            body = json.loads(json.dumps(event.body))
            body["data"]["object"] = session.wire()
            event = StripeEvent(event.id, event.type, event.livemode, body)
        if kind == "unsigned":
            body, _ = self.sim.signed(event, secrets=[])
            url = f"{self.base_url}/pay/stripe/{self.shop_slug}"
            return Delivery(url, body, {"Content-Type": "application/json"})
        return self._delivery(event, ["whsec_someone_else"] if kind == "forged" else None)

    async def finish_refund(self, merchant: Person) -> None:
        for event in self.sim.settle_refunds():
            for _ in range(2):  # each event delivered twice
                status, _ = await deliver(self._delivery(event))
                assert status == 200, (event.type, status)

    def refunds_at_provider(self) -> int | None:
        return len(self.sim.refunds)


class FeexPayKit(Kit):
    """FeexPay, against its simulator (``sandbox/feexpay``), in a shop selling in XOF: a request-to-pay on the
    customer's phone, its network chosen from the number's prefix. FeexPay signs nothing: its callback is a hint,
    believed only through the status endpoint. So "forged" is a callback naming a request FeexPay does not know
    (refused, 404), and "unsigned" one without the reference that alone is read (400). Test mode is the same host
    with the sandbox key; refunds are the merchant's (FeexPay has no refund call)."""

    name = "feexpay"
    method_button = "📲 Mobile Money (FeexPay)"
    start_path = "/api/transactions/public/requesttopay/mtn"
    customer_phone = "+229 01 97 00 00 00"  # an MTN Benin number by its prefix
    currency = "XOF"
    paid_alert = "is paid: XOF 42,000"
    refused: ClassVar[dict[str, int]] = {"forged": 404, "unsigned": 400}
    received: ClassVar[dict[str, str]] = {"wrong_amount": "XOF 300"}
    query_after: ClassVar[dict[str, float]] = {"seconds": 20}
    refunds_by = "merchant"
    refund_sent = "The shop has sent you XOF 10,000 back"
    LIVE_KEY, TEST_KEY = "fp_live_contract000000000000000001", "fp_test_contract000000000000000001"
    LIVE_SHOP, TEST_SHOP = "contract-shop-live", "contract-shop-test"

    def __init__(self) -> None:
        super().__init__()
        self.sim = FeexPaySimulator()  # no callback URL on its dashboard: the kit delivers each callback itself
        self.sim.add_merchant(self.LIVE_KEY, self.LIVE_SHOP)
        self.sim.add_merchant(self.TEST_KEY, self.TEST_SHOP, sandbox=True)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[dict[str, str]]:
        async with FEEXPAY_SIMULATOR.serve(self.sim) as url:
            yield {"api.feexpay.me": url}

    def settings(self) -> Settings:
        secrets = {"api_key": self.LIVE_KEY, "test_api_key": self.TEST_KEY}
        return secrets, {"shop_id": self.LIVE_SHOP, "test_shop_id": self.TEST_SHOP}

    def is_sandbox(self, host: str, headers: Mapping[str, str]) -> bool:
        return host == "api.feexpay.me" and headers.get("authorization") == f"Bearer {self.TEST_KEY}"

    async def start(self, customer: Person) -> None:
        await customer.tap(self.method_button)
        await customer.tap("✅ Send to 01 97 00 00 00 (MTN MoMo)")

    async def press_again(self, customer: Person) -> None:
        await customer.tap("✅ Send to 01 97 00 00 00 (MTN MoMo)")

    async def pay(self) -> None:
        self.sim.approve()

    async def decline(self) -> None:
        self.sim.decline()  # its callback is left undelivered: the status query finds it

    def callback(self, kind: CallbackKind) -> Delivery | None:
        if kind == "wrong_currency":
            return None  # FeexPay names no currency: XOF is all it collects
        request = self.sim.last()
        if kind == "wrong_amount":  # FeexPay collected other money: its status says the same
            request.amount = 300
        body = json.loads(self.sim.callback(request).body)
        if kind == "forged":  # a request FeexPay never made, told as paid
            body["reference"] = "FXP-99999999"
        elif kind == "unsigned":  # nothing FeexPay could be asked about
            del body["reference"]
        url = f"{self.base_url}/pay/feexpay/{self.shop_slug}"
        return Delivery(url, json.dumps(body).encode(), {"Content-Type": "application/json"})

    async def finish_refund(self, merchant: Person) -> None:
        await done_twice(merchant, Money(10000, self.currency).format())


class CorefyKit(Kit):
    """Corefy, against its simulator (``sandbox/corefy``): an invoice paid on the hosted payment page, callbacks
    signed in ``X-Signature`` and believed only through the invoice's fetch; test mode is the test API key on the
    sandbox host Corefy issued the shop."""

    name = "corefy"
    method_button = "💳 Card & more (Corefy)"
    start_path = "/api/payment-invoices"
    refused: ClassVar[dict[str, int]] = {"forged": 401, "unsigned": 401}
    received: ClassVar[dict[str, str]] = {"wrong_amount": "KES 300", "wrong_currency": "NGN 420"}
    query_after: ClassVar[dict[str, float]] = {"minutes": 1}
    refunds_by = "provider"
    refund_sent = "A refund of KES 100 for order"
    ACCOUNT, LIVE_HOST, SANDBOX_HOST = "coma_contract0001", "api.corefy.com", "api.sandbox.corefy.com"
    LIVE_KEY, TEST_KEY = "contract-live-api-key-0001", "contract-test-api-key-0001"
    LIVE_SECRET, TEST_SECRET = "sk_live_contract_secret_0001", "sk_test_contract_secret_0001"

    def __init__(self) -> None:
        super().__init__()
        self.sim = CorefySimulator()  # delivers nothing by itself: the kit delivers each callback
        self.sim.add_merchant(self.ACCOUNT, self.LIVE_KEY, self.LIVE_SECRET)
        self.sim.add_merchant(self.ACCOUNT, self.TEST_KEY, self.TEST_SECRET, test=True)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[dict[str, str]]:
        runner = web.AppRunner(hosted_app(self.sim))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            yield {self.LIVE_HOST: url, self.SANDBOX_HOST: url}
        finally:
            await runner.cleanup()

    def settings(self) -> Settings:
        secrets = {"api_key": self.LIVE_KEY, "secret_key": self.LIVE_SECRET}
        secrets |= {"test_api_key": self.TEST_KEY, "test_secret_key": self.TEST_SECRET}
        options = {"account_id": self.ACCOUNT, "api_url": f"https://{self.LIVE_HOST}"}
        return secrets, {**options, "test_api_url": f"https://{self.SANDBOX_HOST}"}

    def is_sandbox(self, host: str, headers: Mapping[str, str]) -> bool:
        return host == self.SANDBOX_HOST and headers.get("authorization") == corefy_auth(self.ACCOUNT, self.TEST_KEY)

    async def pay(self) -> None:
        self.sim.settle(self.sim.last(), "processed")

    async def decline(self) -> None:
        self.sim.settle(self.sim.last(), "process_failed")  # its callbacks are left undelivered: the fetch finds it

    def callback(self, kind: CallbackKind) -> Delivery | None:
        invoice = self.sim.last()
        if kind == "wrong_amount":  # Corefy collected other money: its fetch says the same
            invoice.processed_amount = Decimal(300)
        elif kind == "wrong_currency":
            invoice.currency = "NGN"
        sent = self.sim.callback(invoice, secret="sk_live_someone_elses_secret" if kind == "forged" else None)
        headers = {k: v for k, v in sent.headers.items() if not (kind == "unsigned" and k.lower() == COREFY_SIGNATURE)}
        return Delivery(f"{self.base_url}/pay/corefy/{self.shop_slug}", sent.body, headers)

    async def finish_refund(self, merchant: Person) -> None:
        self.sim.complete_refunds()
        for sent in [s for s in self.sim.sent if b'"type": "refunds"' in s.body]:
            for _ in range(2):  # each callback delivered twice
                delivery = Delivery(f"{self.base_url}/pay/corefy/{self.shop_slug}", sent.body, sent.headers)
                status, _ = await deliver(delivery)
                assert status == 200, status

    def refunds_at_provider(self) -> int | None:
        return len(self.sim.refunds)


class TelegramKit(Kit):
    """Telegram Payments, card invoices in the shop's currency, against the fake Telegram Bot API
    (``sandbox/telegram``): the "callback" is Telegram's own update to the shop's webhook (``successful_payment``),
    trusted for its secret token; test mode is the provider's TEST token on the same host (so the kit reads the
    request's body). Telegram tells the bot nothing of a declined card and cannot be asked about a card payment: those
    cases do not apply (its Stars are queried: tests/integration/test_telegram_payments_journey.py)."""

    name = "telegram"
    method_button = "⭐ Pay in Telegram"
    start_path = "*/sendInvoice"  # the bot's token is in the path: /bot<token>/sendInvoice
    refused: ClassVar[dict[str, int]] = {"forged": 401, "unsigned": 401}
    received: ClassVar[dict[str, str]] = {"wrong_amount": "KES 300", "wrong_currency": "NGN 420"}
    query_after: ClassVar[dict[str, float]] = {"minutes": 1}
    queries = False
    reports_declines = False
    refunds_by = "merchant"  # a card invoice's money is refunded at the card provider, by the merchant
    refund_sent = "The shop has sent you KES 100 back"
    HOST = "api.telegram.org"
    LIVE_TOKEN, TEST_TOKEN = "284685063:LIVE:Y29udHJhY3Q", "284685063:TEST:Y29udHJhY3Q"

    def __init__(self) -> None:
        super().__init__()
        self.customer: Person | None = None
        self.charge_id = ""

    @asynccontextmanager
    async def running(self) -> AsyncIterator[dict[str, str]]:
        """Requests for Telegram's host go on to the fake Telegram the shop's server talks to (known once served)."""

        async def forward(request: web.Request) -> web.Response:
            assert self.merchant is not None, "the shop is not served yet"
            target = f"{self.merchant.server.telegram.base_url}{request.path_qs}"
            async with httpx.AsyncClient(trust_env=False) as http:
                answer = await http.post(target, content=await request.read(), headers=dict(request.headers))
            return web.Response(status=answer.status_code, body=answer.content, content_type="application/json")

        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", forward)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            yield {self.HOST: f"http://127.0.0.1:{runner.addresses[0][1]}"}
        finally:
            await runner.cleanup()

    def settings(self) -> Settings:
        secrets = {"provider_token": self.LIVE_TOKEN, "test_provider_token": self.TEST_TOKEN}
        return secrets, {"invoices": "card", "base_url": f"https://{self.HOST}"}

    def is_sandbox(self, host: str, headers: Mapping[str, str]) -> bool:
        raise NotImplementedError("one host for both: the token in the body says (sandboxed)")

    def sandboxed(self, seen: Seen) -> bool:
        return seen.host == self.HOST and json.loads(seen.body).get("provider_token") == self.TEST_TOKEN

    async def start(self, customer: Person) -> None:
        self.customer = customer
        await customer.tap(self.method_button)

    def _invoice(self) -> stars.SentInvoice:
        assert self.customer is not None, "no invoice asked for"
        ledger = self.customer.user.account.payments
        return _pick(list(ledger.invoices.values()), "invoice")  # type: ignore[no-any-return]

    async def pay(self) -> None:
        """The customer presses Pay: the pre-checkout question is answered yes, and the card is charged; its
        update is left for the case to deliver."""
        assert self.customer is not None, "no invoice asked for"
        paid = await stars.pay(self.customer.user, self._invoice().message_id, deliver=False)
        assert paid.query.ok, paid.query.error_message
        self.charge_id = paid.charge_id or ""

    def callback(self, kind: CallbackKind) -> Delivery | None:
        assert self.customer is not None and self.merchant is not None, "the case runs before an invoice was asked for"
        invoice, user = self._invoice(), self.customer.user
        money = {"wrong_amount": ("KES", 30000), "wrong_currency": ("NGN", 42000)}.get(kind)
        currency, amount = money or (invoice.currency, invoice.total_amount)
        message = {
            "message_id": 777000 + invoice.message_id,
            "from": user.info.to_api(),
            "chat": user.chat.to_api(),
            "date": user.account.now(),
            "successful_payment": {
                "currency": currency,
                "total_amount": amount,
                "invoice_payload": invoice.payload,
                "telegram_payment_charge_id": self.charge_id,
                "provider_payment_charge_id": f"prov_{self.charge_id}",
            },
        }
        update_id = (
            900_000
            + invoice.message_id * 10
            + ("genuine", "wrong_amount", "wrong_currency").index(
                kind if kind in ("wrong_amount", "wrong_currency") else "genuine"
            )
        )
        headers = {"Content-Type": "application/json"}
        if kind != "unsigned":
            secret = "someone-elses-secret" if kind == "forged" else self.merchant.shop.webhook_secret
            headers[WEBHOOK_SECRET] = secret
        body = json.dumps({"update_id": update_id, "message": message}).encode()
        return Delivery(f"{self.base_url}/tg/{self.shop_slug}", body, headers)

    async def finish_refund(self, merchant: Person) -> None:
        await done_twice(merchant)


# Every provider in the registry (and the manual method) must have its kit here: one without fails the suite.
KITS: dict[str, type[Kit]] = {
    kit.name: kit
    for kit in (
        MpesaKit,
        PaystackKit,
        FlutterwaveKit,
        StripeKit,
        PayPalKit,
        FeexPayKit,
        CorefyKit,
        TelegramKit,
        ManualKit,
        LinkPayKit,
    )
}


async def deliver(delivery: Delivery) -> tuple[int, str]:
    """Sends ``delivery`` to the server as the provider would; the HTTP status and body of the answer."""
    async with httpx.AsyncClient(trust_env=False) as http:
        answer = await http.post(delivery.url, content=delivery.body, headers=dict(delivery.headers))
    return answer.status_code, answer.text
