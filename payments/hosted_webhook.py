"""The webhook route of a hosted-link provider (:mod:`payments.hosted_link`) whose notices are believed only once its
API, asked again, says the same: :class:`VerifiedWebhook`. 404 for a shop that does not take the provider and 401 for
a missing or wrong credential (nothing read, nothing written: the provider's ``read`` checks it before the body); 400
for a body that cannot be read; 503 when the provider's API could not be asked (the provider delivers again); 200 for
everything else, a redelivery included (the event's key makes it a duplicate). The provider's steps say what each
kind of notice means, with :func:`apply_confirmed` (a payment's notice: asked again before it is applied),
:func:`apply_refund` and :func:`record_unhandled`. A provider passes only what differs (its name, the type of its
provider object, how it reads a notice, which step takes which notice), so a new one needs nothing outside its folder
and the registry."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeVar

from core.clock import Clock
from core.db.engine import Database
from core.db.repos.orders import PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from payments import refunds
from payments.base import Callback, InvalidCallback, ProviderError, ProviderEvent, RefundResult
from payments.inbound import InboundContext, InboundRequest, InboundResponse
from payments.service import EventResult, apply_event

log = logging.getLogger(__name__)


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
