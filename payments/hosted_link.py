"""A hosted-link provider's shared shapes: the customer pays on the provider's page (a link in the chat), the provider
then tells us by a signed webhook (:mod:`payments.hosted_webhook`), and the reconciler asks about a link still open.

:func:`refuse_amount`, :func:`link_started` and :func:`refund_report` are the start's and the refunds' shared words;
:func:`next_check` and :func:`refund_next_check` the schedule of a link waiting to be paid and of a refund on its way.
A provider passes only what differs (its name, how it says its own name), so a new hosted-link provider needs nothing
outside its folder and the registry. Light to import: the provider objects use it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from core.money import Money
from payments.base import LinkButton, ProviderError, RefundResult, Started
from payments.info import ProviderInfo

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
