"""Starting an online payment, after the conversation's transaction has committed.

The flow opens the payment (``created``) in its own transaction; the provider is called afterwards, outside any
transaction, so no database lock waits on the network. The outcome is applied like any other event: ``pending`` with
what the customer must do next (check the phone, open the link), or ``failed`` with the reason. A process that dies
between the two leaves a ``created`` payment, which the reconciler expires; it is never started twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from core.clock import Clock
from core.db.engine import Database
from core.db.repos.customers import CustomerRepository
from core.db.repos.orders import OrderRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Payment
from core.messages import Button, Message, keyboard
from core.money import Money
from core.texts import has, text
from payments import notices
from payments.base import Outcome, ProviderError, ProviderEvent, Started, StartRequest
from payments.registry import ProviderRegistry
from payments.service import apply_event
from payments.states import PaymentStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Schedule:
    first_check: timedelta | None
    lifetime: timedelta


@dataclass
class PaymentStarter:
    database: Database
    registry: ProviderRegistry
    clock: Clock

    async def __call__(self, payment_id: int) -> None:
        await self.start(payment_id)

    async def start(self, payment_id: int) -> PaymentStatus | None:
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
            )
            tenant_id, reference, provider_name = tenant.id, payment.reference, payment.provider
            tenant_timeout = timedelta(minutes=tenant.payment_timeout_minutes)
        if provider is None:
            return await self._failed(tenant_id, reference, provider_name, "provider.not_configured", None)
        # When to ask the provider first and when the attempt expires, both counted from the start.
        schedule = Schedule(provider.next_check(0), provider.lifetime(tenant_timeout))
        try:
            started = await provider.start(request)
        except ProviderError as error:
            if error.retryable and error.code == "timeout":
                # The provider may have accepted it: never send it again; the callback or expiry settles it.
                return await self._pending(tenant_id, reference, provider_name, None, schedule)
            log.warning("payment %s: %s refused the start (%s)", payment_id, provider_name, error.code)
            return await self._failed(
                tenant_id,
                reference,
                provider_name,
                error.code or "error",
                str(error),
                misconfigured=error.misconfigured,
            )
        return await self._pending(tenant_id, reference, provider_name, started, schedule)

    async def _pending(
        self, tenant_id: int, reference: str, provider: str, started: Started | None, schedule: Schedule
    ) -> PaymentStatus | None:
        event = ProviderEvent(
            provider=provider, event_key=f"started:{reference}", payment_reference=reference, outcome=Outcome.PENDING
        )
        async with self.database.uow() as uow:
            applied = await apply_event(uow.session, tenant_id, event, self.clock)
            payment = applied.payment
            if applied.moved and payment is not None:
                now = self.clock.now()
                payment.provider_ref = started.provider_ref if started is not None else None
                payment.next_check_at = now + schedule.first_check if schedule.first_check is not None else None
                payment.expires_at = now + schedule.lifetime
                context = await notices.context_for(uow.session, payment)
                message = started_message(context, started)
                await notices.to_customer(uow.session, context, notices.started_key(payment), message, now)
            await uow.commit()
            return applied.status

    async def _failed(
        self,
        tenant_id: int,
        reference: str,
        provider: str,
        code: str,
        detail: str | None,
        *,
        misconfigured: bool = False,
    ) -> PaymentStatus | None:
        # The provider's own words for its refusals first (``paystack.start_failed.amount_below_minimum``).
        keys = [f"{provider}.start_failed.{code}", f"start_failed.{code}", "start_failed.other"]
        reason = text(next(key for key in keys if has(key)))
        event = ProviderEvent(
            provider=provider,
            event_key=f"start-failed:{reference}",
            payment_reference=reference,
            outcome=Outcome.FAILED,
            reason=reason,
            reason_code=code,
            raw={"detail": detail or ""},
        )
        async with self.database.uow() as uow:
            applied = await apply_event(uow.session, tenant_id, event, self.clock)
            if misconfigured and applied.moved and applied.payment is not None:
                # The customer was told the attempt failed; the merchant must learn why, or every attempt will.
                context = await notices.context_for(uow.session, applied.payment)
                alert = Message(
                    text(
                        "admin.alert.provider_error",
                        provider=text(f"provider.{provider}"),
                        code=context.order.code,
                        reason=code,
                    )
                )
                await notices.to_merchant(
                    uow.session, context.tenant, f"provider-error:{applied.payment.id}", alert, self.clock.now()
                )
            await uow.commit()
            return applied.status


def started_message(ctx: notices.Context, started: Started | None) -> Message:
    if started is None:
        return Message(text("payment.started_unconfirmed", ctx.lang, code=ctx.order.code, amount=ctx.amount()))
    body = text(started.text_key, ctx.lang, code=ctx.order.code, amount=ctx.amount(), **started.values)
    rows = []
    if started.link is not None:
        rows.append([Button(text(started.link.text_key, ctx.lang), url=started.link.url)])
    return Message(body, keyboard(*rows))
