"""The simulator's checkout page, served at the ``authorization_url``.

A person (or a test, with plain form POSTs) picks what happens: success, failed, abandon, or pays with one of
the test cards of reference B.5 through its PIN / phone / OTP steps. A wrong PIN or OTP kills the charge
(HTTP 400, status ``failed``), as Paystack does. After a success the browser is sent to the ``callback_url``
with ``?trxref=<ref>&reference=<ref>``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from sandbox.paystack.state import TEST_CARDS, SimRequest, SimResponse, SimTransaction

if TYPE_CHECKING:
    from sandbox.paystack.simulator import PaystackSimulator

CHECKOUT_PREFIX = "/checkout/"
PAY_CHANNELS = ("card", "bank", "ussd", "qr", "mobile_money", "bank_transfer", "apple_pay", "eft")
_STEP_PROMPTS = {
    "pin": ("Enter the card PIN", "password"),
    "phone": ("Enter your phone number (at least 10 digits)", "tel"),
    "otp": ("Enter the OTP sent to your phone", "text"),
}
_STYLE = (
    "body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}"
    ".banner{background:#fde68a;padding:.5rem;text-align:center;font-weight:bold}"
    "form{margin:1rem 0;padding:1rem;border:1px solid #ddd}"
    "input,select,button{margin:.2rem 0;padding:.4rem}.error{color:#b91c1c}"
)
_TITLE = "Paystack checkout (simulator)"


def callback_location(url: str, reference: str) -> str:
    """``url`` with ``trxref`` and ``reference`` appended, as Paystack redirects after checkout."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode({'trxref': reference, 'reference': reference})}"


def _amount_text(txn: SimTransaction) -> str:
    return f"{txn.currency} {Decimal(txn.amount).scaleb(-2):,.2f}"


def _page(title: str, content: str, txn: SimTransaction | None = None) -> str:
    test = txn is not None and txn.domain == "test"
    banner = '<div class="banner">TEST MODE</div>' if test else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{banner}<h1>{html.escape(title)}</h1>{content}</body></html>"
    )


def _summary(txn: SimTransaction) -> str:
    return (
        f"<p>Pay <strong id='amount'>{html.escape(_amount_text(txn))}</strong> as {html.escape(txn.email)}</p>"
        f"<p>Reference: <code id='reference'>{html.escape(txn.reference)}</code></p>"
    )


def _return_link(txn: SimTransaction) -> str:
    url = txn.callback_url or txn.merchant.callback_url
    if not url:
        return ""
    href = html.escape(callback_location(url, txn.reference))
    return f"<p><a id='return' href='{href}'>Return to merchant</a></p>"


def _form(action: str, inner: str) -> str:
    return f"<form method='post' action='{html.escape(action)}'>{inner}</form>"


def render_checkout(txn: SimTransaction, action: str, error: str | None = None) -> str:
    """The payment page: the outcome buttons and the test-card form, or the pending card step."""
    error_html = f"<p class='error' id='error'>{html.escape(error)}</p>" if error else ""
    if txn.card is not None and txn.steps_left:
        step = txn.steps_left[0]
        prompt, kind = _STEP_PROMPTS[step]
        form = _form(
            action,
            f"<input type='hidden' name='action' value='{step}'>"
            f"<label>{prompt}<br><input name='{step}' type='{kind}' autofocus></label><br>"
            "<button type='submit'>Continue</button>",
        )
        return _page(_TITLE, _summary(txn) + error_html + form, txn)
    options = "".join(f"<option>{channel}</option>" for channel in txn.channels or PAY_CHANNELS)
    cards = "".join(f"<li><code>{number}</code> CVV {card.cvv}</li>" for number, card in TEST_CARDS.items())
    quick = _form(
        action,
        "<p>Choose the outcome</p>"
        f"<label>Channel <select name='channel'>{options}</select></label><br>"
        "<button name='action' value='success'>Pay: success</button> "
        "<button name='action' value='failed'>Pay: failed</button> "
        "<button name='action' value='abandon'>Cancel (abandon)</button>",
    )
    card_form = _form(
        action,
        "<input type='hidden' name='action' value='card'><p>Or pay with a test card</p>"
        "<label>Card number <input name='card_number' inputmode='numeric'></label><br>"
        "<label>Expiry <input name='expiry' placeholder='12/30'></label> "
        "<label>CVV <input name='cvv' size='4'></label><br>"
        f"<button type='submit'>Pay {html.escape(_amount_text(txn))}</button><ul>{cards}</ul>",
    )
    return _page(_TITLE, _summary(txn) + error_html + quick + card_form, txn)


