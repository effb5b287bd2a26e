"""Which FeexPay network a mobile-money number is on: FeexPay's network codes per country, and the national prefixes
of each operator.

FeexPay names the network in the request's path (``…/requesttopay/{network}``, SOURCES.md); the customer does not
know that code, only their operator. The operator is read from the number's national prefix below, and the customer
can always choose another network of their country (a ported number, a Wave wallet: Wave has no prefixes of its own).

The prefixes are the operators' national ranges as listed in libphonenumber's carrier data (``phonenumbers`` 9.0.43,
compiled from the regulators' numbering plans: ARCEP Bénin's 10-digit plan of November 2024, ARCEP Togo, ARTCI,
ARCEP Burkina Faso, ARTP Sénégal); ``tests/unit/test_feexpay_wire.py`` checks that the table and ``phonenumbers``
agree, so a data update that moves a range is noticed. Numbers are parsed through :mod:`core.phones`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Network:
    code: str  # FeexPay's path segment
    country: str  # ISO 3166
    label: str  # how customers name it (the operator's mobile-money brand)
    prefixes: tuple[str, ...]  # national significant number prefixes; empty: chosen by the customer only


# In each country, the order in which the customer is offered them. Codes are FeexPay's (SOURCES.md).
NETWORKS: Final[tuple[Network, ...]] = (
    Network(
        "mtn",
        "BJ",
        "MTN MoMo",
        ("0142", "0146", "015", "0161", "0162", "0166", "0167", "0169", "0190", "0191", "0196", "0197"),
    ),
    Network(
        "moov",
        "BJ",
        "Moov Money",
        ("0145", "0155", "0158", "0160", "0163", "0164", "0165", "0168", "0194", "0195", "0198", "0199"),
    ),
    Network(
        "celtiis_bj",
        "BJ",
        "Celtiis Cash",
        ("0128", "0140", "0141", "0143", "0144", "0147", "0148", "0149", "0192", "0193"),
    ),
    Network("togocom_tg", "TG", "T-Money (Togocom)", ("70", "71", "72", "73", "90", "91", "92", "93")),
    Network("moov_tg", "TG", "Flooz (Moov Togo)", ("78", "79", "96", "97", "98", "99")),
    Network("orange_ci", "CI", "Orange Money", ("07",)),
    Network("mtn_ci", "CI", "MTN MoMo", ("05",)),
    Network("moov_ci", "CI", "Moov Money", ("01",)),
    Network("wave_ci", "CI", "Wave", ()),
    Network(
        "orange_bf",
        "BF",
        "Orange Money",
        ("04", "05", "06", "07", "54", "55", "56", "57", "64", "65", "66", "67", "74", "75", "76", "77"),
    ),
    Network(
        "moov_bf",
        "BF",
        "Moov Money",
        ("01", "02", "03", "50", "51", "52", "53", "60", "61", "62", "63", "70", "71", "72", "73"),
    ),
    Network("orange_sn", "SN", "Orange Money", ("77", "78")),
    Network("free_sn", "SN", "Free Money (Yas)", ("76",)),
)
BY_CODE: Final = {network.code: network for network in NETWORKS}
COUNTRIES: Final = tuple(dict.fromkeys(network.country for network in NETWORKS))
DIAL_CODES: Final = {"BJ": "229", "TG": "228", "CI": "225", "BF": "226", "SN": "221"}


def of_country(country: str) -> tuple[Network, ...]:
    return tuple(network for network in NETWORKS if network.country == country)


def guess(country: str, national: str) -> Network | None:
    """The network a national number (``0197000000``) is on by its prefix, the longest prefix first; None when no
    operator FeexPay serves has that range."""
    best: Network | None = None
    length = 0
    for network in of_country(country):
        for prefix in network.prefixes:
            if national.startswith(prefix) and len(prefix) > length:
                best, length = network, len(prefix)
    return best
