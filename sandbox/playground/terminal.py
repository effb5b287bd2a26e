"""The playground's terminal chat: prints what the bot sends to each person and turns typed lines into their actions.

Every message is printed with its number in the chat (``── bot → customer #12 ──``), so an older message's buttons
can be pressed by hand (``:press 12 1``), stale ones included. Photos and documents the bot sends are written to a
folder and printed as a file:// link that opens them.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

from sandbox.africastalking import playground as sms_playground
from sandbox.etims import playground as etims_playground
from sandbox.etims.simulator import EtimsSimulator
from sandbox.playground.simulators import PaymentSimulators, play_help
from sandbox.telegram import FakeUser, InlineButton, SentMessage, StoredFile

HELP = f"""\
You are chatting with the demo shop's Telegram bot. Type as in Telegram:
  /start, /shop, /cart, /orders, /help, /cancel      customer commands
  /admin, /pending, /approve CODE, /sales ...        merchant commands (switch with :m; /help lists them)
  1, 2, 3 ...        press that button of the bot's latest message that has buttons; when the bot answered
                     your last line without buttons (it asks you to type: a quantity, a phone number), the
                     number is sent as text
  :press MSG N       press button N of message #MSG (the number in its header), an older one too
  :c  :m             type as the customer / as the merchant
  :photo [CAPTION]   send a photo (a receipt)   :doc NAME   send a document
{play_help()}
{etims_playground.HELP}
{sms_playground.HELP}
  :later HOURS       move the shop's clock HOURS on and send the cart reminders due by then (6 h by default)
  :wait [SECONDS]    pause a script while a provider answers
  :help   :quit (or Ctrl-C, Ctrl-D)
Photos and documents from the bot are saved, and their file:// link printed: open it to see them.
"""

QUIT = (":q", ":quit", ":exit")


def tiny_png() -> bytes:
    """A valid 1x1 PNG, so the "receipt" photo is a real image without shipping one."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
        + chunk(b"IEND", b"")
    )


def image_suffix(data: bytes) -> str:
    """The file name ending an image viewer expects: Telegram would re-encode a photo, the fake keeps its bytes."""
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    return ".bin"


