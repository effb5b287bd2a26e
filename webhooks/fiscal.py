"""Where a process gets what tax authorities gave the shops' sales (``core.fiscal_stamp``): one place for the server
(PDF receipts in the chat) and for ``dukabot orders export`` (the eTIMS invoice number column). No fiscal integration
is wired yet: every receipt prints without a tax authority's block."""

from __future__ import annotations

from core.fiscal_stamp import FiscalStamps, NoFiscalStamps
from core.settings import Settings


def fiscal_stamps(settings: Settings) -> FiscalStamps:
    del settings  # an integration (eTIMS) reads its own settings from here
    return NoFiscalStamps()
