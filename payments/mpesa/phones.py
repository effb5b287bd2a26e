"""Which numbers can receive an M-Pesa request: Kenyan Safaricom mobiles, as ``2547XXXXXXXX`` / ``2541XXXXXXXX``.

Parsing goes through :mod:`core.phones` (``phonenumbers``); the operator comes from ``phonenumbers``' carrier data.
A number whose operator is unknown to that data but has M-Pesa's shape is accepted (new ranges appear); a number
known to be Airtel's or Telkom's is refused with a message that names the operator.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import carrier

from core.phones import Phone, PhoneError, display, parse_mobile
from payments.mpesa.fields import is_msisdn


class MpesaPhoneError(PhoneError):
    """``key`` names the catalog text; ``carrier`` the operator when it is known and not Safaricom."""

    def __init__(self, key: str, carrier_name: str = "") -> None:
        super().__init__(key)
        self.carrier = carrier_name


@dataclass(frozen=True, slots=True)
class MpesaPhone:
    phone: Phone

    @property
    def msisdn(self) -> str:
        return self.phone.digits

    @property
    def local(self) -> str:
        """``0712 345 678``: how a Kenyan reads their own number, as every number is shown (``core.phones``)."""
        return display(self.phone.e164)


def operator(phone: Phone) -> str:
    return str(carrier.name_for_number(phonenumbers.parse(phone.e164), "en") or "")


def mpesa_phone(typed: str, region: str = "KE") -> MpesaPhone:
    """A number an STK push can go to, or MpesaPhoneError."""
    try:
        phone = parse_mobile(typed, region or "KE")
    except PhoneError:
        raise MpesaPhoneError("mpesa.phone_invalid") from None
    if phone.region != "KE" or not phone.e164.startswith("+254"):
        raise MpesaPhoneError("mpesa.phone_not_kenyan")
    name = operator(phone)
    if name and "safaricom" not in name.lower():
        raise MpesaPhoneError("mpesa.phone_not_safaricom", name)
    if not is_msisdn(phone.digits):
        raise MpesaPhoneError("mpesa.phone_not_safaricom", name or "non-Safaricom")
    return MpesaPhone(phone)
