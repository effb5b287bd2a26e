"""PayPal Orders v2 simulator."""
