"""What the operator sets for manual payments (``dukabot provider set SLUG manual``): the instructions."""

from __future__ import annotations

from typing import Annotated, ClassVar, Final

from pydantic import AfterValidator

from payments.setup import ProviderSetup, setting

INSTRUCTIONS_MAX: Final = 1000


def _instructions(value: str) -> str:
    if not value:
        raise ValueError("are empty: say how customers pay (bank, till, cash on delivery)")
    if len(value) > INSTRUCTIONS_MAX:
        raise ValueError(f"are longer than {INSTRUCTIONS_MAX} characters")
    return value


class ManualSetup(ProviderSetup):
    provider: ClassVar[str] = "manual"

    instructions: Annotated[str, AfterValidator(_instructions)] = setting(
        "how customers pay by hand (bank, till, cash on delivery).", metavar="TEXT"
    )
