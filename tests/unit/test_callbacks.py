"""Typed button data: packing within Telegram's 64 bytes, strict reading, versions, and the routes' declarations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pytest

from core.callbacks import SIGNED, CallbackData, CallbackError, Expired, MaxBytes, Routes, kinds, read


@dataclass(frozen=True)
class Pick(CallbackData, prefix="tpick"):
    item_id: int
    shift: Annotated[int, SIGNED]
    fresh: bool


@dataclass(frozen=True)
class Solo(CallbackData, prefix="tsolo"):
    item_id: int


@dataclass(frozen=True)
class Note(CallbackData, prefix="tnote", version=3):
    word: Annotated[str, MaxBytes(8)]


def test_a_button_packs_its_prefix_version_and_values_and_reads_back() -> None:
    button = Pick(item_id=42, shift=-3, fresh=True)
    assert button.pack() == "tpick.1:42:-3:1"
    assert read("tpick.1:42:-3:1") == button
    assert read(Note(word="añejo").pack()) == Note(word="añejo")
    assert Note(word="").pack() == "tnote.3:"


@pytest.mark.parametrize(
    ("button", "why"),
    [
        (Pick(item_id=-1, shift=0, fresh=False), "outside"),
        (Pick(item_id=2**63, shift=0, fresh=False), "outside"),
        (Pick(item_id=True, shift=0, fresh=False), "must be an int"),
        (Pick(item_id=1, shift=0, fresh=1), "must be a bool"),  # type: ignore[arg-type]
        (Note(word="a:b"), "separator"),
        (Note(word="ñññññ"), "longer than 8 bytes"),
    ],
)
def test_packing_refuses_what_would_be_misread(button: CallbackData, why: str) -> None:
    with pytest.raises(CallbackError, match=why):
        button.pack()


def test_packing_refuses_more_than_64_bytes() -> None:
    @dataclass(frozen=True)
    class Wide(CallbackData, prefix="twide"):
        first: int
        second: int
        third: int

    with pytest.raises(CallbackError, match="over 64"):
        Wide(2**63 - 1, 2**63 - 1, 2**63 - 1).pack()


def test_a_prefix_is_declared_once_and_well_formed() -> None:
    with pytest.raises(TypeError, match="taken by"):

        class Again(CallbackData, prefix="tpick"):
            pass

    with pytest.raises(TypeError, match="lowercase letters"):

        class Shouting(CallbackData, prefix="T1"):
            pass

    with pytest.raises(TypeError, match="MaxBytes"):

        @dataclass(frozen=True)
        class Loose(CallbackData, prefix="tloose"):
            word: str

        Loose.specs()


def test_another_version_of_a_known_kind_is_expired_not_misread() -> None:
    assert read("tnote.2:hello") == Expired(Note, 2, ("hello",))
    assert read("tpick:42:-3:1") == Expired(Pick, 0, ("42", "-3", "1"))  # the form before versions
    assert read("tsolo:7").first_id() == 7  # type: ignore[union-attr]
    assert read("tsolo:-7").first_id() is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "tpick.1",  # too few values
        "tpick.1:1:2:1:4",  # too many
        "tpick.1:01:2:1",  # not as we write numbers
        "tpick.1:+1:2:1",
        "tpick.1:1:2:2",  # not a bool
        "tpick.1:-1:2:1",  # an id is never negative
        "tpick.1:9223372036854775808:0:1",
        "tpick:abc",  # not what a button before versions looked like either
        "tpick:5",  # nor with fewer values than its kind
        "tpick.1:1:2:1" + " " * 60,
        "nosuch.1:1",
        "nosuch:1",
        "x" * 65,
        "TPICK.1:1:2:1",
        "tnote.3:123456789",  # longer than its MaxBytes
    ],
)
def test_unknown_or_malformed_data_is_nothing_of_ours(data: str | None) -> None:
    assert read(data) is None


async def test_routes_answer_each_kind_by_its_declaration() -> None:
    routes: Routes[list[str], str] = Routes("test")

    async def expired(said: list[str], old: Expired) -> str:
        return f"expired {old.kind.__name__} v{old.version}"

    @routes.on(Pick, expired=expired)
    async def pick(said: list[str], button: Pick) -> str:
        return f"picked {button.item_id}"

    with pytest.raises(TypeError, match="has a handler"):
        routes.on(Pick, expired=expired)(pick)

    def refuse(said: list[str]) -> str:
        return "refused"

    assert await routes.dispatch([], "tpick.1:5:0:0", refuse) == "picked 5"
    assert await routes.dispatch([], "tpick:5:0:1", refuse) == "expired Pick v0"
    assert await routes.dispatch([], "tnote.3:hi", refuse) == "refused"  # a kind of other routes
    assert await routes.dispatch([], "tpick.1:5", refuse) == "refused"
    assert routes.takes("tpick:5:0:1") and not routes.takes("tnote.3:hi")
    assert Pick in routes.kinds() and "tpick" in kinds()
