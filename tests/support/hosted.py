"""What the hosted-link journeys (tests/integration/test_*_journey.py) share: an order paid with the provider's
method in the chat, the customer on the provider's page in a browser, and the attempt's status."""

from __future__ import annotations

from typing import Protocol

import httpx
from sqlalchemy import select

from core.db.tables import Payment
from tests.support.app import Person, ShopServer, place_order


class Drains(Protocol):
    async def drain(self) -> None: ...


async def choose(server: ShopServer, customer: Person, method: str, pay_button: str) -> tuple[str, str]:
    """A placed order paid with ``method`` in the chat: its code, and the link of the started message's button."""
    code = await place_order(customer)
    await customer.tap(method)
    await server.settle()
    started = customer.find(f"To pay KES 420 for order {code}")
    link = started.button(pay_button).target
    assert link is not None, started.content
    return code, link


async def on_the_page(
    browser: httpx.AsyncClient, sim: Drains, server: ShopServer, link: str, action: str, *shown: str
) -> httpx.Response:
    """The customer on the provider's page: it shows the amount (and ``shown``); a button is pressed (``action``),
    the provider sends the browser back to the shop, and what it sends by itself has arrived."""
    page = await browser.get(link)
    assert page.status_code == 200 and "Pay KES 420" in page.text, page.text
    assert [words for words in shown if words not in page.text] == []
    back = await browser.post(f"{link}/{action}")
    assert back.status_code == 302
    await sim.drain()
    await server.settle()
    return back


async def payment_status(server: ShopServer) -> str:
    """The status of the latest payment attempt."""
    async with server.database.uow() as uow:
        return (await uow.session.scalars(select(Payment.status).order_by(Payment.id.desc()))).first() or ""
