"""Text that cannot be stored or sent: lone UTF-16 surrogates.

JSON may spell them (``"\\ud800"``) and Python decodes them into a ``str``, but no database, UTF-8 encoder or Telegram
accepts one. Where outside text comes in, it is cleaned (:func:`clean_text`) or refused (:func:`holds_lone_surrogate`).
"""

from __future__ import annotations

from typing import Any


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD; a surrogate pair that stands for one character becomes
    that character."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def holds_lone_surrogate(value: Any) -> bool:
    """Whether a decoded JSON value has a lone surrogate in any string, key or value (walked without recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if clean_text(item) is not item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
