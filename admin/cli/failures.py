"""Telling an operator what kind of failure they are looking at: a server that could not be reached (the network, a
wrong host or port, a firewall) is not credentials that were refused, and each is mended differently.

Libraries wrap the socket's error in their own (aiohttp in aiogram's, httpcore in httpx's, httpx in our providers'
``raise ... from None``, which hides the cause from tracebacks but keeps it as ``__context__``), so the chain of
causes is searched for what really happened. Nothing here imports a client library: the tests are on the standard
exceptions and on attributes the clients share.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

__all__ = ["could_not_reach", "credentials_refused", "host_of", "unreachable_or_refused"]

_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.EHOSTDOWN,
    errno.ENETDOWN,
}


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _network_reason(error: BaseException) -> str | None:
    for exc in _chain(error):
        if isinstance(exc, socket.gaierror):
            return "host name not found"
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused"
        if isinstance(exc, ConnectionResetError | ConnectionAbortedError):
            return "the connection was closed"
        if isinstance(exc, TimeoutError) or type(exc).__name__.endswith(("Timeout", "TimeoutException")):
            return "timed out"
        if isinstance(exc, ssl.SSLError):
            return f"TLS failed ({exc.reason or type(exc).__name__})"
        if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
            return os.strerror(exc.errno).lower()
    return None


def _host_in(error: BaseException) -> str | None:
    """The host:port a client was calling, when its exception says: aiohttp's connector errors carry ``host`` and
    ``port``, httpx's request errors their ``request``."""
    for exc in _chain(error):
        host, port = getattr(exc, "host", None), getattr(exc, "port", None)
        if isinstance(host, str) and host:
            return f"{host}:{port}" if isinstance(port, int) else host
        try:
            url = getattr(exc, "request", None).url  # type: ignore[union-attr]
        except (AttributeError, RuntimeError):  # httpx raises RuntimeError for an error without a request
            continue
        host = getattr(url, "host", None)
        if isinstance(host, str) and host:
            port = getattr(url, "port", None)
            return f"{host}:{port}" if isinstance(port, int) else host
    return None


def could_not_reach(error: BaseException, host: str | None = None) -> str | None:
    """``could not reach HOST: REASON`` when ``error`` comes from the network (``host`` when the error does not name
    one), else None."""
    reason = _network_reason(error)
    if reason is None:
        return None
    return f"could not reach {_host_in(error) or host or 'the server'}: {reason}"


def credentials_refused(error: BaseException) -> bool:
    """Whether the server answered and refused who we said we were: HTTP 401/403, a provider's own word for bad
    credentials (``misconfigured``), or PostgreSQL's class 28 (invalid authorization: bad password, unknown role)."""
    for exc in _chain(error):
        if getattr(exc, "misconfigured", False) is True or getattr(exc, "http_status", None) in (401, 403):
            return True
        sqlstate = getattr(exc, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith("28"):
            return True
    return False


def unreachable_or_refused(error: BaseException, host: str | None = None) -> str | None:
    """``could not reach HOST: REASON``, or ``credentials refused: WHAT THE SERVER SAID``, or None for any other
    failure (the caller words it)."""
    reach = could_not_reach(error, host)
    if reach is not None:
        return reach
    if not credentials_refused(error):
        return None
    said = getattr(error, "orig", None) or error  # SQLAlchemy's wrapper adds the statement; the driver's words suffice
    lines = str(said).strip().splitlines()
    return f"credentials refused: {lines[0] if lines else type(said).__name__}"


def host_of(base_url: str) -> str:
    """The host (and port) of an http(s) base URL, to name the server that could not be reached."""
    return urlsplit(base_url).netloc or base_url
