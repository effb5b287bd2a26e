"""The container's health check (``python -m webhooks.healthcheck``): ``GET /healthz`` where clients reach the server.

Docker forwards a published port to the container's own network address, not to its loopback. A server listening on
127.0.0.1 only (``DUKABOT_HOST=127.0.0.1`` in a container's environment) answers a check on loopback and no client
at all, so a check on loopback would stay green while the shop is unreachable. This one asks the address the
container's traffic leaves from (the one its default route uses, or else its host name's), on ``DUKABOT_PORT``.

Standard library only: it runs every few seconds. Exit status 0 when healthy, 1 with one line saying why otherwise.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.request


def reachable_address() -> str:
    """This machine's address on its network: the source address of its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # TEST-NET-2: any address off this machine picks the default route
            address = str(probe.getsockname()[0])
        except OSError:  # no route out (an isolated network): the host name's address, as Docker's /etc/hosts has it
            address = socket.gethostbyname(socket.gethostname())
    return address


def main() -> int:
    port = os.environ.get("DUKABOT_PORT", "8080")
    url = f"http://{reachable_address()}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status = int(response.status)
    except OSError as error:  # urllib's URLError and HTTPError are OSErrors
        print(f"unhealthy: {url}: {getattr(error, 'reason', error)}")
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
