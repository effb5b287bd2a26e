"""The alerts a payment's own transaction writes (paid, held for review, a Paybill payment that matches no order) reach
each admin's private chat in the language that admin chose (``/adminlanguage``), English for one who chose none in an
English shop; an alert group reads the shop's language. The running list of paid orders keeps each chat's language
as it is edited. Through the real server, the fake Bot API and the Daraja simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.db.engine import Database
from core.db.tables import Payment, Tenant
from core.vault import Vault
from payments.mpesa.c2b import c2b_urls
from payments.mpesa.provider import MpesaProvider
from sandbox.mpesa.simulator import DarajaSimulator
from tests.integration.test_alerts_per_admin import languages_of
from tests.support.app import Person, ShopServer, place_order, send_proof, shop_server, until
from tests.support.mpesa import c2b_secret, daraja, mpesa_settings
from tests.support.seed import Shop

GROUP = -100_888
MAMA, BABA = 9001, 9002  # Mama chose no language (the shop's, English); Baba chose Swahili


@pytest.fixture
async def mpesa_server(
    database: Database, vault: Vault, tmp_path: Path
) -> AsyncIterator[tuple[ShopServer, DarajaSimulator, Shop]]:
    async with daraja() as (sim, daraja_url), shop_server(database, vault, tmp_path, webhooks=True) as server:
        shop = await server.add_shop(admins=(MAMA, BABA), providers=mpesa_settings(daraja_url))
        await server.start()
        for admin in (MAMA, BABA):
            await server.person(shop, admin, "Admin").send("/start")
        assert (await server.person(shop, BABA, "Baba").send("/adminlanguage sw")).messages
        yield server, sim, shop


async def pay_by_push(server: ShopServer, sim: DarajaSimulator, customer: Person) -> str:
    """The customer orders and pays by M-Pesa push (the simulator's phone approves); the order's code."""
    phone = f"0712 345 {customer.id % 1000:03d}"  # one phone each: Daraja refuses the same amount twice from one
    code = await place_order(customer, phone=phone)
    await customer.tap("📱 M-Pesa")
    await customer.tap(f"✅ Yes, send to {phone}")
    await server.settle()
    await sim.settle()
    await until(lambda: customer.count("Payment received") == 1, "the receipt")
    return code


async def test_paid_alerts_and_their_running_list_in_each_admins_language_and_a_group_in_the_shops(
    mpesa_server: tuple[ShopServer, DarajaSimulator, Shop], database: Database
) -> None:
    server, sim, shop = mpesa_server
    mama, baba = server.person(shop, MAMA, "Mama"), server.person(shop, BABA, "Baba")
    first = await pay_by_push(server, sim, server.person(shop, 7501, "Wanjiru"))
    await until(lambda: baba.count(f"Oda {first} imelipwa") == 1, "Baba's alert")
    assert mama.find(f"Order {first} is paid").content == (
        f"💰 Order {first} is paid: KES 420 by M-Pesa from Wanjiru Kamau."
    )
    alert = baba.find(f"Oda {first} imelipwa")
    assert alert.content == f"💰 Oda {first} imelipwa: Ksh\xa0420 kupitia M-Pesa kutoka kwa Wanjiru Kamau."
    assert alert.buttons[0][0][0] == "📄 Angalia oda"
    assert await languages_of(database, "paid:") == {
        MAMA: ("en", f"💰 Order {first} is paid: KES 420 by M-Pesa from Wanjiru Kamau."),
        BABA: ("sw", f"💰 Oda {first} imelipwa: Ksh\xa0420 kupitia M-Pesa kutoka kwa Wanjiru Kamau."),
    }

    # A second order paid within the minute: each chat's alert is edited into the list, in that chat's language.
    second = await pay_by_push(server, sim, server.person(shop, 7502, "Akinyi"))
    await until(lambda: baba.count("💰 Oda 2 zimelipwa") == 1, "Baba's list")
    listed = baba.find("💰 Oda 2 zimelipwa")
    assert listed.content.startswith("💰 Oda 2 zimelipwa katika dakika moja iliyopita:\n1. 💰 Oda ")
    assert f"2. 💰 Oda {second} imelipwa" in listed.content and listed.edit_date is not None
    assert mama.find("💰 2 orders paid").content.startswith("💰 2 orders paid in the last minute:\n1. 💰 Order ")
    assert f"2. 💰 Order {second} is paid" in mama.find("💰 2 orders paid").content

    group = server.fake.group(shop.token, GROUP, "Mama Mboga alerts")
    async with database.uow() as uow:  # alerts to a group: many readers, the shop's language
        await uow.session.execute(update(Tenant).where(Tenant.id == shop.tenant_id).values(alert_chat_id=GROUP))
        await uow.commit()
    third = await pay_by_push(server, sim, server.person(shop, 7503, "Njeri"))
    await until(lambda: len(group.messages) == 1, "the group's alert")
    assert group.messages[0].content == f"💰 Order {third} is paid: KES 420 by M-Pesa from Wanjiru Kamau."
    assert baba.count(third) == mama.count(third) == 0
    assert not server.errors.messages()


async def test_money_held_for_review_and_money_for_no_order_in_each_admins_language(
    mpesa_server: tuple[ShopServer, DarajaSimulator, Shop], database: Database, vault: Vault
) -> None:
    server, sim, shop = mpesa_server
    mama, baba = server.person(shop, MAMA, "Mama"), server.person(shop, BABA, "Baba")
    async with database.uow() as uow:  # what `dukabot provider register-c2b` does
        tenant = await uow.session.get(Tenant, shop.tenant_id)
        assert tenant is not None
        assert server.runtime is not None
        provider = await server.runtime.registry.for_tenant(uow.session, tenant, "mpesa")
        secret = await c2b_secret(uow.session, vault, tenant.slug, server.clock.now())
        await uow.commit()
    assert isinstance(provider, MpesaProvider)
    assert await provider.register_c2b(*c2b_urls(server.base_url, tenant.slug, secret)) == "Success"
    code = await place_order(server.person(shop, 7501, "Wanjiru"))

    await sim.c2b_pay("174379", code, 400)  # KES 20 short
    await until(lambda: baba.count(f"Oda {code} inahitaji") == 1, "Baba's review alert")
    assert mama.find(f"Order {code} needs").content == (
        f"⚠️ Order {code} needs your review (M-Pesa): the amount received (KES 400) differs from the order total "
        "(KES 420)."
    )
    held = baba.find(f"Oda {code} inahitaji")
    assert held.content == (
        f"⚠️ Oda {code} inahitaji uikague (M-Pesa): kiasi kilichopokelewa (Ksh\xa0400) si sawa na jumla ya oda "
        "(Ksh\xa0420)."
    )
    assert [label for row in held.buttons for label, *_ in row] == [
        "📄 Angalia oda",
        "✅ Kubali malipo jinsi yalivyofika",
    ]
    async with database.uow() as uow:  # the payment's record: the shop's language
        reason = await uow.session.scalar(select(Payment.reason).where(Payment.tenant_id == shop.tenant_id))
    assert reason == "the amount received (KES 400) differs from the order total (KES 420)"

    await sim.c2b_pay("174379", "NO-SUCH-ORDER", 999)
    await until(lambda: baba.count("Malipo ya Paybill yanahitaji") == 1, "Baba's unmatched alert")
    assert mama.count("⚠️ A Paybill payment needs your review: KES 999") == 1
    assert not server.errors.messages()


async def test_a_proof_to_review_and_its_warnings_in_each_admins_language(
    mpesa_server: tuple[ShopServer, DarajaSimulator, Shop],
) -> None:
    server, _, shop = mpesa_server
    mama, baba = server.person(shop, MAMA, "Mama"), server.person(shop, BABA, "Baba")
    await place_order(server.person(shop, 7501, "Wanjiru"))
    await send_proof(server.person(shop, 7501, "Wanjiru"), "SL7Q2ABC")
    akinyi = server.person(shop, 7502, "Akinyi")
    code = await place_order(akinyi, name="Akinyi Otieno", phone="0712 345 502")
    await send_proof(akinyi, "SL7Q2ABC")  # the same reference again: the merchant is warned
    await server.settle()
    english = mama.find(f"🧾 Proof of payment for order {code}").content
    assert "Customer: Akinyi Otieno" in english
    assert "⚠️ Reference SL7Q2ABC was already used in this shop (1×)." in english
    swahili = baba.find(f"🧾 Uthibitisho wa malipo wa oda {code}").content
    assert "Mteja: Akinyi Otieno" in swahili and "Kiasi kinachodaiwa: Ksh\xa0420" in swahili
    assert "⚠️ Nambari ya muamala SL7Q2ABC imeshatumika katika duka hili (mara 1)." in swahili
    assert not server.errors.messages()
