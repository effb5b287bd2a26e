"""What a broadcast looks like in a customer's chat (and in the merchant's preview): the merchant's text or photo,
the optional product or promo button, and "🔕 Stop offers" under it, labelled in the reader's language."""

from __future__ import annotations

from core.buttons import ShowProduct, StopOffers, UsePromo
from core.db.tables import Broadcast
from core.messages import Button, Message, keyboard
from core.texts import text


def customer_message(broadcast: Broadcast, language: str) -> Message:
    rows: list[list[Button]] = []
    chosen = broadcast.button or {}
    if isinstance(chosen.get("product_id"), int):
        label = text("broadcast.open_product", language, name=str(chosen.get("name", "")))
        rows.append([Button(label, data=ShowProduct(chosen["product_id"]).pack())])
    if isinstance(chosen.get("promo_id"), int):
        label = text("broadcast.use_promo", language, code=str(chosen.get("code", "")))
        rows.append([Button(label, data=UsePromo(chosen["promo_id"]).pack())])
    rows.append([Button(text("button.stop_offers", language), data=StopOffers().pack())])
    return Message(broadcast.text, keyboard(*rows), photo=broadcast.photo)


def progress_text(broadcast: Broadcast, language: str, *, left: int, done: bool) -> str:
    """The merchant's one progress message, edited as the broadcast goes (and its last line once done)."""
    line = text(
        "broadcast.progress",
        language,
        id=broadcast.id,
        sent=broadcast.sent,
        blocked=broadcast.blocked,
        failed=broadcast.failed,
        left=left,
    )
    if broadcast.skipped:
        line += "\n" + text("broadcast.skipped", language, count=broadcast.skipped)
    return line + ("\n" + text("broadcast.finished", language) if done else "")
