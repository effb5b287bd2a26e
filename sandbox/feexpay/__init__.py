"""FeexPay's simulator: request-to-pay, status and callbacks in FeexPay's wire format, on this machine."""
