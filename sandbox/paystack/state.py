"""The Paystack simulator's records (merchants, transactions, refunds) and its framework-free HTTP types.

Each record renders itself in Paystack's shapes (reference Part B): ``data`` of verify, of ``charge.success``,
of a refund create/fetch answer and of a ``refund.*`` event.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def random_code(length: int = 15) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def iso(moment: datetime | None) -> str | None:
    """Paystack's timestamp style: ``2024-08-22T09:15:02.000Z``."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def domain_of(secret_key: str) -> str:
    if secret_key.startswith("sk_test_"):
        return "test"
    if secret_key.startswith("sk_live_"):
        return "live"
    raise ValueError("a Paystack secret key starts with sk_test_ or sk_live_")


# --- framework-free HTTP ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimRequest:
    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    origin: str = "https://api.paystack.co"  # scheme://host[:port] the caller used; links are built on it


@dataclass(frozen=True, slots=True)
class SimResponse:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> SimResponse:
        return cls(status, json.dumps(payload).encode(), "application/json", headers or {})

    @classmethod
    def html(cls, status: int, text: str) -> SimResponse:
        return cls(status, text.encode(), "text/html")

    @classmethod
    def redirect(cls, location: str) -> SimResponse:
        return cls(302, b"", "text/plain", {"Location": location})


def response_headers(answer: SimResponse) -> dict[str, str]:
    charset = "; charset=utf-8" if answer.content_type.startswith("text/") else ""
    return {"Content-Type": answer.content_type + charset, **answer.headers}


def failure(status: int, message: str, **extra: Any) -> SimResponse:
    """Paystack's error envelope: ``{"status": false, "message": …}`` plus ``meta``/``type``/``code``."""
    return SimResponse.json(status, {"status": False, "message": message, **extra})


def validation_error(message: str, code: str, next_step: str) -> SimResponse:
    return failure(
        400,
        message,
        meta={"nextStep": next_step},
        type="validation_error",
        code=code,
        errorCodeMappingNotFound=False,
    )


# --- records ----------------------------------------------------------------------------------------------


@dataclass
class Merchant:
    secret_key: str = field(repr=False)
    integration: int
    webhook_url: str | None = None
    callback_url: str | None = None  # the "dashboard" callback URL, used when initialize gives none
    currency: str = "KES"  # the integration's default currency

    @property
    def domain(self) -> str:
        return domain_of(self.secret_key)


@dataclass(frozen=True, slots=True)
class CardProfile:
    number: str
    cvv: str
    pin: str | None = None
    otp: str | None = None
    phone: bool = False
    brand: str = "visa"
    card_type: str = "visa "
    bank: str = "TEST BANK"

    @property
    def steps(self) -> tuple[str, ...]:
        wanted = (("pin", self.pin is not None), ("phone", self.phone), ("otp", self.otp is not None))
        return tuple(step for step, needed in wanted if needed)


def _verve(number: str, cvv: str, pin: str, otp: str | None = None, phone: bool = False) -> CardProfile:
    return CardProfile(number, cvv, pin, otp, phone, brand="verve", card_type="verve ")


# Reference Part B.5 (test cards, any future expiry).
TEST_CARDS: dict[str, CardProfile] = {
    card.number: card
    for card in (
        CardProfile("4084084084084081", cvv="408"),  # success, no validation
        _verve("507850785078507812", cvv="081", pin="1111"),  # PIN only
        _verve("5060666666666666666", cvv="123", pin="1234", otp="123456"),  # PIN + OTP
        _verve("507850785078507804", cvv="884", pin="0000", otp="123456", phone=True),  # PIN + phone + OTP
    )
}


