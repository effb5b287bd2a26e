"""Each hosted-link provider's place in ``dukabot playground``: the demo shop takes it against the local simulator,
whose page the person at the terminal answers with ``:<provider> success``; the provider's word comes to the shop by
itself (Corefy's callbacks to the invoice's callback URL, Flutterwave's webhook to the demo merchant's dashboard URL),
the provider's API confirms it (the invoice's fetch, verify), and the receipt is printed once."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.running import run


@dataclass(frozen=True)
class HostedLink:
    provider: str
    says: str  # its name to the customer
    menu: str  # its place in the payment menu
    started: str  # the link's message, after the amount and the order
    answered: str  # the terminal's word once its page was answered


LINKS = [
    HostedLink("corefy", "Corefy", "7", "open the secure payment page below", "the Corefy payment page"),
    HostedLink(
        "flutterwave", "Flutterwave", "4", "open Flutterwave's checkout below.", "the Flutterwave checkout page"
    ),
]


def script(link: HostedLink) -> list[str]:
    return [
        "1",  # Groceries
        "2",  # Kenyan Black Tea 250g
        "1",  # Add to cart
        "/cart",
        "5",  # Checkout
        "1",  # the name Telegram knows
        "0712345678",
        "2",  # Pickup
        "1",  # Confirm order
        link.menu,  # Card & more (Corefy); Card, M-Pesa & more (Flutterwave)
        ":wait 3",
        f":{link.provider} success",
        ":wait 5",
        "/orders",
    ]


@pytest.mark.parametrize("link", LINKS, ids=[link.provider for link in LINKS])
def test_the_playground_pays_an_order_through_the_providers_page(tmp_path: Path, link: HostedLink) -> None:
    done = run(tmp_path, script(link))
    out = done.stdout
    assert done.returncode == 0, f"exit {done.returncode}\n{out[-3000:]}\n{done.stderr[-3000:]}"
    placed = re.search(r"Order ([A-Z0-9]{6}) is placed\. Amount to pay: KES 160\.", out)
    assert placed, out[-3000:]
    code = placed.group(1)
    assert f"To pay KES 160 for order {code}, {link.started}" in out, out[-3000:]
    assert f"({link.answered} was answered: success)" in out
    receipt = rf"✅ Payment received\. Thank you!\nOrder: {code}\nAmount: KES 160\nPaid by: {link.says} \(card\)"
    assert len(re.findall(receipt, out)) == 1, out[-3000:]
    assert "Traceback" not in out + done.stderr
    database = tmp_path / "var" / "playground" / "playground.sqlite3"
    with sqlite3.connect(database) as connection:
        payments = connection.execute("SELECT provider, status FROM payments").fetchall()
    assert payments == [(link.provider, "paid")]
