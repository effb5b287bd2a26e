"""Prometheus metrics, in a registry of the app's own (several apps can live in one test process).

Counters of events (updates, callbacks) are kept as they happen; the state of the database (payments by provider and
state, outbox depth, lag and dead letters) and the relay's counters (Telegram 429s, dead letters) are read at scrape
time by :meth:`Metrics.refresh`, so every process reports the same numbers for shared state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from core.clock import utc
from core.db.engine import Database
from core.db.tables import InboundEvent, OutboxMessage, Payment
from core.outbox import OutboxStatus
from core.relay import RelayStats
from payments import ingest


class _RelayCollector(Collector):
    """The outbox relay's counters since this process started."""

    def __init__(self) -> None:
        self.stats: RelayStats | None = None

    def collect(self) -> Iterable[Metric]:
        stats = self.stats.as_dict() if self.stats is not None else {}
        described = {
            "sent": "Outbox messages delivered",
            "rate_limited": "Telegram 429 answers waited out",
            "dead": "Outbox messages dead-lettered after the last try",
            "undeliverable": "Outbox messages to chats that blocked the bot",
            "retried": "Failed sends put back for a later try",
        }
        for name, help_text in described.items():
            family = CounterMetricFamily(f"dukabot_relay_{name}", help_text)
            family.add_metric([], float(stats.get(name, 0)))
            yield family


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "dukabot_telegram_updates", "Telegram updates received, by outcome", ["outcome"], registry=self.registry
        )
        self.callback_seconds = Histogram(
            "dukabot_callback_seconds", "Time to answer a provider callback", ["provider"], registry=self.registry
        )
        self.callbacks = Counter(
            "dukabot_provider_callbacks",
            "Provider callbacks received, by provider and outcome",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.payments = Gauge(
            "dukabot_payments", "Payments by provider and state", ["provider", "state"], registry=self.registry
        )
        self.outbox_depth = Gauge("dukabot_outbox_depth", "Outbox messages waiting to be sent", registry=self.registry)
        self.outbox_lag = Gauge(
            "dukabot_outbox_lag_seconds", "Age of the oldest message waiting in the outbox", registry=self.registry
        )
        self.dead_letters = Gauge(
            "dukabot_outbox_dead_letters", "Outbox messages given up on (all time)", registry=self.registry
        )
        self.outbox_messages = Gauge(
            "dukabot_outbox_messages",
            "Outbox messages by status (pending, sent, undeliverable, dead, superseded), all time",
            ["status"],
            registry=self.registry,
        )
        self.inbound_waiting = Gauge(
            "dukabot_inbound_events_waiting",
            "Provider events recorded and answered but not applied yet (payments.ingest)",
            registry=self.registry,
        )
        self.inbound_stuck = Gauge(
            "dukabot_inbound_events_stuck",
            "Provider events that failed to apply too often to be tried again: an operator must look (see the log)",
            registry=self.registry,
        )
        self._relay = _RelayCollector()
        self.registry.register(self._relay)

    async def refresh(self, database: Database, relay: RelayStats | None, now: datetime) -> None:
        """Read the shared state for this scrape."""
        self._relay.stats = relay
        async with database.uow() as uow:
            rows = (
                await uow.session.execute(
                    select(Payment.provider, Payment.status, func.count()).group_by(Payment.provider, Payment.status)
                )
            ).all()
            self.payments.clear()
            for provider, state, count in rows:
                self.payments.labels(provider, state).set(count)
            pending = (
                await uow.session.execute(
                    select(func.count(), func.min(OutboxMessage.created_at)).where(
                        OutboxMessage.status == OutboxStatus.PENDING.value
                    )
                )
            ).one()
            self.outbox_depth.set(pending[0] or 0)
            self.outbox_lag.set(max(0.0, (now - utc(pending[1])).total_seconds()) if pending[1] else 0.0)
            counted = await uow.session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
            by_status = {status: count for status, count in counted}
            for status in OutboxStatus:  # every status, zeros included, so a dashboard's series never vanish
                self.outbox_messages.labels(status.value).set(by_status.get(status.value, 0))
            self.dead_letters.set(by_status.get(OutboxStatus.DEAD.value, 0))
            inbound = (
                await uow.session.execute(
                    select(
                        func.count(),
                        func.count().filter(InboundEvent.attempts >= ingest.MAX_ATTEMPTS),
                    ).select_from(InboundEvent)
                )
            ).one()
            self.inbound_waiting.set(inbound[0] - inbound[1])
            self.inbound_stuck.set(inbound[1])

    def render(self) -> bytes:
        return generate_latest(self.registry)
