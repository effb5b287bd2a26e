"""Each provider's chat step lives in its folder and is reached through the registry (issue 13): the flows name no
provider, every step's questions and buttons are its own, and the payment menu's codes keep their meaning."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import flows
from core.texts import text
from flows import payment
from flows.buttons import CUSTOMER
from payments import providers
from payments.base import ProviderInfo, ProviderInfoError, ProviderKind
from payments.chat import ChatStep, Reply
from payments.mpesa.buttons import OtherPhone, Paybill, PushAgain, PushStatus, SendPush

FLOWS = Path(flows.__file__).parent


def test_the_flows_name_no_provider_that_has_a_chat_step() -> None:
    # The manual payment's proof step is the flows' own (flows.payment says why): it is the one provider they name.
    checked = [entry for entry in providers.ENTRIES.values() if entry.info.kind is not ProviderKind.MANUAL_PROOF]
    names = ["corefy", "feexpay", "flutterwave", "mpesa", "paypal", "paystack", "stripe", "telegram"]
    assert sorted(entry.name for entry in checked) == names
    named = []
    for path in sorted(FLOWS.glob("*.py")):
        source = path.read_text(encoding="utf-8").lower().replace("-", "")  # "M-Pesa" names mpesa too
        for entry in checked:
            spellings = {entry.name, text(entry.info.display_key).lower().replace("-", "")}
            named += [(path.name, spelling) for spelling in sorted(spellings) if spelling in source]
    assert named == []
    assert {path.stem for path in FLOWS.glob("*.py")} & set(providers.NAMES) == set()


def test_each_chat_step_is_found_through_the_registry_with_its_own_questions_and_buttons() -> None:
    steps = {name: payment.chat_step(name) for name in providers.NAMES}
    assert {name for name, step in steps.items() if step is None} == {"manual"}  # paid by proof, in the flows
    mpesa, paystack = steps["mpesa"], steps["paystack"]
    assert mpesa is not None and paystack is not None
    assert (mpesa.questions, set(mpesa.buttons)) == (
        frozenset({"mpesa.phone"}),
        {SendPush, OtherPhone, PushStatus, PushAgain, Paybill},
    )
    assert (paystack.questions, dict(paystack.buttons)) == (frozenset({"paystack.email"}), {})
    stripe = steps["stripe"]
    assert stripe is not None and (stripe.questions, dict(stripe.buttons)) == (frozenset(), {})
    # The flow bound every provider's buttons to the customer's routes.
    assert set(mpesa.buttons) <= CUSTOMER.kinds()


async def _nothing(*_: object) -> Reply:
    return Reply()


def test_a_step_that_asks_in_another_providers_name_is_refused_when_loaded() -> None:
    step = ChatStep(begin=_nothing, questions=frozenset({"mpesa.phone", "pay.proof"}))
    with pytest.raises(TypeError, match=r"named mpesa\.<question>, not \['pay\.proof'\]"):
        step.check("mpesa")
    asks_nothing = ChatStep(begin=_nothing)
    assert asks_nothing.check("mpesa") is asks_nothing


def test_payment_menu_codes_keep_the_meaning_of_buttons_already_sent() -> None:
    codes = {entry.name: entry.info.button_code for entry in providers.ENTRIES.values()}
    # What METHOD_CODES said before, and each provider's since: never renumber.
    assert codes == {
        "manual": 1,
        "mpesa": 2,
        "paystack": 3,
        "flutterwave": 4,
        "stripe": 5,
        "paypal": 6,
        "feexpay": 7,
        "corefy": 8,
        "telegram": 9,
    }
    assert [
        found.name if (found := providers.by_button_code(code)) is not None else None
        for code in (1, 2, 3, 4, 5, 6, 7, 8, 9, 999)
    ] == [
        "manual",
        "mpesa",
        "paystack",
        "flutterwave",
        "stripe",
        "paypal",
        "feexpay",
        "corefy",
        "telegram",
        None,
    ]


def test_the_registry_refuses_a_provider_without_a_code_or_with_anothers() -> None:
    mpesa, paystack = providers.ENTRIES["mpesa"], providers.ENTRIES["paystack"]
    taken = dataclasses.replace(paystack, info=dataclasses.replace(paystack.info, button_code=2))
    with pytest.raises(ProviderInfoError, match="paystack: button_code 2 is mpesa's"):
        providers._by_button_code({"mpesa": mpesa, "paystack": taken})
    none = dataclasses.replace(paystack, info=dataclasses.replace(paystack.info, button_code=None))
    with pytest.raises(ProviderInfoError, match="paystack: a registered provider declares its button_code"):
        providers._by_button_code({"paystack": none})


@pytest.mark.parametrize("code", [0, -1, 1000])
def test_a_button_code_outside_what_a_button_carries_is_refused(code: int) -> None:
    with pytest.raises(ProviderInfoError, match=f"button_code is 1 to 999, not {code}"):
        ProviderInfo(name="dummy", display_key="provider.dummy", kind=ProviderKind.HOSTED_LINK, button_code=code)
