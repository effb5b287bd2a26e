"""Where a process gets what tax authorities gave the shops' sales (``core.fiscal_stamp``): one place for the server
(PDF receipts in the chat, ``Runtime.fiscal_stamps``) and for ``dukabot orders export`` (the eTIMS invoice number
column): the stamps of the integrations listed in ``fiscal/registry.py``."""

from __future__ import annotations

from core.fiscal_stamp import FiscalStamps
from core.settings import Settings
from fiscal.registry import RegisteredStamps


def fiscal_stamps(settings: Settings) -> FiscalStamps:
    del settings  # each integration reads its shops' settings from the database
    return RegisteredStamps()