@dataclass
class SimTransaction:
    id: int
    merchant: Merchant
    reference: str
    access_code: str
    amount: int  # subunits
    currency: str
    email: str
    created_at: datetime
    callback_url: str | None = None
    metadata: Any = None  # as sent at initialize
    channels: list[str] | None = None
    # A transaction nobody has paid yet verifies as "abandoned" ("The transaction was not completed").
    status: str = "abandoned"
    gateway_response: str = "The transaction was not completed"
    channel: str = "card"
    paid_at: datetime | None = None
    authorization: dict[str, Any] | None = None
    refunded: int = 0  # processed refunds, subunits
    # checkout progress with a test card: the card and the steps still to pass (pin, phone, otp)
    card: CardProfile | None = None
    steps_left: list[str] = field(default_factory=list)

    @property
    def domain(self) -> str:
        return self.merchant.domain

    @property
    def final(self) -> bool:
        """Paid, failed or reversed: the link is spent."""
        return self.status in {"success", "failed", "reversed"}

    def data(self, *, for_webhook: bool = False) -> dict[str, Any]:
        """``data`` of verify (with ``for_webhook``: of ``charge.success``), as in reference B.2/B.3.3."""
        unset_metadata: Any = 0 if for_webhook else ""
        body: dict[str, Any] = {
            "id": self.id,
            "domain": self.domain,
            "status": self.status,
            "reference": self.reference,
            "receipt_number": None,
            "amount": self.amount,
            "message": None,
            "gateway_response": self.gateway_response,
            "paid_at": iso(self.paid_at),
            "created_at": iso(self.created_at),
            "channel": self.channel,
            "currency": self.currency,
            "ip_address": "127.0.0.1",
            "metadata": self.metadata if self.metadata not in (None, "", {}) else unset_metadata,
            "log": None,
            "fees": self.amount * 15 // 1000 if self.status == "success" else None,
            "authorization": self.authorization or {},
            "customer": {
                "id": 181873746,
                "first_name": None,
                "last_name": None,
                "email": self.email,
                "customer_code": f"CUS_{self.access_code}",
                "phone": None,
                "metadata": None,
                "risk_action": "default",
            },
            "plan": {} if for_webhook else None,
        }
        if not for_webhook:
            body["split"] = {}
            body["order_id"] = None
            body["paidAt"] = iso(self.paid_at)
            body["createdAt"] = iso(self.created_at)
            body["requested_amount"] = self.amount
            body["transaction_date"] = iso(self.created_at)
        return body


@dataclass
class SimRefund:
    id: int
    transaction: SimTransaction
    amount: int
    currency: str
    status: str
    created_at: datetime
    updated_at: datetime
    refund_reference: str
    customer_note: str | None = None
    merchant_note: str | None = None

    def data(self) -> dict[str, Any]:
        """``data`` of a refund create/fetch answer (reference B.4)."""
        txn = self.transaction
        note = f"Refund for transaction {txn.reference}"
        return {
            "transaction": {
                "id": txn.id,
                "domain": txn.domain,
                "reference": txn.reference,
                "amount": txn.amount,
                "paid_at": iso(txn.paid_at),
                "channel": txn.channel,
                "currency": txn.currency,
            },
            "integration": txn.merchant.integration,
            "deducted_amount": 0,
            "channel": None,
            "merchant_note": self.merchant_note or note,
            "customer_note": self.customer_note or note,
            "status": self.status,
            "refunded_by": "simulator@dukabot.local",
            "expected_at": iso(self.created_at),
            "currency": self.currency,
            "domain": txn.domain,
            "amount": self.amount,
            "fully_deducted": False,
            "id": self.id,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }

    def webhook_data(self, *, amount_as_string: bool, with_id: bool = True) -> dict[str, Any]:
        """``data`` of a ``refund.*`` event (reference B.4 sample); ``with_id`` adds the refund ``id``, which the
        sample does not show (without it, the refund is named only by ``refund_reference``)."""
        txn = self.transaction
        data: dict[str, Any] = {
            "status": self.status,
            "transaction_reference": txn.reference,
            "refund_reference": self.refund_reference,
            "amount": str(self.amount) if amount_as_string else self.amount,
            "currency": self.currency,
            "processor": "simulator",
            "customer": {"first_name": None, "last_name": None, "email": txn.email},
            "integration": txn.merchant.integration,
            "domain": txn.domain,
        }
        if with_id:
            data["id"] = self.id
        return data


# --- helpers for the API handlers -------------------------------------------------------------------------


def request_body(request: SimRequest) -> Mapping[str, Any] | None:
    """A JSON object, or form fields (the spec accepts both); None when neither."""
    if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
        return dict(parse_qsl(request.body.decode("utf-8", "replace")))
    try:
        decoded = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def whole_number(value: Any) -> int | None:
    """An integer sent as a JSON number or a digit string (Paystack accepts both for amounts)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def authorization_for(txn: SimTransaction) -> dict[str, Any]:
    """The ``authorization`` object of a successful charge (card details for card payments)."""
    if txn.channel != "card":
        return {"authorization_code": f"AUTH_{random_code(10)}", "channel": txn.channel, "reusable": False}
    card = txn.card or TEST_CARDS["4084084084084081"]
    return {
        "authorization_code": f"AUTH_{random_code(10)}",
        "bin": card.number[:6],
        "last4": card.number[-4:],
        "exp_month": "12",
        "exp_year": "2030",
        "channel": "card",
        "card_type": card.card_type,
        "bank": card.bank,
        "country_code": "NG",
        "brand": card.brand,
        "reusable": True,
        "signature": f"SIG_{random_code(20)}",
        "account_name": None,
    }
