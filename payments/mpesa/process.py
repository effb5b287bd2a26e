"""What M-Pesa adds to the server process (``ProviderEntry.process``): one Daraja token cache for every shop's
client, kept in Redis too when the server has it (so several processes fetch one token, not one each), and the
handlers of its payment jobs: asking Transaction Status about a held C2B receipt, and offering "Try again" once
Daraja's pause between two pushes is over."""

from __future__ import annotations

from payments.base import ProcessKit, ProcessParts
from payments.mpesa.c2b_asker import ReceiptChecker
from payments.mpesa.c2b_check import CHECK
from payments.mpesa.messages import RETRY_READY
from payments.mpesa.provider import TOKEN_CACHE
from payments.mpesa.retry_ready import RetryReady
from payments.mpesa.tokens import RedisTokenStore, TokenCache


def parts(kit: ProcessKit) -> ProcessParts:
    store = RedisTokenStore(kit.redis, kit.vault, kit.clock) if kit.redis is not None else None
    return ProcessParts(
        shared={TOKEN_CACHE: TokenCache(kit.clock, shared=store)},
        jobs={
            CHECK: ReceiptChecker(kit.database, kit.registry, kit.clock),
            RETRY_READY: RetryReady(kit.database, kit.clock),
        },
    )
