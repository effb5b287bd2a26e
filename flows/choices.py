"""Typed answers to a question asked with buttons.

A customer may type instead of tapping: "pickup" at "Delivery or pickup?", "2" for the second button, "yes" to
confirm. The router keeps the latest message it answered with that has buttons (the open question, in the
conversation's step data) and reads typed text against it, in one place for every step:

- the button's label, ignoring case, accents, emoji and punctuation ("🏪 Pickup" is "pickup"; "E-mail" is "email");
- the button's number, counting the buttons that have words in reading order ("1", "2");
- a yes or no word of the customer's language (the catalog's ``answer.yes`` and ``answer.no``, "yes|y|ok|...")
  for the one button that means yes (confirm, use this name...) or no (cancel);
- and, where the step takes no free text of its own, a unique label within the words ("pickup please", "sugar").

A typed answer presses its button: the same handler runs, checking everything again, as for a tap. Text that chooses
nothing gets the question again, with its buttons and a short hint, and changes nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import unicodedata

from core.callbacks import CallbackData, read
from core.messages import Button, Message
from core.texts import text
from flows.context import FlowContext, Reply

_KEY = "question"  # in the conversation's step data
# The buttons that a yes, and a no, of the catalog's words press: those whose kind ``answers`` "yes" or "no".
_YES_NO = (("answer.yes", "yes"), ("answer.no", "no"))
# A message whose buttons only lead to the shop, the cart or the orders asks nothing (the help, "your cart is
# empty", "proof received"): its buttons can be typed, but other text there gets the help, not the message again.
# Those are the kinds declared ``signpost``.
# Inside a word these join ("E-mail", "USB-C", "199.50"); every other mark separates words.
_JOINERS = frozenset("-'’.")
_LOOSE_MIN = 3  # fewer typed letters than this never match part of a label
_TYPED_MAX = 200  # nobody types a label longer than this


def normalise(words: str) -> str:
    """The words of ``words`` without case, accents, emoji or punctuation: "🏪 Pick-up!" is "pickup"."""
    decomposed = unicodedata.normalize("NFKD", words[:_TYPED_MAX].casefold())
    kept = "".join(
        "" if char in _JOINERS or unicodedata.combining(char) else char if char.isalnum() else " "
        for char in decomposed
    )
    return " ".join(kept.split())


# Button labels are ours (short, and the same from chat to chat: a shop's categories and products), and every step
# reads its question's: normalised once. Typed words are not kept.
_label = functools.lru_cache(maxsize=2048)(normalise)


def remember(ctx: FlowContext, reply: Reply) -> None:
    """Keep the question ``reply`` asks: its last message with buttons to type, tied to the step it is asked at.
    A reply without one leaves the question as the step left it: ``ctx.go`` forgets it with the rest of the step's
    data, another step makes it stale (:func:`asked`), a started payment ends it, and a refusal or a stale button
    changed nothing."""
    if reply.refused:
        return
    if reply.start_payment is not None:  # the payment's own messages (a push, a link, a receipt) take over
        ctx.conversation.data = {k: v for k, v in ctx.conversation.data.items() if k != _KEY}
        return
    asking = next((m for m in reversed(reply.messages) if _choices(m)), None)
    if asking is None:
        return
    payload = {**asking.to_payload(), "step": ctx.conversation.step}
    payload.pop("replaces", None)
    if ctx.conversation.data.get(_KEY) != payload:  # unchanged, the row is not written
        ctx.conversation.data = {**ctx.conversation.data, _KEY: payload}  # a new dict: JSON changes by assignment


def asked(ctx: FlowContext) -> Message | None:
    """The open question: asked at the step the conversation is still in."""
    payload = ctx.conversation.data.get(_KEY)
    if not isinstance(payload, dict) or payload.get("step") != ctx.conversation.step:
        return None
    try:
        return Message.from_payload(payload)
    except (KeyError, TypeError, ValueError):  # not one of ours after all: as if nothing were asked
        return None


def choose(question: Message, typed: str, language: str, *, loose: bool) -> str | None:
    """The callback data of the button ``typed`` chooses, or None. ``language``: whose yes and no words count.
    ``loose``: also a unique label found within the words, or the words within a label (only where the step itself
    takes no free text)."""
    said = normalise(typed)
    buttons = _choices(question)
    if not said or not buttons:
        return None
    labels = [_label(b.text) for b in buttons]
    if said.isdecimal():
        number = int(said) if len(said) <= 2 else 0
        return buttons[number - 1].data if 1 <= number <= len(buttons) else None
    compact = said.replace(" ", "")
    exact = [b for b, label in zip(buttons, labels, strict=True) if compact == label.replace(" ", "")]
    if len(exact) == 1:
        return exact[0].data
    answers = [(means, {_label(word) for word in text(key, language).split("|")}) for key, means in _YES_NO]
    words = set(said.split())
    # Loose, a yes or no word among others counts ("yes please, go ahead"), unless both are there.
    meant = [means for means, accepted in answers if said in accepted or (loose and words & accepted)]
    if len(meant) == 1:
        answering = [b for b in buttons if (kind := _kind(b)) is not None and kind.answers == meant[0]]
        if len(answering) == 1:
            return answering[0].data
    if not loose or len(said) < _LOOSE_MIN:
        return None
    within = [b for b, label in zip(buttons, labels, strict=True) if _within(label, said) or _within(said, label)]
    return within[0].data if len(within) == 1 else None


def repeats(question: Message) -> bool:
    """Whether text that chooses nothing gets this question again (not for a signpost like the help)."""
    return any((kind := _kind(b)) is None or not kind.signpost for b in _choices(question))


def again(ctx: FlowContext, question: Message, lead: str | None = None) -> Message:
    """The question asked again, with its buttons, after ``lead`` (by default: choose a button, or type its name)."""
    lead = lead or ctx.t("choice.again")
    return dataclasses.replace(question, text=f"{lead}\n\n{question.text}", edit=False, replaces=None)


def as_typed(reply: Reply) -> Reply:
    """A button's reply, for a press that was typed: there is no pressed message to edit in place, and no button
    to show a notice on, so everything becomes new messages."""
    messages = [dataclasses.replace(m, edit=False) for m in reply.messages]
    if reply.notice:
        messages.insert(0, Message(reply.notice))
    return dataclasses.replace(reply, messages=messages, notice=None)


def _choices(message: Message) -> list[Button]:
    """The buttons a person can type: ours (not links), with words on them (not "+" or "✕")."""
    return [b for row in message.buttons for b in row if b.data is not None and _label(b.text)]


def _kind(button: Button) -> type[CallbackData] | None:
    """The button's kind: today's, or one from before an upgrade (pressing it gets the expired answer)."""
    found = read(button.data)
    if found is None:
        return None
    return type(found) if isinstance(found, CallbackData) else found.kind


def _within(part: str, whole: str) -> bool:
    return f" {part} " in f" {whole} "
