"""The message previews of an order's history: one line, cut after a whole word with an ellipsis."""

from __future__ import annotations

from admin.order_history import preview


def test_a_short_message_is_shown_whole_on_one_line() -> None:
    assert preview("✅ Payment received.\nOrder: AB12CD", limit=40) == "✅ Payment received. Order: AB12CD"


def test_a_long_message_is_cut_after_a_whole_word() -> None:
    said = "💰 Order AB12CD is paid: KES 1,260 by manual payment from Wanjiru Kamau."
    assert preview(said, limit=40) == "💰 Order AB12CD is paid: KES 1,260 by…"
    assert preview("Order: AB12CD Amount: KES 65\nPaid by: manual", limit=28) == "Order: AB12CD Amount: KES 65…"


def test_punctuation_before_the_cut_is_dropped() -> None:
    assert preview("Thank you, Wanjiru. Your order is on its way", limit=19) == "Thank you, Wanjiru…"


def test_only_a_word_longer_than_the_preview_is_cut_inside() -> None:
    assert preview("ws_CO_04122026161700123456789 pending", limit=10) == "ws_CO_0412…"
