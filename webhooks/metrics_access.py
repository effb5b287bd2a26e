"""Who may read ``/metrics``. It tells how many payments each provider has in each state and how far the outbox is
behind: nothing for the world to read.

- With ``DUKABOT_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>``, wherever it comes from;
  a missing or wrong token gets 401. The token is compared in constant time (as SHA-256 digests, so not even its
  length shows in the time taken).
- Without it, only a client on this machine may read it: a peer on a loopback address that did not come through a
  proxy. A reverse proxy on the same machine connects from loopback too, so a request that carries a proxy's header
  (``Forwarded``, ``X-Forwarded-For``, ``X-Real-IP``) counts as coming from elsewhere. Anyone else gets 403, told to
  set the token. In a container nothing is on "this machine" but the container: scrape it with the token.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from aiohttp import hdrs, web
from pydantic import SecretStr

PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")
LOCAL_ONLY = "/metrics answers only on this machine: set DUKABOT_METRICS_TOKEN to scrape it from elsewhere"
NEEDS_BEARER = "/metrics needs the header Authorization: Bearer DUKABOT_METRICS_TOKEN"


def refusal(request: web.BaseRequest, token: SecretStr | None) -> web.Response | None:
    """The answer that refuses this scrape, or None when it may read the metrics."""
    expected = token.get_secret_value() if token is not None else ""
    if expected:  # an empty DUKABOT_METRICS_TOKEN= counts as none, never as "the empty token opens it"
        if _same(_bearer(request), expected):
            return None
        return web.Response(status=401, text=NEEDS_BEARER, headers={hdrs.WWW_AUTHENTICATE: 'Bearer realm="metrics"'})
    if _from_this_machine(request):
        return None
    return web.Response(status=403, text=LOCAL_ONLY)


def _bearer(request: web.BaseRequest) -> str:
    scheme, _, credentials = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def _same(given: str, expected: str) -> bool:
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(expected.encode()).digest())


def _from_this_machine(request: web.BaseRequest) -> bool:
    if any(header in request.headers for header in PROXY_HEADERS):
        return False
    try:
        peer = ipaddress.ip_address(request.remote or "")
    except ValueError:  # a Unix socket, or no peer address at all
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return peer.is_loopback
