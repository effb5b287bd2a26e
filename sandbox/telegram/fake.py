"""FakeTelegram: the state of the whole fake Telegram, shared by the HTTP server and the in-process fake users."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from core.clock import Clock, SystemClock

from .account import BotAccount, bot_id_from_token
from .delivery import WebhookDispatcher, WebhookPolicy
from .errors import ApiError, not_found, unauthorized
from .feed import Listener, TelegramEvent, tell
from .flood import MESSAGE_METHODS, FloodControl
from .methods import Call, find_method
from .models import ApiCall, ChatInfo, ChatType, UserInfo
from .params import Params
from .users import FakeGroup, FakeUser, chat_member_update

FIRST_USER_ID = 700_000_001


@dataclass
class FailureRule:
    """A scripted failure waiting for a matching call (see `FakeTelegram.fail_next`)."""

    method: str
    error: ApiError
    chat_id: int | None
    token: str | None
    remaining: int

    def matches(self, bot: BotAccount, method: str, params: Params) -> bool:
        if self.method != method or (self.token is not None and self.token != bot.token):
            return False
        return self.chat_id is None or str(params.raw("chat_id")) == str(self.chat_id)


class FakeTelegram:
    """A fake Telegram holding any number of bots.

    Serve it over HTTP with `create_app` or `FakeTelegramServer`, and act as users with `user()`. One instance
    belongs to one event loop (its waiters and webhook workers live there).
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        webhook_attempts: int = 3,
        webhook_retry_delay: float = 0.05,
        webhook_timeout: float = 10.0,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.requests: list[ApiCall] = []
        self.webhooks = WebhookDispatcher(
            WebhookPolicy(webhook_attempts, webhook_retry_delay, webhook_timeout), self.call
        )
        self._bots: dict[str, BotAccount] = {}
        self._users: dict[tuple[str, int], FakeUser] = {}
        self._groups: dict[tuple[str, int], FakeGroup] = {}
        self._failures: list[FailureRule] = []
        self._user_ids = itertools.count(FIRST_USER_ID)
        self._revoked: set[str] = set()
        # Telegram's per-bot message limit, and a record of every message sent: off unless a test sets it.
        self.flood: FloodControl | None = None
        # A slow Bot API: while set and not released, message methods are carried out but not answered.
        self._answers_held: asyncio.Event | None = None
        # Told of every update queued for any bot and every Bot API call (see sandbox.telegram.feed).
        self.listeners: list[Listener] = []
        # Methods called through Telegram's test environment (/bot<token>/test/<method>), in order.
        self.test_environment_calls: list[str] = []

    # Bots

    def add_bot(self, token: str, username: str, first_name: str = "Shop") -> BotAccount:
        """Registers a bot; its id is the digits before ":" in the token."""
        bot_id = bot_id_from_token(token)
        if any(account.id == bot_id for account in self._bots.values()):
            raise ValueError(f"bot {bot_id} is already registered")
        user = UserInfo(bot_id, first_name, username=username, is_bot=True)
        account = BotAccount(token=token, user=user, clock=self.clock)
        account.listeners = self.listeners
        self._bots[token] = account
        return account

    def bot(self, token: str) -> BotAccount:
        try:
            return self._bots[token]
        except KeyError:
            raise LookupError(f"no bot registered with token {token!r}; call add_bot first") from None

    def authenticate(self, token: str) -> BotAccount:
        account = self._bots.get(token)
        if account is None or token in self._revoked:
            raise unauthorized()
        return account

    def revoke(self, token: str) -> None:
        """The merchant revoked the token at @BotFather: every call with it answers 401 Unauthorized, and a waiting
        getUpdates returns. The bot's state stays readable for the test (``bot(token)``)."""
        account = self.bot(token)
        self._revoked.add(token)
        account.end_poll(None)

    # People and chats

    def user(
        self,
        token: str,
        user_id: int | None = None,
        first_name: str = "Wanjiru",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        """A Telegram user talking to the bot in a private chat; the same (token, user_id) gives the same user.

        The bot can write to the user only after the user has sent it something, as in Telegram.
        """
        account = self.bot(token)
        user_id = next(self._user_ids) if user_id is None else user_id
        existing = self._users.get((token, user_id))
        if existing is not None:
            return existing
        info = UserInfo(user_id, first_name, last_name, username, language_code)
        user = FakeUser(account, info)
        self._users[(token, user_id)] = user
        return user

    @property
    def users(self) -> list[FakeUser]:
        """Every user made with `user()`, for every bot, oldest first."""
        return list(self._users.values())

    def group(self, token: str, chat_id: int, title: str) -> FakeGroup:
        """A group the bot is a member of (e.g. a merchant's alert group); the bot may post there at once.

        Ids at or below -1_000_000_000_000 are supergroups, as in Telegram.
        """
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        existing = self._groups.get((token, chat_id))
        if existing is not None:
            return existing
        account = self.bot(token)
        chat_type: ChatType = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
        chat = ChatInfo(chat_id, chat_type, title=title)
        account.meet(chat)
        group = FakeGroup(account, chat)
        self._groups[(token, chat_id)] = group
        return group

    def block(self, user: FakeUser) -> None:
        """The user blocks the bot: sends to the chat answer 403 and the bot gets a my_chat_member update."""
        self._set_blocked(user, blocked=True)

    def unblock(self, user: FakeUser) -> None:
        self._set_blocked(user, blocked=False)

    def _set_blocked(self, user: FakeUser, *, blocked: bool) -> None:
        account, chat = user.account, user.chat
        if (chat.id in account.blocked) == blocked:
            return
        account.meet(chat)
        if blocked:
            account.blocked.add(chat.id)
        else:
            account.blocked.discard(chat.id)
        account.enqueue(chat_member_update(account, user.info, kicked=blocked))

    # Scripted failures and accounting

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
        *,
        token: str | None = None,
    ) -> None:
        """Makes the next `times` calls of `method` fail (optionally only for one chat or one bot's token).

        The failing calls do nothing else; they still count in `calls`. The description defaults to Telegram's
        usual wording (403: "Forbidden: bot was blocked by the user", 429: "Too Many Requests: retry after N").
        """
        spec = find_method(method)
        if spec is None:
            raise ValueError(f"the fake does not implement {method!r}")
        if times < 1:
            raise ValueError("times must be at least 1")
        error = ApiError.scripted(error_code, description, retry_after)
        self._failures.append(FailureRule(spec.name, error, chat_id, token, times))

    def hold_answers(self) -> None:
        """A slow Bot API: from now on, sends and edits take effect in the chat at once, but their answers wait until
        `release_answers` (a bot that dies meanwhile never learns that Telegram accepted them)."""
        self._answers_held = asyncio.Event()

    def release_answers(self) -> None:
        if self._answers_held is not None:
            self._answers_held.set()
            self._answers_held = None

    @property
    def pending_failures(self) -> list[FailureRule]:
        return list(self._failures)

    def clear_failures(self) -> list[FailureRule]:
        """Drops the scripted failures that were not used up, and returns them (tests assert it is empty)."""
        left, self._failures = self._failures, []
        return left

    @property
    def calls(self) -> Counter[str]:
        """How many times each method was called (failed calls included), over all bots."""
        return Counter(call.method for call in self.requests)

    def calls_for(self, token: str) -> Counter[str]:
        bot_id = self.bot(token).id
        return Counter(call.method for call in self.requests if call.bot_id == bot_id)

    # Waiting

    # The timeout parameters of the waiting helpers mirror asyncio.wait_for: a bounded wait is what every test
    # wants, so it is the default rather than something each test must remember to add.

    async def wait_delivered(self, token: str, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Waits until the bot has received every queued update (via getUpdates or an accepted webhook)."""
        account = self.bot(token)
        try:
            async with asyncio.timeout(timeout):
                await account.changed.wait_until(lambda: True if account.all_handed_over else None)
        except TimeoutError:
            raise TimeoutError(
                f"bot {account.id} did not receive {len(account.pending)} update(s) within {timeout}s"
            ) from None

    # Serving

    async def call(self, account: BotAccount, method: str, params: Params) -> Any:
        """Runs one Bot API method for `account`: the path every HTTP request and webhook reply takes."""
        spec = find_method(method)
        if spec is None:
            raise not_found()
        record = ApiCall(account.id, spec.name, params.summary(), time.monotonic())
        self.requests.append(record)
        try:
            self._raise_scripted_failure(account, spec.name, params)
            if self.flood is not None:
                self.flood.check(account.id, str(params.raw("chat_id")), spec.name)
            result = await spec.handler(Call(self, account, params))
            tell(self.listeners, TelegramEvent("call", account.id, record.params, spec.name, result))
            if self._answers_held is not None and spec.name in MESSAGE_METHODS:
                await self._answers_held.wait()  # done in the chat, but the bot does not hear of it yet
            return result
        except ApiError as error:
            record.error_code = error.error_code
            tell(self.listeners, TelegramEvent("call", account.id, record.params, spec.name, None, error.error_code))
            raise

    def _raise_scripted_failure(self, account: BotAccount, method: str, params: Params) -> None:
        for rule in self._failures:
            if rule.matches(account, method, params):
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._failures.remove(rule)
                raise rule.error

    async def shutdown(self) -> None:
        """Releases waiting getUpdates calls and stops webhook delivery (the state stays readable)."""
        for account in self._bots.values():
            account.end_poll(None)
        await self.webhooks.aclose()
