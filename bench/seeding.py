"""What a run needs in the database and at the fake Bot API, made through the project's own code: shops by
``tests.support.seed.seed_shop`` and ``admin.shops.set_provider`` (as ``dukabot provider set`` does), M-Pesa STK
pushes waiting for their callback as the tests open them (``payments.attempts.open_payment``), and Daraja's callback
body in the shape the Daraja simulator sends (``sandbox/mpesa/simulator.py``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from admin import shops
from bench.telegram import TelegramProcess
from core.clock import SystemClock
from core.db.engine import Database
from core.db.migrate import upgrade
from core.db.tables import Customer, Order
from core.vault import Vault
from payments.attempts import open_payment
from payments.states import PaymentStatus
from tests.support.app import VAULT_KEY
from tests.support.mpesa import mpesa_settings
from tests.support.seed import seed_shop

PRICE_MINOR = 42000  # KES 420, an order of one bag of rice
ADMIN_ID = 9001
NOWHERE = "http://127.0.0.1:9"  # Daraja's base URL: a callback never calls Daraja


@dataclass(frozen=True)
class BenchShop:
    tenant_id: int
    slug: str
    token: str
    secret: str
    admin_id: int


@dataclass(frozen=True)
class StkPush:
    """An STK push waiting for Daraja's callback: the callback's URL token and the customer who gets the receipt."""

    token: str
    slug: str
    chat_id: int
    checkout_id: str
    receipt: str


def vault() -> Vault:
    return Vault([VAULT_KEY])


def sqlite_url(folder: Path, name: str) -> str:
    return f"sqlite+aiosqlite:///{folder / f'{name}.sqlite3'}"


async def fresh_database(url: str) -> Database:
    """The database at ``url`` with the current schema and nothing else (PostgreSQL: its public schema is dropped
    and made again, as the test suite does with TEST_DATABASE_URL)."""
    database = Database(url)
    if database.dialect == "postgresql":
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await upgrade(database.engine)
    return database


async def add_shops(database: Database, count: int, *, mpesa: bool, first: int = 0) -> list[BenchShop]:
    clock, keys = SystemClock(), vault()
    made = []
    for number in range(first, first + count):
        slug = f"shop-{number:05d}"
        token = f"{8_000_000 + number}:AAE-bench-token-{number:020d}"
        shop = await seed_shop(database, keys, clock, slug=slug, name=f"Shop {number}", bot_token=token)
        if mpesa:
            secrets_given, options = mpesa_settings(NOWHERE)["mpesa"]
            async with database.uow() as uow:
                await shops.set_provider(uow.session, keys, slug, "mpesa", secrets_given, options, clock.now())
                await uow.commit()
        made.append(BenchShop(shop.tenant_id, slug, token, shop.webhook_secret, shop.admin_id))
    return made


async def register_bots(telegram: TelegramProcess, shops_made: list[BenchShop]) -> None:
    """Each shop's bot at the fake Bot API, and its merchant's chat open (an admin has written to the bot once)."""
    await telegram.add_bots(
        [(shop.token, f"{shop.slug.replace('-', '_')}_bot", shop.slug) for shop in shops_made],
        [(shop.token, shop.admin_id) for shop in shops_made],
    )


async def open_pushes(database: Database, shops_made: list[BenchShop], count: int, *, first_chat: int) -> list[StkPush]:
    """``count`` orders of KES 420, spread over the shops in turn, each by its own customer and each with an STK
    push pending, as the payment starter leaves it when Daraja accepted the push."""
    now = SystemClock().now()
    pushes = []
    by_shop: dict[int, list[int]] = {}
    for index in range(count):
        by_shop.setdefault(index % len(shops_made), []).append(index)
    for shop_index, indexes in by_shop.items():
        shop = shops_made[shop_index]
        async with database.uow() as uow:
            for index in indexes:
                chat = first_chat + index
                customer = Customer(
                    tenant_id=shop.tenant_id, tg_user_id=chat, chat_id=chat, display_name="Wanjiru", created_at=now
                )
                uow.session.add(customer)
                await uow.session.flush()
                order = Order(
                    tenant_id=shop.tenant_id,
                    customer_id=customer.id,
                    code=f"B{chat:09d}",
                    status="awaiting_payment",
                    total_minor=PRICE_MINOR,
                    currency="KES",
                    contact_name="Wanjiru Kamau",
                    contact_phone="+254708374149",
                    delivery_method="pickup",
                    created_at=now,
                    updated_at=now,
                )
                uow.session.add(order)
                await uow.session.flush()
                token = secrets.token_hex(20)
                payment = await open_payment(
                    uow.session,
                    order,
                    "mpesa",
                    PaymentStatus.PENDING,
                    now,
                    expires_at=now + timedelta(minutes=30),
                    callback_token=token,
                )
                assert payment is not None
                checkout = f"ws_CO_04122026{chat:016d}"
                payment.provider_ref = checkout
                pushes.append(StkPush(token, shop.slug, chat, checkout, f"BN{chat:08d}"))
            await uow.commit()
    # In the order of their index, so the shops take turns: grouped by shop, the callbacks sent in that order at
    # 50 a second would give one shop's bot all of them for a moment, over the 30 messages a second it may send.
    return sorted(pushes, key=lambda push: push.chat_id)


def stk_body(push: StkPush) -> dict[str, object]:
    """Daraja's STK callback for a paid push, as the Daraja simulator sends it."""
    return {
        "Body": {
            "stkCallback": {
                "MerchantRequestID": f"{push.chat_id % 10000}-{push.chat_id}-1",
                "CheckoutRequestID": push.checkout_id,
                "ResultCode": 0,
                "ResultDesc": "The service request is processed successfully.",
                "CallbackMetadata": {
                    "Item": [
                        {"Name": "Amount", "Value": PRICE_MINOR / 100},
                        {"Name": "MpesaReceiptNumber", "Value": push.receipt},
                        {"Name": "Balance"},
                        {"Name": "TransactionDate", "Value": 20261204221530},
                        {"Name": "PhoneNumber", "Value": 254708374149},
                    ]
                },
            }
        }
    }
