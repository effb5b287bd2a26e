"""The playground's page in a real browser (Debian's Chromium, driven by Playwright): a visitor browses the demo shop
on the customer's phone, orders, pays by M-Pesa through the PIN prompt (right PIN; wrong PIN, then a retry), by
Paystack on its checkout page, and by hand with a receipt photo that the merchant approves on the other phone, and
the merchant's /sales shows its chart. Each step leaves a screenshot in var/test-artefacts/browser/.

One shop and one browser for the module; each test places an order of its own. Without Chromium the tests are
skipped with a message saying so, except under CI=true, where they fail instead."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings
from sandbox.playground.terminal import tiny_png

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artefacts" / "browser"
WAIT_MS = 20_000  # the longest any step may take: the outbox paces a chat at about a message a second
CHAT_INTERVAL = 0.05  # seconds between two messages to a chat: Telegram's one second would make each order slow
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

try:
    from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
except ImportError:  # the dev extras are not installed
    sync_playwright = None  # type: ignore[assignment]

if sync_playwright is None or not CHROMIUM.exists():
    why = (
        "the browser tests of the playground need Debian's Chromium (apt-get install chromium) and Playwright "
        "(pip install -e '.[dev]')"
    )
    if IN_CI:
        pytest.fail(f"{why}, and under CI=true they may not be skipped", pytrace=False)
    pytest.skip(f"{why}: skipped", allow_module_level=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Playground:
    """``dukabot playground``'s page in a thread of this process, on its own event loop, until ``stop``."""

    def __init__(self, data_dir: Path) -> None:
        self.settings = Settings(
            data_dir=data_dir, port=free_port(), database_url=None, redis_url=None, public_url=None
        )
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="playground-page", daemon=True)

    def start(self) -> str:
        self._thread.start()
        if not self._ready.wait(timeout=60) or not self.url:
            raise RuntimeError(f"the playground's page did not start: {self._failure!r}")
        return self.url

    def _run(self) -> None:
        from sandbox.playground.page.serve import serve_page

        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()

            def started(url: str, _: object) -> None:
                self.url = url
                self._ready.set()

            await serve_page(
                self.settings,
                None,
                False,
                page_port_number=0,
                started=started,
                stop=self._stop,
                chat_interval=CHAT_INTERVAL,
            )

        try:
            asyncio.run(main())
        except BaseException as error:
            self._failure = error
            self._ready.set()
            raise

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)


@pytest.fixture(scope="module")
def shop_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    playground = Playground(tmp_path_factory.mktemp("playground-page"))
    try:
        yield playground.start()
    finally:
        playground.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    shutil.rmtree(ARTEFACTS, ignore_errors=True)
    ARTEFACTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def page(browser: Browser, shop_url: str) -> Iterator[Page]:
    opened = browser.new_page(viewport={"width": 1366, "height": 768})
    opened.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    opened.goto(shop_url)
    expect(customer(opened).locator(".bubble.bot").first).to_contain_text("Karibu, Wanjiru! Welcome to Demo Duka.")
    yield opened
    opened.close()


def customer(page: Page) -> Locator:
    return page.locator("article.phone[data-phone=customer]")


def merchant(page: Page) -> Locator:
    return page.locator("article.phone[data-phone=merchant]")


def shot(page: Page, name: str) -> None:
    """A screenshot of the page as it is now, numbered in the order the steps ran."""
    number = len(list(ARTEFACTS.glob("*.png"))) + 1
    page.screenshot(path=str(ARTEFACTS / f"{number:02d}-{name}.png"))


def say(phone: Locator, text: str) -> None:
    """Types ``text`` and sends it with the keyboard, then waits for the bot's answer."""
    box = phone.locator("input[name=text]")
    box.fill(text)
    box.press("Enter")
    mine = phone.locator(".bubble.mine").last
    expect(mine).to_have_text(text)
    expect(phone.locator(f'.bubble.mine[data-id="{mine.get_attribute("data-id")}"] ~ .bubble.bot')).not_to_have_count(0)


def newest(phone: Locator) -> Locator:
    return phone.locator(".bubble.bot").last


def press(phone: Locator, label: str) -> None:
    """The button ``label`` of the bot's newest message that has it."""
    phone.locator(".bubble.bot").filter(has=phone.page.get_by_role("button", name=label, exact=True)).last.get_by_role(
        "button", name=label, exact=True
    ).click()


def receipt(phone: Locator, code: str) -> Locator:
    """The customer's receipt for order ``code``."""
    return phone.locator(".bubble.bot", has_text="✅ Payment received.").filter(has_text=f"Order: {code}")