class Terminal:
    """The two people of the playground (customer and merchant) and what the terminal has shown of their chats."""

    def __init__(
        self,
        customer: FakeUser,
        merchant: FakeUser,
        payments: PaymentSimulators | None = None,
        media: Path | None = None,
        etims: EtimsSimulator | None = None,
        sms: sms_playground.SmsPlay | None = None,
        later: Callable[[float], Awaitable[str]] | None = None,
    ) -> None:
        """``later``: moves the shop's clock on by some hours and runs what fell due (``:later``); what it did."""
        self.people = {"customer": customer, "merchant": merchant}
        self.payments = payments
        self.etims = etims
        self.sms = sms
        self.later = later
        self.media = media  # where the bot's photos and documents are written (None: not written)
        self.active = "customer"
        self.menus = {who: asyncio.Event() for who in self.people}
        self.shown: set[tuple[int, int, int]] = set()  # (chat, message, revision) printed so far
        # The bot's revision counter when each person last sent something: what the bot sent after it answers it.
        self.acted_at = dict.fromkeys(self.people, 0)

    # What the bot sends

    def show(self, who: str, message: SentMessage) -> None:
        self.shown.add((message.chat.id, message.message_id, message.revision))
        edited = " (updated)" if message.edit_date else ""
        print(f"\n── bot → {who} #{message.message_id}{edited} ──")
        if message.photo is not None:
            print(f"[photo] {self._saved(who, message, message.photo)}")
        if message.document is not None:
            print(f"[document {message.document.file_name or ''}] {self._saved(who, message, message.document)}")
        print(message.content)
        flat = message.inline_buttons
        if flat:
            self.menus[who].set()
            print("  ".join(f"[{number}] {button.text}" for number, button in enumerate(flat, start=1)))
        for button in flat:
            if button.url and button.url.startswith(("http://", "https://")):
                print(f"  {button.text}: {button.url}  (open it in a browser, or see :help)")

    def _saved(self, who: str, message: SentMessage, stored: StoredFile) -> str:
        """Writes a photo or document the bot sent where a person can open it; its file:// link."""
        if self.media is None or not stored.data:
            return stored.source_url or stored.file_path
        if stored.kind == "photo":
            name = f"{who}-{message.message_id}{image_suffix(stored.data)}"
        else:
            name = f"{who}-{message.message_id}-{Path(stored.file_name or 'file').name}"
        self.media.mkdir(parents=True, exist_ok=True)
        path = (self.media / name).resolve()
        path.write_bytes(stored.data)
        return path.as_uri()

    async def watch(self, who: str) -> None:
        person = self.people[who]
        while True:
            with contextlib.suppress(TimeoutError):
                self.show(who, await person.wait_for(lambda _: True, timeout=3600))

    def caught_up(self) -> bool:
        """Whether every message in every chat has been printed as it is now."""
        return all(
            (message.chat.id, message.message_id, message.revision) in self.shown
            for person in self.people.values()
            for message in person.messages
        )

    async def settled(self, who: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has shown ``who`` a message with buttons (the shop's menu after /start)."""
        async with asyncio.timeout(timeout):
            await self.menus[who].wait()

    # What the person types

    async def act(self, line: str) -> bool:
        """Carry out one typed line; False when the person asked to quit."""
        line = line.strip()
        person = self.people[self.active]
        if not line:
            return True
        if line in QUIT:
            return False
        if line in (":c", ":customer", ":m", ":merchant"):
            self.active = "customer" if line.startswith(":c") else "merchant"
            print(f"(you are now the {self.active})")
        elif line == ":help":
            print(HELP)
        elif line.startswith(":wait"):
            # For scripts: a provider's answer (its callback, its webhook) comes in its own time.
            seconds = line[len(":wait") :].strip()
            await asyncio.sleep(min(float(seconds), 30.0) if seconds.isdecimal() else 2.0)
        elif self.later is not None and line.partition(" ")[0] == ":later":
            hours = line.partition(" ")[2].strip() or "6"
            if hours.isdecimal() and 0 < int(hours) <= 72:
                print(await self.later(float(hours)))
            else:
                print("(type :later HOURS: a whole number of hours from 1 to 72)")
        elif self.etims is not None and line.partition(" ")[0] == ":etims":
            print(etims_playground.play(self.etims, line.partition(" ")[2].strip()))
        elif self.sms is not None and line.partition(" ")[0] == ":sms":
            print(await self.sms.play(line.partition(" ")[2].strip()))
        elif self.payments is not None and line.partition(" ")[0][1:] in self.payments.running:
            command, _, word = line.partition(" ")
            print(await self.payments.play(command[1:], word.strip()))
        elif line.startswith(":press"):
            await self._press_by_hand(person, line[len(":press") :].split())
        else:
            await self._send(person, line)
        return True

    async def _send(self, person: FakeUser, line: str) -> None:
        """What the person does in the chat: a button press, a photo, a document, a command or text."""
        target = self._button_target(line)
        self.acted_at[self.active] = person.account.revision
        if target is not None:
            await self._press(person, target, int(line))
        elif line.startswith(":photo"):
            await person.send_photo(tiny_png(), caption=line[len(":photo") :].strip() or None)
        elif line.startswith(":doc"):
            name = line[len(":doc") :].strip() or "receipt.pdf"
            await person.send_document(b"%PDF-1.4 demo receipt", name, "application/pdf")
        elif line.startswith("/"):
            command, _, args = line.partition(" ")
            await person.send_command(command, args or None)
        else:
            await person.send_text(line)

    def _button_target(self, line: str) -> SentMessage | None:
        """The message whose button a typed number presses: the bot's latest message that has buttons. None (the
        number is sent as text, a phone number or a quantity) when it has fewer buttons, or when the bot answered the
        person's last line only with messages without buttons: then it is waiting for something typed."""
        if not line.isdecimal():  # not isdigit: int() refuses "²"
            return None
        messages = self.people[self.active].messages
        answers = [message for message in messages if message.revision > self.acted_at[self.active]]
        if answers and not any(message.inline_buttons for message in answers):
            return None
        with_buttons = [message for message in messages if message.inline_buttons]
        if not with_buttons or not 1 <= int(line) <= len(with_buttons[-1].inline_buttons):
            return None
        return with_buttons[-1]

    async def _press_by_hand(self, person: FakeUser, words: list[str]) -> None:
        """``:press MSG N``: button N of message MSG, however old."""
        if len(words) != 2 or not all(word.isdecimal() for word in words):
            print("(type :press MSG N: the message's number, shown as #MSG in its header, and the button's number)")
            return
        message = person.account.message(person.chat.id, int(words[0]))
        if message is None or not message.inline_buttons:
            print(f"(message #{words[0]} has no buttons in this chat)")
            return
        self.acted_at[self.active] = person.account.revision
        await self._press(person, message, int(words[1]))

    async def _press(self, person: FakeUser, message: SentMessage, number: int) -> None:
        buttons = message.inline_buttons
        if not 1 <= number <= len(buttons):
            print(f"(message #{message.message_id} has buttons 1 to {len(buttons)})")
            return
        button: InlineButton = buttons[number - 1]
        if button.callback_data is None:
            print(f"(a link: {button.url} — open it in a browser, or see :help)")
            return
        try:
            press = await person.press(message=message, callback_data=button.callback_data)
            answer = await person.wait_for_answer(press)
        except (LookupError, ValueError, TimeoutError) as error:
            print(f"({error})")
            return
        if answer.text:
            print(f"(bot: {answer.text})")
