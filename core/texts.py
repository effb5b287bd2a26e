"""The text catalog: every word a customer or merchant reads, by key, ready for translation.

Catalogs are JSON files in ``core/locales``: ``en.json`` and one ``en.<area>.json`` per area (``sw`` is planned).
A key missing from a language falls back to English; a key missing from English is a bug and raises.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

DEFAULT_LANGUAGE = "en"


@cache
def _catalog(language: str) -> dict[str, str]:
    """``en.json`` plus every ``en.<area>.json`` (one file per area, e.g. ``en.mpesa.json``); a key defined twice
    is a mistake and raises, so two areas can never silently overwrite each other's words."""
    merged: dict[str, str] = {}
    folder = resources.files("core.locales")
    names = sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.name == f"{language}.json" or (entry.name.startswith(f"{language}.") and entry.name.endswith(".json"))
    )
    for name in names:
        loaded: dict[str, str] = json.loads(folder.joinpath(name).read_text(encoding="utf-8"))
        clash = merged.keys() & loaded.keys()
        if clash:
            raise ValueError(f"{name} redefines text keys: {sorted(clash)}")
        merged.update(loaded)
    return merged


def has(key: str) -> bool:
    return key in _catalog(DEFAULT_LANGUAGE)


def text(key: str, language: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    template = _catalog(language).get(key) or _catalog(DEFAULT_LANGUAGE).get(key)
    if template is None:
        raise KeyError(f"no text for {key!r} in the catalog")
    return template.format_map(values) if values else template


def keys() -> set[str]:
    return set(_catalog(DEFAULT_LANGUAGE))
