"""Every translation of every text catalog is whole and faithful to English, the reference.

The catalogs are the JSON files of ``core/locales`` and of each provider's ``payments/<name>/locales``: ``en.json``
and ``en.<area>.json``, translated file by file as ``<language>.json`` and ``<language>.<area>.json`` (see
:mod:`core.texts`). Every language found on disk is checked against English, file by file:

- every English key is translated (a key added to English later fails here, by name, until it is translated);
- a translation has no key English lacks (a renamed or removed key left behind);
- each text has exactly English's ``{placeholders}``, its commands (``/shop``), its ``code`` and its emoji;
- a text about a count (an object of plural forms, see :func:`core.texts.plural`) has exactly the CLDR plural
  categories its language needs (Babel's rules: English and Swahili ``one``/``other``, French ``one``/``many``/
  ``other``), is plural in every language or in none, and each form may leave out ``{count}`` but nothing else;
- no sentence of more than three words is English's own words copied over, untranslated.

At runtime a missing key quietly falls back to English; this test is what keeps that fallback from hiding a
half-English conversation.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

import payments.providers  # noqa: F401 - registers the providers' catalogs with core.texts
from core import texts

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = texts.DEFAULT_LANGUAGE
CATALOG_FOLDERS = [ROOT / "core" / "locales", *sorted((ROOT / "payments").glob("*/locales"))]

# Texts a translation may leave exactly as in English although they have more than three words, and why.
SAME_IN_EVERY_LANGUAGE: dict[str, str] = {}
MOST_WORDS_COPIED = 3  # a text of this many words or fewer may be the same in both languages ("M-Pesa", "USSD")


@dataclass(frozen=True)
class Catalog:
    path: Path
    language: str
    area: str  # "" for ``<language>.json``

    @property
    def name(self) -> str:
        return str(self.path.relative_to(ROOT))

    def entries(self) -> dict[str, str | dict[str, str]]:
        loaded: dict[str, str | dict[str, str]] = json.loads(self.path.read_text(encoding="utf-8"))
        return loaded

    def texts(self) -> dict[str, str]:
        """Each text as one string: a plural entry's forms joined (what the placeholder, emoji and copy checks
        read; :func:`_forms` gives them one by one)."""
        return {key: "\n".join(_forms(entry).values()) for key, entry in self.entries().items()}


def _catalog(path: Path) -> Catalog:
    language, _, rest = path.name.partition(".")
    return Catalog(path, language, rest.removesuffix("json").removesuffix("."))


def _catalogs() -> list[Catalog]:
    return [_catalog(path) for folder in CATALOG_FOLDERS for path in sorted(folder.glob("*.json"))]


LANGUAGES = sorted({catalog.language for catalog in _catalogs()} - {REFERENCE})


def _pairs(language: str) -> list[tuple[Catalog, Catalog]]:
    """Each English catalog with its translation into ``language`` (the file, whether it exists or not)."""
    pairs = []
    for english in _catalogs():
        if english.language == REFERENCE:
            name = f"{language}.{english.area}.json" if english.area else f"{language}.json"
            pairs.append((english, Catalog(english.path.with_name(name), language, english.area)))
    return pairs


def _forms(entry: object) -> dict[str, str]:
    """A catalog entry's forms by CLDR plural category; a plain text is its own ``other``."""
    if isinstance(entry, dict):
        return {str(category): str(form) for category, form in entry.items()}
    return {"other": str(entry)}


def _placeholders(template: str) -> set[tuple[str, str | None, str | None]]:
    return {(field, spec, conversion) for _, field, spec, conversion in string.Formatter().parse(template) if field}


# Symbols that belong to a language's typography, not to the message: French writes "preuve n°3" where English
# writes "proof #3".
TYPOGRAPHY = frozenset("°")
_COMMAND = re.compile(r"(?<![\w/.])/[a-z][a-z_]*")
_CODE = re.compile(r"`[^`]+`")
_MARKUP = re.compile(r"</?[a-z][^>]*>")


