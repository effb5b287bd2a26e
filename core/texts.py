"""The text catalog: every word a customer or merchant reads, by key, ready for translation.

Catalogs are JSON files in ``core/locales``: ``en.json`` and one ``en.<area>.json`` per area (``sw`` is planned).
A payment provider ships its own words in ``payments/<name>/locales/`` and adds that package with
:func:`register_catalog` from its ``__init__``, which the provider registry imports: core never imports payments,
so whatever renders a provider's text imports :mod:`payments.providers` first.
A key missing from a language falls back to English; a key missing from English is a bug and raises.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

DEFAULT_LANGUAGE = "en"
_CORE_PACKAGE = "core.locales"
_packages: list[str] = [_CORE_PACKAGE]


def register_catalog(package: str) -> None:
    """Adds the JSON files of ``package`` (e.g. ``payments.<name>.locales``) to the catalog; registering twice is
    harmless. The merged catalog is rebuilt on next use, so a package registered late is still found."""
    if package not in _packages:
        _packages.append(package)
        _catalog.cache_clear()


@cache
def _catalog(language: str) -> dict[str, str]:
    """Every registered package's ``en.json`` and ``en.<area>.json`` files (one file per area, e.g.
    ``en.orders.json``); a key defined twice is a mistake and raises, so two areas or two providers can never
    silently overwrite each other's words."""
    merged: dict[str, str] = {}
    for package in _packages:
        folder = resources.files(package)
        names = sorted(
            entry.name
            for entry in folder.iterdir()
            if entry.name == f"{language}.json"
            or (entry.name.startswith(f"{language}.") and entry.name.endswith(".json"))
        )
        for name in names:
            loaded: dict[str, str] = json.loads(folder.joinpath(name).read_text(encoding="utf-8"))
            clash = merged.keys() & loaded.keys()
            if clash:
                raise ValueError(f"{package}/{name} redefines text keys: {sorted(clash)}")
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
