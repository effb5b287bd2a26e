"""The simulator's hosted payment page: the invoice's amount, its reference, and the customer's three ways out (pay,
be declined, abandon the page), as Corefy's Checkout shows a payment whatever acquirer stands behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.hosted import PayButton, checkout_page

if TYPE_CHECKING:
    from sandbox.corefy.state import SimInvoice


def payment_page(path: str, invoice: SimInvoice, test: bool) -> str:
    """The page at ``path``; its buttons post to ``path/pay``, ``path/fail`` and ``path/abandon``."""
    amount = int(invoice.amount) if invoice.amount == invoice.amount.to_integral_value() else invoice.amount
    return checkout_page(
        title="Corefy Checkout",
        path=path,
        amount=f"{invoice.currency} {amount}",
        reference=invoice.reference_id,
        pay=[PayButton("pay", "pay", "Pay by card")],
        cancel="Cancel and go back",
        test=test,
    )
