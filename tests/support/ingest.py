"""For rigs that run the app without its workers (``build_app(..., workers=False)``) and drive each by hand: provider
events the routes recorded (``payments.ingest``) are applied here as the app's applier would apply them."""

from __future__ import annotations

from webhooks.runtime import Runtime


async def apply_recorded(runtime: Runtime) -> None:
    """Apply every event recorded so far (a failing one is given up after its attempts run out, so this ends)."""
    assert runtime.ingest is not None
    while await runtime.ingest.apply_recorded():
        pass
