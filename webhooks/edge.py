"""What every inbound request must look like before a handler reads a byte of its body or looks anything up.

- No ``Content-Encoding`` but identity: Telegram and the payment providers send plain JSON, so an encoded body is
  refused with 415 before it is read. Nothing is ever decompressed (the server is built with decompression off), so
  a gzip bomb, or a body that claims to be gzip and is not, costs nothing, whoever sends it.
- Path parameters (shop slugs, callback tokens) are short runs of ASCII letters, digits, ``-`` and ``_``; anything
  else names nothing (404) and never reaches a query (PostgreSQL refuses NUL characters in text, for one).

The size limit is the app's ``client_max_size`` (413), enforced while the body is read.
"""

from __future__ import annotations

import logging
import re

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

log = logging.getLogger(__name__)
ACCEPTED_ENCODINGS = frozenset({"", "identity"})
# Given to web.Application(handler_args=...): the protocol never inflates a body, whatever its headers say.
HANDLER_ARGS = {"auto_decompress": False}
_PATH_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,128}")


def encoding_refused(request: web.BaseRequest) -> str | None:
    """The first Content-Encoding the server does not accept, or None."""
    for header in request.headers.getall(hdrs.CONTENT_ENCODING, ()):
        for coding in header.split(","):
            if coding.strip().lower() not in ACCEPTED_ENCODINGS:
                return coding.strip()[:32]
    return None


@web.middleware
async def screen_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    refused = encoding_refused(request)
    if refused is not None:
        # The route's pattern, not the path: paths carry callback tokens. The coding is cut short; never the body.
        log.warning("%s %s refused: Content-Encoding %r is not accepted", request.method, _route(request), refused)
        return web.Response(status=415, text="Content-Encoding not accepted: send the body unencoded")
    if not all(_PATH_PARAMETER.fullmatch(value) for value in request.match_info.values()):
        log.warning("%s %s refused: a path parameter is not a name", request.method, _route(request))
        return web.Response(status=404, text="not found")
    return await handler(request)


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"
