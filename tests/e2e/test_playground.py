"""``dukabot playground`` as a person runs it, in its own process: a script piped to its stdin walks the demo shop
from /start to a paid order by hand (the customer uploads a receipt photo, the merchant approves it), then pays a
second order by M-Pesa and a third by Paystack against the local simulators, and what the terminal printed shows
every step, the receipts included, and the sales invoices KRA eTIMS's simulator signed for them; a fourth order's
customer blocks the bot, and gets the receipt by SMS through Africa's Talking's simulator."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests.e2e.running import run

# Each line is one thing typed in the terminal; a number presses that button of the bot's latest message with buttons.
SCRIPT = [
    "1",  # Groceries
    "1",  # the first product (Fresh Milk 500ml)
    "1",  # Add to cart
    "/cart",
    "5",  # Checkout
    "1",  # the name Telegram knows ("Wanjiru")
    "0712345678",  # digits, but not a button number: sent as the phone number
    "2",  # Pickup
    "1",  # Confirm order
    "1",  # Pay by hand and upload proof
    ":photo QK7ABC1234",  # the receipt, the M-Pesa code as its caption
    ":m",
    "1",  # the merchant approves the proof
    ":c",
    "/orders",
    "²",  # a digit, but no button number: sent as text
    # A second order, paid by M-Pesa: the simulated phone accepts the prompt.
    "/shop",
    "1",  # Groceries
    "2",  # the second product (Kenyan Black Tea 250g)
    "1",  # Add to cart
    "/cart",
    "5",  # Checkout
    "1",  # the name given last time
    "1",  # the phone number given last time
    "2",  # Pickup
    "1",  # Confirm order
    "2",  # M-Pesa
    "1",  # yes, send the request to that number
    ":wait 8",  # Daraja's callback comes a little later
    # A third order, paid online through Paystack's simulated checkout page.
    "/shop",
    "1",
    "2",
    "1",
    "/cart",
    "5",
    "1",
    "1",
    "2",
    "1",
    "3",  # Pay online
    ":paystack success",
    ":wait 5",
    "/orders",
    # The demo shop reports each sale to KRA eTIMS's simulator: the three orders, signed in order.
    ":etims invoices",
    ":etims nonsense",
    # A fourth order, paid by hand; the customer blocks the bot before the merchant approves: the receipt goes by SMS.
    "/shop",
    "1",
    "2",
    "1",
    "/cart",
    "5",
    "1",
    "1",
    "2",
    "1",
    "1",  # Pay by hand and upload proof
    ":photo QK7XYZ9876",
    ":sms block",
    ":m",
    "1",  # the merchant approves the proof
    ":wait 3",
    ":sms sent",
    ":sms nonsense",
]


# On aiogram; it passes on python-telegram-bot too (mark it every_channel to see), at a minute a run.
def test_the_playground_runs_a_whole_manual_payment_journey(tmp_path: Path) -> None:
    done = run(tmp_path, SCRIPT)
    out = done.stdout
    assert done.returncode == 0, f"exit {done.returncode}\n{out[-3000:]}\n{done.stderr[-3000:]}"

    assert "Karibu, Wanjiru! Welcome to Demo Duka." in out
    assert re.search(
        r"\n  #1 sale KES 65\.00 signed [0-9A-F]{16}\n  #2 sale KES [0-9,.]+ signed [0-9A-F]{16}\n", out
    ), out[-3000:]
    assert "(:etims takes one of down, up, invoices)" in out
    blocked = re.search(
        r"\n  ATXid_sim00000001 to \+254712345678 from DEMODUKA: Demo Duka: payment of KES 160 received for order "
        r"([A-Z0-9]{6})\. Ref QK7XYZ9876\. Thank you!\n",
        out,
    )
    assert blocked, out[-3000:]
    assert "(:sms takes one of block, unblock, sent, down, up)" in out
    placed = re.search(r"Order ([A-Z0-9]{6}) is placed\. Amount to pay: KES 65\.", out)
    assert placed, out[-3000:]
    code = placed.group(1)
    assert "Send the amount to Till 555 555 (Demo Duka)" in out
    assert f"Thank you! Your proof for order {code} was sent to the shop." in out
    # The merchant's chat: the proof as a photo (saved, a link to open it) with the summary and the buttons, then the
    # approval.
    proof = r"── bot → merchant #\d+ ──\n\[photo\] file://\S+/playground/media/merchant-\d+\.png\n"
    assert re.search(proof + f"🧾 Proof of payment for order {code}\n", out), out[-3000:]
    assert "Reference given: QK7ABC1234\n[1] ✅ Approve  [2] ❌ Reject" in out
    assert f"✅ Approved. Order {code} is paid and the customer has been sent a receipt." in out
    # The customer's receipt, once.
    receipt = rf"── bot → customer #\d+ ──\n✅ Payment received\. Thank you!\nOrder: {code}\nAmount: KES 65\n"
    assert len(re.findall(receipt, out)) == 1, out[-3000:]
    assert "Reference: QK7ABC1234" in out
    assert f"• {code} – KES 65 – paid" in out
    assert "Sorry, I did not understand that." in out
    assert "Traceback" not in out + done.stderr
    # M-Pesa and Paystack, through the simulators: each order paid once, with its receipt.
    codes = re.findall(r"Order ([A-Z0-9]{6}) is placed\. Amount to pay: KES 160\.", out)
    assert len(codes) == 3, out[-4000:]
    mpesa_code, paystack_code, sms_code = codes
    assert blocked.group(1) == sms_code
    assert re.search(rf"Order: {mpesa_code}\nAmount: KES 160\nM-Pesa receipt: [A-Z0-9]{{10}}\n", out), out[-4000:]
    assert f"Order: {paystack_code}\nAmount: KES 160\nPaid by: Paystack (card)" in out, out[-4000:]
    for paid in (code, mpesa_code, paystack_code):
        assert f"• {paid} – KES " in out.rsplit("Your orders:", 1)[1] and f"• {paid} – KES 65 – waiting" not in out

    # The playground's own database holds the same story.
    database = tmp_path / "var" / "playground" / "playground.sqlite3"
    with sqlite3.connect(database) as connection:
        orders = connection.execute("SELECT code, status, total_minor FROM orders").fetchall()
        payments = connection.execute("SELECT provider, status, provider_txn_id FROM payments").fetchall()
    assert sorted(orders) == sorted(
        [(code, "paid", 6500), (mpesa_code, "paid", 16000), (paystack_code, "paid", 16000), (sms_code, "paid", 16000)]
    )
    paid_by = sorted(provider for provider, status, _ in payments if status == "paid")
    assert paid_by == ["manual", "manual", "mpesa", "paystack"]
    assert ("manual", "paid", "QK7ABC1234") in payments
