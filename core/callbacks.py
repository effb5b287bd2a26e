"""Button callback data: short, typed, and parsed strictly.

Telegram gives a button at most 64 bytes, and a client can send anything back, so a button carries only a verb and
small integer ids, and every id is looked up again within the tenant before anything is done with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SHAPE = re.compile(r"^([a-z]{1,8})((?::-?\d{1,12})*)$")


@dataclass(frozen=True, slots=True)
class Action:
    verb: str
    args: tuple[int, ...] = ()

    def encode(self) -> str:
        return ":".join([self.verb, *(str(arg) for arg in self.args)])


def action(verb: str, *args: int) -> str:
    return Action(verb, args).encode()


def parse(data: str | None) -> Action | None:
    """The action a button carries, or None for anything that is not one of ours."""
    if not data:
        return None
    match = _SHAPE.match(data)
    if match is None:
        return None
    args = tuple(int(part) for part in match.group(2).split(":")[1:]) if match.group(2) else ()
    return Action(match.group(1), args)
