"""The Bot API methods the fake implements, each validating its input the way Telegram does.

A handler gets a :class:`Call` and returns the JSON ``result`` (or :class:`Described` when Telegram adds a description
to a successful answer); it raises ``ApiError`` for every failure. The registry is in :mod:`.registry`; the handlers
are grouped by what they do (:mod:`.identity`, :mod:`.updates`, :mod:`.sending`, :mod:`.editing`, :mod:`.files`,
:mod:`.payments`, :mod:`.inline`) and
registered by importing their modules here.
"""

from . import editing, files, identity, inline, payments, sending, updates
from .registry import METHODS, Call, Described, Handler, MethodSpec, find_method, method

__all__ = [
    "METHODS",
    "Call",
    "Described",
    "Handler",
    "MethodSpec",
    "editing",
    "files",
    "find_method",
    "identity",
    "inline",
    "method",
    "payments",
    "sending",
    "updates",
]
