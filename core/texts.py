"""The text catalog: every word a customer or merchant reads, by key, in English, Swahili and French.

Catalogs are JSON files in ``core/locales``: ``<language>.json`` and one ``<language>.<area>.json`` per area.
A payment provider ships its own words in ``payments/<name>/locales/`` and adds that package with
:func:`register_catalog` from its ``__init__``, which the provider registry imports: core never imports payments,
so whatever renders a provider's text imports :mod:`payments.providers` first.

A text is a string with named ``{placeholders}``, or, for a text about a count, an object of CLDR plural categories
(``{"one": "{count} item", "other": "{count} items"}``) chosen by Babel's plural rule of the language: see
:func:`plural`. A key missing from a language falls back to English (the catalog test keeps that from happening);
a key missing from English is a bug and raises. Which language a person reads is :func:`choose_language`: theirs,
else the shop's, else English.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from typing import Any

from babel import Locale

DEFAULT_LANGUAGE = "en"
# The languages dukabot speaks, in the order /language offers them (each catalog names its own: ``language.name``).
LANGUAGES: tuple[str, ...] = ("en", "sw", "fr")
_CORE_PACKAGE = "core.locales"
_packages: list[str] = [_CORE_PACKAGE]

Template = str | dict[str, str]
# Called with (key, language asked for, language served) on every render: the tests' record of which catalog keys a
# conversation read and in which language (see :func:`listen`). Empty in production: one falsy check per render.
_listeners: list[Callable[[str, str, str], None]] = []


def register_catalog(package: str) -> None:
    """Adds the JSON files of ``package`` (e.g. ``payments.<name>.locales``) to the catalog; registering twice is
    harmless. The merged catalog is rebuilt on next use, so a package registered late is still found."""
    if package not in _packages:
        _packages.append(package)
        _catalog.cache_clear()


@cache
def _catalog(language: str) -> dict[str, Template]:
    """Every registered package's ``en.json`` and ``en.<area>.json`` files (one file per area, e.g.
    ``en.orders.json``); a key defined twice is a mistake and raises, so two areas or two providers can never
    silently overwrite each other's words."""
    merged: dict[str, Template] = {}
    for package in _packages:
        folder = resources.files(package)
        names = sorted(
            entry.name
            for entry in folder.iterdir()
            if entry.name == f"{language}.json"
            or (entry.name.startswith(f"{language}.") and entry.name.endswith(".json"))
        )
        for name in names:
            loaded: dict[str, Template] = json.loads(folder.joinpath(name).read_text(encoding="utf-8"))
            clash = merged.keys() & loaded.keys()
            if clash:
                raise ValueError(f"{package}/{name} redefines text keys: {sorted(clash)}")
            merged.update(loaded)
    return merged


def choose_language(*candidates: str | None) -> str:
    """The first of ``candidates`` dukabot speaks (a customer's, then the shop's), else English. A Telegram code
    such as ``"fr-CA"`` counts as its language."""
    for candidate in candidates:
        code = (candidate or "").split("-")[0].split("_")[0].lower()
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def has(key: str) -> bool:
    return key in _catalog(DEFAULT_LANGUAGE)


def _template(key: str, language: str) -> tuple[Template, str]:
    found = _catalog(language).get(key)
    if found is not None:
        served = language
    else:
        found, served = _catalog(DEFAULT_LANGUAGE).get(key), DEFAULT_LANGUAGE
    if found is None:
        raise KeyError(f"no text for {key!r} in the catalog")
    for listener in _listeners:
        listener(key, language, served)
    return found, served


def text(key: str, language: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    template, _ = _template(key, language)
    if isinstance(template, dict):
        raise TypeError(f"{key!r} is a plural text: render it with plural()")
    return template.format_map(values) if values else template


def plural(key: str, count: int, language: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    """The text ``key`` for ``count`` things: the form Babel's CLDR rule of the served language picks (``one``,
    ``few``, ``many``, ``other``...), with ``{count}`` and ``values`` filled in. A plain-string entry serves every
    count."""
    template, served = _template(key, language)
    if isinstance(template, str):
        return template.format_map({**values, "count": count})
    form = template.get(plural_category(count, served)) or template["other"]
    return form.format_map({**values, "count": count})


def plural_category(count: int, language: str) -> str:
    return _plural_rule(language)(abs(count))


@cache
def _plural_rule(language: str) -> Callable[[int], str]:
    rule: Callable[[int], str] = Locale.parse(language).plural_form
    return rule


def plural_categories(language: str) -> frozenset[str]:
    """The CLDR plural categories ``language`` needs for whole numbers (English and Swahili: one, other; French:
    one, many, other)."""
    tags: frozenset[str] = frozenset(Locale.parse(language).plural_form.tags) | {"other"}
    return tags


def keys() -> set[str]:
    return set(_catalog(DEFAULT_LANGUAGE))


def registered() -> tuple[str, ...]:
    """The packages whose catalogs are merged, in the order they were registered."""
    return tuple(_packages)


def keys_of(package: str) -> set[str]:
    """The English keys of one registered package's catalogs."""
    folder = resources.files(package)
    found: set[str] = set()
    for entry in folder.iterdir():
        if entry.name == f"{DEFAULT_LANGUAGE}.json" or (
            entry.name.startswith(f"{DEFAULT_LANGUAGE}.") and entry.name.endswith(".json")
        ):
            found |= json.loads(entry.read_text(encoding="utf-8")).keys()
    return found


@contextmanager
def listen(listener: Callable[[str, str, str], None]) -> Iterator[None]:
    """Calls ``listener(key, language asked for, language served)`` on every text rendered inside the block: the
    journey tests' check that a Swahili conversation read only Swahili texts."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)
