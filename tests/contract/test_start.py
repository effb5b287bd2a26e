"""Starting a collection, for every registered online provider: a test-mode shop talks only to the provider's
sandbox and a live shop never does; a start whose answer is lost is never sent again, whatever the customer
presses and whatever the server's workers do next."""

from __future__ import annotations

import pytest

from core.db.repos.tenants import TenantRepository
from core.money import Money
from payments.base import ProviderError, StartRequest
from payments.providers import ENTRIES
from payments.states import PaymentStatus
from tests.contract.conftest import foreign_currency
from tests.contract.harness import Contract
from tests.support.app import place_order
from webhooks.runtime import Runtime


@pytest.mark.parametrize("test_mode", [False, True], ids=["live", "test-mode"])
async def test_test_mode_talks_only_to_sandbox_hosts_and_live_never(contract: Contract, test_mode: bool) -> None:
    kit, network = contract.kit, contract.network
    if test_mode:
        await contract.test_mode(True)
    await contract.start()
    assert network.sent(kit.start_path) == 1, network.seen
    sandbox = [kit.sandboxed(seen) for seen in network.seen]
    assert sandbox == [test_mode] * len(network.seen), network.seen
    assert (contract.customer.count("TEST MODE") >= 1) is test_mode  # the customer is told no real money moves


async def test_a_start_that_timed_out_is_never_sent_again(contract: Contract) -> None:
    kit, network = contract.kit, contract.network
    network.lose_answers_on.add(kit.start_path)  # the provider takes the request; its answer never comes back
    await contract.start()
    assert network.sent(kit.start_path) == 1
    unconfirmed = contract.customer.find("did not confirm it in time")
    assert f"order {contract.order_code} ({contract.money(42000)}) was sent" in unconfirmed.content
    payment = await contract.payment()
    assert payment.status == PaymentStatus.PENDING

    # The customer presses again; the workers and the reconciler run their course: nothing starts a second one.
    await kit.press_again(contract.customer)
    await contract.server.settle()
    runtime = contract.server.runtime
    assert runtime is not None
    for _ in range(3):
        contract.clock.advance(**kit.query_after)
        await runtime.jobs.run_once()
        await runtime.reconciler.run_once()
    await contract.server.settle()
    # One start per attempt, ever. (Paystack opens a new attempt on a second press: the lost answer held the
    # first one's link, so the customer cannot pay it; M-Pesa refuses while the first push may be on the phone.)
    payments = await contract.payments()
    assert network.sent(kit.start_path) == len(payments)
    assert payments[0].status in (PaymentStatus.PENDING, PaymentStatus.CANCELLED), payments[0].status

    # The customer pays what the provider did take: the callback settles it, once.
    network.lose_answers_on.clear()
    await kit.pay()
    assert (await contract.deliver(await contract.callback("genuine")))[0] == 200
    assert (await contract.payments())[-1].status == PaymentStatus.PAID
    assert contract.customer.count("Payment received") == 1


@pytest.mark.foreign_currency
async def test_a_currency_the_provider_does_not_declare_is_never_collected(contract: Contract) -> None:
    """The shop sells in a currency the provider does not declare (``ProviderInfo.currencies``): the menu does not
    offer it, and the provider itself, asked to start that amount anyway (an old button, a job written before the
    shop changed its currency), refuses before sending anything. The money the provider would report could only be
    in its own currencies, never the order's: that case (a callback in another currency than the order's) is the
    wrong-currency callback, which goes to review."""
    kit, network, shop = contract.kit, contract.network, contract.shop
    entry = ENTRIES[kit.name]
    currency = foreign_currency(kit.name)
    assert currency is not None and entry.info.limits(currency) is None
    total = Money(42000, currency)
    code = await place_order(
        contract.customer, phone=kit.customer_phone, product=f"Pishori Rice 2kg · {total.format()}"
    )
    placed = contract.customer.find(f"Order {code}")
    offered = [label for row in placed.buttons for label, _ in row]
    assert "💵 Pay by hand and upload proof" in offered and kit.method_button not in offered, offered

    runtime = contract.server.runtime
    assert isinstance(runtime, Runtime), "the contract's server runs with its runtime"
    async with runtime.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(shop.slug)
        assert tenant is not None and tenant.slug == shop.slug
        provider = await runtime.registry.for_tenant(uow.session, tenant, kit.name)
    assert provider is not None and provider.name == kit.name
    request = StartRequest(
        payment_reference=f"FOREIGN-{code}",
        callback_token="ab" * 20,
        tenant_slug=shop.slug,
        order_code=code,
        amount=total,
        customer_phone="+254708374149",
        customer_email="wanjiru@example.com",
        shop_name="Mama Mboga Store",
    )
    with pytest.raises(ProviderError):
        await provider.start(request)
    assert network.seen == [] and await contract.payments() == []
