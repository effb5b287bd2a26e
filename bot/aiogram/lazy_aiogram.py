"""aiogram without building every Bot API model at import.

``aiogram.types`` calls ``model_rebuild`` on each of its ~450 pydantic models as it is imported, building a validator
and serializer for every type and method of the Bot API: about 130 MB of a server process's memory and seconds of
start-up, for a server that uses a few dozen of them. Here that import-time rebuild is skipped and each model is given
the namespace it would have been rebuilt with (pydantic's ``__pydantic_parent_namespace__``), so pydantic builds a
model the first time it is used, resolving the same names: an Update's models at the first update, sendMessage's at the
first reply. Behaviour is aiogram's; only when the work happens changes. Must run before anything imports aiogram:
``bot/__init__.py`` calls ``install()``, and product code imports aiogram only inside ``bot``.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

from pydantic import BaseModel

log = logging.getLogger(__name__)
_installed = False


def install() -> None:
    """Imports aiogram with its models' schemas deferred to their first use; a no-op when already done (or when
    aiogram was imported before, eagerly: then everything is built already and nothing is left to defer)."""
    global _installed
    if _installed or "aiogram" in sys.modules:
        _installed = True
        return
    _installed = True
    eager = BaseModel.model_rebuild.__func__  # type: ignore[attr-defined]
    namespaces: list[tuple[type[BaseModel], dict[str, Any]]] = []

    def deferred(
        cls: type[BaseModel], /, *args: Any, _types_namespace: dict[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        if _types_namespace is not None and cls.__module__.startswith("aiogram.") and not args and not kwargs:
            namespaces.append((cls, _types_namespace))
            return None
        return eager(cls, *args, _types_namespace=_types_namespace, **kwargs)

    BaseModel.model_rebuild = classmethod(deferred)  # type: ignore[method-assign,assignment]
    try:
        importlib.import_module("aiogram")  # every model defined, none built
    finally:
        BaseModel.model_rebuild = classmethod(eager)  # type: ignore[method-assign,assignment]
    _keep_responses(importlib.import_module("aiogram.methods.base").Response)
    if not namespaces:
        return
    names = namespaces[0][1]
    for cls, namespace in namespaces:
        cls.__pydantic_parent_namespace__ = namespace
    # Every other aiogram model gets the same names: the methods (SendMessage...) refer to types not built yet, and
    # a generic one (Response[T]) hands its namespace down to each parametrisation made later (Response[Message]).
    for cls in _subclasses(BaseModel):
        if cls.__module__.startswith("aiogram.") and cls.__pydantic_parent_namespace__ is None:
            cls.__pydantic_parent_namespace__ = names
    try:
        # The first model every server builds: if this aiogram or pydantic no longer builds a deferred model the
        # way this module expects, say so at start and build them all as aiogram would, rather than fail an update.
        importlib.import_module("aiogram.types").Update.model_rebuild(force=True)
    except Exception:
        log.warning("aiogram's models could not be built on first use with this version; building them all now")
        for cls, namespace in namespaces:
            eager(cls, force=True, _types_namespace=namespace)


def _keep_responses(response: Any) -> None:
    """Keeps each ``Response[T]`` once made. aiogram parametrises ``Response`` with the method's result type on
    every Bot API call, and pydantic caches a parametrised model weakly: a class lives in reference cycles, so each
    collection of the oldest generation freed it, and the next call built it again, the whole schema of the still
    deferred ``Message`` with it (70-250 ms with the event loop held, every second or two while receipts go out at
    50 a second). Kept here, each is built once per process, as the eager import did with ``Message``."""
    made: dict[Any, Any] = {}
    parametrise = response.__class_getitem__

    def kept(params: Any) -> Any:
        try:
            found = made.get(params)
        except TypeError:  # unhashable parameters: pydantic's own cache decides
            return parametrise(params)
        if found is None:
            found = made[params] = parametrise(params)
        return found

    response.__class_getitem__ = kept


def _subclasses(root: type[BaseModel]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    pending = [root]
    while pending:
        for sub in pending.pop().__subclasses__():
            found.append(sub)
            pending.append(sub)
    return found
