"""Who reads which language: the customer's own (Telegram's, or chosen with /language), else the shop's, else English;
the merchant's side in the admin's own (/adminlanguage). Through the merchant's gate, on the real database."""

from __future__ import annotations

from sqlalchemy import select, update

from admin import gate
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Customer, Tenant, TenantAdmin
from core.texts import choose_language, plural, text
from core.vault import Vault
from flows.context import FlowContext, Reply
from flows.inbound import Actor, Inbound
from tests.support.seed import seed_shop
from tests.unit import test_flow_journey as flow_journey

MERCHANT = 9001


class Chat(flow_journey.Chat):
    """The customer's chat through the merchant's gate, as the server routes it: admins reach the merchant's side."""

    async def route(self, ctx: FlowContext, inbound: Inbound) -> Reply:
        reply, _ = await gate.route(ctx, inbound)
        return reply


def labels(reply: Reply) -> list[str]:
    return [button.text for message in reply.messages for row in message.buttons for button in row]


async def _shop_language(database: Database, tenant_id: int, language: str) -> None:
    async with database.uow() as uow:
        await uow.session.execute(update(Tenant).where(Tenant.id == tenant_id).values(language=language))
        await uow.commit()


async def _customer(database: Database, tg_user_id: int) -> tuple[str, bool]:
    async with database.uow() as uow:
        row = (
            await uow.session.execute(
                select(Customer.language, Customer.language_chosen).where(Customer.tg_user_id == tg_user_id)
            )
        ).one()
    return row[0], row[1]


def test_the_chain_is_the_persons_language_then_the_shops_then_english() -> None:
    assert choose_language("sw-TZ", "fr") == "sw"
    assert choose_language("de", "fr") == "fr"
    assert choose_language("", "sw") == "sw"
    assert choose_language("de", "pt") == "en"
    assert choose_language(None, None) == "en"


def test_plural_forms_follow_each_languages_cldr_rule() -> None:
    assert plural("outbox.coalesced.paid", 1) == "💰 1 order paid in the last minute:"
    assert plural("outbox.coalesced.paid", 3) == "💰 3 orders paid in the last minute:"
    assert plural("outbox.coalesced.paid", 1, "sw") == "💰 Oda 1 imelipwa katika dakika moja iliyopita:"
    assert plural("outbox.coalesced.paid", 2, "sw") == "💰 Oda 2 zimelipwa katika dakika moja iliyopita:"
    # French counts 0 and 1 as singular, and says "de" after a million.
    assert plural("outbox.coalesced.paid", 0, "fr") == "💰 0 commande payée au cours de la dernière minute\u00a0:"
    assert plural("outbox.coalesced.paid", 2, "fr") == "💰 2 commandes payées au cours de la dernière minute\u00a0:"
    assert plural("outbox.coalesced.paid", 1_000_000, "fr") == (
        "💰 1000000 de commandes payées au cours de la dernière minute\u00a0:"
    )


async def test_a_customer_chooses_a_language_and_telegram_no_longer_changes_it(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    await _shop_language(database, shop.tenant_id, "sw")
    german = Chat(database, clock, shop.tenant_id, Actor(5001, 5001, "Wanjiru", language="de"))

    # Telegram's German is not spoken here: the shop's Swahili, with a language button in /help.
    helped = await german.command("help")
    assert helped.messages[0].text.startswith(text("help.customer", "sw", shop="Mama Mboga Store"))
    assert labels(helped)[-1] == "🌐 Lugha"
    assert await _customer(database, 5001) == ("sw", False)

    asked = await german.press(helped, "🌐 Lugha")
    assert asked.messages[0].text == "Ungependa nikuandikie kwa lugha gani?"
    assert labels(asked) == ["English", "Kiswahili", "Français"]
    chosen = await german.press(asked, "Français")
    assert chosen.messages[0].text == "C'est noté\u00a0: désormais, je vous écris en français."
    assert await _customer(database, 5001) == ("fr", True)

    # A later update from a Telegram set to English does not undo the choice.
    english = Chat(database, clock, shop.tenant_id, Actor(5001, 5001, "Wanjiru", language="en"))
    assert (await english.command("cart")).messages[0].text == text("cart.empty", "fr")
    assert await _customer(database, 5001) == ("fr", True)

    # Typed: by code or by the language's own name; anything else asks again and changes nothing.
    assert (await english.command("language", "Kiswahili")).messages[0].text == (
        "Sawa! Kuanzia sasa nitakuandikia kwa Kiswahili."
    )
    refused = await english.command("language", "klingon")
    assert refused.refused and refused.messages[0].text == "Sijui lugha hiyo. Chagua moja hapa chini:"
    assert labels(refused) == ["English", "Kiswahili", "Français"]
    assert (await english.command("language", "EN")).messages[0].text == (
        "Done: from now on I write to you in English."
    )
    assert await _customer(database, 5001) == ("en", True)


async def test_an_unchosen_language_follows_telegram(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await seed_shop(database, vault, clock)
    await Chat(database, clock, shop.tenant_id, Actor(5002, 5002, "Amina", language="sw")).command("cart")
    assert await _customer(database, 5002) == ("sw", False)
    cart = await Chat(database, clock, shop.tenant_id, Actor(5002, 5002, "Amina", language="fr")).command("cart")
    assert cart.messages[0].text == "Votre panier est vide."
    assert await _customer(database, 5002) == ("fr", False)


async def test_the_merchant_reads_their_own_language_whatever_customers_read(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    merchant = Chat(database, clock, shop.tenant_id, Actor(MERCHANT, MERCHANT, "Mama", language="sw"))

    # No choice yet: the admin's Telegram language.
    assert (await merchant.command("pending")).messages[0].text == text("admin.no_pending", "sw")
    asked = await merchant.command("adminlanguage")
    assert asked.messages[0].text == text("admin.language.ask", "sw")
    chosen = await merchant.press(asked, "Français")
    assert chosen.messages[0].text == "C'est noté\u00a0: vos messages de gestion sont désormais en français."
    async with database.uow() as uow:
        stored = await uow.session.scalar(select(TenantAdmin.language).where(TenantAdmin.tg_user_id == MERCHANT))
    assert stored == "fr"

    # The merchant's side is French now; the merchant shopping in their own shop still reads Swahili.
    assert (await merchant.command("pending")).messages[0].text == "Aucune preuve en attente de vérification. 🎉"
    assert (await merchant.command("cart")).messages[0].text == "Kikapu chako hakina kitu."
    assert (await merchant.command("adminlanguage", "en")).messages[0].text == (
        "Done: your admin messages are in English now."
    )
    bad = await merchant.command("adminlanguage", "xx")
    assert bad.refused and bad.messages[0].text == text("language.unknown", "en")

    # A customer cannot choose the merchant's language: the command is the merchant's.
    customer = Chat(database, clock, shop.tenant_id, Actor(5003, 5003, "Juma", language="sw"))
    refused = await customer.command("adminlanguage", "fr")
    assert refused.refused and refused.messages[0].text == text("admin.not_admin", "sw")
