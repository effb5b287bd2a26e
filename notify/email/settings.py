"""What a shop sets for email receipts (``dukabot notify set SLUG email``), checked before it is stored.

``host`` and ``port`` of the shop's SMTP server (its mail provider's submission server), ``security``: ``starttls``
(port 587, the usual), ``tls`` (implicit TLS, port 465) or ``none`` (a relay on the same machine only);
``username`` and ``password`` (stored encrypted) when the server asks for a login; ``from_address``: the address
receipts come from, which the server must allow that login to send as."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from notify.sms.settings import SettingsError
from notify.store import Stored

CHANNEL: Final = "email"
SECURITY: Final = ("starttls", "tls", "none")
_HOST: Final = re.compile(r"[A-Za-z0-9.-]{1,253}")
_FROM: Final = re.compile(r"[^@\s<>]{1,64}@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass(frozen=True, slots=True)
class EmailSettings:
    host: str
    port: int
    security: str
    from_address: str
    username: str | None = None
    password: str | None = None

    def stored(self) -> tuple[dict[str, Any], dict[str, str]]:
        options: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "from_address": self.from_address,
        }
        if self.username:
            options["username"] = self.username
        return options, ({"password": self.password} if self.password else {})


def parse(values: Mapping[str, Any]) -> EmailSettings:
    host = str(values.get("host") or "").strip()
    if not _HOST.fullmatch(host):
        raise SettingsError("host: the SMTP server's host name (smtp.example.co.ke)")
    security = str(values.get("security") or "starttls").strip().lower()
    if security not in SECURITY:
        raise SettingsError("security: starttls (port 587), tls (port 465) or none (a local relay)")
    port_given = str(values.get("port") or ("465" if security == "tls" else "587")).strip()
    if not port_given.isdigit() or not 1 <= int(port_given) <= 65535:
        raise SettingsError("port: a port number (587 for starttls, 465 for tls)")
    sender = str(values.get("from_address") or "").strip()
    if not _FROM.fullmatch(sender):
        raise SettingsError("from: the address receipts come from (receipts@shop.co.ke)")
    username = str(values.get("username") or "").strip() or None
    password = str(values.get("password") or "") or None
    if (username is None) != (password is None):
        raise SettingsError("username and password: both, or neither for a server that needs no login")
    return EmailSettings(host, int(port_given), security, sender, username, password)


def from_stored(stored: Stored) -> EmailSettings:
    return parse({**stored.options, "password": stored.secrets.get("password")})