def _kept_literally(template: str) -> set[str]:
    """What no translation may change: commands, `code`, Telegram HTML tags and emoji (symbols, not punctuation)."""
    symbols = {char for char in template if unicodedata.category(char) == "So" and char not in TYPOGRAPHY}
    return {*_COMMAND.findall(template), *_CODE.findall(template), *_MARKUP.findall(template), *symbols}


def _words(template: str) -> list[str]:
    """The words of a text, without its placeholders, commands and code: what a reader would read as language."""
    bare = _CODE.sub(" ", _COMMAND.sub(" ", re.sub(r"\{[^}]*\}", " ", template)))
    return re.findall(r"[^\W\d_]{2,}", bare)


def _report(problems: dict[str, list[str]]) -> str:
    lines = []
    for name, found in problems.items():
        lines.append(f"{name}: {len(found)}")
        lines.extend(f"    {item}" for item in found)
    return "\n".join(lines)


def test_english_catalogs_are_found_and_well_formed() -> None:
    english = [catalog for catalog in _catalogs() if catalog.language == REFERENCE]
    assert {catalog.name for catalog in english} >= {"core/locales/en.json", "payments/mpesa/locales/en.json"}
    for catalog in english:
        for key, entry in catalog.entries().items():
            assert isinstance(entry, str | dict), (catalog.name, key)
            for form in _forms(entry).values():
                assert isinstance(form, str), (catalog.name, key)
                _placeholders(form)  # raises on a stray brace
            if isinstance(entry, dict):  # a plural text counts {count}
                assert ("count", "", None) in _placeholders(entry["other"]), (catalog.name, key)


@pytest.mark.parametrize("language", [REFERENCE, *LANGUAGES])
def test_plural_texts_have_the_forms_of_their_language(language: str) -> None:
    """Every CLDR plural category ``language`` needs for whole numbers, and no other; plural in English, plural here;
    every form with English's placeholders, ``{count}`` optional ("une commande" for one)."""
    needed = texts.plural_categories(language)
    wrong: dict[str, list[str]] = {}
    for english, translation in _pairs(language) if language != REFERENCE else [(c, c) for c in _english()]:
        if not translation.path.exists():
            continue
        reference = english.entries()
        for key, entry in translation.entries().items():
            if key not in reference:
                continue
            if isinstance(entry, dict) != isinstance(reference[key], dict):
                wrong.setdefault(translation.name, []).append(f"{key}: plural in one language only")
                continue
            if not isinstance(entry, dict):
                continue
            if set(entry) != needed:
                wrong.setdefault(translation.name, []).append(f"{key}: forms {sorted(entry)}, needs {sorted(needed)}")
            expected = _placeholders(_forms(reference[key])["other"])
            for category, form in entry.items():
                found = _placeholders(form)
                if found - expected or expected - found - {("count", "", None)}:
                    wrong.setdefault(translation.name, []).append(f"{key}.{category}: placeholders {sorted(found)}")
    if wrong:
        pytest.fail(f"{language!r} plural texts that are incomplete or wrong:\n{_report(wrong)}", pytrace=False)


def _english() -> list[Catalog]:
    return [catalog for catalog in _catalogs() if catalog.language == REFERENCE]


