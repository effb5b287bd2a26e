"""Africa's Talking's SMS API as dukabot speaks it (sources and what is unconfirmed: SOURCES.md beside this file).

Sending: ``POST {host}/version1/messaging``, form-encoded ``username``, ``to`` (E.164), ``message`` and, when the
shop has one, ``from`` (its sender id or short code); headers ``apiKey`` and ``Accept: application/json``. The
answer (201) is ``{"SMSMessageData": {"Message": ..., "Recipients": [{"statusCode": 101, "number": ...,
"status": "Success", "cost": "KES 0.8000", "messageId": "ATXid_..."}]}}``, one recipient per number sent to.

What a recipient's ``statusCode`` means for the outbox row (``core.notify`` errors):

=====  ======================  ==================================================================================
100    Processed               accepted
101    Sent                    accepted
102    Queued                  accepted
401    RiskHold                PermanentError: retried a few times, then the merchant is told
402    InvalidSenderId         PermanentError (the shop's sender id is not approved: ``dukabot notify set``)
403    InvalidPhoneNumber      Undeliverable: this number never will be
404    UnsupportedNumberType   Undeliverable
405    InsufficientBalance     TransientError: retried with back-off while the merchant tops up; dead-lettered after
406    UserInBlacklist         Undeliverable (the customer opted out)
407    CouldNotRoute           Undeliverable
409    DoNotDisturbRejection   Undeliverable
500    InternalServerError     TransientError
501    GatewayError            TransientError
502    RejectedByGateway       TransientError
other  (unknown)               PermanentError: bounded retries, then the merchant is told
=====  ======================  ==================================================================================

An HTTP 401 (the username and key do not match) is a PermanentError; 5xx, a network error or an answer that is not
Africa's Talking's JSON a TransientError. A 429 is a TransientError too, not ``RetryAfter``: the relay would pause the
shop's Telegram bot with it. Nothing in an answer is trusted beyond the message id and status it gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from core.notify import NotifierError, PermanentError, TransientError, Undeliverable

LIVE_HOST: Final = "https://api.africastalking.com"
SANDBOX_HOST: Final = "https://api.sandbox.africastalking.com"
PATH: Final = "/version1/messaging"
SANDBOX_USERNAME: Final = "sandbox"

ACCEPTED: Final = {100: "Processed", 101: "Sent", 102: "Queued"}
UNDELIVERABLE: Final = {
    403: "InvalidPhoneNumber",
    404: "UnsupportedNumberType",
    406: "UserInBlacklist",
    407: "CouldNotRoute",
    409: "DoNotDisturbRejection",
}
TRANSIENT: Final = {
    405: "InsufficientBalance",
    500: "InternalServerError",
    501: "GatewayError",
    502: "RejectedByGateway",
}
PERMANENT: Final = {401: "RiskHold", 402: "InvalidSenderId"}

# Delivery reports' statuses (SOURCES.md); a final one is never changed by a later report.
REPORT_STATUSES: Final = frozenset(
    {"Sent", "Submitted", "Buffered", "Rejected", "Success", "Failed", "AbsentSubscriber", "Expired"}
)
FINAL_STATUSES: Final = frozenset({"Rejected", "Success", "Failed", "AbsentSubscriber", "Expired"})


def host(username: str, *, test_mode: bool, base_url: str | None = None) -> str:
    """Where to send: ``base_url`` when set (a simulator), else the sandbox for a shop in test mode or the sandbox
    username, else the live API."""
    if base_url:
        return base_url.rstrip("/")
    return SANDBOX_HOST if test_mode or username == SANDBOX_USERNAME else LIVE_HOST


def form(username: str, to: str, message: str, sender_id: str | None) -> dict[str, str]:
    body = {"username": username, "to": to, "message": message}
    if sender_id:
        body["from"] = sender_id
    return body


def headers(api_key: str) -> dict[str, str]:
    return {"apiKey": api_key, "Accept": "application/json"}


@dataclass(frozen=True, slots=True)
class Accepted:
    message_id: str
    status: str
    cost: str


def read_answer(http_status: int, body: Any, to: str) -> Accepted:
    """The send's result for ``to`` from Africa's Talking's answer, or the ``core.notify`` error it means."""
    if http_status == 401:
        raise PermanentError("Africa's Talking refused the username and API key (HTTP 401)")
    if http_status == 429 or http_status >= 500:
        raise TransientError(f"Africa's Talking answered HTTP {http_status}")
    recipients = body.get("SMSMessageData", {}).get("Recipients") if isinstance(body, dict) else None
    if not isinstance(recipients, list) or not recipients:
        raise _no_recipient(http_status, body)
    mine = next((r for r in recipients if isinstance(r, dict) and r.get("number") == to), recipients[0])
    if not isinstance(mine, dict):
        raise TransientError("an answer that is not Africa's Talking's")
    code = _int(mine.get("statusCode"))
    status = str(mine.get("status") or "")[:30]
    if code in ACCEPTED:
        message_id = str(mine.get("messageId") or "")
        if not message_id or message_id == "None" or len(message_id) > 100:
            raise TransientError("Africa's Talking accepted the message without a message id")
        return Accepted(message_id, status or ACCEPTED[code], str(mine.get("cost") or "")[:30])
    reason = f"Africa's Talking status {code} {status or 'unknown'}"
    if code in UNDELIVERABLE:
        raise Undeliverable(reason)
    if code in TRANSIENT:
        raise TransientError(reason)
    raise PermanentError(reason)


def _no_recipient(http_status: int, body: Any) -> NotifierError:
    message = body.get("SMSMessageData", {}).get("Message") if isinstance(body, dict) else None
    if http_status == 400 or (isinstance(message, str) and message):
        return PermanentError(f"Africa's Talking sent to no one: {str(message or http_status)[:120]}")
    return TransientError(f"an answer that is not Africa's Talking's (HTTP {http_status})")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
