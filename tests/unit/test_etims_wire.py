"""The OSCU wire read tolerantly (fiscal/etims/SOURCES.md): codes of any JSON type, success variants, answers missing
parts; and the VAT arithmetic, exact to the cent."""

from __future__ import annotations

from datetime import UTC, datetime

from fiscal.etims import wire


def test_answers_are_read_whatever_their_shape() -> None:
    assert wire.answer({"resultCd": 0, "resultMsg": "ok", "data": None}) == wire.Answer("0", "ok", {})
    assert wire.answer({"resultCd": "000", "data": {"rcptSign": "X"}}).ok
    assert [wire.answer({"resultCd": code}).ok for code in ("00", "0000", "001", "910", None)] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert wire.answer(["not", "an", "object"]) == wire.Answer("", "not a JSON object", {})
    assert [wire.answer({"resultCd": code}).transient for code in ("999", "500", "910", "901")] == [
        True,
        True,
        False,
        False,
    ]


def test_a_signature_is_read_from_either_name_and_its_time_as_kenyan_local_time() -> None:
    found = wire.signed({"curRcptNo": 7, "rcptSign": " ABC ", "intrlData": "", "sdcDateTime": "20261205103000"})
    assert found == wire.Signed("7", "ABC", None, datetime(2026, 12, 5, 7, 30, tzinfo=UTC))
    vscu = wire.signed({"rcptNo": "8", "rcptSign": "DEF", "vsdcRcptPbctDate": "2026-12-05"})
    assert vscu == wire.Signed("8", "DEF", None, None)
    assert wire.signed({"curRcptNo": "9", "rcptSign": {"nested": True}}) is None
    assert wire.communication_key({"info": {"cmcKey": "K1", "sdcId": "CU1"}}) == ("K1", "CU1")
    assert wire.communication_key({"cmcKey": "K2"}) == ("K2", None)


def test_vat_is_per_line_on_inclusive_prices_rounded_half_up() -> None:
    assert [wire.tax_minor(total, kind) for total, kind in ((11600, "B"), (10000, "B"), (10800, "E"), (5000, "A"))] == [
        1600,
        1379,  # 100.00 * 16/116 = 13.793... -> 13.79
        800,
        0,
    ]
    assert wire.tax_minor(29, "B") == 4  # 0.29 * 16/116 = 0.04 (0.04000...)
    assert wire.tax_minor(25, "B") == 3  # 0.25 * 16/116 = 0.0344... -> 0.03
