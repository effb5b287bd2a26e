"""A product's name and description in the reader's language: the catalog's variants (``name_sw``, ``description_fr``
columns of the catalog CSV, stored in ``products.translations``), falling back to the default ones.

The languages a variant may be in are those the shop's texts are written in (the catalogs of ``core/locales``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Protocol

from core.texts import DEFAULT_LANGUAGE

TRANSLATED_FIELDS = ("name", "description")


class Translated(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def translations(self) -> Mapping[str, Mapping[str, str]]: ...


@cache
def languages() -> tuple[str, ...]:
    """Every language with a text catalog (``en``, ``fr``, ``sw``): the default first."""
    found = {entry.name.partition(".")[0] for entry in resources.files("core.locales").iterdir()}
    found = {name for name in found if name.isalpha() and name.islower() and 2 <= len(name) <= 3}
    return (DEFAULT_LANGUAGE, *sorted(found - {DEFAULT_LANGUAGE}))


def _variant(product: Translated, field: str, language: str) -> str:
    return (product.translations or {}).get(language.partition("-")[0], {}).get(field, "")


def product_name(product: Translated, language: str) -> str:
    return _variant(product, "name", language) or product.name


class Described(Translated, Protocol):
    @property
    def description(self) -> str: ...


def product_description(product: Described, language: str) -> str:
    return _variant(product, "description", language) or product.description
