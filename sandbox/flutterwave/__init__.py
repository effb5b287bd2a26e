"""Flutterwave v3's simulator: its API, its hosted checkout page and its webhooks, on this machine."""
