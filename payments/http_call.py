"""A provider's HTTP call, with httpx's failures to reach the provider as the contract's :class:`ProviderError`.

Every client sends through :func:`send`, so a timeout and a connection that failed mean the same to the payment jobs
and the reconciler whichever provider it was (both retryable: the provider may have acted, so what happened is
settled by a query before anything is sent again). What the provider answered is each client's own to read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from payments.base import ProviderError


async def send(
    http: httpx.AsyncClient,
    label: str,
    method: str,
    url: str,
    *,
    error: Callable[..., ProviderError] = ProviderError,
    **options: Any,
) -> httpx.Response:
    """``http.request(method, url, **options)``; a timeout or a network failure raises ``error`` (the provider's
    ProviderError class) with code ``timeout`` or ``network``. ``label`` names the call in the message ("PayPal
    token"); the message never carries the URL, whose query may hold a secret."""
    try:
        return await http.request(method, url, **options)
    except httpx.TimeoutException:
        raise error(f"{label}: timed out", code="timeout", retryable=True) from None
    except httpx.HTTPError as failure:
        raise error(f"{label}: network error ({type(failure).__name__})", code="network", retryable=True) from None