def order_code(phone: Locator) -> str:
    placed = phone.locator(".bubble.bot", has_text="is placed. Amount to pay").last
    found = re.search(r"Order ([A-Z0-9]{6}) is placed", placed.inner_text())
    assert found, placed.inner_text()
    return found.group(1)


def new_customer(page: Page) -> Locator:
    """Another customer's phone ("add a customer phone"), greeted by the bot: each test shops on a phone of its own,
    so no message of an earlier test can arrive in the middle of it."""
    number = page.locator("article.phone.customer").count() + 1
    page.get_by_role("button", name="➕ Add a customer phone").click()
    phone = page.locator(f"article.phone[data-phone=customer-{number}]")
    expect(phone.locator(".bubble.bot", has_text="choose a category")).to_have_count(1)
    return phone


def place_order(phone: Locator, product: str, pay_with: str, mpesa_number: str, *, shots: bool = False) -> str:
    """Browse, add ``product`` to the cart, check out, and choose how to pay; the order's code. Each step waits for
    the bot's answer to the one before, so a button pressed is one of that answer."""
    page = phone.page
    name = product.split(" · ")[0]
    say(phone, "/shop")
    expect(newest(phone)).to_contain_text("choose a category")
    press(phone, "Groceries")
    expect(newest(phone)).to_contain_text("Groceries (page 1 of 1) – tap a product:")
    press(phone, product)
    expect(newest(phone).get_by_role("button", name="➕ Add to cart", exact=True)).to_be_visible()
    expect(newest(phone)).to_contain_text(name)
    press(phone, "➕ Add to cart")
    expect(phone.locator(".toast")).to_contain_text(f"Added {name}")
    if shots:
        shot(page, "browse-and-add-to-cart")
    say(phone, "/cart")
    expect(newest(phone)).to_contain_text(f"🛒 Your cart:\n• {name} × 1")
    press(phone, "✅ Checkout")
    expect(newest(phone)).to_contain_text("What name should we put on the order?")
    newest(phone).get_by_role("button").first.click()  # the name Telegram knows
    expect(newest(phone)).to_contain_text("Your phone number")
    say(phone, mpesa_number)
    expect(newest(phone)).to_contain_text("Delivery or pickup?")
    press(phone, "🏪 Pickup")
    expect(newest(phone)).to_contain_text(f"Please check your order:\n• {name} × 1")
    press(phone, "✅ Confirm order")
    expect(newest(phone)).to_contain_text("How would you like to pay?")
    code = order_code(phone)
    if shots:
        shot(page, "checkout")
    press(phone, pay_with)
    expect(newest(phone)).not_to_contain_text("How would you like to pay?")
    return code


def skip_a_minute(page: Page) -> None:
    clock = page.locator("#clock")
    before = int(clock.inner_text().removeprefix("shop time +").removesuffix(" min") or 0)
    page.get_by_role("button", name="⏩ Skip a minute").click()
    expect(clock).to_have_text(f"shop time +{before + 1} min")


def pay_by_mpesa_prompt(phone: Locator, pin: str, step: str) -> None:
    page = phone.page
    prompt = phone.get_by_role("dialog")
    expect(prompt).to_contain_text("Do you want to pay KES")
    expect(prompt).to_contain_text("to DEMO DUKA?")
    expect(prompt).to_contain_text("Enter M-PESA PIN")
    prompt.get_by_label("M-PESA PIN").fill(pin)
    shot(page, step)
    prompt.get_by_label("M-PESA PIN").press("Enter")
    expect(prompt).to_have_count(0)


def test_mpesa_with_the_right_pin_pays_the_order(page: Page) -> None:
    phone = customer(page)
    code = place_order(phone, "Fresh Milk 500ml · KES 65", "📱 M-Pesa", "0712345678", shots=True)
    expect(newest(phone)).to_contain_text(f"Pay KES 65 for order {code} with M-Pesa.")
    press(phone, "✅ Yes, send to 0712 345 678")
    prompt = phone.get_by_role("dialog")
    expect(prompt).to_contain_text("Do you want to pay KES 65 to DEMO DUKA?")
    pay_by_mpesa_prompt(phone, "1234", "mpesa-prompt")
    expect(receipt(phone, code)).to_contain_text("M-Pesa receipt:")
    shot(page, "mpesa-paid")
    log = page.locator("#log")
    expect(log).to_contain_text("POST /mpesa/stkpush/v1/processrequest → 200")
    expect(log).to_contain_text(f"(mpesa, order {code}): pending → paid")
    # Daraja's callback, with its body, in the side panel; its URL's token and the push's Password are masked there.
    callback = log.locator("li.callback", has_text="provider → shop: POST /pay/stk/").last
    expect(callback).to_contain_text("••••")
    expect(callback).to_contain_text("→ 200")
    callback.locator("summary").click()
    expect(callback.locator("pre")).to_contain_text('"ResultCode": 0')
    push = log.locator("li.provider", has_text="/mpesa/stkpush/v1/processrequest").last
    push.locator("summary").click()
    expect(push.locator("pre")).to_contain_text('"Password": "')
    assert "••••" in push.locator("pre").inner_text()


