"""``dukabot catalog import`` warns a shop with M-Pesa about prices with cents (M-Pesa takes whole shillings), and
counts without an "(s)" plural."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_cli import (  # noqa: F401 (the fixtures of the operator CLI tests)
    CONSUMER_KEY,
    CONSUMER_SECRET,
    PASSKEY,
    Invoke,
    data_dir,
    invoke,
    ok,
    outputs,
    shop,
)

CATALOG = """\
sku,name,price,category,description,photo_url,stock
TEA-250,Kenyan Black Tea 250g,199.50,Groceries,,,
RICE-2KG,Pishori Rice 2kg,420,Groceries,,,
"""


def catalog_file(tmp_path: Path) -> str:
    path = tmp_path / "catalog.csv"
    path.write_text(CATALOG, encoding="utf-8")
    return str(path)


def test_a_shop_with_mpesa_is_warned_of_prices_with_cents(shop: Invoke, tmp_path: Path) -> None:  # noqa: F811
    mpesa = ("--consumer-key", CONSUMER_KEY, "--consumer-secret", CONSUMER_SECRET, "--passkey", PASSKEY)
    ok(shop("provider", "set", "duka", "mpesa", *mpesa, "--shortcode", "174379"))

    result = ok(shop("catalog", "import", "duka", catalog_file(tmp_path)))

    assert result.stdout.splitlines()[0] == "Catalog of 'duka' imported. Products: 2 (2 new, 0 updated, 0 unchanged)."
    assert result.stderr.splitlines() == [
        "Warning: M-Pesa takes whole shillings only, and these prices have cents: an order whose total has cents "
        "cannot be paid by M-Pesa (the customer is told why at checkout).",
        "  line 2 (TEA-250): KES 199.50",
    ]


def test_a_shop_without_mpesa_imports_cents_without_a_warning(shop: Invoke, tmp_path: Path) -> None:  # noqa: F811
    result = ok(shop("catalog", "import", "duka", catalog_file(tmp_path)))

    assert result.stdout.splitlines()[0] == "Catalog of 'duka' imported. Products: 2 (2 new, 0 updated, 0 unchanged)."
    assert result.stderr == ""
