"""Every button kind the product declares is answered, by exactly one handler, and fits in Telegram's 64 bytes."""

from __future__ import annotations

import pytest

import webhooks.app  # noqa: F401 (the whole product, as the server imports it: every kind and binding declared)
from admin.chat import ADMIN
from core.callbacks import MAX_BYTES, CallbackData, Expired, kinds, read
from flows.buttons import CUSTOMER

PRODUCT = ("core", "flows", "admin", "payments", "bot", "webhooks")


def declared() -> list[type[CallbackData]]:
    return [kind for kind in kinds().values() if kind.__module__.split(".")[0] in PRODUCT]


def test_every_declared_kind_has_exactly_one_handler() -> None:
    customer, admin = CUSTOMER.kinds(), ADMIN.kinds()
    assert not customer & admin
    assert sorted(k.__name__ for k in declared()) == sorted(k.__name__ for k in customer | admin)


def test_prefixes_are_unique_and_the_old_verbs() -> None:
    prefixes = [kind.prefix for kind in declared()]
    assert len(prefixes) == len(set(prefixes))
    # Kept from the buttons before versions, so that those read as expired buttons of the same kind.
    assert {"add", "cat", "pm", "retry", "mo", "ap", "rfy", "mpsend", "mppb"} <= set(prefixes)


@pytest.mark.parametrize("kind", declared(), ids=lambda kind: kind.__name__)
def test_the_widest_values_pack_within_64_bytes_and_read_back(kind: type[CallbackData]) -> None:
    widest = kind.widest()
    data = widest.pack()
    assert len(data.encode()) <= MAX_BYTES
    assert read(data) == widest
    before_versions = ":".join([kind.prefix, *("1" for _ in kind.specs())])  # how it looked as a hand-written verb
    assert read(before_versions) == Expired(kind, 0, tuple("1" for _ in kind.specs()))