def test_mpesa_with_a_wrong_pin_then_a_retry(page: Page) -> None:
    phone = new_customer(page)
    code = place_order(phone, "Kenyan Black Tea 250g · KES 160", "📱 M-Pesa", "0722000111")
    expect(newest(phone)).to_contain_text(f"Pay KES 160 for order {code} with M-Pesa.")
    press(phone, "✅ Yes, send to 0722 000 111")
    pay_by_mpesa_prompt(phone, "9999", "mpesa-wrong-pin")
    failed = phone.locator(".bubble.bot", has_text=f"The M-Pesa payment for order {code} (KES 160) did not go through")
    expect(failed).to_contain_text("the M-Pesa PIN was wrong")
    expect(failed).to_contain_text("🔁 Try again will appear on this message")
    expect(page.locator("#log")).to_contain_text(f"(mpesa, order {code}): pending → failed")
    shot(page, "mpesa-failed")
    # M-Pesa makes the phone wait a minute before another prompt: the page skips it rather than sit through it.
    skip_a_minute(page)
    retry = failed.get_by_role("button", name="🔁 Try again")
    retry.click()
    pay_by_mpesa_prompt(phone, "1234", "mpesa-retry-prompt")
    expect(receipt(phone, code)).to_contain_text("M-Pesa receipt:")
    shot(page, "mpesa-retry-paid")


def test_paystack_success_on_its_checkout_page(page: Page) -> None:
    phone = new_customer(page)
    code = place_order(phone, "Pishori Rice 1kg · KES 230", "💳 Pay online", "0733000222")
    link = newest(phone).locator("a[data-checkout]")
    expect(link).to_contain_text("Pay")
    link.click()
    checkout = page.frame_locator("iframe[name=checkout]")
    expect(checkout.locator("h1")).to_have_text("Paystack checkout (simulator)")
    expect(checkout.locator("#reference")).not_to_be_empty()
    shot(page, "paystack-checkout")
    checkout.get_by_role("button", name="Pay: success").click()
    expect(receipt(phone, code)).to_be_visible()
    expect(page.locator("#log")).to_contain_text(f"(paystack, order {code}): pending → paid")
    shot(page, "paystack-paid")


def test_a_receipt_photo_approved_on_the_merchants_phone(page: Page, tmp_path: Path) -> None:
    phone = new_customer(page)
    code = place_order(phone, "Sugar 1kg · KES 199.50", "💵 Pay by hand and upload proof", "0744000333")
    expect(newest(phone)).to_contain_text("Send the amount to Till 555 555 (Demo Duka)")
    photo = tmp_path / "receipt.png"
    photo.write_bytes(tiny_png())
    phone.locator("input[name=text]").fill("QK7ABC1234")  # the caption: the M-Pesa code the customer paid with
    phone.locator("input[type=file]").set_input_files(photo)
    expect(phone.locator(".bubble.mine img")).to_have_count(1)
    expect(newest(phone)).to_contain_text(f"Thank you! Your proof for order {code} was sent to the shop.")
    shop = merchant(page)
    proof = shop.locator(".bubble.bot", has_text=f"🧾 Proof of payment for order {code}")
    expect(proof).to_contain_text("Reference given: QK7ABC1234")
    expect(proof.locator("img")).to_have_count(1)
    shot(page, "proof-on-merchant-phone")
    proof.get_by_role("button", name="✅ Approve").click()
    expect(proof).to_contain_text("✅ Approved by Mama Duka")  # the proof's message, edited in place
    expect(proof.get_by_role("button", name="✅ Approve")).to_have_count(0)
    expect(receipt(phone, code)).to_be_visible()
    shot(page, "proof-approved")


def test_sales_shows_its_chart_on_the_merchants_phone(page: Page) -> None:
    shop = merchant(page)
    say(shop, "/sales")
    chart = newest(shop).locator("img.photo")
    expect(chart).to_have_count(1)
    expect(newest(shop)).to_contain_text("Sales")
    width = chart.evaluate("image => image.complete ? image.naturalWidth : 0")
    if not width:
        chart.evaluate("image => new Promise(done => image.addEventListener('load', done, {once: true}))")
        width = chart.evaluate("image => image.naturalWidth")
    assert width > 100  # the chart itself, not a broken image
    shot(page, "sales-chart")
