"""Africa's Talking's simulator in the playground: a real local server, the demo shop's SMS receipts set to go
there (as a fallback for an undeliverable chat), its delivery reports posted back to the shop, and the terminal's
``:sms WORD`` (the customer blocks the bot or unblocks it, the simulator goes down or comes back, what it sent)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import Tenant
from core.vault import Vault
from notify import store
from notify.sms.settings import SmsSettings
from payments.receipt_copies import FALLBACK
from sandbox.africastalking.simulator import AtSimulator, build_app
from sandbox.serving import serving as serve_locally

WORDS = ("block", "unblock", "sent", "down", "up")
HELP = (
    "  :sms WORD".ljust(21)
    + "SMS receipts (Africa's Talking's simulator): block / unblock (the customer blocks the bot), sent, down, up"
)


def serving(sim: AtSimulator) -> AbstractAsyncContextManager[str]:
    return serve_locally(build_app(sim))


async def configure_demo(session: AsyncSession, vault: Vault, tenant: Tenant, url: str, now: datetime) -> None:
    """The demo shop's SMS receipts go to the simulator at ``url`` (set again each start: its port changes)."""
    sim = AtSimulator()
    options, secrets = SmsSettings(sim.username, sim.api_key, "DEMODUKA", FALLBACK, url).stored()
    await store.store(session, vault, tenant, "sms", receipts=FALLBACK, options=options, secrets=secrets, now=now)


@dataclass
class SmsPlay:
    sim: AtSimulator
    block: Callable[[bool], None]  # the customer blocks (True) or unblocks (False) the demo bot

    async def play(self, word: str) -> str:
        if word in ("block", "unblock"):
            self.block(word == "block")
            if word == "block":
                return "(the customer blocked the bot: the next receipt goes by SMS)"
            return "(the customer unblocked the bot)"
        if word == "down":
            self.sim.down()
            return "(Africa's Talking is down: SMS receipts wait, nothing is lost)"
        if word == "up":
            self.sim.up()
            return "(Africa's Talking is back: waiting SMS receipts go out)"
        if word == "sent":
            lines = []
            async with httpx.AsyncClient() as http:
                for sms in self.sim.sent:
                    lines.append(f"  {sms.message_id} to {sms.to} from {sms.sender}: {sms.text}")
                    if self.sim.callback_url is not None:  # a handset received it: its delivery report
                        await self.sim.report(http, sms, "Success")
            return "\n".join(lines) or "(no SMS sent yet)"
        return f"(:sms takes one of {', '.join(WORDS)})"
