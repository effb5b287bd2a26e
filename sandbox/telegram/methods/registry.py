"""The method registry: a handler gets a :class:`Call` and returns the JSON ``result`` (or :class:`Described` when
Telegram adds a description to a successful answer); it raises ``ApiError`` for every failure. Each module of this
package registers its handlers with :func:`method`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..account import BotAccount
from ..params import Params

if TYPE_CHECKING:
    from ..fake import FakeTelegram


@dataclass(frozen=True)
class Call:
    fake: FakeTelegram
    bot: BotAccount
    params: Params


@dataclass(frozen=True)
class Described:
    """A successful result that Telegram sends with a description, e.g. setWebhook's "Webhook was set"."""

    result: Any
    description: str


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class MethodSpec:
    name: str
    handler: Handler


METHODS: dict[str, MethodSpec] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    """Registers a handler; Telegram matches method names case-insensitively."""

    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = MethodSpec(name, handler)
        return handler

    return register


def find_method(name: str) -> MethodSpec | None:
    return METHODS.get(name.lower())
