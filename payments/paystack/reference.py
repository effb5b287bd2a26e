"""Transaction references in the characters Paystack allows: letters, digits, ``-``, ``.`` and ``=``.

A reference must be unique per transaction (re-use gives 400 ``duplicate_reference``), and an
``authorization_url`` is single-use, so every payment attempt gets a fresh one."""

from __future__ import annotations

import re
import secrets

ALLOWED = re.compile(r"^[A-Za-z0-9.=-]+$")
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9.=-]+")
# Paystack documents no maximum length; we keep ours short enough for any database column and URL.
MAX_LENGTH = 100
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


class InvalidReference(ValueError):
    """A reference Paystack would refuse ("Invalid character in transaction reference")."""


def is_valid_reference(reference: str) -> bool:
    return 0 < len(reference) <= MAX_LENGTH and ALLOWED.match(reference) is not None


def validate_reference(reference: str) -> str:
    """Return ``reference`` unchanged, or raise InvalidReference saying what is wrong with it."""
    if not reference:
        raise InvalidReference("a Paystack reference cannot be empty")
    if len(reference) > MAX_LENGTH:
        raise InvalidReference(f"a Paystack reference is at most {MAX_LENGTH} characters")
    bad = sorted(set("".join(_NOT_ALLOWED.findall(reference))))
    if bad:
        shown = "".join(bad)
        raise InvalidReference(f"a Paystack reference may hold only letters, digits, - . = (not {shown!r})")
    return reference


def new_reference(prefix: str = "dk", *, random_chars: int = 16) -> str:
    """A fresh reference: ``<prefix>-<random>``; the prefix is cleaned into allowed characters."""
    if not 8 <= random_chars <= MAX_LENGTH:
        raise ValueError(f"random_chars must be between 8 and {MAX_LENGTH}")
    clean = _NOT_ALLOWED.sub("-", prefix).strip("-")[: MAX_LENGTH - random_chars - 1].rstrip("-")
    tail = "".join(secrets.choice(_ALPHABET) for _ in range(random_chars))
    return validate_reference(f"{clean}-{tail}" if clean else tail)
