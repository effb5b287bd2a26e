"""PayPal's part of the server process: one token cache, ``paypal.tokens``, shared by every PayPal provider object,
so a shop's token is fetched once and reused until shortly before it expires."""

from __future__ import annotations

from payments.base import ProcessKit, ProcessParts
from payments.paypal.tokens import SHARED_NAME, PayPalTokens


def parts(kit: ProcessKit) -> ProcessParts:
    return ProcessParts(shared={SHARED_NAME: PayPalTokens(kit.clock)})
