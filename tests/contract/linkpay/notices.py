"""What LinkPay says in its own way (``payments.notices.ProviderNotices``): its started message keeps a button of its
own, to ask where the payment stands. The rest is the generic receipt and ending."""

from __future__ import annotations

from core.messages import Button
from core.texts import text
from payments.notices import Context, ProviderNotices
from tests.contract.linkpay.buttons import LinkStatus


def started_rows(ctx: Context) -> list[list[Button]]:
    return [[Button(text("linkpay.button_status", ctx.lang), data=LinkStatus(ctx.order.id).pack())]]


NOTICES = ProviderNotices(started_rows=started_rows)
