"""Calls to an OSCU host: one JSON POST per operation, headers ``tin``, ``bhfId`` and (once issued) ``cmcKey``."""

from __future__ import annotations

import json
from typing import Any

import httpx

from fiscal.etims import wire


class Unreachable(Exception):
    """No answer that can be read (the network, a timeout, a 5xx, a body that is not JSON): try again later."""


class OscuClient:
    def __init__(self, http: httpx.AsyncClient, host: str, pin: str, branch: str, cmc_key: str | None) -> None:
        self.http = http
        self.host = host.rstrip("/")
        self.pin = pin
        self.branch = branch
        self.cmc_key = cmc_key

    async def call(self, path: str, body: dict[str, Any]) -> wire.Answer:
        headers = {"tin": self.pin, "bhfId": self.branch, "Content-Type": "application/json"}
        if self.cmc_key:
            headers["cmcKey"] = self.cmc_key
        try:
            response = await self.http.post(
                self.host + path, content=json.dumps(body), headers=headers, timeout=httpx.Timeout(30.0, connect=10.0)
            )
        except httpx.HTTPError as error:
            raise Unreachable(f"{type(error).__name__}") from None
        if response.status_code >= 500:
            raise Unreachable(f"HTTP {response.status_code}")
        try:
            body_read = response.json()
        except ValueError:
            raise Unreachable(f"HTTP {response.status_code}, not JSON") from None
        return wire.answer(body_read)
