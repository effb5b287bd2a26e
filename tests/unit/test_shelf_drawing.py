"""A shelf keeps what is drawn from it (core.catalog_cache): each key is drawn once, and a new version of the
catalog is a new shelf, drawn again."""

from __future__ import annotations

from core.catalog_cache import shelf_of
from core.db.repos.catalog import ShelfItem


def test_each_key_is_drawn_once_per_shelf() -> None:
    drawn: list[str] = []

    def draw(what: str) -> str:
        drawn.append(what)
        return f"menu in {what}"

    shelf = shelf_of(3, [])
    assert [shelf.drawing(("categories", lang), lambda lang=lang: draw(lang)) for lang in ("en", "sw", "en")] == [
        "menu in en",
        "menu in sw",
        "menu in en",
    ]
    assert drawn == ["en", "sw"]
    assert shelf_of(4, []).drawing(("categories", "en"), lambda: draw("en again")) == "menu in en again"
    assert drawn == ["en", "sw", "en again"]
    assert shelf == shelf_of(3, [])  # what was drawn is no part of the shelf's value


def test_a_shelf_s_items_are_read_in_order() -> None:
    rows = [ShelfItem(1, "Rice", 42000, "KES", "Grains"), ShelfItem(2, "Beans", 15000, "KES", "Grains")]
    shelf = shelf_of(1, rows)
    assert (shelf.categories, [item.name for item in shelf.items["Grains"]]) == (("Grains",), ["Rice", "Beans"])
