"""The playground's own controls, through ``dukabot playground`` in its own process: it ends on :quit and Ctrl-C
while the terminal stays open, a kept shop starts again, numbers and :press reach the buttons a person means, and the
bot's photos are saved where a person can open them, and :later shows a left cart's reminder."""

from __future__ import annotations

import re
import signal
from pathlib import Path
from urllib.parse import unquote, urlsplit

from PIL import Image

from admin.chart import HEIGHT, WIDTH
from tests.e2e.running import READY, Session, run

# From :quit or Ctrl-C to the end of the process took about 0.6 s on a 2-core machine at load 8 (closing the servers,
# then the interpreter's exit). The bound leaves room for a slower machine; before the fix the process waited for the
# next line or Ctrl-D, that is forever here, since stdin stays open.
QUIT_BOUND = 5


def ended(session: Session, code: int) -> None:
    """The process ended with ``code``, quietly: no traceback, nothing on stderr (no unclosed session or task)."""
    returncode, errors = session.finish(timeout=QUIT_BOUND)
    assert (returncode, errors) == (code, ""), session.out[-3000:]
    assert "Traceback" not in session.out


def test_quit_ends_the_playground_while_the_terminal_stays_open(tmp_path: Path) -> None:
    session = Session(tmp_path)
    try:
        session.wait_for(READY)
        session.type(":quit")
        ended(session, 0)
    finally:
        session.close()


def test_ctrl_c_ends_the_playground(tmp_path: Path) -> None:
    session = Session(tmp_path)
    try:
        session.wait_for(READY)
        session.process.send_signal(signal.SIGINT)
        ended(session, 0)  # the CLI treats Ctrl-C as the person's way out, not as a failure
    finally:
        session.close()


def test_a_kept_shop_answers_start_again(tmp_path: Path) -> None:
    # Groceries, Fresh Milk, Add to cart; then the cart is left: 6 h later it is reminded, unless that is night at the
    # shop, and then 12 h later still it is (a reminder put off at night goes at 08:00), once either way.
    first = run(tmp_path, ["1", "1", "1", ":later 6", ":later 12", ":later", ":quit"])
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "(bot: Added Fresh Milk 500ml to your cart)" in first.stdout
    reminder = (
        "You left these in your cart at Demo Duka (today's prices):\n• Fresh Milk 500ml × 1 = KES 65\nTotal: KES 65"
    )
    assert first.stdout.count(reminder) == 1 and "[1] ✅ Checkout  [2] 🛒 Cart" in first.stdout, first.stdout[-3000:]
    assert first.stdout.count("(the shop's clock moved ") == 3

    # The kept database remembers the update ids of the first run; the new fake Telegram must not reuse them, or the
    # bot takes the new /start for one it has already answered and the playground waits for a menu that never comes.
    again = run(tmp_path, ["/cart", ":quit"], "--keep")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert re.search(r"── bot → customer #\d+ ──\nKaribu, Wanjiru! Welcome to Demo Duka\.", again.stdout), again.stdout
    assert "🛒 Your cart:\n• Fresh Milk 500ml × 1 = KES 65\n" in again.stdout, again.stdout[-3000:]
    assert "Traceback" not in again.stdout + again.stderr


BUTTONS = [
    ":m",
    "1",  # the merchant's /start gave the menu (#3), then a note without buttons (#4): 1 is Groceries of #3
    "/sales",  # the report and its chart, a photo
    ":c",
    "1",  # Groceries: the menu #3 becomes the product list
    "1",  # Fresh Milk, shown as #4
    ":press 3 2",  # an older message's button: Kenyan Black Tea on the product list, shown as #5
    ":press 4 1",  # a stale button: Add to cart on the Fresh Milk card
    "1",  # the bot's latest message with buttons is the tea card (#5): Add to cart
    "/cart",
    "6",  # the tea's line: "How many?", asked without buttons
    "3",  # so the number is the answer, sent as text
    ":press 99 1",
    ":press 3",
]


def test_numbers_and_press_reach_the_buttons_a_person_means_and_photos_open(tmp_path: Path) -> None:
    done = run(tmp_path, BUTTONS)
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]

    assert "── bot → merchant #3 (updated) ──\nGroceries (page 1 of 1) – tap a product:\n" in out
    assert "── bot → customer #5 ──\nKenyan Black Tea 250g\nKES 160\n" in out
    assert "(bot: Added Fresh Milk 500ml to your cart)\n(bot: Added Kenyan Black Tea 250g to your cart)\n" in out
    assert "How many Kenyan Black Tea 250g would you like?" in out
    assert "• Fresh Milk 500ml × 1 = KES 65\n• Kenyan Black Tea 250g × 3 = KES 480\n" in out
    assert "(message #99 has no buttons in this chat)" in out
    assert "(type :press MSG N: the message's number, shown as #MSG in its header, and the button's number)" in out

    chart = re.search(r"── bot → merchant #\d+ ──\n\[photo\] (file://\S+)\n", out)
    assert chart, out[-3000:]
    path = Path(unquote(urlsplit(chart.group(1)).path))
    assert path.parent == (tmp_path / "var" / "playground" / "media").resolve()
    with Image.open(path) as image:
        assert (image.format, image.size) == ("PNG", (WIDTH, HEIGHT))
    assert "Traceback" not in out + done.stderr
