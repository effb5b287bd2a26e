"""How a shop operation refuses: :class:`ShopError`, with a message fit for an operator."""

from __future__ import annotations

__all__ = ["ShopError"]


class ShopError(Exception):
    """An operation refused, with a one-line message for the operator. ``problems`` lists the details, if several."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[str, ...] = tuple(problems or ())

    def __str__(self) -> str:
        return self.message
