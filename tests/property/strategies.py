"""Hostile HTTP requests, generated: bodies, headers and encodings as an attacker, a broken proxy or a provider having
a bad day would send them, with the known poison cases (deep JSON, huge exponents, bad gzip, integers past 64 bits,
lone surrogates) drawn often enough to be hit in a short run."""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

NASTY_NUMBERS = [
    "1e310",
    "1e999999",
    "1e999",
    "-1e999",
    "1e-999999",
    "1E+999999999",
    "9" * 5000,
    "NaN",
    "Infinity",
    "-Infinity",
    "-0",
    "0.0000000001",
    str(2**63),
    str(-(2**63) - 1),
    str(2**64),
    "1.5",
    "²",
    "٣",
]
NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "\ud800",
    "a\udfffb",
    "\ud83d",
    "😀",
    "0 OR 1",
    "'; DROP TABLE orders; --",
    "%00",
    "../../etc/passwd",
    "\u202e",
    "A" * 5000,
]
CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "text/plain",
    "text/html",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/octet-stream",
    "garbage/x",
    "",
]
ENCODINGS = ["identity", "gzip", "GZIP", "x-gzip", "deflate", "br", "zstd", "compress", "gzip, identity", "bogus"]
METHODS = ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
INT64_MAX = 2**63 - 1


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value, with numbers and strings that break naive parsers."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=40),
        st.sampled_from(NASTY_STRINGS),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
        max_leaves=max_leaves,
    )


def dumps(value: Any) -> bytes:
    """JSON bytes; lone surrogates are escaped by json.dumps, so they survive as \\udXXX escapes."""
    return json.dumps(value).encode()


@st.composite
def deep_json(draw: st.DrawFn) -> bytes:
    depth = draw(st.sampled_from([100, 1_000, 20_000, 100_000]))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}"), (b'{"Body":', b"}")]))
    return opener * depth + b"1" + closer * depth


def raw_number_json(template: str) -> st.SearchStrategy[bytes]:
    """``template`` with ``{n}`` replaced by a nasty number, once as a JSON string and once as a bare literal."""
    numbers = st.sampled_from(NASTY_NUMBERS)
    as_string = numbers.map(lambda n: template.replace("{n}", json.dumps(n)).encode())
    as_literal = numbers.filter(lambda n: n[0] in "-0123456789").map(lambda n: template.replace("{n}", n).encode())
    return st.one_of(as_string, as_literal)


