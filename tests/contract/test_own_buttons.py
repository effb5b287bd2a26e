"""A provider's own button, for a provider registered after import: LinkPay's started message keeps its "where is my
payment?" button (``ProviderNotices.started_rows``), and pressing it reaches LinkPay's chat step."""

from __future__ import annotations

import pytest

from tests.contract.harness import Contract


async def test_a_provider_registered_later_has_buttons_of_its_own(contract: Contract, provider: str) -> None:
    if provider != "linkpay":
        pytest.skip("LinkPay's own button (the providers of the product are covered by their integration tests)")
    await contract.start()
    started = contract.customer.find("open LinkPay's checkout below")
    assert [button.text for row in started.markup.inline for button in row] == ["🔄 Where is my payment?", "🔗 Pay now"]
    await contract.customer.tap("🔄 Where is my payment?", message=started)
    answer = contract.customer.find(f"Order {contract.order_code}: your LinkPay payment is")
    assert answer.content == f"Order {contract.order_code}: your LinkPay payment is pending."
