"""The customer's phone's M-Pesa prompt. In the page's shop Daraja's simulator holds every push (the visitor answers,
not a script); when the shop's push is accepted, the prompt opens on the phone of the customer whose order it is. The
visitor's answer becomes the callback Daraja would send, through the simulator's own control route
(``POST /_sim/stk/{id}/complete``): the sandbox PIN pays (0), another PIN fails (2001, "The initiator information is
invalid."), Cancel is 1032, and a prompt left alone times out (1037, "DS timeout user cannot be reached")."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from core.db.tables import Customer, Order, Tenant
from sandbox.mpesa.simulator import DarajaSimulator
from sandbox.playground.page.hub import Hub
from sandbox.playground.page.views import PromptView, shillings

SANDBOX_PIN = "1234"  # the PIN the page's prompt accepts; told on the prompt itself
PROMPT_SECONDS = 60  # how long the phone shows a prompt before giving up, about Safaricom's
STK_PATH = "/mpesa/stkpush/v1/processrequest"
RESULT_CODES = {"paid": 0, "wrong_pin": 2001, "cancel": 1032, "timeout": 1037}


class Prompts:
    def __init__(self, hub: Hub, render: Callable[[PromptView], str]) -> None:
        self.hub = hub
        self.render = render
        self.phone_of: Callable[[int], str | None] = lambda _: None  # Telegram user id -> phone key (the session's)
        self.sim: DarajaSimulator | None = None
        self.sim_url = ""
        self.database: Any = None
        self.control = httpx.AsyncClient(timeout=30.0)
        self.open: dict[str, asyncio.Task[None]] = {}  # checkout request id -> its time-out
        self.showing: set[asyncio.Task[None]] = set()

    async def on_response(self, response: httpx.Response) -> None:
        """An httpx hook on the shop's provider client: an accepted STK push opens its prompt."""
        if response.request.url.path != STK_PATH or response.status_code != 200:
            return
        await response.aread()
        try:
            checkout = response.json().get("CheckoutRequestID")
        except (ValueError, AttributeError):  # not Daraja's JSON object: the shop deals with it, no prompt opens
            return
        if isinstance(checkout, str):
            # Not awaited here: the shop's own request goes on while the page looks up whose phone it is.
            task = asyncio.get_running_loop().create_task(self.show(checkout))
            self.showing.add(task)
            task.add_done_callback(self.showing.discard)

    async def show(self, checkout: str) -> None:
        if self.sim is None or checkout not in self.sim.transactions:
            return
        txn = self.sim.transactions[checkout]
        async with self.database.uow() as uow:
            user_id = await uow.session.scalar(
                select(Customer.tg_user_id)
                .join(Order, Order.customer_id == Customer.id)
                .where(Order.code == txn.account_reference)
            )
            business = await uow.session.scalar(
                select(Tenant.name).join(Order, Order.tenant_id == Tenant.id).where(Order.code == txn.account_reference)
            )
        phone = self.phone_of(int(user_id)) if user_id is not None else None
        if phone is None:
            return
        view = PromptView(checkout, shillings(txn.amount), str(business or "").upper(), PROMPT_SECONDS, SANDBOX_PIN)
        self.hub.publish("prompt", phone=phone, checkout=checkout, html=self.render(view))
        self.open[checkout] = asyncio.get_running_loop().create_task(self._time_out(checkout))

    async def _time_out(self, checkout: str) -> None:
        await asyncio.sleep(PROMPT_SECONDS)
        self.open.pop(checkout, None)
        await self._complete(checkout, "timeout")

    async def answer(self, checkout: str, action: str, pin: str = "") -> str | None:
        """The visitor's answer (``pin`` or ``cancel``); what went wrong, or None."""
        timer = self.open.pop(checkout, None)
        if timer is None:
            return "This prompt is no longer open."
        timer.cancel()
        outcome = ("paid" if pin == SANDBOX_PIN else "wrong_pin") if action == "pin" else "cancel"
        return await self._complete(checkout, outcome)

    async def _complete(self, checkout: str, outcome: str) -> str | None:
        self.hub.publish("prompt_closed", checkout=checkout, outcome=outcome)
        answer = await self.control.post(
            f"{self.sim_url}/_sim/stk/{checkout}/complete", json={"result_code": RESULT_CODES[outcome]}
        )
        return None if answer.status_code == 200 else answer.text

    async def close(self) -> None:
        for timer in [*self.open.values(), *self.showing]:
            timer.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self.open.values(), *self.showing, return_exceptions=True)
        self.open.clear()
        await self.control.aclose()
