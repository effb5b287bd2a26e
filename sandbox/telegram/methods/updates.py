"""Receiving updates: long polling with getUpdates, and the webhook methods (a webhook and getUpdates exclude
each other, as in Telegram)."""

from __future__ import annotations

import asyncio
import itertools
import re
from typing import Any
from urllib.parse import urlsplit

from ..account import BotAccount, Webhook
from ..errors import ApiError, bad_request
from .registry import Call, Described, method

GET_UPDATES_MAX_LIMIT = 100
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


@method("getUpdates")
async def get_updates(call: Call) -> Any:
    bot, params = call.bot, call.params
    if bot.webhook is not None:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
            "webhook first",
        )
    limit = min(max(params.integer("limit") or GET_UPDATES_MAX_LIMIT, 1), GET_UPDATES_MAX_LIMIT)
    kinds = params.json("allowed_updates", "allowed updates")
    if kinds is not None:  # Telegram keeps the last list given (recorded here; the fake delivers every kind)
        bot.polled_kinds = kinds
    bot.confirm(params.integer("offset"))
    batch = await _long_poll(bot, limit, seconds=max(params.integer("timeout") or 0, 0))
    bot.hand_over(batch)
    return batch


async def _long_poll(bot: BotAccount, limit: int, seconds: int) -> list[dict[str, Any]]:
    """Waits up to `seconds` for updates; a newer getUpdates or a setWebhook ends the wait with a 409."""
    ticket = bot.start_poll()

    def ready() -> list[dict[str, Any]] | None:
        if ticket.conflict is not None:
            raise ApiError(409, f"Conflict: {ticket.conflict}")
        batch = list(itertools.islice(bot.pending, limit))
        return batch if batch or ticket.released else None

    try:
        async with asyncio.timeout(seconds):
            return await bot.changed.wait_until(ready)
    except TimeoutError:
        return []
    finally:
        if bot.poll is ticket:
            bot.poll = None


@method("setWebhook")
async def set_webhook(call: Call) -> Any:
    bot, params = call.bot, call.params
    url = params.string("url") or ""
    if not url:
        return _delete_webhook(call)  # Telegram treats an empty URL as "remove the webhook"
    if urlsplit(url).scheme not in {"http", "https"}:  # the fake also allows plain HTTP, for local receivers
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret_token = params.string("secret_token") or None
    if secret_token is not None and not _SECRET_TOKEN.fullmatch(secret_token):
        raise bad_request("secret token contains unallowed characters")
    max_connections = params.integer("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    allowed_updates = params.json("allowed_updates", "allowed updates")
    if params.boolean("drop_pending_updates"):
        bot.pending.clear()
    already_set = bot.webhook is not None and bot.webhook.url == url
    bot.webhook = Webhook(url, secret_token, max_connections, allowed_updates)
    bot.last_webhook_error = None
    bot.end_poll("terminated by setWebhook request")
    call.fake.webhooks.start(bot)
    bot.notify()
    return Described(True, "Webhook is already set" if already_set else "Webhook was set")


@method("deleteWebhook")
async def delete_webhook(call: Call) -> Any:
    return _delete_webhook(call)


def _delete_webhook(call: Call) -> Described:
    bot = call.bot
    if call.params.boolean("drop_pending_updates"):
        bot.pending.clear()
    was_set = bot.webhook is not None
    bot.webhook = None
    call.fake.webhooks.stop(bot)
    bot.notify()
    return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")


@method("getWebhookInfo")
async def get_webhook_info(call: Call) -> Any:
    bot, webhook = call.bot, call.bot.webhook
    info: dict[str, Any] = {
        "url": webhook.url if webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.pending),
    }
    if webhook is not None:
        info["max_connections"] = webhook.max_connections
        if webhook.allowed_updates is not None:
            info["allowed_updates"] = webhook.allowed_updates
    if bot.last_webhook_error is not None:
        info["last_error_date"], info["last_error_message"] = bot.last_webhook_error
    return info
