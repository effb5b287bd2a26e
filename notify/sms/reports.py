"""Africa's Talking's delivery reports: a form POST per status change of a message we sent, to the URL the shop gave
Africa's Talking (``/notify/sms/{tenant}/reports``). Nobody signs them, so a report is only a claim:

- it is matched to a message this shop sent (its provider message id, scoped to the tenant in the URL); a report of
  an id we never sent, or another shop's, changes nothing;
- it records a status (and the failure reason) on that message and nothing else: no money, no order, no outbox row;
- a message is "accepted" when Africa's Talking took it; a report moves it on, but one whose status is final keeps
  it (a later or replayed report cannot turn a failure into a success);
- a report whose number, when it gives one, is not the number we sent to changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import NotifyMessage
from notify.sms.settings import CHANNEL
from notify.sms.wire import FINAL_STATUSES, REPORT_STATUSES


class Report(enum.StrEnum):
    RECORDED = "recorded"
    UNMATCHED = "unmatched"  # no message of this shop with that id (or already final)
    MALFORMED = "malformed"


async def record_report(session: AsyncSession, tenant_id: int, fields: Mapping[str, str], now: datetime) -> Report:
    message_id = (fields.get("id") or "").strip()
    status = (fields.get("status") or "").strip()
    if not message_id or len(message_id) > 100 or status not in REPORT_STATUSES:
        return Report.MALFORMED
    reason = (fields.get("failureReason") or "").strip()[:100] or None
    matched = (
        update(NotifyMessage)
        .where(
            NotifyMessage.tenant_id == tenant_id,
            NotifyMessage.channel == CHANNEL,
            NotifyMessage.provider_message_id == message_id,
            NotifyMessage.status.not_in(sorted(FINAL_STATUSES)),
        )
        .values(status=status, failure_reason=reason, reported_at=now)
    )
    number = (fields.get("phoneNumber") or "").strip()
    if number:
        matched = matched.where(NotifyMessage.recipient == number)
    moved = await session.execute(matched.execution_options(synchronize_session=False))
    return Report.RECORDED if int(getattr(moved, "rowcount", 0) or 0) == 1 else Report.UNMATCHED
