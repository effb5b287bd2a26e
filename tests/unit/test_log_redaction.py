"""The logs' last line of defence: a secret's shape is masked wherever it stands, a bot token inside a Bot API URL
too (python-telegram-bot and httpx log the URLs they call, and those carry ``/bot<token>/``)."""

from __future__ import annotations

from core.logs import redact

TOKEN = "8100124:AAH0KSMC8su1pp-cSWha9hiqKiv4c_I9BkR"


def test_a_bot_token_is_masked_alone_and_inside_a_bot_api_url() -> None:
    assert redact(f"token {TOKEN} refused") == "token [redacted] refused"
    assert (
        redact(f"Set Bot API URL: http://127.0.0.1:37493/bot{TOKEN}")
        == "Set Bot API URL: http://127.0.0.1:37493/bot[redacted]"
    )
    assert redact(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage") == (
        "POST https://api.telegram.org/bot[redacted]/sendMessage"
    )
    quoted = TOKEN.replace(":", "%3A")  # httpx logs a file's URL with the colon escaped
    assert redact(f"GET http://127.0.0.1:9/file/bot{quoted}/photos/file_2.jpg") == (
        "GET http://127.0.0.1:9/file/bot[redacted]/photos/file_2.jpg"
    )


def test_ids_and_amounts_are_left_alone() -> None:
    line = "order K7Q2XA paid 42000 at 2026-12-05T03:40:18 by chat 810012400"
    assert redact(line) == line
