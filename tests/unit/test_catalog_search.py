"""The search index on its own: folding, typos, prefixes, ranking, several names per product, and the bounded cache
of indexes (least recently searched shop dropped first)."""

from __future__ import annotations

from core.catalog_search import Indexed, fold, index_of, near


def product(pid: int, *names: str, sku: str = "", description: str = "", price: int = 100) -> Indexed:
    return Indexed(pid, names, sku or f"SKU-{pid}", description, price, "KES", "Groceries")


SHOP = [
    product(1, "Pishori Rice 2kg", sku="GRO-RICE-2KG", description="Aromatic Mwea pishori rice."),
    product(2, "Sugar 1kg", sku="GRO-SUGAR-1KG", description="White sugar in a 1kg packet."),
    product(3, "Maïs Flour 2kg", sku="GRO-UNGA-2KG", description="Sifted maize meal for ugali."),
    product(4, "Kericho Tea 500g", sku="GRO-TEA-500", description="Loose black tea from Kericho."),
    product(5, "Sukuma Wiki (bunch)", "Collard greens", sku="VEG-SUKUMA", description="Fresh greens."),
    product(6, "Brown Sugar 1kg", sku="GRO-BSUGAR-1KG", description="Unrefined brown sugar."),
]


def names(query: str) -> list[str]:
    return [found.name for found in index_of(7, SHOP).search(query)]


def test_words_are_folded_and_typos_of_a_letter_or_two_are_forgiven() -> None:
    assert fold("Maïs-Flour, 2KG!") == "mais flour  2kg "
    assert names("MAIS") == ["Maïs Flour 2kg"]
    assert names("sukar") == ["Sugar 1kg", "Brown Sugar 1kg"]  # not "Sukuma": two letters off a short word
    assert names("pishory") == ["Pishori Rice 2kg"]
    assert near("kericho", "kerichoo") and near("kericho", "kerlcha") and not near("kericho", "kxrxcxo")
    assert not near("tea", "sea")  # short words must be typed right: one letter off is another word


def test_a_name_outranks_a_description_and_more_words_narrow_the_results() -> None:
    assert names("rice") == ["Pishori Rice 2kg"]
    assert names("sugar") == ["Sugar 1kg", "Brown Sugar 1kg"]  # the name, then the longer name, by points then name
    assert names("brown sugar") == ["Brown Sugar 1kg"]
    assert names("black tea") == ["Kericho Tea 500g"]  # "black" only in the description
    assert names("ugali") == ["Maïs Flour 2kg"]


def test_the_sku_and_every_name_of_a_product_find_it() -> None:
    assert names("gro-tea-500") == ["Kericho Tea 500g"]
    assert names("VEG-SUKUMA") == ["Sukuma Wiki (bunch)"]
    assert names("collard") == ["Sukuma Wiki (bunch)"]  # a second name, shown by its first
    assert names("suku") == ["Sukuma Wiki (bunch)"]


def test_words_that_match_nothing_find_nothing() -> None:
    assert names("zzzz") == []
    assert names("?!") == []
    assert names("") == []
    assert names("2") == [] and names("²") == []  # a lone digit is no search, though "2kg" starts with one


def test_a_result_shows_the_readers_name_where_the_catalog_has_one() -> None:
    kale = Indexed(9, ("Kale bunch", "Sukuma wiki"), "VEG-KALE", "", 30, "KES", "Vegetables", (("sw", "Sukuma wiki"),))
    [found] = index_of(1, [kale]).search("sukuma")
    assert (found.name_in("sw"), found.name_in("sw-TZ"), found.name_in("fr"), found.name_in("en")) == (
        "Sukuma wiki",
        "Sukuma wiki",
        "Kale bunch",
        "Kale bunch",
    )
