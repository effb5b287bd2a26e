"""The simulator's hosted checkout page: the payment's amount and shop, one button per channel the merchant offers
(each pays), a decline and a cancel, as the customer meets them on Flutterwave's page."""

from __future__ import annotations

from html import escape

_LABELS = {
    "card": "Card",
    "mpesa": "M-Pesa",
    "mobilemoney": "Mobile money",
    "mobilemoneyghana": "Mobile money (Ghana)",
    "mobilemoneyuganda": "Mobile money (Uganda)",
    "mobilemoneyrwanda": "Mobile money (Rwanda)",
    "banktransfer": "Bank transfer",
    "ussd": "USSD",
    "account": "Bank account",
}


def checkout_page(path: str, tx_ref: str, amount: int | float, currency: str, channels: str, test: bool) -> str:
    """The page at ``path``; its buttons post to ``path/pay?channel=…``, ``path/fail`` and ``path/abandon``."""
    base = escape(path)
    offered = [channel.strip() for channel in channels.split(",") if channel.strip()] or ["card"]
    pay = "".join(
        f'<button id="pay-{escape(c)}" formaction="{base}/pay?channel={escape(c)}">'
        f"Pay with {escape(_LABELS.get(c, c))}</button>"
        for c in offered
    )
    banner = '<p id="test-mode">TEST MODE: no real money moves</p>' if test else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Flutterwave Checkout</title></head>
<body>{banner}
<h1>Pay {escape(currency)} {amount}</h1>
<p id="reference">{escape(tx_ref)}</p>
<form method="post" action="{base}/pay">{pay}
<button id="fail" formaction="{base}/fail">Decline (card refused)</button>
<button id="abandon" formaction="{base}/abandon">Cancel payment</button>
</form></body></html>"""