async def handle_checkout(sim: PaystackSimulator, request: SimRequest) -> SimResponse:
    access_code = request.path.removeprefix(CHECKOUT_PREFIX).strip("/")
    txn = sim.transaction_by_access_code(access_code)
    if txn is None:
        return SimResponse.html(404, _page("Invalid or expired payment link", "<p>Start again.</p>"))
    action_url = request.origin + CHECKOUT_PREFIX + access_code
    if txn.final:
        word = {"success": "has been paid", "reversed": "was paid and refunded"}.get(txn.status, "failed")
        content = f"<p id='state'>This payment {word}. The link can be used once.</p>" + _return_link(txn)
        status = 200 if request.method == "GET" else 409
        return SimResponse.html(status, _page("Payment link used", content, txn))
    if request.method != "POST":
        return SimResponse.html(200, render_checkout(txn, action_url))
    form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    return await _act(sim, txn, form, action_url)


async def _act(sim: PaystackSimulator, txn: SimTransaction, form: Mapping[str, str], url: str) -> SimResponse:
    action = form.get("action", "")
    channel = form.get("channel") or "card"
    if action == "success":
        await sim.settle(txn, "success", channel=channel if channel in PAY_CHANNELS else "card")
        return _after_success(txn)
    if action == "failed":
        await sim.settle(txn, "failed", channel=channel if channel in PAY_CHANNELS else "card")
        return _failed_page(txn, 200)
    if action == "abandon":
        await sim.settle(txn, "abandoned")
        cancel = txn.metadata.get("cancel_action") if isinstance(txn.metadata, Mapping) else None
        if isinstance(cancel, str) and cancel:
            return SimResponse.redirect(cancel)
        content = "<p id='state'>You cancelled this payment.</p>" + _return_link(txn)
        return SimResponse.html(200, _page("Payment cancelled", content, txn))
    if action == "card":
        return await _card(sim, txn, form, url)
    if action in _STEP_PROMPTS:
        return await _step(sim, txn, action, form.get(action, "").strip(), url)
    return SimResponse.html(400, render_checkout(txn, url, f"Unknown action {action!r}"))


async def _card(sim: PaystackSimulator, txn: SimTransaction, form: Mapping[str, str], url: str) -> SimResponse:
    number = "".join(ch for ch in form.get("card_number", "") if ch.isdigit())
    card = TEST_CARDS.get(number)
    if card is None or form.get("cvv", "").strip() != card.cvv:
        await sim.settle(txn, "failed", gateway_response="Declined")
        return _failed_page(txn, 400)
    txn.card = card
    txn.steps_left = list(card.steps)
    if not txn.steps_left:
        await sim.settle(txn, "success", channel="card")
        return _after_success(txn)
    txn.status = "ongoing"
    txn.gateway_response = "Awaiting customer input"
    return SimResponse.html(200, render_checkout(txn, url))


async def _step(sim: PaystackSimulator, txn: SimTransaction, step: str, value: str, url: str) -> SimResponse:
    card = txn.card
    if card is None or not txn.steps_left or txn.steps_left[0] != step:
        return SimResponse.html(400, render_checkout(txn, url, f"No {step} is expected now"))
    if step == "pin" and value != card.pin:
        await sim.settle(txn, "failed", gateway_response="Incorrect PIN")
        return _failed_page(txn, 400)
    if step == "otp" and value != card.otp:
        await sim.settle(txn, "failed", gateway_response="Incorrect OTP")
        return _failed_page(txn, 400)
    if step == "phone" and sum(ch.isdigit() for ch in value) < 10:
        error = "The phone number needs at least 10 digits"
        return SimResponse.html(200, render_checkout(txn, url, error))
    txn.steps_left.pop(0)
    if txn.steps_left:
        return SimResponse.html(200, render_checkout(txn, url))
    await sim.settle(txn, "success", channel="card")
    return _after_success(txn)


def _after_success(txn: SimTransaction) -> SimResponse:
    url = txn.callback_url or txn.merchant.callback_url
    if url:
        return SimResponse.redirect(callback_location(url, txn.reference))
    content = f"<p id='state'>Payment of {html.escape(_amount_text(txn))} successful.</p>"
    return SimResponse.html(200, _page("Payment successful", content, txn))


def _failed_page(txn: SimTransaction, status: int) -> SimResponse:
    content = (
        f"<p id='state'>Payment failed: {html.escape(txn.gateway_response)}. "
        "Start again with a new payment link.</p>" + _return_link(txn)
    )
    return SimResponse.html(status, _page("Payment failed", content, txn))
