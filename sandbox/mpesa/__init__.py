"""Daraja's simulator: STK push, its query, C2B and Transaction Status, in process (``httpx.MockTransport``) or as a
real local server (``server.SimulatorServer``)."""
