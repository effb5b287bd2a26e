"""Paystack's simulator: the API, the hosted checkout page and signed webhooks, in process (``httpx.MockTransport``)
or as a real local server (``server.serve``)."""
