"""Corefy's place in ``dukabot playground``: the demo shop takes it against the local simulator, whose hosted payment
page the person at the terminal answers with ``:corefy success``; the callbacks come to the invoice's callback URL
by themselves, the invoice's fetch confirms them, and the receipt is printed once."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests.e2e.running import run

SCRIPT = [
    "1",  # Groceries
    "2",  # Kenyan Black Tea 250g
    "1",  # Add to cart
    "/cart",
    "5",  # Checkout
    "1",  # the name Telegram knows
    "0712345678",
    "2",  # Pickup
    "1",  # Confirm order
    "7",  # Card & more (Corefy)
    ":wait 3",
    ":corefy success",
    ":wait 5",
    "/orders",
]


def test_the_playground_pays_an_order_through_corefys_payment_page(tmp_path: Path) -> None:
    done = run(tmp_path, SCRIPT)
    out = done.stdout
    assert done.returncode == 0, f"exit {done.returncode}\n{out[-3000:]}\n{done.stderr[-3000:]}"
    placed = re.search(r"Order ([A-Z0-9]{6}) is placed\. Amount to pay: KES 160\.", out)
    assert placed, out[-3000:]
    code = placed.group(1)
    assert f"To pay KES 160 for order {code}, open the secure payment page below" in out, out[-3000:]
    assert "(the Corefy payment page was answered: success)" in out
    receipt = rf"✅ Payment received\. Thank you!\nOrder: {code}\nAmount: KES 160\nPaid by: Corefy \(card\)"
    assert len(re.findall(receipt, out)) == 1, out[-3000:]
    assert "Traceback" not in out + done.stderr
    database = tmp_path / "var" / "playground" / "playground.sqlite3"
    with sqlite3.connect(database) as connection:
        payments = connection.execute("SELECT provider, status FROM payments").fetchall()
    assert payments == [("corefy", "paid")]
