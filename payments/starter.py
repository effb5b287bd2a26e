"""Starting an online payment: a payment job, run by the job worker, never inside a Telegram update.

Pressing "Pay" opens the attempt (``created``), owes a ``payment.start`` job and owes the customer "sending the
request…" under the attempt's ``started_key``, all in the update's transaction (``queue_start``); the update is
answered at once. The worker then calls the provider (``PaymentStarter.run``) and records the outcome like any other
event, in the unit of work that ends the job: ``pending`` with what the customer must do next (check the phone, open
the link), which takes the place of "sending…" in the chat; or ``failed`` with the reason and a way forward.

One attempt, one prompt on the customer's phone, ever. What is retried, and what is not:

* a failure before the call, or a refusal the provider answered with and calls temporary (busy, throttled): the
  request was not taken, so the job tries again later, a bounded number of times; then the attempt fails;
* no answer (a timeout, a dropped connection) or a job whose earlier run died mid-call (``in_doubt``): the request may
  have reached the provider, so it is never sent again. The attempt waits as ``pending`` (unconfirmed) and is settled
  by the provider's callback or the reconciler's query (a status query once the provider's own reference is known, or by
  ours), or it expires;
* anything unexpected: the attempt fails at once and the customer is told in plain words, with "try again" and the
  other ways to pay.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.clock import Clock
from core.db.engine import Database
from core.db.repos.customers import CustomerRepository
from core.db.repos.orders import OrderRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Payment
from core.merchant_alerts import alert_merchant
from core.messages import Button, Message, keyboard
from core.money import Money
from core.texts import has, text
from payments import jobs, notices, providers
from payments.base import Outcome, PaymentProvider, ProviderError, ProviderEvent, Started, StartRequest
from payments.registry import ProviderRegistry
from payments.service import apply_event
from payments.states import PaymentStatus

log = logging.getLogger(__name__)

START = "payment.start"  # the job kind
# Errors that say nothing about whether the provider took the request: never sent again. A provider adds its own
# (ProviderInfo.no_answer_codes).
NO_ANSWER = frozenset({"timeout", "network"})
RETRY_WAITS = (timedelta(seconds=5), timedelta(seconds=15))  # then the attempt fails: the customer is waiting


@dataclass(frozen=True, slots=True)
class Schedule:
    first_check: timedelta | None
    lifetime: timedelta


async def queue_start(
    session: AsyncSession,
    payment: Payment,
    chat_id: int,
    sending: Message,
    now: datetime,
    *,
    choices: Mapping[str, str] | None = None,
) -> None:
    """Owe the start of ``payment`` (a job, carrying the customer's ``choices`` for the provider) and the
    customer's "sending…" message, in the caller's transaction."""
    await jobs.enqueue(
        session,
        tenant_id=payment.tenant_id,
        kind=START,
        dedupe_key=f"start:{payment.id}",
        payment_id=payment.id,
        payload={"choices": dict(choices)} if choices else None,
        now=now,
    )
    await outbox.enqueue(
        session,
        tenant_id=payment.tenant_id,
        chat_id=chat_id,
        dedupe_key=notices.started_key(payment),
        message=sending,
        now=now,
    )


@dataclass(frozen=True, slots=True)
class _Loaded:
    request: StartRequest
    provider: PaymentProvider | None
    tenant_id: int
    reference: str
    provider_name: str
    tenant_timeout: timedelta


@dataclass
class PaymentStarter:
    """The handler of ``payment.start`` jobs."""

    database: Database
    registry: ProviderRegistry
    clock: Clock

    async def run(self, job: jobs.Job) -> None:
        assert job.payment_id is not None
        loaded = await self._load(job.payment_id, _choices(job.payload))
        if loaded is None:  # no longer waiting to start (expired, superseded): nothing to do
            await self._finish(job)
            return
        if loaded.provider is None:
            await self._failed(job, loaded, "provider.not_configured", None)
            return
        schedule = Schedule(loaded.provider.next_check(0), loaded.provider.lifetime(loaded.tenant_timeout))
        if job.in_doubt:
            # An earlier run died during the call: it may have reached the provider. Never call it again.
            log.warning("payment %s: an earlier start may have reached %s", job.payment_id, loaded.provider_name)
            await self._pending(job, loaded, None, schedule)
            return
        try:
            started = await loaded.provider.start(loaded.request)
        except ProviderError as error:
            await self._refused(job, loaded, error, schedule)
            return
        await self._pending(job, loaded, started, schedule)

    async def abandon(self, job: jobs.Job, error: BaseException) -> None:
        """Something unexpected: the attempt fails now and the customer is told, rather than waiting for expiry."""
        assert job.payment_id is not None
        async with self.database.uow() as uow:
            payment = await uow.session.get(Payment, job.payment_id)
            assert payment is not None
            tenant_id, reference, provider = payment.tenant_id, payment.reference, payment.provider
        # In the provider's own vocabulary when it has one (the customer's message reads it).
        entry = providers.entry(provider)
        code = entry.info.unexpected_code if entry is not None else "unexpected"
        await self._fail(job, tenant_id, reference, provider, code, type(error).__name__)

    async def _refused(self, job: jobs.Job, loaded: _Loaded, error: ProviderError, schedule: Schedule) -> None:
        if error.code in NO_ANSWER or _own_no_answer(loaded.provider_name, error.code):
            # The provider may have accepted it: never send it again; the callback, a query or expiry settles it.
            log.warning("payment %s: no answer to the start (%s)", job.payment_id, error.code)
            await self._pending(job, loaded, None, schedule)
            return
        if error.retryable and job.attempts <= len(RETRY_WAITS):
            # The provider answered and did not take the request (busy, throttled): asking again sends one prompt.
            wait = RETRY_WAITS[job.attempts - 1]
            log.info("payment %s: provider busy (%s), trying again in %s", job.payment_id, error.code, wait)
            async with self.database.uow() as uow:
                now = self.clock.now()
                await jobs.retry_later(uow.session, job.id, now + wait, error.code or "error", now)
                await uow.commit()
            return
        log.warning("payment %s: %s refused the start (%s)", job.payment_id, loaded.provider_name, error.code)
        await self._failed(job, loaded, error.code or "error", str(error), misconfigured=error.misconfigured)

    async def _load(self, payment_id: int, choices: Mapping[str, str]) -> _Loaded | None:
        async with self.database.uow() as uow:
            payment = await uow.session.get(Payment, payment_id)
            if payment is None or payment.status != PaymentStatus.CREATED or payment.callback_token is None:
                return None
            tenant = await TenantRepository(uow.session).by_id(payment.tenant_id)
            order = await OrderRepository(uow.session).by_id(payment.tenant_id, payment.order_id)
            assert tenant is not None and order is not None
            customer = await CustomerRepository(uow.session).by_id(tenant.id, order.customer_id)
            provider = await self.registry.for_tenant(uow.session, tenant, payment.provider)
            assert customer is not None
            total = Money(order.total_minor, order.currency)
            request = StartRequest(
                payment_reference=payment.reference,
                callback_token=payment.callback_token,
                tenant_slug=tenant.slug,
                order_code=order.code,
                amount=Money(payment.amount_minor, payment.currency),
                customer_phone=customer.phone,
                customer_email=customer.email,
                shop_name=tenant.name,
                metadata={"tenant": tenant.slug, "order": order.code, "chat": str(customer.chat_id)},
                order_total=total if total != Money(payment.amount_minor, payment.currency) else None,
                choices=choices,
                language=customer.language,
            )
            timeout = timedelta(minutes=tenant.payment_timeout_minutes)
            return _Loaded(request, provider, tenant.id, payment.reference, payment.provider, timeout)

    async def _finish(self, job: jobs.Job) -> None:
        async with self.database.uow() as uow:
            await jobs.finish(uow.session, job.id, self.clock.now())
            await uow.commit()

    async def _pending(self, job: jobs.Job, loaded: _Loaded, started: Started | None, schedule: Schedule) -> None:
        reference = loaded.reference
        event = ProviderEvent(
            provider=loaded.provider_name,
            event_key=f"started:{reference}",
            payment_reference=reference,
            outcome=Outcome.PENDING,
        )
        async with self.database.uow() as uow:
            applied = await apply_event(uow.session, loaded.tenant_id, event, self.clock)
            payment = applied.payment
            if applied.moved and payment is not None:
                now = self.clock.now()
                payment.provider_ref = started.provider_ref if started is not None else None
                # An unconfirmed push has no CheckoutRequestID to query with; its callback or expiry settles it.
                payment.next_check_at = now + schedule.first_check if schedule.first_check is not None else None
                payment.expires_at = now + schedule.lifetime
                context = await notices.context_for(uow.session, payment)
                message = notices.in_place_of_start(context, started_message(context, started))
                await notices.to_customer(uow.session, context, f"{notices.started_key(payment)}:answer", message, now)
            await jobs.finish(uow.session, job.id, self.clock.now())
            await uow.commit()

    async def _failed(
        self, job: jobs.Job, loaded: _Loaded, code: str, detail: str | None, *, misconfigured: bool = False
    ) -> None:
        await self._fail(job, loaded.tenant_id, loaded.reference, loaded.provider_name, code, detail, misconfigured)

    async def _fail(
        self,
        job: jobs.Job,
        tenant_id: int,
        reference: str,
        provider: str,
        code: str,
        detail: str | None,
        misconfigured: bool = False,
    ) -> None:
        # The provider's own words for its refusals first (``<provider>.start_failed.amount_below_minimum``).
        bare = code.removeprefix(f"{provider}.")
        keys = [f"{provider}.start_failed.{bare}", f"start_failed.{bare}", "start_failed.other"]
        reason_key = next(key for key in keys if has(key))
        event = ProviderEvent(
            provider=provider,
            event_key=f"start-failed:{reference}",
            payment_reference=reference,
            outcome=Outcome.FAILED,
            reason=text(reason_key),  # the payment's record; the customer reads reason_key in their language
            reason_code=code,
            reason_key=reason_key,
            raw={"detail": detail or ""},
        )
        async with self.database.uow() as uow:
            applied = await apply_event(uow.session, tenant_id, event, self.clock)
            if misconfigured and applied.moved and applied.payment is not None:
                # The customer was told the attempt failed; the merchant must learn why, or every attempt will.
                context = await notices.context_for(uow.session, applied.payment)
                order_code = context.order.code

                def alert(language: str) -> Message:
                    named = text(f"provider.{provider}", language)
                    words = text("admin.alert.provider_error", language, provider=named, code=order_code, reason=code)
                    return Message(words)

                await alert_merchant(
                    uow.session, context.tenant, f"provider-error:{applied.payment.id}", alert, self.clock.now()
                )
            await jobs.give_up(uow.session, job.id, code, self.clock.now())
            await uow.commit()


def _own_no_answer(provider: str, code: str | None) -> bool:
    entry = providers.entry(provider)
    return entry is not None and code is not None and code in entry.info.no_answer_codes


def started_message(ctx: notices.Context, started: Started | None) -> Message:
    # The provider's buttons of "sending…" (a status check) stay on the message it turns into.
    own = notices.provider_notices(ctx.payment.provider).started_rows
    rows = own(ctx) if own is not None else []
    if started is None:
        body = text("payment.started_unconfirmed", ctx.lang, code=ctx.order.code, amount=ctx.amount(ctx.lang))
        return Message(body, keyboard(*rows))
    body = text(started.text_key, ctx.lang, code=ctx.order.code, amount=ctx.amount(ctx.lang), **started.values)
    if started.link is not None:
        rows.append([Button(text(started.link.text_key, ctx.lang), url=started.link.url)])
    return Message(body, keyboard(*rows))


def _choices(payload: Mapping[str, Any]) -> dict[str, str]:
    """The customer's choices a start job carries (``queue_start``), as text; a job written before had none."""
    found = payload.get("choices")
    if not isinstance(found, Mapping):
        return {}
    return {str(key): str(value) for key, value in found.items()}
