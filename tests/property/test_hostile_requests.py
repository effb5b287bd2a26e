"""Generated hostile requests against every route of the real server: no answer is a 5xx, no ERROR is logged, and
where no credential was valid no row of any table changes.

Each test serves all of its examples from one running server (one per database backend). Requests are written on
a raw socket, so that anything a client can put on the wire (lying encodings, chunked bodies, odd methods) is sent as
is. ``make fuzz`` runs the same tests with 100,000 examples each.
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from core.db.engine import Database
from core.db.tables import Customer, Order, Payment
from payments.paystack.signature import SIGNATURE_HEADER, sign
from sandbox.telegram.delivery import SECRET_HEADER
from tests.property import strategies as hs
from tests.property.harness import CHAT, PAYSTACK_KEY, Stage, answered, stage, unchanged

__all__ = ["stage"]  # the fixture


def segment(text: str) -> str:
    return quote(text, safe="", errors="surrogatepass") or "x"


def _paths(stage: Stage) -> dict[str, st.SearchStrategy[str]]:
    """Every route, with path parameters that name nothing valid (or a real shop without the credential)."""
    slugs = st.one_of(st.sampled_from([stage.shop.slug, stage.other.slug, "no-such-shop"]), st.text().map(segment))
    tokens = st.one_of(st.just(secrets.token_hex(20)), st.text(max_size=60).map(segment), st.just("%00"))
    references = st.one_of(st.text(max_size=80), st.sampled_from(hs.NASTY_STRINGS)).map(segment)
    return {
        "telegram": slugs.map(lambda slug: f"/tg/{slug}"),
        "stk": tokens.map(lambda token: f"/pay/stk/{token}"),
        "c2b": st.builds(
            lambda slug, token, end: f"/pay/c2b/{slug}/{token}/{end}",
            slugs,
            tokens,
            st.sampled_from(["confirm", "validate"]),
        ),
        "paystack": slugs.map(lambda slug: f"/pay/paystack/{slug}"),
        "return": st.builds(
            lambda slug, key, ref: f"/pay/paystack/{slug}/return?{key}={ref}",
            slugs,
            st.sampled_from(["reference", "trxref", "other"]),
            references,
        ),
        "sms_reports": slugs.map(lambda slug: f"/notify/sms/{slug}/reports"),  # unsigned: they only record a status
        "health": st.sampled_from(["/healthz", "/readyz", "/metrics", "/", "/tg", "/pay/stk/", "/%ff%fe"]),
    }


def _unauthenticated(stage: Stage) -> st.SearchStrategy[hs.Request]:
    paths = _paths(stage)
    wrong_secret = st.one_of(
        st.just(None),
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E)),
        st.just(stage.other.webhook_secret),
    )

    @st.composite
    def request(draw: st.DrawFn) -> hs.Request:
        route = draw(st.sampled_from(sorted(paths)))
        shapes = {
            "telegram": hs.telegram_updates(CHAT),
            "stk": hs.stk_callbacks(),
            "c2b": hs.c2b_notifications(),
            "paystack": hs.paystack_events(),
        }
        body = hs.bodies(*([shapes[route]] if route in shapes else []))
        headers: dict[str, str] = {}
        if route == "telegram" and (secret := draw(wrong_secret)) is not None:
            headers[SECRET_HEADER] = secret
        if route == "paystack" and draw(st.booleans()):
            headers[SIGNATURE_HEADER] = sign(b"something else", PAYSTACK_KEY)
        path = paths[route]
        if route == "telegram" and headers.get(SECRET_HEADER) == stage.other.webhook_secret:
            path = path.filter(lambda where: where != f"/tg/{stage.other.slug}")  # its own secret is a credential
        return draw(hs.requests(path, body, headers))

    return request()


@given(data=st.data())
async def test_no_request_without_a_credential_gets_a_5xx_or_changes_a_row(stage: Stage, data: st.DataObject) -> None:
    request = data.draw(_unauthenticated(stage))
    if not stage.spent():
        await unchanged(stage, request)


@given(data=st.data())
async def test_telegram_updates_with_the_right_secret(stage: Stage, data: st.DataObject) -> None:
    path = f"/tg/{stage.shop.slug}"
    secret = {SECRET_HEADER: stage.shop.webhook_secret}
    body = data.draw(st.one_of(hs.telegram_updates(CHAT), hs.bodies()))
    request = data.draw(hs.requests(st.just(path), st.just(body), secret))
    if stage.spent():
        return
    encoded = request.headers.get("Content-Encoding", "identity") != "identity"
    if _outside_64_bits(body) or request.method != "POST" or encoded:
        status, _ = await unchanged(stage, request)
        assert status in {400, 405, 415}, (status, request)
    else:
        await answered(stage, request)
    await _no_lone_surrogates_stored(stage.server.database)


@given(data=st.data())
async def test_mpesa_callbacks_with_a_valid_token(stage: Stage, data: st.DataObject) -> None:
    base = f"/pay/c2b/{stage.shop.slug}/{stage.c2b_token}"
    paths = st.sampled_from([f"/pay/stk/{stage.stk_token}", f"{base}/confirm", f"{base}/validate"])
    request = data.draw(hs.requests(paths, hs.bodies(hs.stk_callbacks(), hs.c2b_notifications())))
    if not stage.spent():
        await answered(stage, request)


@given(data=st.data())
async def test_paystack_webhooks_with_a_valid_signature(stage: Stage, data: st.DataObject) -> None:
    body = data.draw(hs.bodies(hs.paystack_events()))
    signed = {SIGNATURE_HEADER: sign(body, PAYSTACK_KEY)}
    request = data.draw(hs.requests(st.just(f"/pay/paystack/{stage.shop.slug}"), st.just(body), signed))
    if not stage.spent():
        await answered(stage, request)


def _outside_64_bits(body: bytes) -> bool:
    """Whether ``body`` is JSON holding an integer no Telegram update holds."""
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        return False
    stack: list[Any] = [decoded]
    while stack:
        value = stack.pop()
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            return True
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
    return False


async def _no_lone_surrogates_stored(database: Database) -> None:
    async with database.uow() as uow:
        names = list(await uow.session.scalars(select(Customer.display_name)))
        contacts = list(await uow.session.scalars(select(Order.contact_name)))
        references = list(await uow.session.scalars(select(Payment.reference)))
    for text in [*names, *contacts, *references]:
        text.encode("utf-8")  # raises on a lone surrogate
