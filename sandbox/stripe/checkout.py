"""The simulator's hosted Checkout page, served at each session's ``url``.

A person (or a test, with a form POST) picks what happens: ``pay`` (a card, paid at once), ``fail`` (a delayed
method whose money never arrives: the session completes unpaid, then ``async_payment_failed``), ``pay_later`` (the
same, arriving), or ``abandon`` (back to the shop's ``cancel_url``; the session stays open until it expires). After
paying, the browser goes to ``success_url`` with ``{CHECKOUT_SESSION_ID}`` filled in, as Stripe does. The events
are delivered to the mode's endpoint when one is set."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from payments.stripe.currencies import from_amount

if TYPE_CHECKING:
    from sandbox.stripe.simulator import SimRequest, SimResponse, StripeSimulator

ACTIONS = ("pay", "fail", "pay_later", "abandon")
_STYLE = (
    "body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}"
    ".banner{background:#fde68a;padding:.5rem;text-align:center;font-weight:bold}"
    "form{display:inline-block;margin:.5rem}button{padding:.5rem 1rem}"
)


def _page(title: str, body: str, status: int = 200) -> SimResponse:
    from sandbox.stripe.simulator import SimResponse

    document = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return SimResponse(status, document.encode(), {"Content-Type": "text/html; charset=utf-8"})


def _redirect(location: str) -> SimResponse:
    from sandbox.stripe.simulator import SimResponse

    return SimResponse(303, b"", {"Location": location})


async def handle_checkout(sim: StripeSimulator, request: SimRequest) -> SimResponse:
    session_id = request.path.removeprefix("/c/pay/").strip("/")
    session = next((s for s in sim.sessions if s.id == session_id), None)
    if session is None:
        return _page("Something went wrong", "<p>This checkout page does not exist.</p>", 404)
    if session.status == "open" and session.expires_at <= sim.now():
        sim.expire(session.id)  # Stripe expires it on its own: the event goes out now
        await _deliver_last(sim, 1)
    if session.status != "open":
        words = "This checkout session has expired." if session.status == "expired" else "This session is complete."
        return _page("Checkout", f"<p>{words}</p>", 410 if session.status == "expired" else 200)
    if request.method == "POST":
        action = dict(parse_qsl(request.body.decode())).get("action", "")
        if action not in ACTIONS:
            return _page("Checkout", "<p>Choose pay, fail, pay_later or abandon.</p>", 400)
        if action == "abandon":
            return _redirect(session.cancel_url)
        if action == "pay":
            sim.pay(session.id)
            await _deliver_last(sim, 1)
        else:
            sim.pay_later(session.id, succeeds=action == "pay_later")
            await _deliver_last(sim, 2)
        return _redirect(session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id))
    amount = from_amount(session.amount_total, session.currency).format()
    banner = "" if session.livemode else "<p class='banner'>TEST MODE (simulator)</p>"
    buttons = "".join(
        f"<form method='post'><input type='hidden' name='action' value='{action}'>"
        f"<button>{action.replace('_', ' ')}</button></form>"
        for action in ACTIONS
    )
    return _page("Stripe Checkout (simulator)", f"{banner}<p>Pay <b>{html.escape(amount)}</b></p>{buttons}")


async def _deliver_last(sim: StripeSimulator, count: int) -> None:
    for event in sim.events[-count:]:
        await sim.deliver(event)
