"""An SMS text made to fit one message of the GSM 7-bit alphabet (160 septets).

A single character outside GSM 03.38's alphabet sends the whole message as UCS-2, whose limit is 70 characters: a
receipt would then cost two or three messages. So a text is brought into the alphabet first: typographic punctuation
becomes its plain form, a letter with an accent the alphabet lacks loses the accent (``ç`` becomes ``c``; ``é`` and
``à`` are in the alphabet and stay), and whatever still does not fit (an emoji) is dropped. Then it is cut to 160
septets, counting the characters of the extension table (``€ [ ] { } \\ ~ ^ |``) as two, with "..." at the end of a
text that was cut. The catalog's SMS texts are written to fit well within this with a long shop name and amount."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

LIMIT: Final = 160
BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION: Final = frozenset("^{}\\[~]|€")
_PLAIN: Final = {
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "–": "-",
    "—": "-",
    "…": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "×": "x",
}
_CUT: Final = "..."


def septets(char: str) -> int:
    return 2 if char in EXTENSION else 1


def to_gsm(text: str) -> str:
    """``text`` in the GSM 7-bit alphabet (see the module)."""
    out: list[str] = []
    for char in text:
        if char in BASIC or char in EXTENSION:
            out.append(char)
            continue
        plain = _PLAIN.get(char)
        if plain is None:
            plain = "".join(c for c in unicodedata.normalize("NFKD", char) if c in BASIC or c in EXTENSION)
        out.append(plain)
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def fit(text: str, limit: int = LIMIT) -> str:
    """``text`` in the GSM alphabet, in at most ``limit`` septets."""
    text = to_gsm(text)
    if sum(septets(c) for c in text) <= limit:
        return text
    room = limit - len(_CUT)
    used = 0
    kept: list[str] = []
    for char in text:
        used += septets(char)
        if used > room:
            break
        kept.append(char)
    return "".join(kept).rstrip() + _CUT
