"""Stripe's wire, pure: the signature scheme (the reference's test vector, rotation, tolerance), the form encoding
the simulator reads back, the zero-decimal table and the clamp of a session's life."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.money import Money, MoneyError
from payments.base import InvalidCallback, RefundState
from payments.stripe.currencies import ZERO_DECIMAL, from_amount, to_amount
from payments.stripe.provider import LONGEST, SHORTEST, clamp, expires_at
from payments.stripe.signature import header, sign, verify
from payments.stripe.wire import charge_refunds, encode, parse_event, parse_refund, parse_session
from sandbox.stripe.forms import parse_form

BODY = (
    b'{"event":"charge.success","data":{"reference":"order_123","amount":150000,"currency":"KES","status":"success"}}'
)
T = 1_700_000_000
AT = datetime.fromtimestamp(T, UTC)


def test_the_reference_test_vector() -> None:
    # providers.md C.2 [OBS]: whsec_test, t=1700000000, the body of B.3.1.
    assert sign(BODY, "whsec_test", T) == "af6cd59b76a1280533a2669c2d0b14077ae8d9c109ef39f75922679557b11226"


def test_any_v1_under_any_secret_is_taken_while_a_secret_rolls() -> None:
    rolled = header(BODY, ["whsec_old", "whsec_new"], T)
    assert rolled.count("v1=") == 2
    verify(BODY, {"Stripe-Signature": rolled}, ["whsec_new"], AT)
    verify(BODY, {"stripe-signature": rolled}, ["whsec_other", "whsec_old"], AT)
    with_v0 = f"t={T},v0=deadbeef,v1={sign(BODY, 'whsec_new', T)}"
    verify(BODY, {"stripe-signature": with_v0}, ["whsec_new"], AT)


@pytest.mark.parametrize(
    ("value", "secrets", "now", "why"),
    [
        ("", ["whsec_test"], AT, "missing"),
        (f"v1={sign(BODY, 'whsec_test', T)}", ["whsec_test"], AT, "missing"),  # no t=
        (f"t={T},v0={sign(BODY, 'whsec_test', T)}", ["whsec_test"], AT, "missing"),  # only v0
        (header(BODY, ["whsec_forger"], T), ["whsec_test"], AT, "bad"),
        (header(BODY, ["whsec_test"], T), ["whsec_test"], AT + timedelta(seconds=301), "tolerance"),
        (header(BODY, ["whsec_test"], T), ["whsec_test"], AT - timedelta(seconds=301), "tolerance"),
        (header(BODY, ["whsec_test"], T), [], AT, "bad"),
    ],
)
def test_a_missing_forged_or_stale_signature_is_refused_401(
    value: str, secrets: list[str], now: datetime, why: str
) -> None:
    with pytest.raises(InvalidCallback) as refused:
        verify(BODY, {"stripe-signature": value}, secrets, now)
    assert refused.value.status == 401 and why in refused.value.reason


def test_the_edge_of_the_tolerance_is_inside() -> None:
    verify(BODY, {"stripe-signature": header(BODY, ["whsec_test"], T)}, ["whsec_test"], AT + timedelta(seconds=300))


def test_a_body_changed_after_signing_is_refused() -> None:
    signed = header(BODY, ["whsec_test"], T)
    with pytest.raises(InvalidCallback):
        verify(BODY.replace(b"150000", b"150001"), {"stripe-signature": signed}, ["whsec_test"], AT)


def test_forms_use_stripes_brackets_and_read_back_the_same() -> None:
    fields = {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {"currency": "kes", "unit_amount": 42000}}],
        "metadata": {"payment_reference": "dkabc"},
        "customer_email": None,
    }
    body = encode(fields)
    assert b"line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=42000" in body and b"customer_email" not in body
    assert parse_form(body) == {
        "mode": "payment",
        "line_items": [{"quantity": "1", "price_data": {"currency": "kes", "unit_amount": "42000"}}],
        "metadata": {"payment_reference": "dkabc"},
    }


def test_zero_decimal_currencies_are_whole_units_on_the_wire() -> None:
    assert {"UGX", "RWF", "XOF", "JPY"} <= ZERO_DECIMAL and "KES" not in ZERO_DECIMAL
    assert to_amount(Money(42000, "KES")) == 42000  # KES 420.00
    assert to_amount(Money(5000, "UGX")) == 5000  # UGX 5,000: not 500000
    assert from_amount(5000, "ugx") == Money(5000, "UGX")
    assert from_amount(42000, "kes") == Money(42000, "KES")
    with pytest.raises(MoneyError):
        from_amount(100, "jpy")  # a currency dukabot does not count


def test_a_sessions_life_is_clamped_into_stripes_range_on_a_grid() -> None:
    assert clamp(timedelta(minutes=15)) == SHORTEST and clamp(timedelta(days=3)) == LONGEST
    assert clamp(timedelta(hours=2)) == timedelta(hours=2)
    now = datetime(2026, 12, 4, 12, 3, 17, tzinfo=UTC)
    end = expires_at(now, timedelta(minutes=15))
    assert end % 300 == 0 and 30 * 60 < end - now.timestamp() <= 36 * 60
    assert expires_at(now + timedelta(seconds=40), timedelta(minutes=15)) == end  # a resend: the same parameters
    assert expires_at(now, timedelta(days=2)) - now.timestamp() <= 24 * 3600


def test_sessions_events_and_refunds_are_read_tolerantly() -> None:
    session = parse_session(
        {"id": "cs_test_1", "amount_total": 42000, "currency": "kes", "metadata": {"payment_reference": "dk1"}}
    )
    assert (session.reference, session.amount, session.payment_status) == ("dk1", Money(42000, "KES"), "")
    with pytest.raises(InvalidCallback):
        parse_session({"id": "cs_test_1", "amount_total": 1, "currency": "xyz"})
    with pytest.raises(InvalidCallback):
        parse_event(b'{"id": "evt_1", "type": "checkout.session.completed"}')  # no data.object
    refund = parse_refund({"id": "re_1", "amount": 10000, "currency": "kes", "status": "succeeded"}, "dk1")
    assert (refund.status, refund.event_key, refund.payment_reference) == (
        RefundState.PROCESSED,
        "refund:re_1:succeeded",
        "dk1",
    )
    assert charge_refunds({"id": "ch_1", "metadata": {}}) == []  # newer API versions list no refunds
