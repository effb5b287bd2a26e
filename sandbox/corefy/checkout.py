"""The simulator's hosted payment page: the invoice's amount, its reference, and the customer's three ways out (pay,
be declined, abandon the page), as Corefy's Checkout shows a payment whatever acquirer stands behind it."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.corefy.state import SimInvoice


def payment_page(path: str, invoice: SimInvoice, test: bool) -> str:
    """The page at ``path``; its buttons post to ``path/pay``, ``path/fail`` and ``path/abandon``."""
    base = escape(path)
    banner = '<p id="test-mode">TEST MODE: no real money moves</p>' if test else ""
    amount = int(invoice.amount) if invoice.amount == invoice.amount.to_integral_value() else invoice.amount
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Corefy Checkout</title></head>
<body>{banner}
<h1>Pay {escape(invoice.currency)} {amount}</h1>
<p id="reference">{escape(invoice.reference_id)}</p>
<form method="post" action="{base}/pay">
<button id="pay" formaction="{base}/pay">Pay by card</button>
<button id="fail" formaction="{base}/fail">Decline (card refused)</button>
<button id="abandon" formaction="{base}/abandon">Cancel and go back</button>
</form></body></html>"""
