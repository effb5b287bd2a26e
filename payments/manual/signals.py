"""Fraud signals for a proof of a manual payment, shown to the merchant beside it: the same payment reference already
used in this shop, the same file already sent (content hash, or Telegram's file id), and an amount the customer
typed that differs from the order total. They inform the merchant's decision; they never decide."""

from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import Payment, Proof
from core.money import Money, MoneyError
from payments.base import ReviewWord

_CLAIMED = re.compile(r"(?i)(?:^|\s)(?:kes|kshs?|sh|ngn|ghs|zar|usd|ugx|tzs|rwf)\.?\s?(\d{1,9}(?:\.\d{1,2})?)(?=\s|$)")


def reference_token(reference: str | None) -> str | None:
    """The payment reference itself (an M-Pesa receipt, a bank reference): the first word, upper-cased."""
    words = (reference or "").split()
    return words[0].upper() if words else None


def claimed_amount(reference: str | None, currency: str) -> int | None:
    """The amount the customer typed with the reference, in minor units, if any."""
    match = _CLAIMED.search(reference or "")
    if match is None:
        return None
    try:
        return Money.parse(match.group(1), currency).minor
    except MoneyError:
        return None


async def signals(
    session: AsyncSession, tenant_id: int, proof: Proof, payment: Payment, language: str = "en"
) -> list[str]:
    """What the merchant should look at twice before approving, in ``language`` (the reader's)."""
    return [word.render(language) for word in await signal_words(session, tenant_id, proof, payment)]


async def signal_words(session: AsyncSession, tenant_id: int, proof: Proof, payment: Payment) -> list[ReviewWord]:
    """``signals`` as catalog words, asked once and said in each reader's language."""
    warnings: list[ReviewWord] = []
    token = reference_token(proof.reference_text)
    if token:
        others = await session.scalars(
            select(Proof).where(Proof.tenant_id == tenant_id, Proof.id != proof.id, Proof.reference_text.is_not(None))
        )
        reused = [other for other in others if reference_token(other.reference_text) == token]
        paid_with = await session.scalar(
            select(Payment.id).where(
                Payment.tenant_id == tenant_id, Payment.id != payment.id, Payment.provider_txn_id == token
            )
        )
        if reused or paid_with is not None:
            times = str(len(reused) or 1)
            warnings.append(ReviewWord("admin.signal.reference_reused", {"reference": token, "times": times}))
    same_file = [Proof.file_unique_id == proof.file_unique_id]
    if proof.content_sha256:
        same_file.append(Proof.content_sha256 == proof.content_sha256)
    twin = await session.scalar(
        select(Proof.id).where(Proof.tenant_id == tenant_id, Proof.id != proof.id, or_(*same_file)).limit(1)
    )
    if twin is not None:
        warnings.append(ReviewWord("admin.signal.same_file", {"proof": str(twin)}))
    claimed = proof.claimed_amount_minor
    if claimed is None:
        claimed = claimed_amount(proof.reference_text, payment.currency)
    if claimed is not None and claimed != payment.amount_minor:
        claimed_money, due = Money(claimed, payment.currency), Money(payment.amount_minor, payment.currency)
        warnings.append(
            ReviewWord("admin.signal.amount_differs", {"claimed": claimed_money.format(), "due": due.format()})
        )
    return warnings
