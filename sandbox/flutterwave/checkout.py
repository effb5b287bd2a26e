"""The simulator's hosted checkout page: the payment's amount and shop, one button per channel the merchant offers
(each pays), a decline and a cancel, as the customer meets them on Flutterwave's page."""

from __future__ import annotations

from sandbox.hosted import PayButton, checkout_page

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


def checkout_page_of(path: str, tx_ref: str, amount: int | float, currency: str, channels: str, test: bool) -> str:
    """The page at ``path``; its buttons post to ``path/pay?channel=…``, ``path/fail`` and ``path/abandon``."""
    offered = [channel.strip() for channel in channels.split(",") if channel.strip()] or ["card"]
    return checkout_page(
        title="Flutterwave Checkout",
        path=path,
        amount=f"{currency} {amount}",
        reference=tx_ref,
        pay=[PayButton(f"pay-{c}", f"pay?channel={c}", f"Pay with {_LABELS.get(c, c)}") for c in offered],
        cancel="Cancel payment",
        test=test,
    )
