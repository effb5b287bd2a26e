"""The naive design peer shops use for payment callbacks: aiohttp + SQLAlchemy (ORM) + aiosqlite, one transaction
per callback that records the callback under a unique key, updates the payment row and inserts an outbox row.

It does what dukabot's STK callback must do at the least, in the most direct way: a duplicate is caught by the
unique key (the insert fails, the transaction rolls back, Daraja still gets its answer). It sends nothing: a
separate worker would read the outbox, which is not measured here. SQLite is set up as dukabot sets it up (WAL,
foreign keys, a busy timeout), so the ratio measures the design, not the database's settings.

``python -m bench.baselines.naive PORT DATABASE_FILE PAYMENTS_JSON`` (the payments to seed: ``[[token, chat_id,
amount_minor], ...]``; the schema is created and seeded before the port opens).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, event, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ACK = {"ResultCode": 0, "ResultDesc": "Accepted"}
SESSIONS: web.AppKey[async_sessionmaker[Any]] = web.AppKey("sessions")


class Base(DeclarativeBase):
    pass


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    chat_id: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    receipt: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Callback(Base):
    __tablename__ = "callbacks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime)


class Outbox(Base):
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(4096))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime)


def engine_for(path: Path) -> AsyncEngine:
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


async def stk_callback(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    body = await request.json()
    callback = body["Body"]["stkCallback"]
    items = {item["Name"]: item.get("Value") for item in callback.get("CallbackMetadata", {}).get("Item", [])}
    receipt = items.get("MpesaReceiptNumber")
    now = datetime.now(UTC)
    async with request.app[SESSIONS]() as session:
        try:
            async with session.begin():
                payment = await session.scalar(select(Payment).where(Payment.token == token))
                if payment is None:
                    return web.json_response({"error": "unknown token"}, status=404)
                session.add(
                    Callback(
                        key=f"mpesa:{receipt or callback['CheckoutRequestID']}",
                        payment_id=payment.id,
                        body=body,
                        received_at=now,
                    )
                )
                await session.flush()  # a duplicate fails here, on the unique key, and rolls back
                if callback["ResultCode"] == 0 and payment.status == "pending":
                    payment.status, payment.receipt, payment.updated_at = "paid", str(receipt), now
                    text = f"Payment received: KES {payment.amount_minor // 100}, M-Pesa receipt {receipt}."
                    session.add(Outbox(chat_id=payment.chat_id, text=text, status="pending", created_at=now))
        except IntegrityError:
            pass  # already recorded: answer as for the first copy
    return web.json_response(ACK)


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def seed(engine: AsyncEngine, payments: list[list[Any]]) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
        now = datetime.now(UTC)
        rows = [
            {"token": token, "chat_id": chat, "amount_minor": amount, "status": "pending", "updated_at": now}
            for token, chat, amount in payments
        ]
        if rows:
            await connection.execute(insert(Payment), rows)


def main() -> None:
    port, database, payments_file = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])

    payments = json.loads(payments_file.read_text())

    async def app() -> web.Application:
        engine = engine_for(database)
        await seed(engine, payments)
        application = web.Application()
        application[SESSIONS] = async_sessionmaker(engine, expire_on_commit=False)
        application.router.add_get("/healthz", healthz)
        application.router.add_post("/pay/stk/{token}", stk_callback)

        async def dispose(_: web.Application) -> None:
            await engine.dispose()

        application.on_cleanup.append(dispose)
        return application

    web.run_app(app(), host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
