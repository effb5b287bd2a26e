"""The composition root: every real object is built here, once, from the settings, and closed here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from admin import gate, receipts
from admin.broadcast_feed import BroadcastFeeder
from bot import channels
from bot.channel import Channel, ChannelKit
from bot.processor import UpdateProcessor
from bot.proof_files import ProofFingerprints
from bot.replies import ChannelReplier, OutboxFallback
from core import shared_state
from core.cart_reminders import CartReminders
from core.clock import Clock, SystemClock
from core.db.engine import Database
from core.db.tables import Order, Tenant
from core.fiscal_stamp import FiscalStamps, NoFiscalStamps
from core.messages import Attachment
from core.pacing import Pacer, Pacing, PacingLimits
from core.redis_pacing import RedisPacer
from core.relay import OutboxRelay
from core.settings import Settings
from core.tenant_cache import TenantCache
from core.vault import Vault
from fiscal.contract import FiscalKit
from fiscal.overdue import FiscalOverdue
from fiscal.registry import job_handlers as fiscal_job_handlers
from notify.registry import senders as notify_senders
from payments import process, receipt_copies
from payments.base import Worker
from payments.ingest import Ingest
from payments.jobs import JobWorker
from payments.providers import ENTRIES, provider_factories
from payments.reconciler import Reconciler
from payments.registry import ProviderDeps, ProviderRegistry
from payments.starter import START, PaymentStarter
from webhooks.fiscal import fiscal_stamps
from webhooks.metrics import Metrics

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    database: Database
    vault: Vault
    clock: Clock
    channel: Channel  # the chat transport (DUKABOT_TELEGRAM_LIBRARY): every tenant's bot
    processor: UpdateProcessor
    relay: OutboxRelay
    http: httpx.AsyncClient
    metrics: Metrics
    registry: ProviderRegistry
    starter: PaymentStarter
    reconciler: Reconciler
    jobs: JobWorker  # payment jobs: provider calls never made inside an update or callback (start, C2B check)
    tenant_cache: TenantCache  # tenant state read without a row at hand (the Telegram webhook's secret)
    redis: Redis | None = None  # with DUKABOT_REDIS_URL: pacing and providers' tokens shared with other processes
    workers: tuple[Worker, ...] = ()  # the providers' own loops (ProviderEntry.process), run with the app
    ingest: Ingest | None = None  # provider events recorded by the routes, applied off the request
    # What tax authorities stamped on an order's sale (an eTIMS invoice), for its receipt and exports.
    fiscal_stamps: FiscalStamps = field(default_factory=NoFiscalStamps)

    @property
    def cart_reminders(self) -> CartReminders:
        """The abandoned-cart sweep among the workers (the playground runs it at once)."""
        return next(worker for worker in self.workers if isinstance(worker, CartReminders))

    @property
    def polling(self) -> bool:
        """Without a public URL Telegram cannot call us: every tenant bot long-polls instead."""
        return not self.settings.public_url

    async def close(self) -> None:
        await self.channel.close()
        await self.tenant_cache.close()
        await self.http.aclose()
        await self.database.dispose()
        if self.redis is not None:
            await self.redis.aclose()


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    chat_interval: float = 1.0,
    pacing_limits: PacingLimits | None = None,
    http: httpx.AsyncClient | None = None,
) -> Runtime:
    """``chat_interval`` paces messages to one chat (Telegram allows about one a second); tests shorten it, or give
    every limit in ``pacing_limits``. One pacing serves the relay and the direct replies: a bot's sends share it.
    ``http``: the client providers call out with (tests pass one whose network fails the way they need)."""
    clock = clock or SystemClock()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url())
    vault = Vault.from_settings(
        settings.secret_keys.get_secret_value() if settings.secret_keys else None, settings.key_file
    )
    channel = channels.build(settings.telegram_library, ChannelKit(database, vault, settings.telegram_api))
    redis = shared_state.connect(settings.redis_url) if settings.redis_url else None
    allowed = channel.info.limits
    limits = pacing_limits or PacingLimits(
        per_chat_interval=chat_interval,
        per_group_interval=allowed.per_group_interval,
        per_bot_rate=allowed.per_bot_rate,
    )
    pacer: Pacing = RedisPacer(redis, limits) if redis is not None else Pacer(limits)
    http = http or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
    stamps = fiscal_stamps(settings)
    # Receipts by SMS and email go through the same outbox (core.channels), the SMS one also when a chat fails.
    relay = OutboxRelay(
        database,
        channel.notifier,
        clock,
        pacer=pacer,
        channels=notify_senders(database, vault, http, clock, partial(receipt_file, fiscal=stamps)),
        on_undeliverable=receipt_copies.after_undeliverable,
    )
    callback_base = settings.public_url or f"http://{settings.host}:{settings.port}"
    deps = ProviderDeps(http, clock, callback_base, telegram_api=settings.telegram_api)
    registry = ProviderRegistry(vault, deps, provider_factories())
    # What each provider adds to the process (its token cache, its job kinds, its loops), before any of its provider
    # objects is built: those find the shared objects in deps.shared.
    parts = process.gather(ENTRIES.values(), process.ProcessDeps(database, clock, http, vault, redis, registry))
    deps.shared.update(parts.shared)
    tenant_cache = TenantCache(database, vault, clock)
    tenant_cache.on_change.append(registry.forget)  # frees a changed tenant's providers (their check needs no help)
    starter = PaymentStarter(database, registry, clock)
    # Fiscal documents are payment jobs too, owed by the payment's own transaction (payments.fiscal_hook).
    fiscal_jobs = fiscal_job_handlers(FiscalKit(database, clock, http, vault))
    jobs = JobWorker(database, clock, {START: starter, **parts.jobs, **fiscal_jobs}, on_done=relay.wake)
    metrics = Metrics()
    processor = UpdateProcessor(
        database,
        clock,
        ChannelReplier(
            channel,
            notice_limit=allowed.notice,
            pacing=pacer,
            clock=clock,
            fallback=OutboxFallback(database, clock, relay.wake),
        ),
        on_commit=relay.wake,
        wake_jobs=jobs.wake,
        methods=registry.names,
        fingerprint=ProofFingerprints(database, channel),
        observe=lambda outcome: metrics.updates.labels(outcome).inc(),
        route=partial(gate.route, registry=registry, fiscal=stamps),
    )
    reconciler = Reconciler(database, registry, clock)
    ingest = Ingest(database, clock, on_applied=relay.wake, claim_owed=relay.claim_within)
    tenant_cache.on_change.append(ingest.forget_tenant)  # what callbacks' checks found with the old settings
    return Runtime(
        settings,
        database,
        vault,
        clock,
        channel,
        processor,
        relay,
        http,
        metrics,
        registry,
        starter,
        reconciler,
        jobs,
        tenant_cache,
        redis,
        (
            *parts.workers,
            FiscalOverdue(database, clock),
            broadcast_feeder(database, clock, limits, relay.wake),
            CartReminders(database, clock),
        ),
        ingest=ingest,
        fiscal_stamps=stamps,
    )


def broadcast_feeder(
    database: Database, clock: Clock, limits: PacingLimits, wake: Callable[[], None]
) -> BroadcastFeeder:
    """Broadcasts take at most two thirds of a bot's rate, in bursts of a sixth of its window: the rest of every
    window is left to receipts and replies (``admin.broadcast_feed``)."""
    window = limits.bot_window.total_seconds()
    return BroadcastFeeder(
        database,
        clock,
        rate=limits.per_bot_rate * 2 / 3,
        burst=max(1, limits.bot_limit // 6),
        outstanding=max(1, limits.bot_limit * 2 // 3),
        interval=min(0.25, window / 4),
        progress_every=max(2.0, 10 * window),
        on_owed=wake,
    )


async def receipt_file(
    session: AsyncSession, tenant: Tenant, order: Order, *, fiscal: FiscalStamps
) -> Attachment | None:
    """The order's PDF receipt, for an email receipt (``notify.email``): the one ``/receipt`` sends."""
    message = await receipts.for_order(session, tenant, order, fiscal)
    return message.attachment if message is not None else None
