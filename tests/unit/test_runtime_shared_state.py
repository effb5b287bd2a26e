"""The composition root builds shared pacing and a shared Daraja token cache only when DUKABOT_REDIS_URL is set; the
token cache itself is M-Pesa's own process part (ProviderEntry.process), built once for every shop's client."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from core.pacing import Pacer
from core.redis_pacing import RedisPacer
from core.settings import Settings
from payments.mpesa.provider import TOKEN_CACHE
from payments.mpesa.tokens import TokenCache
from webhooks.runtime import build_runtime

KEY = "YOKMvaqZ3xJ0pN1C6tyYl1vX6mW0Tr0t9n8zk0SxQ2E="


def settings(tmp_path: Path, redis_url: str | None) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, secret_keys=KEY, redis_url=redis_url)


async def test_without_redis_everything_stays_in_the_process(tmp_path: Path) -> None:
    runtime = build_runtime(settings(tmp_path, None))
    try:
        assert runtime.redis is None
        assert type(runtime.relay.pacer) is Pacer
        cache = runtime.registry.deps.shared[TOKEN_CACHE]  # one per process, kept in the process only
        assert isinstance(cache, TokenCache) and "shared=False" in repr(cache)
    finally:
        await runtime.close()


async def test_with_redis_pacing_and_tokens_are_shared(tmp_path: Path) -> None:
    # Connecting is lazy: building (and closing) the runtime needs no Redis at all.
    runtime = build_runtime(settings(tmp_path, "unix:///nonexistent/dukabot-test-redis.sock"))
    try:
        assert isinstance(runtime.redis, Redis)
        assert isinstance(runtime.relay.pacer, RedisPacer)
        cache = runtime.registry.deps.shared[TOKEN_CACHE]
        assert isinstance(cache, TokenCache) and "shared=True" in repr(cache)
    finally:
        await runtime.close()


async def test_the_providers_job_kinds_are_built_from_the_registry(tmp_path: Path) -> None:
    runtime = build_runtime(settings(tmp_path, None))
    try:
        assert sorted(runtime.jobs.handlers) == [
            "fiscal.etims",  # the fiscal integrations' documents (fiscal.registry) are payment jobs too
            "mpesa.c2b_check",
            "mpesa.retry_ready",
            "payment.start",
            "stripe.connect_link",
            "stripe.payouts",
        ]
        # No provider runs a loop of its own yet; the loops are the fiscal integrations' alert of late documents, the
        # broadcasts' feeder and the abandoned-cart sweep.
        assert [worker.name for worker in runtime.workers] == ["fiscal-overdue", "broadcast-feed", "cart-reminders"]
    finally:
        await runtime.close()


def test_a_provider_cannot_take_another_providers_job_kind() -> None:
    import pytest

    from payments.base import ProcessParts, ProviderEntry, ProviderInfo, ProviderKind
    from payments.process import ProcessPartsError, gather

    def parts(_: object) -> ProcessParts:
        return ProcessParts(jobs={"mpesa.c2b_check": object()})  # type: ignore[dict-item]

    rogue = ProviderEntry(
        ProviderInfo("rogue", "provider.rogue", ProviderKind.HOSTED_LINK), setup=lambda: object, process=parts
    )
    with pytest.raises(ProcessPartsError, match=r"rogue: a job kind is named rogue.<what>, not 'mpesa.c2b_check'"):
        gather([rogue], None)  # type: ignore[arg-type]
