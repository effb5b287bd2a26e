"""The simulator's hosted onboarding of a connected (Express) account, at each Account Link's ``url``: the merchant
gives its details (one button), the account can take charges (``account.updated`` sent to the platform's endpoint)
and the browser goes to the link's ``return_url``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.stripe.checkout import _page, _redirect

if TYPE_CHECKING:
    from sandbox.stripe.simulator import SimRequest, SimResponse, StripeSimulator


async def handle_onboarding(sim: StripeSimulator, request: SimRequest) -> SimResponse:
    account = sim.accounts.get(request.path.removeprefix("/c/onboard/").strip("/"))
    if account is None:
        return _page("Something went wrong", "<p>This onboarding link does not exist.</p>", 404)
    if request.method == "POST":
        event = sim.complete_onboarding(account.id)
        await sim.deliver(event)
        return _redirect(account.return_url)
    form = "<form method='post'><button>Give my details and finish</button></form>"
    return _page("Stripe Express onboarding (simulator)", f"<p>Account {account.id}</p>{form}")
