"""``dukabot promo`` as an operator runs it: add, list, pause, resume, end, and each mistake refused in one line
with nothing changed."""

from __future__ import annotations

from tests.integration.test_cli import Invoke, data_dir, invoke, ok, one_line_error, outputs, shop

__all__ = ["data_dir", "invoke", "outputs", "shop"]  # the fixtures, shared with test_cli


def test_codes_are_added_listed_paused_resumed_and_ended(shop: Invoke) -> None:
    added = ok(shop("promo", "add", "duka", "Karibu10", "10%", "min=300", "uses=100", "per=1", "until=2026-12-31"))
    assert added.stdout.strip() == (
        "Created: KARIBU10 · 10% · active · 0/100 used · min KES 300 · 1 per customer · until 01 Jan 00:00 EAT"
    )
    ok(shop("promo", "add", "duka", "CHAI50", "50", "cat=Hot_drinks"))
    assert ok(shop("promo", "list", "duka")).stdout.splitlines() == [
        "CHAI50 · KES 50 · active · 0/∞ used · only Hot drinks",
        "KARIBU10 · 10% · active · 0/100 used · min KES 300 · 1 per customer · until 01 Jan 00:00 EAT",
    ]
    assert ok(shop("promo", "pause", "duka", "chai50")).stdout.strip() == "Code CHAI50 of 'duka': paused."
    assert ok(shop("promo", "resume", "duka", "CHAI50")).stdout.strip() == "Code CHAI50 of 'duka': active."
    assert ok(shop("promo", "end", "duka", "CHAI50")).stdout.strip() == "Code CHAI50 of 'duka': ended."
    assert "CHAI50 · KES 50 · ended" in ok(shop("promo", "list", "duka")).stdout


def test_mistakes_are_refused_in_one_line(shop: Invoke) -> None:
    ok(shop("promo", "add", "duka", "SAVE", "5"))
    refusals = {
        ("add", "duka", "SAVE", "10%"): "This shop already has a code SAVE.",
        ("add", "duka", "NEW", "0"): '"0" is not an amount above zero in the shop\'s currency.',
        ("add", "duka", "NEW", "5", "from=tomorrow"): (
            '"from=tomorrow": write dates as 2026-12-31 or 2026-12-31T18:00 (shop time).'
        ),
        ("add", "nowhere", "NEW", "5"): "no shop with slug 'nowhere'",
        ("pause", "duka", "GONE"): "shop 'duka' has no code GONE",
        ("resume", "duka", "SAVE"): "code SAVE is active: that cannot be done now",
        ("end", "duka", "a b"): "'a b' cannot be a promo code",
    }
    for args, words in refusals.items():
        assert words in one_line_error(shop("promo", *args)), args
    assert ok(shop("promo", "list", "duka")).stdout.splitlines() == ["SAVE · KES 5 · active · 0/∞ used"]
