"""Webhook delivery: POSTs each bot's queued updates to its webhook URL, retrying failures like Telegram."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from .account import BotAccount, Webhook
from .errors import ApiError
from .models import DeliveryAttempt, WebhookDelivery
from .params import Params, read_multipart

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret

log = logging.getLogger(__name__)

Executor = Callable[[BotAccount, str, Params], Awaitable[Any]]


@dataclass(frozen=True)
class WebhookPolicy:
    """How hard the fake tries. Telegram retries "a reasonable number of times" over minutes; tests need
    milliseconds, so the delay is short and configurable."""

    attempts: int = 3
    retry_delay: float = 0.05
    timeout: float = 10.0
    # Off by default, so tests see updates in order: deliver up to the webhook's max_connections updates at once,
    # as Telegram does (busy-shop tests).
    parallel: bool = False


class WebhookDispatcher:
    """One worker task per bot with a webhook, delivering updates in order, one at a time.

    Telegram may open up to max_connections parallel deliveries; the fake stays sequential so that tests see
    updates in a deterministic order, unless the policy says ``parallel``.
    """

    def __init__(self, policy: WebhookPolicy, execute: Executor) -> None:
        self.policy = policy
        self._execute = execute
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._stopped: set[asyncio.Task[None]] = set()  # cancelled workers that have not finished yet
        self._session: aiohttp.ClientSession | None = None

    def start(self, bot: BotAccount) -> None:
        worker = self._workers.get(bot.id)
        if worker is None or worker.done():
            self._workers[bot.id] = asyncio.create_task(self._run(bot), name=f"fake-telegram-webhook-{bot.id}")

    def stop(self, bot: BotAccount) -> None:
        # Not awaited: deleteWebhook may come from the very handler this worker is waiting on.
        worker = self._workers.pop(bot.id, None)
        if worker is not None:
            worker.cancel()
            self._stopped.add(worker)
            worker.add_done_callback(self._stopped.discard)

    async def aclose(self) -> None:
        """Stops every worker (an update being delivered stays queued) and closes the HTTP client."""
        workers = [*self._workers.values(), *self._stopped]
        self._workers.clear()
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self, bot: BotAccount) -> None:
        if self.policy.parallel:
            await self._run_parallel(bot)
            return
        while True:
            update = await bot.changed.wait_until(lambda: _next_update(bot))
            await self._deliver_safely(bot, update)

    async def _deliver_safely(self, bot: BotAccount, update: dict[str, Any]) -> None:
        try:
            await self._deliver(bot, update)
        except Exception:
            # A bug in the fake must not silently stop all deliveries for this bot, nor loop on one update.
            log.exception("fake webhook delivery of update %s for bot %s crashed", update["update_id"], bot.id)
            bot.finish_delivery(update)

    async def _run_parallel(self, bot: BotAccount) -> None:
        in_flight: dict[int, asyncio.Task[None]] = {}

        def next_free() -> dict[str, Any] | None:
            webhook = bot.webhook
            if webhook is None or len(in_flight) >= max(1, webhook.max_connections):
                return None
            return next((u for u in bot.pending if u["update_id"] not in in_flight), None)

        def done(task: asyncio.Task[None]) -> None:
            for update_id, running in list(in_flight.items()):
                if running is task:
                    del in_flight[update_id]
            bot.notify()

        try:
            while True:
                update = await bot.changed.wait_until(next_free)
                update_id = update["update_id"]
                task = asyncio.create_task(self._deliver_safely(bot, update))
                in_flight[update_id] = task
                task.add_done_callback(done)
        finally:
            for task in list(in_flight.values()):
                task.cancel()
            await asyncio.gather(*in_flight.values(), return_exceptions=True)

    async def _deliver(self, bot: BotAccount, update: dict[str, Any]) -> None:
        delivery: WebhookDelivery | None = None
        for attempt in range(self.policy.attempts):
            if attempt:
                await asyncio.sleep(self.policy.retry_delay)
            webhook = bot.webhook
            if webhook is None:
                return  # the worker is being stopped; the update stays queued for getUpdates
            if delivery is None:
                delivery = WebhookDelivery(update["update_id"], webhook.url, update)
                bot.deliveries.append(delivery)
            delivery.attempts.append(await self._post(bot, webhook, update))
            if delivery.delivered:
                break
            bot.notify()
        if delivery is not None:
            delivery.finished = True
        bot.finish_delivery(update)

    async def _post(self, bot: BotAccount, webhook: Webhook, update: dict[str, Any]) -> DeliveryAttempt:
        headers = {SECRET_HEADER: webhook.secret_token} if webhook.secret_token else {}
        timeout = aiohttp.ClientTimeout(total=self.policy.timeout)
        try:
            async with self._client().post(webhook.url, json=update, headers=headers, timeout=timeout) as response:
                if 200 <= response.status < 300:
                    await self._run_reply(bot, response)
                else:
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
                    bot.last_webhook_error = (bot.now(), error)
                return DeliveryAttempt(response.status)
        except (aiohttp.ClientError, TimeoutError) as error:
            description = str(error) or type(error).__name__
            bot.last_webhook_error = (bot.now(), description)
            return DeliveryAttempt(None, description)

    async def _run_reply(self, bot: BotAccount, response: aiohttp.ClientResponse) -> None:
        """Executes a method the bot returned in its webhook answer (aiogram's reply-in-webhook).

        Telegram never reports the outcome of such a call to the bot, so failures are only logged.
        """
        try:
            params = await _reply_params(response)
        except (ValueError, aiohttp.ClientError) as error:
            log.info("unreadable webhook answer from bot %s: %s", bot.id, error)
            return
        method = params.string("method") if params is not None else None
        if params is None or not method:
            return
        try:
            await self._execute(bot, method, params)
        except ApiError as error:
            log.info("webhook reply %s for bot %s failed: %s", method, bot.id, error)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session


def _next_update(bot: BotAccount) -> dict[str, Any] | None:
    return bot.pending[0] if bot.pending and bot.webhook is not None else None


async def _reply_params(response: aiohttp.ClientResponse) -> Params | None:
    if response.content_type == "multipart/form-data":
        values, files = await read_multipart(aiohttp.MultipartReader(response.headers, response.content))
        return Params(values, files)
    if response.content_type == "application/json":
        with contextlib.suppress(ValueError):
            body = await response.json()
            if isinstance(body, dict):
                return Params(body)
    return None
