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
    """Parse what a customer typed into a mobile number: the national form of the shop's region (``default_region``,
    the shop's country: ``0712 345 678`` in Kenya, ``01 95 12 34 56`` in Benin), or any country's number in
    international form (``+234 803 123 4567``, ``2348031234567``, ``00234 803 123 4567``), for a customer abroad."""
    cleaned = text.strip()
    compact = "".join(ch for ch in cleaned if ch.isdigit())
    if cleaned.startswith("00") and compact == cleaned.replace(" ", "").replace("-", "") and len(compact) > 10:
        cleaned = "+" + compact[2:]  # "00" is the international prefix across most of Africa and Europe
    elif cleaned.isdigit() and len(cleaned) > 10 and not cleaned.startswith("0"):
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


def example_mobile(region: str) -> str | None:
    """An example mobile number of ``region`` in E.164 (phonenumbers' metadata), None for a region it has none for."""
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    if example is None:
        return None
    return str(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))


def example_local(region: str) -> str:
    """How a customer of a shop in ``region`` writes a mobile number there, for prompts and errors: ``0712 123 456``
    in Kenya, ``01 95 12 34 56`` in Benin (as :func:`display` shows numbers)."""
    example = example_mobile(region)
    return display(example) if example is not None else "+1 201 555 0123"


def example_international(region: str) -> str:
    """The same example with its country code (``+254 712 123 456``): the form a number from abroad is typed in."""
    example = example_mobile(region)
    if example is None:
        return "+1 201 555 0123"
    international = phonenumbers.format_number(
        phonenumbers.parse(example), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return _in_threes(str(international))


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
    return _in_threes(str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)))


def _in_threes(formatted: str) -> str:
    """Kenya's own format keeps six digits together ("0712 345678"); people read and dictate them in threes."""
    return " ".join(
        f"{group[:3]} {group[3:]}" if len(group) == 6 and group.isdigit() else group for group in formatted.split(" ")
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
