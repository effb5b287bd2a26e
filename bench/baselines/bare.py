"""The floor of any HTTP path: aiohttp answering every POST with a small JSON body, storing nothing.

``python -m bench.baselines.bare PORT``
"""

from __future__ import annotations

import sys

from aiohttp import web

ACK = {"ResultCode": 0, "ResultDesc": "Accepted"}


async def answer(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response(ACK)


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/{tail:.*}", answer)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
