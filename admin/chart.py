"""A small bar chart as PNG bytes, drawn on the server with Pillow (no fonts to install: Pillow's default font)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 640, 320
_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 56, 16, 36, 40
_BAR = (46, 125, 50)
_PENDING = (255, 183, 77)
_AXIS = (90, 90, 90)


def bar_chart(title: str, labels: Sequence[str], paid: Sequence[int], pending: Sequence[int] | None = None) -> bytes:
    """Stacked bars (paid, then pending on top) for each label; values are any non-negative integers."""
    pending = pending or [0] * len(paid)
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    draw.text((_MARGIN_LEFT, 10), title, fill=(0, 0, 0), font=font)
    left, top = _MARGIN_LEFT, _MARGIN_TOP
    right, bottom = WIDTH - _MARGIN_RIGHT, HEIGHT - _MARGIN_BOTTOM
    draw.line([(left, top), (left, bottom), (right, bottom)], fill=_AXIS, width=1)
    highest = max([p + q for p, q in zip(paid, pending, strict=True)] + [1])
    draw.text((4, top), _short(highest), fill=_AXIS, font=font)
    draw.text((4, bottom - 10), "0", fill=_AXIS, font=font)
    count = max(len(labels), 1)
    slot = (right - left) / count
    width = max(2.0, slot * 0.7)
    every = max(1, count // 12)  # at most about 12 labels under the axis
    for index, (label, done, waiting) in enumerate(zip(labels, paid, pending, strict=True)):
        x0 = left + index * slot + (slot - width) / 2
        paid_top = bottom - (bottom - top) * done / highest
        pending_top = paid_top - (bottom - top) * waiting / highest
        if done:
            draw.rectangle([(x0, paid_top), (x0 + width, bottom - 1)], fill=_BAR)
        if waiting:
            draw.rectangle([(x0, pending_top), (x0 + width, paid_top)], fill=_PENDING)
        if index % every == 0:
            draw.text((x0, bottom + 6), label[:6], fill=_AXIS, font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _short(value: int) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    return str(value)
