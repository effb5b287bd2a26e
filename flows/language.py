"""``/language``: the customer chooses the language dukabot writes to them in (English, Kiswahili, Français).

The choice is stored on the customer and marked as chosen, so the chat app's language of a later update no longer
changes it (``FlowContext.settle_language``); notifications sent later (receipts, shipping) read it too. The
confirmation is written in the new language. Each button shows its language's name in that language (the catalog's
``language.name``).
"""

from __future__ import annotations

from collections.abc import Callable

from core.buttons import AskLanguage, ChooseLanguage
from core.callbacks import CallbackData, Expired
from core.messages import Button, Message, keyboard
from core.texts import LANGUAGES, text
from flows.buttons import CUSTOMER
from flows.context import FlowContext, Reply


def named(typed: str) -> str | None:
    """The language ``typed`` after /language names: its code (``sw``) or its own name (``Kiswahili``)."""
    wanted = typed.strip().casefold()
    for code in LANGUAGES:
        if wanted in (code, text("language.name", code).casefold()):
            return code
    return None


def choices(kind: Callable[[int], CallbackData] = ChooseLanguage) -> tuple[tuple[Button, ...], ...]:
    """One button per language, in the order of ``LANGUAGES`` (``kind``: the merchant's own buttons for theirs)."""
    return keyboard(
        *([Button(text("language.name", code), data=kind(index).pack())] for index, code in enumerate(LANGUAGES))
    )


def ask(ctx: FlowContext, lead_key: str = "language.ask") -> Message:
    return Message(ctx.t(lead_key), choices())


def command(ctx: FlowContext, args: str) -> Reply:
    """``/language`` asks; ``/language sw`` (or ``/language Kiswahili``) chooses at once."""
    if not args.strip():
        return Reply([ask(ctx)])
    code = named(args)
    if code is None:
        return Reply([ask(ctx, "language.unknown")], refused=True)
    return choose(ctx, code)


def choose(ctx: FlowContext, code: str) -> Reply:
    ctx.customer.language = code
    ctx.customer.language_chosen = True
    return Reply([Message(ctx.t("language.chosen"))])


async def _ask_again(ctx: FlowContext, _: Expired) -> Reply:
    return Reply([ask(ctx)], refused=True)


@CUSTOMER.on(AskLanguage, expired=_ask_again)
async def _ask(ctx: FlowContext, _: AskLanguage) -> Reply:
    return Reply([ask(ctx)])


@CUSTOMER.on(ChooseLanguage, expired=_ask_again)
async def _choose(ctx: FlowContext, button: ChooseLanguage) -> Reply:
    if button.language >= len(LANGUAGES):
        return Reply([ask(ctx)], refused=True)
    return choose(ctx, LANGUAGES[button.language])
