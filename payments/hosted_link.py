"""A hosted-link provider's shared shapes: the customer pays on the provider's page (a link in the chat), the provider
then tells us by a signed webhook, and nothing it says is believed until its API, asked again, says the same.

- :class:`VerifiedWebhook` is the webhook route: 404 for a shop that does not take the provider and 401 for a missing
  or wrong credential (nothing read, nothing written: the provider's ``read`` checks it before the body); 400 for a
  body that cannot be read; 503 when the provider's API could not be asked (the provider delivers again); 200 for
  everything else, a redelivery included (the event's key makes it a duplicate). The provider's steps say what each
  kind of notice means, with :func:`apply_confirmed` (a payment's notice: asked again before it is applied),
  :func:`apply_refund` and :func:`record_unhandled`.
- :func:`refuse_amount`, :func:`link_started` and :func:`refund_report` are the start's and the refunds' shared words;
  :func:`next_check` and :func:`refund_next_check` the schedule of a link waiting to be paid and of a refund on its way.

A provider passes only what differs (its name, the type of its provider object, how it reads a notice, which step
takes which notice), so a new hosted-link provider needs nothing outside its folder and the registry."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from core.clock import Clock
from core.db.engine import Database
from core.db.repos.orders import PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.money import Money
from payments import refunds
from payments.base import Callback, InvalidCallback, LinkButton, ProviderError, ProviderEvent, RefundResult, Started
from payments.inbound import InboundContext, InboundRequest, InboundResponse
from payments.info import ProviderInfo
from payments.service import EventResult, apply_event

log = logging.getLogger(__name__)

# The reconciler asks about an open link 1, 3 and 8 minutes after the start, then every 5 minutes for the first hour,
# every 15 after (until the tenant's timeout expires it).
_FIRST_CHECKS = (timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5))
# A refund still on its way is fetched after 2 and 10 minutes, half an hour, then hourly up to every 6 hours.
_REFUND_CHECKS = (timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=1))
_REFUND_CHECK_CAP = timedelta(hours=6)


def next_check(checks_done: int) -> timedelta:
    if checks_done < len(_FIRST_CHECKS):
        return _FIRST_CHECKS[checks_done]
    return timedelta(minutes=5) if checks_done < 14 else timedelta(minutes=15)


def refund_next_check(checks_done: int) -> timedelta:
    return _REFUND_CHECKS[checks_done] if checks_done < len(_REFUND_CHECKS) else _REFUND_CHECK_CAP


# --- starting and refunds ---------------------------------------------------------------------------------------


def refuse_amount(info: ProviderInfo, says: str, amount: Money) -> None:
    """Raises ProviderError, before any request, for an amount ``info`` does not take (``says``: the provider's name
    in the message)."""
    refusal = info.refusal(amount)
    if refusal is not None:
        raise ProviderError(f"{says} does not take {amount.format()}", code=f"amount_{refusal}")


def link_started(
    name: str, url: str, *, test: bool, provider_ref: str | None, values: Mapping[str, str] | None = None
) -> Started:
    """The customer's message once the link is made: ``<name>.started`` (``.started_test`` in test mode) with the
    ``<name>.button_pay`` button to ``url``."""
    return Started(
        text_key=f"{name}.started_test" if test else f"{name}.started",
        values=dict(values or {}),
        link=LinkButton(f"{name}.button_pay", url),
        provider_ref=provider_ref,
    )


class RefundTold(Protocol):
    """A refund as the provider tells it: its id, its state in the contract's words and in the provider's own."""

    @property
    def id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def amount(self) -> Money: ...
    @property
    def created(self) -> datetime | None: ...
    @property
    def raw(self) -> Mapping[str, Any]: ...


def refund_report(says: str, refund: RefundTold, payment_reference: str | None, txn_id: str | None) -> RefundResult:
    """One refund report in the contract's shape: its key names the step, so the answer, a fetch and a webhook of the
    same step agree. ``txn_id``: the payment's id at the provider, as the refund or the caller knows it."""
    return RefundResult(
        event_key=f"refund:{refund.id}:{refund.state}",
        status=refund.state,
        amount=refund.amount,
        provider_refund_id=refund.id,
        payment_reference=payment_reference,
        provider_txn_id=txn_id,
        reason=f"{says} says the refund is {refund.status}",
        occurred_at=refund.created,
        raw=dict(refund.raw),
    )


# --- the webhook route ------------------------------------------------------------------------------------------