# A count that falls in each CLDR category, in some language dukabot speaks.
_SAMPLE_COUNTS = (0, 1, 2, 3, 5, 11, 21, 100, 1_000_000)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_english_key_is_translated(language: str) -> None:
    missing: dict[str, list[str]] = {}
    for english, translation in _pairs(language):
        if not translation.path.exists():
            missing[f"{translation.name} (no such file)"] = sorted(english.texts())
            continue
        absent = sorted(english.texts().keys() - translation.texts().keys())
        if absent:
            missing[translation.name] = absent
    if missing:
        pytest.fail(f"English keys with no {language!r} text (translate them):\n{_report(missing)}", pytrace=False)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_translation_has_a_key_english_lacks(language: str) -> None:
    extra: dict[str, list[str]] = {}
    for catalog in _catalogs():
        if catalog.language != language:
            continue
        english = catalog.path.with_name(f"{REFERENCE}.{catalog.area}.json" if catalog.area else f"{REFERENCE}.json")
        if not english.exists():
            extra[f"{catalog.name} (no English file {english.name})"] = sorted(catalog.texts())
            continue
        unknown = sorted(catalog.texts().keys() - _catalog(english).texts().keys())
        if unknown:
            extra[catalog.name] = unknown
    if extra:
        pytest.fail(
            f"{language!r} keys that English does not have (renamed or removed?):\n{_report(extra)}", pytrace=False
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_are_those_of_english(language: str) -> None:
    wrong: dict[str, list[str]] = {}
    for english, translation in _pairs(language):
        if not translation.path.exists():
            continue
        reference = english.texts()
        for key, template in translation.texts().items():
            if key not in reference:
                continue  # told by test_no_translation_has_a_key_english_lacks
            try:
                found = _placeholders(template)
            except ValueError as error:
                wrong.setdefault(translation.name, []).append(f"{key}: {error}")
                continue
            expected = _placeholders(reference[key])
            if isinstance(translation.entries()[key], dict):  # one form may leave {count} out: told by the plural test
                found, expected = found | {("count", "", None)}, expected | {("count", "", None)}
            if found != expected:
                names = sorted(field for field, _, _ in found)
                wanted = sorted(field for field, _, _ in expected)
                wrong.setdefault(translation.name, []).append(f"{key}: has {names}, English has {wanted}")
    if wrong:
        pytest.fail(f"{language!r} placeholders that differ from English:\n{_report(wrong)}", pytrace=False)


@pytest.mark.parametrize("language", LANGUAGES)
def test_commands_code_markup_and_emoji_are_kept(language: str) -> None:
    changed: dict[str, list[str]] = {}
    for english, translation in _pairs(language):
        if not translation.path.exists():
            continue
        reference = english.texts()
        for key, template in translation.texts().items():
            if key in reference and _kept_literally(template) != _kept_literally(reference[key]):
                lost = sorted(_kept_literally(reference[key]) - _kept_literally(template))
                added = sorted(_kept_literally(template) - _kept_literally(reference[key]))
                changed.setdefault(translation.name, []).append(f"{key}: lost {lost}, added {added}")
    if changed:
        pytest.fail(
            f"{language!r} texts whose commands, code, markup or emoji differ from English:\n{_report(changed)}",
            pytrace=False,
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_sentence_is_left_in_english(language: str) -> None:
    copied: dict[str, list[str]] = {}
    for english, translation in _pairs(language):
        if not translation.path.exists():
            continue
        reference = english.texts()
        for key, template in translation.texts().items():
            same = key in reference and template.strip() == reference[key].strip()
            if same and len(_words(template)) > MOST_WORDS_COPIED and key not in SAME_IN_EVERY_LANGUAGE:
                copied.setdefault(translation.name, []).append(f"{key}: {template!r}")
    if copied:
        pytest.fail(f"{language!r} texts identical to English (untranslated?):\n{_report(copied)}", pytrace=False)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_running_catalog_serves_each_translation(language: str) -> None:
    """What :func:`core.texts.text` serves in ``language`` is the translation on disk, rendered with its values:
    the files are named so that the loader finds them, and no two of them define a key twice."""
    for _, translation in _pairs(language):
        if not translation.path.exists():
            continue
        for key, entry in translation.entries().items():
            for category, template in _forms(entry).items():
                try:
                    values = {field: f"<{field}>" for field, _, _ in _placeholders(template)}
                except ValueError:
                    continue  # a stray brace: told by test_placeholders_are_those_of_english
                if isinstance(entry, str):
                    assert texts.text(key, language, **values) == template.format_map(values), (translation.name, key)
                    continue
                counts = [n for n in _SAMPLE_COUNTS if texts.plural_category(n, language) == category]
                if not counts:
                    continue  # a category the language does not have: told by the plural test
                values.pop("count", None)
                served = texts.plural(key, counts[0], language, **values)
                assert served == template.format_map({**values, "count": counts[0]}), (translation.name, key, category)
