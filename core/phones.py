"""Phone numbers, always through ``phonenumbers``: parsed against the tenant's region, stored in E.164."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType


class PhoneError(ValueError):
    """A number that does not parse, is not valid, or is not a mobile number. ``key`` names the catalog text."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str  # "+254712345678"
    region: str  # "KE"

    @property
    def digits(self) -> str:
        """Country code and number without "+", the form M-Pesa wants (2547XXXXXXXX)."""
        return self.e164.lstrip("+")

    def display(self) -> str:
        return display(self.e164)


_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def parse_mobile(text: str, default_region: str) -> Phone:
    """Parse what a customer typed (``0712 345 678``, ``+254712345678``, ``254712345678``) into a mobile number."""
    cleaned = text.strip()
    if cleaned.isdigit() and len(cleaned) > 10 and not cleaned.startswith("0"):
        cleaned = "+" + cleaned  # "2547..." typed without the plus
    try:
        parsed = phonenumbers.parse(cleaned, default_region)
    except NumberParseException:
        raise PhoneError("phone.unparseable") from None
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneError("phone.invalid")
    if phonenumbers.number_type(parsed) not in _MOBILE_TYPES:
        raise PhoneError("phone.not_mobile")
    region = phonenumbers.region_code_for_number(parsed) or default_region
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164=str(e164), region=str(region))


def display(e164: str, home: str | None = None) -> str:
    """How a person reads a number, the same everywhere: ``+254712345678`` → ``0712 345 678`` (the national form of
    its own country). A number from another country than ``home`` (the shop's region) keeps its country code
    (``+234 803 123 4567``), since its national form would dial a different number there. Anything that is not
    E.164 is shown as it is."""
    try:
        parsed = phonenumbers.parse(e164)
    except NumberParseException:
        return e164
    if home is not None and phonenumbers.region_code_for_number(parsed) != home:
        return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL))
    national = str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))
    # Kenya's own format keeps six digits together ("0712 345678"); people read and dictate them in threes.
    return " ".join(
        f"{group[:3]} {group[3:]}" if len(group) == 6 and group.isdigit() else group for group in national.split(" ")
    )


def example(region: str) -> str:
    """A mobile number of ``region`` as its people write it (``display``), for "for example ..." in a question;
    "" for a region phonenumbers has no example for."""
    sample = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    if sample is None:
        return ""
    return display(str(phonenumbers.format_number(sample, phonenumbers.PhoneNumberFormat.E164)))


def mask(e164: str, home: str | None = None) -> str:
    """``+254712345678`` → ``0712 ••• 678``: the number as ``display`` shows it with its middle hidden, enough for
    its owner to recognise and not enough to leak."""
    shown = display(e164, home)
    digits = sum(ch.isdigit() for ch in shown)
    if digits < 8:
        return "".join("•" if ch.isdigit() else ch for ch in shown)
    kept_head, seen, out = 4, 0, []
    for ch in shown:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen <= kept_head or seen > digits - 3 else "•")
        else:
            out.append(ch)
    return "".join(out)
