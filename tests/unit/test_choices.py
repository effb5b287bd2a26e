"""Which button typed words choose (flows.choices): the rules on their own, with the journeys in
tests/integration/test_typed_answers.py."""

from __future__ import annotations

import pytest

from core.messages import Button, Message, keyboard
from flows.cart import short_name
from flows.choices import choose, normalise

DELIVERY = Message(
    "Delivery or pickup?", keyboard([Button("🚚 Delivery", data="deliv.1:1"), Button("🏪 Pickup", "deliv.1:0")])
)
SUMMARY = Message(
    "Please check your order:",
    keyboard(
        [Button("✅ Confirm order", data="confirm.1")],
        [Button("✏️ Edit cart", data="cart.1"), Button("✖ Cancel", data="cancel.1")],
    ),
)
CART = Message(
    "🛒 Your cart:",
    keyboard(
        [Button("−", data="dec.1:1"), Button("Sugar 1kg · 1 × KES 190", data="qty.1:1"), Button("+", data="inc.1:1")],
        [Button("✅ Checkout", data="checkout.1")],
        [Button("Pay online", url="https://checkout.example/x")],
    ),
)


@pytest.mark.parametrize(
    ("words", "normal"),
    [("🏪 Pickup", "pickup"), ("  PÍCK-UP! ", "pickup"), ("M-Pesa", "mpesa"), ("KES 199.50", "kes 19950"), ("✕", "")],
)
def test_words_lose_case_accents_emoji_and_punctuation(words: str, normal: str) -> None:
    assert normalise(words) == normal


@pytest.mark.parametrize(
    ("question", "typed", "loose", "chosen"),
    [
        (DELIVERY, "pickup", False, "deliv.1:0"),
        (DELIVERY, "2", False, "deliv.1:0"),
        (DELIVERY, "1", False, "deliv.1:1"),
        (DELIVERY, "3", False, None),
        (DELIVERY, "pickup please", False, None),  # part of the words: only where the step takes no text itself
        (DELIVERY, "pickup please", True, "deliv.1:0"),
        (DELIVERY, "delivery or pickup", True, None),  # both: neither
        (DELIVERY, "yes", True, None),  # no button means yes here
        (SUMMARY, "Yes", False, "confirm.1"),
        (SUMMARY, "ok", False, "confirm.1"),
        (SUMMARY, "yes please, go ahead", True, "confirm.1"),
        (SUMMARY, "no", False, "cancel.1"),
        (SUMMARY, "no, not yes", True, None),  # both: neither
        (SUMMARY, "edit", True, "cart.1"),
        (SUMMARY, "ca", True, None),  # too short to be part of a label
        (CART, "1", False, "qty.1:1"),  # "−" and "+" have no words, and so no number
        (CART, "2", False, "checkout.1"),
        (CART, "3", False, None),  # a link is not pressed by typing
        (CART, "sugar", True, "qty.1:1"),
        (CART, "190", True, None),  # a bare number is a button's number, never part of a label
    ],
)
def test_typed_words_choose_a_button(question: Message, typed: str, loose: bool, chosen: str | None) -> None:
    assert choose(question, typed, "en", loose=loose) == chosen


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("Pishori Rice 2kg", "Pishori Rice 2kg"),
        ("Kenyan Black Tea 250g", "Kenyan Black Tea…"),
        ("Matchboxes (10 pack)", "Matchboxes…"),
        ("Supercalifragilisticexpialidocious", "Supercalifragilis…"),
    ],
)
def test_a_cut_name_ends_at_a_word_with_an_ellipsis(name: str, short: str) -> None:
    assert short_name(name, 18) == short
