"""The eTIMS simulator in the playground: a real local server, the demo shop set to report to it, and the terminal's
``:etims WORD`` (take KRA down and bring it back, list what it signed)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.vault import Vault
from fiscal import devices
from fiscal.etims.settings import EtimsSetup
from sandbox.etims.simulator import EtimsSimulator, build_app
from sandbox.serving import serving as serve_locally

DEMO_PIN = "P051234567A"
DEMO_SERIAL = "DEMO-OSCU-0001"
DEMO_ITEM_CLASS = "5059690800"  # every demo product's class (KRA's example code)
WORDS = ("down", "up", "invoices")
HELP = "  :etims WORD".ljust(21) + "KRA eTIMS's simulator: down (an outage), up, invoices (what it signed)"


def serving(sim: EtimsSimulator) -> AbstractAsyncContextManager[str]:
    return serve_locally(build_app(sim), path="/etims-api")


async def configure_demo(session: AsyncSession, vault: Vault, tenant_id: int, url: str, now: datetime) -> None:
    """The demo shop reports to the simulator at ``url`` (set again each start: its port changes); its products
    name no class, so ``default_item_class`` covers them."""
    setup = EtimsSetup.parse(
        {"kra_pin": DEMO_PIN, "device_serial": DEMO_SERIAL, "default_item_class": DEMO_ITEM_CLASS, "base_url": url}
    )
    row = await devices.device(session, tenant_id, "etims")
    kept = vault.decrypt_json(row.secrets_enc) if row is not None and row.secrets_enc else {}
    await devices.store(session, vault, tenant_id, setup, now, keep=kept)


def play(sim: EtimsSimulator, word: str) -> str:
    if word == "down":
        sim.down()
        return "(KRA eTIMS is down: invoices wait, nothing is lost)"
    if word == "up":
        sim.up()
        return "(KRA eTIMS is back: waiting invoices go out in order)"
    if word == "invoices":
        lines = []
        for invoice in sim.invoices:
            what = f"credit note of #{invoice.original}" if invoice.receipt_type == "R" else "sale"
            lines.append(f"  #{invoice.number} {what} KES {invoice.total:,.2f} signed {invoice.signature}")
        return "\n".join(lines) or "(no invoice signed yet)"
    return f"(:etims takes one of {', '.join(WORDS)})"
