"""The shop's own button kinds: the customer's (catalog, cart, checkout, payment, orders) and the merchant's (menu,
orders, proofs, refunds, test mode). A provider declares its own in its folder (``payments/<name>/buttons.py``).

Each prefix is the verb the button carried before buttons were typed, so a button of that time reads as this kind at
version 0 and is answered as expired. Ids are looked up again within the tenant by whoever handles them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from core.callbacks import CallbackData, Range

SMALL = Range(0, 999)  # indexes of short lists: a menu section, a status, a period, a payment method


# The customer's side (flows.router).


@dataclass(frozen=True)
class Shop(CallbackData, prefix="shop"):
    signpost = True


@dataclass(frozen=True)
class Category(CallbackData, prefix="cat"):
    index: int
    page: int


@dataclass(frozen=True)
class ShowProduct(CallbackData, prefix="prod"):
    product_id: int


@dataclass(frozen=True)
class AddToCart(CallbackData, prefix="add"):
    product_id: int


@dataclass(frozen=True)
class OneMore(CallbackData, prefix="inc"):
    product_id: int


@dataclass(frozen=True)
class OneLess(CallbackData, prefix="dec"):
    product_id: int


@dataclass(frozen=True)
class RemoveLine(CallbackData, prefix="rm"):
    product_id: int


@dataclass(frozen=True)
class AskQuantity(CallbackData, prefix="qty"):
    product_id: int


@dataclass(frozen=True)
class ShowCart(CallbackData, prefix="cart"):
    signpost = True


@dataclass(frozen=True)
class Checkout(CallbackData, prefix="checkout"):
    pass


@dataclass(frozen=True)
class UseName(CallbackData, prefix="usename"):
    answers = "yes"


@dataclass(frozen=True)
class UsePhone(CallbackData, prefix="usephone"):
    answers = "yes"


@dataclass(frozen=True)
class Delivery(CallbackData, prefix="deliv"):
    deliver: bool


@dataclass(frozen=True)
class ConfirmOrder(CallbackData, prefix="confirm"):
    answers = "yes"


@dataclass(frozen=True)
class CancelCheckout(CallbackData, prefix="cancel"):
    answers = "no"


@dataclass(frozen=True)
class PayWith(CallbackData, prefix="pm"):
    order_id: int
    method: Annotated[int, SMALL]


@dataclass(frozen=True)
class ChooseMethod(CallbackData, prefix="retry"):
    """The order's payment methods again (pay again, another method)."""

    order_id: int


@dataclass(frozen=True)
class ProofAgain(CallbackData, prefix="proof"):
    payment_id: int


@dataclass(frozen=True)
class CancelOrder(CallbackData, prefix="cxl"):
    order_id: int


@dataclass(frozen=True)
class MyOrders(CallbackData, prefix="orders"):
    signpost = True


@dataclass(frozen=True)
class OrderAgain(CallbackData, prefix="again"):
    """A past order's lines back in the cart at today's prices (flows.reorder). A signpost: the /orders list it sits
    under asks nothing, so text there is not answered with the list again."""

    signpost = True
    order_id: int


@dataclass(frozen=True)
class TalkToShop(CallbackData, prefix="talk"):
    """The customer's next messages go to the shop's people (flows.talk)."""

    signpost = True


@dataclass(frozen=True)
class ReceiptPdf(CallbackData, prefix="rcpt"):
    """The order's receipt as a PDF document, for its customer (admin.receipts)."""

    order_id: int


@dataclass(frozen=True)
class AskLanguage(CallbackData, prefix="langs"):
    """The /language question (from /help)."""

    signpost = True


@dataclass(frozen=True)
class ChooseLanguage(CallbackData, prefix="lang"):
    """A language of ``core.texts.LANGUAGES``, by its place there."""

    language: Annotated[int, SMALL]


@dataclass(frozen=True)
class StopOffers(CallbackData, prefix="stopm"):
    """Under each broadcast: no more marketing messages (flows.marketing). A signpost: it asks nothing."""

    signpost = True


@dataclass(frozen=True)
class UsePromo(CallbackData, prefix="usepromo"):
    """A broadcast's promo button: the code kept for the customer's checkout (flows.promo.give)."""

    signpost = True
    promo_id: int


@dataclass(frozen=True)
class StartOffers(CallbackData, prefix="startm"):
    """Marketing messages again, after /stop (flows.marketing)."""

    signpost = True


# The merchant's side (admin.buttons), behind the admin gate.


@dataclass(frozen=True)
class TalkReply(CallbackData, prefix="treply"):
    """The admin's next message goes to this customer (admin.talk)."""

    customer_id: int


@dataclass(frozen=True)
class TalkEnd(CallbackData, prefix="tend"):
    customer_id: int


@dataclass(frozen=True)
class AdminMenu(CallbackData, prefix="am"):
    section: Annotated[int, SMALL]


@dataclass(frozen=True)
class OrderList(CallbackData, prefix="ol"):
    status: Annotated[int, SMALL]
    page: int


@dataclass(frozen=True)
class SalesReport(CallbackData, prefix="sl"):
    period: Annotated[int, SMALL]


@dataclass(frozen=True)
class SetTestMode(CallbackData, prefix="tm"):
    on: bool


@dataclass(frozen=True)
class PromoAction(CallbackData, prefix="pra"):
    promo_id: int
    action: Annotated[int, SMALL]  # admin.promos.ACTIONS: pause, resume, end


@dataclass(frozen=True)
class ViewOrder(CallbackData, prefix="mo"):
    order_id: int


@dataclass(frozen=True)
class ShipOrder(CallbackData, prefix="sh"):
    order_id: int


@dataclass(frozen=True)
class AskCancelOrder(CallbackData, prefix="oc"):
    order_id: int


@dataclass(frozen=True)
class ConfirmCancelOrder(CallbackData, prefix="ocy"):
    order_id: int


@dataclass(frozen=True)
class AcceptPayment(CallbackData, prefix="acc"):
    payment_id: int


@dataclass(frozen=True)
class ApproveProof(CallbackData, prefix="ap"):
    proof_id: int


@dataclass(frozen=True)
class RejectProof(CallbackData, prefix="rj"):
    proof_id: int


@dataclass(frozen=True)
class RefundSent(CallbackData, prefix="rfd"):
    refund_id: int


@dataclass(frozen=True)
class ConfirmRefund(CallbackData, prefix="rfy"):
    question_id: int


@dataclass(frozen=True)
class CancelRefund(CallbackData, prefix="rfn"):
    question_id: int


@dataclass(frozen=True)
class AdminLanguage(CallbackData, prefix="alang"):
    """The admin's own language for the merchant's side: a language of ``core.texts.LANGUAGES``, by its place."""

    language: Annotated[int, SMALL]


@dataclass(frozen=True)
class BroadcastAction(CallbackData, prefix="bc"):
    """A step of the broadcast composer (admin.broadcasts): ``action`` of its ACTIONS, with a ``value`` (days, a
    language's place)."""

    broadcast_id: int
    action: Annotated[int, SMALL]
    value: Annotated[int, SMALL]