def bodies(*shapes: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """A body: random bytes, random JSON, deep JSON, empty, or one of the route's own ``shapes``."""
    return st.one_of(
        st.just(b""),
        st.binary(max_size=512),
        json_values().map(dumps),
        deep_json(),
        st.sampled_from(
            [b"{}", b"[]", b"null", b"1", b'"x"', b"{", b"\xff\xfe", b'{"a": 1e999}', b'{"a": NaN}', b'"\\ud800"']
        ),
        *shapes,
    )


@dataclass(repr=False)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False

    def __repr__(self) -> str:  # bodies can be huge: show their start only
        return f"Request({self.method} {self.path!r}, {len(self.body)} bytes {self.body[:80]!r}, {self.headers})"


GZIP_BOMB = gzip.compress(b"\0" * (16 * 1024 * 1024))  # 16 MB of zeros in ~16 KB


@st.composite
def encoded(draw: st.DrawFn, body: bytes) -> tuple[bytes, dict[str, str]]:
    """``body`` as sent with a Content-Encoding, maybe really encoded, maybe a lie, maybe a bomb."""
    encoding = draw(st.sampled_from(ENCODINGS)) if draw(st.integers(0, 3)) == 0 else None
    if encoding is None:
        return body, {}
    form = draw(st.sampled_from(["as is", "gzip", "deflate", "bomb", "truncated"]))
    if form == "gzip":
        body = gzip.compress(body)
    elif form == "deflate":
        body = zlib.compress(body)
    elif form == "bomb":
        body = GZIP_BOMB
    elif form == "truncated":
        body = gzip.compress(body)[: max(1, len(body) // 2)]
    return body, {"Content-Encoding": encoding}


@st.composite
def requests(
    draw: st.DrawFn,
    paths: st.SearchStrategy[str],
    body: st.SearchStrategy[bytes],
    headers: dict[str, str] | None = None,
) -> Request:
    """A request to one of ``paths``: a generated method, body, content type, encoding and extra headers."""
    method = "POST" if draw(st.integers(0, 5)) else draw(st.sampled_from(METHODS))
    payload, sent_headers = draw(encoded(draw(body)))
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type is not None:
        sent_headers["Content-Type"] = content_type
    extra = draw(
        st.dictionaries(
            st.sampled_from(["X-Forwarded-For", "Accept-Encoding", "X-Paystack-Signature", "Expect", "Accept"]),
            st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
            max_size=2,
        )
    )
    sent_headers.update({name: value for name, value in extra.items() if name != "Expect" or value == "100-continue"})
    sent_headers.update(headers or {})
    return Request(method, draw(paths), payload, sent_headers, chunked=draw(st.booleans()))


# --- what each route expects, to get past its first checks ---


def telegram_updates(chat_id: int) -> st.SearchStrategy[bytes]:
    """Update-shaped bodies with ids of any size and texts with lone surrogates."""
    ids = st.one_of(
        st.integers(min_value=1, max_value=2**31),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from([INT64_MAX, INT64_MAX + 1, -(2**63), -(2**63) - 1, 2**64, 10**30]),
    )
    # The chat is one the fake Bot API knows (a reply to any other fails, as it would at Telegram), or no chat at all.
    own = st.one_of(st.just(chat_id), st.sampled_from([INT64_MAX + 1, -(2**63) - 1, 2**64, 10**30]))
    texts = st.one_of(st.text(max_size=60), st.sampled_from(NASTY_STRINGS), st.sampled_from(["/start", "/cart"]))

    @st.composite
    def update(draw: st.DrawFn) -> bytes:
        user = {"id": draw(own), "is_bot": False, "first_name": draw(texts)}
        if draw(st.booleans()):
            user["last_name"] = draw(texts)
        chat = {"id": draw(own), "type": "private"}
        message: dict[str, Any] = {"message_id": draw(ids), "date": 1_700_000_000, "chat": chat, "from": user}
        kind = draw(st.sampled_from(["text", "caption", "contact", "callback", "document", "inline"]))
        body: dict[str, Any] = {"update_id": draw(ids)}
        if kind == "text":
            message["text"] = draw(texts)
        elif kind == "caption":
            message["caption"] = draw(texts)
            message["photo"] = [{"file_id": draw(texts), "file_unique_id": "u", "width": 1, "height": 1}]
        elif kind == "contact":
            message["contact"] = {"phone_number": draw(texts), "first_name": draw(texts), "user_id": draw(ids)}
        elif kind == "document":
            message["document"] = {"file_id": "f", "file_unique_id": "u", "file_size": draw(ids)}
        if kind == "inline":  # "@shopbot words": the words and the offset are the asker's to forge
            offsets = st.one_of(st.just(""), texts, st.integers(min_value=-(10**30), max_value=10**30).map(str))
            words = st.one_of(texts, st.just("sukuma " * 800))  # longer than any app sends
            inline = {"id": draw(texts) or "i", "from": user, "query": draw(words), "offset": draw(offsets)}
            body["inline_query"] = inline
        elif kind == "callback":
            body["callback_query"] = {
                "id": draw(texts) or "q",
                "from": user,
                "chat_instance": "c",
                "data": draw(texts),
                "message": message,
            }
        else:
            body["message"] = message
        return dumps(body)

    return update()


def stk_callbacks() -> st.SearchStrategy[bytes]:
    template = (
        '{"Body": {"stkCallback": {"MerchantRequestID": "m", "CheckoutRequestID": "c", "ResultCode": RC,'
        ' "ResultDesc": "d", "CallbackMetadata": {"Item": [{"Name": "Amount", "Value": {n}},'
        ' {"Name": "MpesaReceiptNumber", "Value": "QK7ABC1234"}, {"Name": "TransactionDate", "Value": TD},'
        ' {"Name": "PhoneNumber", "Value": 254712345678}]}}}}'
    )
    codes = st.sampled_from(['"0"', "0", "1032", '"0 OR 1"', "1e999999999", "-0", "null", '"\\ud800"'])
    dates = st.sampled_from(["20241231235959", "1e999999999", '"\\u0000"', "99999999999999", "null"])
    return st.builds(
        lambda body, code, date: body.replace(b"RC", code.encode()).replace(b"TD", date.encode()),
        raw_number_json(template),
        codes,
        dates,
    )


def c2b_notifications() -> st.SearchStrategy[bytes]:
    template = (
        '{"TransactionType": "Pay Bill", "TransID": "TX", "TransTime": "20241231235959", "TransAmount": {n},'
        ' "BusinessShortCode": "174379", "BillRefNumber": "REF", "OrgAccountBalance": "1.00",'
        ' "MSISDN": "254712345678", "FirstName": "NAME"}'
    )
    nasty = st.sampled_from([s.replace("\\", "\\\\").replace('"', '\\"') for s in NASTY_STRINGS if "\x00" not in s])
    return st.builds(
        lambda body, tx, ref, name: (
            body.replace(b'"TX"', json.dumps(tx).encode())
            .replace(b'"REF"', json.dumps(ref).encode())
            .replace(b'"NAME"', json.dumps(name).encode())
        ),
        raw_number_json(template),
        st.one_of(st.text(max_size=12), nasty),
        st.one_of(st.text(max_size=12), nasty),
        st.one_of(st.text(max_size=12), nasty),
    )


def paystack_events() -> st.SearchStrategy[bytes]:
    template = (
        '{"event": EV, "data": {"id": ID, "reference": "fuzz-ref", "status": "success", "amount": {n},'
        ' "currency": "KES", "metadata": META, "paid_at": "2024-08-22T09:15:02.000Z"}}'
    )
    events = st.sampled_from(['"charge.success"', '"refund.processed"', '"refund.failed"', '"transfer.success"', "1"])
    ids = st.sampled_from(["1", '"²"', '"' + "9" * 5000 + '"', str(2**64), str(2**70), "-1", "null"])
    metas = st.sampled_from(['""', "0", "null", '{"order": 1}', json.dumps("[" * 10_000 + "]" * 10_000)])
    return st.builds(
        lambda body, ev, id_, meta: (
            body.replace(b"EV", ev.encode()).replace(b"ID", id_.encode()).replace(b"META", meta.encode())
        ),
        raw_number_json(template),
        events,
        ids,
        metas,
    )
