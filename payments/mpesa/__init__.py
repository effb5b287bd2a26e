"""M-Pesa (Safaricom Daraja): an STK push to the customer's phone, with the Paybill (C2B) as a fallback.

What it is, for the registry (:mod:`payments.providers`). Kept free of imports beyond the metadata types: the
operator CLI lists providers from here without loading the Daraja client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.texts import register_catalog
from payments.base import (
    Capability,
    CurrencyLimits,
    OperatorKit,
    ProcessKit,
    ProcessParts,
    ProviderEntry,
    ProviderInfo,
    ProviderKind,
)

if TYPE_CHECKING:
    from payments.chat import ChatStep

register_catalog(f"{__name__}.locales")

INFO = ProviderInfo(
    name="mpesa",
    display_key="provider.mpesa",
    kind=ProviderKind.PHONE_PUSH,
    button_code=2,  # in payment menus already sent: never changes
    countries=frozenset({"KE"}),
    # Whole shillings from Ksh 1 to 250,000 per transaction (reference §A.6): a step of 100 cents.
    currencies=(CurrencyLimits("KES", 2, minimum_minor=100, maximum_minor=250_000_00, step_minor=100),),
    capabilities=frozenset({Capability.QUERY}),
    no_answer_codes=frozenset({"mpesa.network"}),
    unexpected_code="mpesa.unexpected",
)


def _setup() -> type[Any]:
    from payments.mpesa.settings import MpesaSetup

    return MpesaSetup


def _factory() -> Any:
    from payments.mpesa.provider import FACTORY

    return FACTORY


def _commands(kit: OperatorKit) -> Sequence[Any]:
    from payments.mpesa.cli import commands

    return commands(kit)


def _routes() -> Sequence[Any]:
    from payments.mpesa.routes import ROUTES

    return ROUTES


def _chat() -> ChatStep:
    from payments.mpesa.chat import STEP

    return STEP.check(INFO.name)


def _process(kit: ProcessKit) -> ProcessParts:
    from payments.mpesa.process import parts

    return parts(kit)


def _notices() -> Any:
    from payments.mpesa.messages import NOTICES

    return NOTICES


def _evidence() -> Any:
    from payments.mpesa.evidence import read

    return read


ENTRY = ProviderEntry(
    INFO,
    setup=_setup,
    factory=_factory,
    commands=_commands,
    routes=_routes,
    chat=_chat,
    process=_process,
    evidence=_evidence,
    notices=_notices,
)
