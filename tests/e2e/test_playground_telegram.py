"""Telegram Payments in ``dukabot playground``: the demo shop sells in Stars at its rate (KES 160 of tea is 16 Stars);
the invoice lands in the customer's chat on the playground's fake Telegram, ``:telegram pay`` pays it (Telegram's
pre-checkout question to the shop first), and the successful_payment update brings the receipt, once."""

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
    "8",  # Pay in Telegram
    ":wait 3",
    ":telegram pay",
    ":wait 3",
    "/orders",
]


def test_the_playground_pays_an_order_with_telegram_stars(tmp_path: Path) -> None:
    done = run(tmp_path, SCRIPT)
    out = done.stdout
    assert done.returncode == 0, f"exit {done.returncode}\n{out[-3000:]}\n{done.stderr[-3000:]}"
    placed = re.search(r"Order ([A-Z0-9]{6}) is placed\. Amount to pay: KES 160\.", out)
    assert placed, out[-3000:]
    code = placed.group(1)
    assert f"🧾 Demo Duka: {code} · Demo Duka (16 XTR)" in out, out[-3000:]
    assert f"⭐ Your invoice of XTR 16 for order {code} is above: tap Pay on it" in out
    assert "(paid 16 XTR in Telegram)" in out
    receipt = (
        rf"✅ Payment received\. Thank you!\nOrder: {code}\nAmount: XTR 16\nPaid by: Telegram Payments \(Telegram "
    )
    receipt += r"Stars\)"
    assert len(re.findall(receipt, out)) == 1, out[-3000:]
    assert "Traceback" not in out + done.stderr
    database = tmp_path / "var" / "playground" / "playground.sqlite3"
    with sqlite3.connect(database) as connection:
        payments = connection.execute("SELECT provider, status, amount_minor, currency FROM payments").fetchall()
    assert payments == [("telegram", "paid", 16, "XTR")]