class Notice(Protocol):
    """What a provider's webhook said, its credential checked: its kind, its object and the whole body."""

    @property
    def kind(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def raw(self) -> Mapping[str, Any]: ...


class Refunding(Protocol):
    def refund_next_check(self, checks_done: int) -> timedelta: ...


P = TypeVar("P", bound=Refunding)
N = TypeVar("N", bound=Notice)


def answer(status: int, outcome: str, *, changed: bool = False) -> InboundResponse:
    return InboundResponse(status, json={"status": outcome}, changed=changed, outcome=outcome)


@dataclass(frozen=True, slots=True)
class Arrival(Generic[P]):
    """One webhook of a shop that takes the provider: what its steps work with."""

    name: str
    database: Database
    clock: Clock
    tenant: Tenant
    provider: P


Step = Callable[[Arrival[P], N], Awaitable[InboundResponse]]


@dataclass(frozen=True, slots=True)
class VerifiedWebhook(Generic[P, N]):
    """The webhook route of a provider whose notices are confirmed by asking its API (module docstring).

    ``read`` checks the credential first (InvalidCallback 401, nothing read), then reads the body (InvalidCallback
    400). ``step`` names the step for a notice (None: recorded as not acted on, ``unhandled`` its description with
    ``{kind}``). ``noun``, ``asked`` and ``says`` word the logs ("callback", "API", "Corefy"); ``unavailable`` is the
    outcome when the API could not be asked."""

    name: str
    provider_type: type[P]
    read: Callable[[P, Callback], N]
    step: Callable[[N], Step[P, N] | None]
    unhandled: str
    noun: str
    asked: str
    says: str
    unavailable: str

    async def __call__(self, context: InboundContext, request: InboundRequest) -> InboundResponse:
        slug = request.path_params["tenant"]
        async with context.database.uow() as uow:
            tenant = await TenantRepository(uow.session).by_slug(slug)
            provider = await context.registry.for_tenant(uow.session, tenant, self.name) if tenant is not None else None
        if tenant is None or not isinstance(provider, self.provider_type):
            return answer(404, "unknown_shop")
        try:
            notice = self.read(provider, request.callback())
        except InvalidCallback as error:
            log.warning("%s %s for %s refused: %s", self.name, self.noun, slug, error.reason)
            return answer(error.status, "refused" if error.status == 401 else "malformed")
        arrival = Arrival(self.name, context.database, context.clock, tenant, provider)
        step = self.step(notice)
        try:
            if step is not None:
                return await step(arrival, notice)
        except InvalidCallback as error:
            log.warning("%s %s for %s unreadable: %s", self.name, self.noun, slug, error.reason)
            return answer(400, "malformed")
        except ProviderError as error:
            log.warning(
                "%s %s for %s not answered (%s): %s delivers again", self.name, self.asked, slug, error.code, self.says
            )
            return answer(503, self.unavailable)
        return await record_unhandled(arrival, notice, self.unhandled.format(kind=notice.kind[:60]))


async def apply_confirmed(
    arrival: Arrival[Any],
    reference: str,
    unconfirmed: Callable[[], ProviderEvent | None],
    confirm: Callable[[], Awaitable[ProviderEvent | None]],
) -> InboundResponse:
    """A payment's notice naming our ``reference``: ``confirm`` asks the API (raising ProviderError when it cannot be
    asked) for a payment of this shop's; a notice of no payment of ours is recorded as ``unconfirmed`` says it,
    unmatched, never asked about, never paid. None from either: still open, its next word or the reconciler settles
    it."""
    async with arrival.database.uow() as uow:
        payment = await PaymentRepository(uow.session).by_reference(reference)
    ours = payment is not None and payment.tenant_id == arrival.tenant.id
    event = await confirm() if ours else unconfirmed()
    if event is None:
        return answer(200, "pending")
    async with arrival.database.uow() as uow:
        applied = await apply_event(uow.session, arrival.tenant.id, event, arrival.clock)
        await uow.commit()
    return answer(200, applied.result.value, changed=applied.result is not EventResult.DUPLICATE)


async def apply_refund(
    arrival: Arrival[P], reference: str | None, result: RefundResult, raw: Mapping[str, Any]
) -> InboundResponse:
    """A refund's report, for the payment ``reference`` (None: none of ours), as its answer and its fetch are applied
    (``payments.refunds.apply_refund_result``); one of no payment of this shop's is recorded, unmatched."""
    async with arrival.database.uow() as uow:
        payment = await PaymentRepository(uow.session).by_reference(reference) if reference else None
        if payment is None or payment.tenant_id != arrival.tenant.id:
            fresh = await refunds.record_fact(
                uow.session,
                arrival.name,
                arrival.tenant.id,
                None,
                result.event_key,
                "refund",
                "unmatched",
                dict(raw),
                arrival.clock.now(),
            )
            await uow.commit()
            return answer(200, "unmatched" if fresh else "duplicate")
        applied = await refunds.apply_refund_result(
            uow.session,
            arrival.tenant,
            payment,
            result,
            arrival.clock,
            first_check=arrival.provider.refund_next_check(0),
        )
        await uow.commit()
    if applied.duplicate:
        return answer(200, "duplicate")
    return answer(200, "applied" if applied.moved else "recorded", changed=True)


async def record_unhandled(arrival: Arrival[Any], notice: Notice, description: str) -> InboundResponse:
    """A notice no step acts on, recorded once (its key: its kind and its object's id, else a hash of the body)."""
    ident = notice.data.get("id")
    if not isinstance(ident, str | int) or isinstance(ident, bool):
        digest = hashlib.sha256(json.dumps(notice.raw, sort_keys=True, default=str).encode()).hexdigest()
        ident = "sha256-" + digest[:24]
    async with arrival.database.uow() as uow:
        fresh = await refunds.record_fact(
            uow.session,
            arrival.name,
            arrival.tenant.id,
            None,
            f"{notice.kind[:60]}:{ident}",
            "unhandled",
            description,
            dict(notice.raw),
            arrival.clock.now(),
        )
        await uow.commit()
    return answer(200, "recorded" if fresh else "duplicate")
