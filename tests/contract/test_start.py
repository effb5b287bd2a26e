"""Starting a collection, for every registered online provider: a test-mode shop talks only to the provider's
sandbox and a live shop never does; a start whose answer is lost is never sent again, whatever the customer
presses and whatever the server's workers do next."""

from __future__ import annotations

import pytest

from payments.states import PaymentStatus
from tests.contract.harness import Contract


@pytest.mark.parametrize("test_mode", [False, True], ids=["live", "test-mode"])
async def test_test_mode_talks_only_to_sandbox_hosts_and_live_never(contract: Contract, test_mode: bool) -> None:
    kit, network = contract.kit, contract.network
    if test_mode:
        await contract.test_mode(True)
    await contract.start()
    assert network.sent(kit.start_path) == 1, network.seen
    sandbox = [kit.is_sandbox(seen.host, seen.headers) for seen in network.seen]
    assert sandbox == [test_mode] * len(network.seen), network.seen
    assert (contract.customer.count("TEST MODE") >= 1) is test_mode  # the customer is told no real money moves


async def test_a_start_that_timed_out_is_never_sent_again(contract: Contract) -> None:
    kit, network = contract.kit, contract.network
    network.lose_answers_on.add(kit.start_path)  # the provider takes the request; its answer never comes back
    await contract.start()
    assert network.sent(kit.start_path) == 1
    unconfirmed = contract.customer.find("did not confirm it in time")
    assert f"order {contract.order_code} (KES 420) was sent" in unconfirmed.content
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
