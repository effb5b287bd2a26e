"""FeexPay's wire and networks at the edge, and its client against the simulator in process: XOF both ways, the
status answer read tolerantly (shapes integrations have seen), the callback's hint, the prefix table against
phonenumbers' carrier data, and each refusal in our stable codes, the key never echoed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import phonenumbers
import pytest
from phonenumbers import carrier

from core.clock import FakeClock
from core.money import Money
from payments.base import InvalidCallback, Outcome, review_reason
from payments.feexpay.client import FeexPayClient, FeexPayError
from payments.feexpay.networks import BY_CODE, NETWORKS, guess
from payments.feexpay.provider import FeexPayProvider, network_for
from payments.feexpay.wire import (
    FAILED,
    PENDING,
    SUCCESSFUL,
    amount_in,
    amount_out,
    hint_reference,
    parse_status,
    request_body,
)
from payments.ingest import from_json, to_json
from payments.registry import ProviderDeps, TenantProviderConfig
from sandbox.feexpay.simulator import FeexPaySimulator

KEY, SHOP = "fp_live_unit0000000000000000", "shop-unit-01"
# What phonenumbers calls each operator, per FeexPay network (Free Senegal became Yas).
CARRIERS = {
    "mtn": "MTN",
    "moov": "Moov",
    "celtiis_bj": "Celtiis",
    "togocom_tg": "Togo Telecom",
    "moov_tg": "Moov",
    "orange_ci": "Orange",
    "mtn_ci": "MTN",
    "moov_ci": "Moov",
    "orange_bf": "Orange",
    "moov_bf": "Moov Africa",
    "orange_sn": "Orange",
    "free_sn": "Yas",
}
DIAL = {"BJ": "229", "TG": "228", "CI": "225", "BF": "226", "SN": "221"}
LENGTH = {"BJ": 10, "TG": 8, "CI": 10, "BF": 8, "SN": 9}


def test_xof_has_no_minor_units_and_crosses_the_edge_as_whole_francs() -> None:
    assert amount_out(Money(42000, "XOF")) == 42000
    assert amount_in(42000) == amount_in("42000") == amount_in(42000.0) == Money(42000, "XOF")
    assert amount_in(None) is None
    with pytest.raises(InvalidCallback):
        amount_in("420.5")
    with pytest.raises(ValueError, match="XOF, not KES"):
        amount_out(Money(42000, "KES"))


@pytest.mark.parametrize("network", [n for n in NETWORKS if n.prefixes], ids=lambda n: n.code)
def test_every_prefix_of_the_table_is_the_operator_phonenumbers_says(network: object) -> None:
    for prefix in network.prefixes:  # type: ignore[attr-defined]
        country = network.country  # type: ignore[attr-defined]
        national = prefix + "0" * (LENGTH[country] - len(prefix))
        number = phonenumbers.parse("+" + DIAL[country] + national)
        assert phonenumbers.is_valid_number(number), (network, prefix)
        assert carrier.name_for_number(number, "en") == CARRIERS[network.code], (network, prefix)  # type: ignore[attr-defined]
        assert guess(country, national) is network


def test_the_network_is_the_prefixs_unless_the_customer_chose_another_of_the_same_country() -> None:
    assert network_for("+2290197000000", None) is BY_CODE["mtn"]
    assert network_for("+2290140000000", None) is BY_CODE["celtiis_bj"]
    assert network_for("+2290197000000", "moov") is BY_CODE["moov"]  # a ported number
    assert network_for("+2250701020304", "wave_ci") is BY_CODE["wave_ci"]  # Wave has no prefixes
    assert network_for("+2290197000000", "orange_sn") is BY_CODE["mtn"]  # another country's: ignored
    assert network_for("+254712345678", None) is None and network_for(None, "mtn") is None


@pytest.mark.parametrize(
    "body",
    [
        {"reference": "FXP-1", "status": "SUCCESSFUL", "amount": 42000, "callback_info": {"payment_reference": "R1"}},
        {
            "data": {
                "reference": "FXP-1",
                "status": "successful",
                "amount": "42000",
                "callbackInfo": '{"payment_reference": "R1"}',
            }
        },
        {"transaction": {"reference": "FXP-1", "status": "SUCCESS", "amount": 42000.0, "callbackInfo": "R1"}},
    ],
)
def test_the_status_answer_is_read_in_each_shape_integrations_have_seen(body: dict[str, object]) -> None:
    txn = parse_status(json.dumps(body).encode())
    assert (txn.reference, txn.status, txn.amount, txn.our_reference) == (
        "FXP-1",
        SUCCESSFUL,
        Money(42000, "XOF"),
        "R1",
    )


def test_unknown_status_words_are_pending_and_refusals_are_failed() -> None:
    assert parse_status(b'{"reference": "F", "status": "PROCESSING"}').status == PENDING
    assert parse_status(b'{"reference": "F", "status": "CANCELLED"}').status == FAILED
    assert parse_status(b'{"reference": "F", "status": "FAILED"}').amount is None


def test_a_callback_is_read_for_its_reference_only() -> None:
    assert hint_reference(b'{"reference": "FXP-9", "status": "SUCCESSFUL", "amount": 1}') == "FXP-9"
    for bad in (b"not json", b"[]", b'{"status": "SUCCESSFUL"}', b'{"reference": "../../x"}'):
        with pytest.raises(InvalidCallback):
            hint_reference(bad)


async def test_the_client_against_the_simulator_request_status_and_refusals() -> None:
    sim = FeexPaySimulator()
    sim.add_merchant(KEY, SHOP)
    async with httpx.AsyncClient(transport=sim.mock_transport()) as http:
        client = FeexPayClient(http, api_key=KEY, base_url="https://api.feexpay.me")
        body = request_body(
            phone_digits="2290197000000",
            amount=Money(42000, "XOF"),
            shop_id=SHOP,
            first_name="Mama",
            last_name="Mboga",
            description="order",
            ours="REF-1",
        )
        reference = await client.request_to_pay("mtn", body)
        assert (await client.status(reference)).status == PENDING
        sim.approve()
        paid = await client.status(reference)
        assert (paid.status, paid.amount, paid.our_reference) == (SUCCESSFUL, Money(42000, "XOF"), "REF-1")
        await client.check_key()

        with pytest.raises(FeexPayError) as low:
            await client.request_to_pay("mtn", {**body, "amount": 49})
        assert low.value.code == "rejected" and "50 XOF" in str(low.value)
        with pytest.raises(FeexPayError) as unknown:
            await client.status("FXP-99999999")
        assert unknown.value.code == "not_found"
        stranger = FeexPayClient(http, api_key="fp_live_stranger", base_url="https://api.feexpay.me")
        with pytest.raises(FeexPayError) as refused:
            await stranger.status(reference)
        assert refused.value.code == "invalid_key" and refused.value.misconfigured
        assert "fp_live_stranger" not in str(refused.value) and "fp_live_stranger" not in repr(stranger)


async def test_a_status_naming_another_payment_is_held_with_its_reason_in_the_readers_language() -> None:
    sim = FeexPaySimulator()
    sim.add_merchant(KEY, SHOP)
    async with httpx.AsyncClient(transport=sim.mock_transport()) as http:
        config = TenantProviderConfig(1, "duka", "Duka", "XOF", False, {"api_key": KEY}, {"shop_id": SHOP})
        feexpay = FeexPayProvider(config, ProviderDeps(http, FakeClock(), "https://duka.example"))
        body = request_body(
            phone_digits="2290197000000",
            amount=Money(42000, "XOF"),
            shop_id=SHOP,
            first_name="Mama",
            last_name="Mboga",
            description="order",
            ours="REF-1",
        )
        reference = await FeexPayClient(http, api_key=KEY, base_url="https://api.feexpay.me").request_to_pay(
            "mtn", body
        )
        sim.approve()
        held = await feexpay.query("REF-2", reference)  # the status of REF-1's request, asked for REF-2
    assert held is not None and (held.outcome, held.amount) == (Outcome.PAID, Money(42000, "XOF"))
    # The event's record keeps it in English; the merchant reads it in their language, a queued event too.
    assert held.review == "FeexPay's status names another payment (REF-1)"
    assert review_reason(held, "sw") == "Hali ya FeexPay inataja malipo mengine (REF-1)"
    assert review_reason(from_json(to_json(held)), "fr") == "Le statut de FeexPay désigne un autre paiement (REF-1)"


def test_the_french_texts_say_everything_the_english_ones_do_with_the_same_blanks() -> None:
    folder = Path(__file__).resolve().parents[2] / "payments" / "feexpay" / "locales"
    english = json.loads((folder / "en.json").read_text(encoding="utf-8"))
    french = json.loads((folder / "fr.json").read_text(encoding="utf-8"))
    assert set(french) == set(english)
    blanks = re.compile(r"\{(\w+)\}")
    for key, words in english.items():
        assert set(blanks.findall(french[key])) == set(blanks.findall(words)), key
    assert "TEST MODE" in french["feexpay.started_test"]  # what the suite and the customer look for, in any language
