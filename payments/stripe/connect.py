"""Stripe Connect, for a shop that is an Express account of the operator's platform (``connect=on``).

- ``/connect stripe`` (the shop's admins, in the chat) and ``/payouts`` only owe a job: the chat makes no request.
- The ``stripe.connect_link`` job makes the shop's Express account once (kept as ``connected_account`` in the shop's
  Stripe settings: no table of its own) and a fresh onboarding Account Link, sent to the admin who asked as a
  button. ``account.updated`` (the webhook, ``routes.py``) tells the merchant when the account can take payments.
- The ``stripe.payouts`` job reads the account's available balance and latest payouts (``Stripe-Account``) and sends
  them to the admin who asked.

Payments of such a shop are destination charges with the platform's fee (``provider.start``)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from core import outbox
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.messages import Button, Message, keyboard
from core.money import Money
from core.texts import text
from payments import jobs
from payments.base import ProcessParts, ProviderError
from payments.chat import ChatContext, Reply
from payments.stripe import INFO
from payments.stripe.provider import StripeProvider
from payments.stripe.wire import Payout

if TYPE_CHECKING:
    from payments.base import ProcessKit

LINK_JOB, PAYOUTS_JOB = "stripe.connect_link", "stripe.payouts"
_RETRY_WAITS = (timedelta(seconds=30), timedelta(minutes=2))


async def _owe(ctx: ChatContext, kind: str) -> Reply:
    config = await TenantRepository(ctx.session).provider_config(ctx.tenant.id, INFO.name)
    if config is None or not config.enabled or (config.options or {}).get("connect") != "on":
        return Reply([Message(ctx.t("stripe.connect.not_connect_mode"))], refused=True)
    await jobs.enqueue(
        ctx.session,
        tenant_id=ctx.tenant.id,
        kind=kind,
        dedupe_key=f"{kind}:{uuid.uuid4().hex}",  # each ask is its own (a link is single use)
        now=ctx.clock.now(),
        payload={"chat": ctx.customer.chat_id, "lang": ctx.lang},
    )
    return Reply([Message(ctx.t(f"{kind}.asked"))])


async def connect_command(ctx: ChatContext, args: str) -> Reply:
    """``/connect stripe``: onboard (or finish onboarding) the shop's Express account."""
    if args.strip().lower() not in ("", INFO.name):
        return Reply([Message(ctx.t("stripe.connect.usage"))], refused=True)
    return await _owe(ctx, LINK_JOB)


async def payouts_command(ctx: ChatContext, args: str) -> Reply:
    """``/payouts``: the Express account's balance and latest payouts."""
    return await _owe(ctx, PAYOUTS_JOB)


COMMANDS = {"connect": connect_command, "payouts": payouts_command}


class ConnectJob:
    """One of the two jobs; the provider is asked outside any transaction, its answer sent through the outbox."""

    def __init__(self, kit: ProcessKit, kind: str) -> None:
        self.kit = kit
        self.kind = kind

    async def run(self, job: jobs.Job) -> None:
        chat, lang = int(job.payload["chat"]), str(job.payload.get("lang") or "en")
        async with self.kit.database.uow() as uow:
            tenant = await uow.session.get(Tenant, job.tenant_id)
            provider = await self.kit.registry.for_tenant(uow.session, tenant, INFO.name) if tenant else None
        made: str | None = None
        if not isinstance(provider, StripeProvider) or not provider.connect:
            message = Message(text("stripe.connect.not_connect_mode", lang))
        else:
            try:
                if self.kind == LINK_JOB:
                    account = provider.connected_account or await provider.create_account(job.tenant_id)
                    made = None if account == provider.connected_account else account
                    url = await provider.onboarding_link(account)
                    button = Button(text("stripe.connect.button", lang), url=url)
                    message = Message(text("stripe.connect.link", lang), keyboard([button]))
                elif provider.connected_account is None:
                    message = Message(text("stripe.payouts.not_onboarded", lang))
                else:
                    message = self._payouts(*await provider.balance_and_payouts(provider.connected_account), lang)
            except ProviderError as error:
                if error.retryable and job.attempts <= len(_RETRY_WAITS):
                    await self._retry(job, error)
                    return
                message = Message(text("stripe.connect.failed", lang, code=error.code or "error"))
        await self._answer(job, chat, message, made)

    @staticmethod
    def _payouts(balance: list[Money], payouts: list[Payout], lang: str) -> Message:
        available = ", ".join(money.format(lang) for money in balance) or text("stripe.payouts.nothing", lang)
        lines = [text("stripe.payouts.balance", lang, available=available)]
        for payout in payouts:
            when = payout.arrival.strftime("%Y-%m-%d") if payout.arrival else "?"
            lines.append(
                text("stripe.payouts.line", lang, amount=payout.amount.format(lang), status=payout.status, date=when)
            )
        if not payouts:
            lines.append(text("stripe.payouts.none", lang))
        return Message("\n".join(lines))

    async def _retry(self, job: jobs.Job, error: ProviderError) -> None:
        now = self.kit.clock.now()
        async with self.kit.database.uow() as uow:
            await jobs.retry_later(
                uow.session, job.id, now + _RETRY_WAITS[job.attempts - 1], error.code or "error", now
            )
            await uow.commit()

    async def _answer(self, job: jobs.Job, chat: int, message: Message, made: str | None) -> None:
        now = self.kit.clock.now()
        async with self.kit.database.uow() as uow:
            if made is not None:  # the shop's account, kept in its Stripe settings (a managed field)
                config = await TenantRepository(uow.session).provider_config(job.tenant_id, INFO.name)
                if config is not None:
                    config.options = {**(config.options or {}), "connected_account": made}
                    config.updated_at = now
            owed = [outbox.Owed(chat, f"{self.kind}:{job.id}", message)]
            await outbox.enqueue_many(uow.session, tenant_id=job.tenant_id, owed=owed, now=now)
            await jobs.finish(uow.session, job.id, now)
            await uow.commit()

    async def abandon(self, job: jobs.Job, error: BaseException) -> None:
        now = self.kit.clock.now()
        async with self.kit.database.uow() as uow:
            lang = str(job.payload.get("lang") or "en")
            message = Message(text("stripe.connect.failed", lang, code="unexpected"))
            owed = [outbox.Owed(int(job.payload["chat"]), f"{self.kind}:{job.id}", message)]
            await outbox.enqueue_many(uow.session, tenant_id=job.tenant_id, owed=owed, now=now)
            await jobs.give_up(uow.session, job.id, repr(error)[:200], now)
            await uow.commit()


def process(kit: ProcessKit) -> ProcessParts:
    return ProcessParts(jobs={LINK_JOB: ConnectJob(kit, LINK_JOB), PAYOUTS_JOB: ConnectJob(kit, PAYOUTS_JOB)})
