"""parse_mode handling: turns formatted text into Telegram's plain text plus entities, or fails like Telegram.

Telegram returns (and users see) the text without markup, so tests read `message.text` as plain text. Markup
mistakes are a classic production failure (an unescaped "." in MarkdownV2, a bare "<" in HTML from a product
name), so the fake rejects them with Telegram's "can't parse entities" error instead of letting them through.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import ApiError, bad_request

MARKDOWN_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")

_HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ATTRIBUTE = re.compile(r"""([a-zA-Z][\w-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_HTML_ENTITY = re.compile(r"&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")

_MARKDOWN_V2_MARKERS: dict[str, str] = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}


def utf16_len(text: str) -> int:
    """Entity offsets and lengths are counted in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def parse_formatted(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities for `text` sent with `parse_mode` (None or "" means no formatting)."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return _HtmlParser(text).parse()
    if mode == "markdownv2":
        return _MarkdownV2Parser(text).parse()
    if mode == "markdown":
        return _LegacyMarkdownParser(text).parse()
    raise bad_request(f"unsupported parse_mode {parse_mode}")


def _byte_offset(source: str, position: int) -> int:
    """Telegram reports parse errors at byte offsets of the UTF-8 text."""
    return len(source[:position].encode())


def _entities_error(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


@dataclass
class _Open:
    """An entity whose start has been read and whose end has not."""

    marker: str
    offset: int
    extra: dict[str, Any] = field(default_factory=dict)


class _EntityBuilder:
    """Collects plain text and entities while a parser walks the formatted source."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.entities: list[dict[str, Any]] = []
        self._offset = 0

    @property
    def offset(self) -> int:
        return self._offset

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self._offset += utf16_len(chunk)

    def close(self, entity_type: str, start: int, extra: dict[str, Any] | None = None) -> None:
        length = self._offset - start
        if length > 0:  # Telegram drops empty entities instead of failing
            self.entities.append({"type": entity_type, "offset": start, "length": length, **(extra or {})})

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.parts), self.entities


class _HtmlParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.out = _EntityBuilder()
        self.stack: list[_Open] = []

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        position = 0
        while position < len(self.source):
            char = self.source[position]
            if char == "<":
                position = self._tag(position)
            elif char == "&":
                position = self._entity(position)
            else:
                self.out.add(char)
                position += 1
        if self.stack:
            raise _entities_error(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].marker}"')
        return self.out.result()

    def _byte_offset(self, position: int) -> int:
        return _byte_offset(self.source, position)

    def _entity(self, position: int) -> int:
        match = _HTML_ENTITY.match(self.source, position)
        decoded = html.unescape(match.group(0)) if match else "&"
        if match is None or decoded == match.group(0):
            self.out.add("&")  # Telegram keeps an "&" that starts no known entity
            return position + 1
        self.out.add(decoded)
        return match.end()

    def _tag(self, position: int) -> int:
        end = self.source.find(">", position)
        if end == -1:
            raise _entities_error(f"Unclosed start tag at byte offset {self._byte_offset(position)}")
        inner = self.source[position + 1 : end]
        if inner.startswith("/"):
            self._end_tag(inner[1:].strip().lower(), position)
        else:
            self._start_tag(inner, position)
        return end + 1

    def _start_tag(self, inner: str, position: int) -> None:
        name = re.match(r"[a-zA-Z][\w-]*", inner)
        tag = name.group(0).lower() if name else ""
        # findall yields "" for the value groups that did not match; a bare attribute (expandable) has none.
        attributes = {
            key.lower(): next((value for value in values if value), "")
            for key, *values in _HTML_ATTRIBUTE.findall(inner, len(tag))
        }
        if tag not in _HTML_TAGS or (tag == "span" and attributes.get("class") != "tg-spoiler"):
            raise _entities_error(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset(position)}')
        self.stack.append(_Open(tag, self.out.offset, attributes))

    def _end_tag(self, tag: str, position: int) -> None:
        if not self.stack:
            raise _entities_error(f"Unexpected end tag at byte offset {self._byte_offset(position)}")
        opened = self.stack.pop()
        if opened.marker != tag:
            raise _entities_error(
                f"Unmatched end tag at byte offset {self._byte_offset(position)}, "
                f'expected "</{opened.marker}>", found "</{tag}>"'
            )
        entity_type, extra = _HTML_TAGS[tag], self._entity_fields(opened)
        if tag == "code" and self.stack and self.stack[-1].marker == "pre":
            # <pre><code class="language-x"> is one pre entity with a language, not two entities.
            self.stack[-1].extra.update(extra)
            return
        if tag == "blockquote" and "expandable" in opened.extra:
            entity_type = "expandable_blockquote"
        self.out.close(entity_type, opened.offset, extra)

    @staticmethod
    def _entity_fields(opened: _Open) -> dict[str, Any]:
        if opened.marker == "a":
            return {"url": html.unescape(opened.extra.get("href", ""))}
        if opened.marker == "tg-emoji":
            return {"custom_emoji_id": opened.extra.get("emoji-id", "")}
        if opened.marker == "pre" and "language" in opened.extra:
            return {"language": opened.extra["language"]}
        if opened.marker == "code" and opened.extra.get("class", "").startswith("language-"):
            return {"language": opened.extra["class"].removeprefix("language-")}
        return {}


class _MarkdownV2Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.out = _EntityBuilder()
        self.stack: list[_Open] = []
        self.quote_start: int | None = None

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        position = 0
        while position < len(self.source):
            position = self._step(position)
        self._end_quote()
        if self.stack:
            opened = self.stack[-1]
            name = "text URL" if opened.marker == "[" else _MARKDOWN_V2_MARKERS[opened.marker]
            raise _entities_error(f"Can't find end of {name} entity at byte offset {opened.extra['byte_offset']}")
        return self.out.result()

    def _byte_offset(self, position: int) -> int:
        return _byte_offset(self.source, position)

    def _step(self, position: int) -> int:
        source, char = self.source, self.source[position]
        if char == "\\" and position + 1 < len(source):
            self.out.add(source[position + 1])
            return position + 2
        if char == "`":
            return self._code(position)
        if char == ">" and (position == 0 or source[position - 1] == "\n"):
            if self.quote_start is None:
                self.quote_start = self.out.offset
            return position + 1
        if char == "\n" and not source.startswith(">", position + 1):
            self._end_quote()
        for marker in ("__", "||", "*", "_", "~"):
            if source.startswith(marker, position):
                self._toggle(marker, position)
                return position + len(marker)
        if char == "[":
            self.stack.append(_Open("[", self.out.offset, {"byte_offset": self._byte_offset(position)}))
            return position + 1
        if char == "]" and self.stack and self.stack[-1].marker == "[":
            return self._link_end(position)
        if char in MARKDOWN_V2_RESERVED:
            raise _entities_error(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")
        self.out.add(char)
        return position + 1

    def _end_quote(self) -> None:
        """A quote runs over consecutive lines starting with ">"."""
        if self.quote_start is not None:
            self.out.close("blockquote", self.quote_start)
            self.quote_start = None

    def _toggle(self, marker: str, position: int) -> None:
        if self.stack and self.stack[-1].marker == marker:
            opened = self.stack.pop()
            self.out.close(_MARKDOWN_V2_MARKERS[marker], opened.offset)
        else:
            self.stack.append(_Open(marker, self.out.offset, {"byte_offset": self._byte_offset(position)}))

    def _link_end(self, position: int) -> int:
        if not self.source.startswith("(", position + 1):
            raise _entities_error("Character ']' is reserved and must be escaped with the preceding '\\'")
        url, after = self._until(position + 2, ")")
        opened = self.stack.pop()
        self.out.close("text_link", opened.offset, {"url": url})
        return after

    def _code(self, position: int) -> int:
        if self.source.startswith("```", position):
            body, after = self._until(position + 3, "```")
            language, newline, code = body.partition("\n")
            start = self.out.offset
            self.out.add(code if newline else body)
            self.out.close("pre", start, {"language": language} if newline and language else None)
            return after
        body, after = self._until(position + 1, "`")
        start = self.out.offset
        self.out.add(body)
        self.out.close("code", start)
        return after

    def _until(self, position: int, terminator: str) -> tuple[str, int]:
        """Reads up to `terminator`, honouring backslash escapes (the only escapes allowed in code and URLs)."""
        chunks: list[str] = []
        while position < len(self.source):
            if self.source.startswith(terminator, position):
                return "".join(chunks), position + len(terminator)
            if self.source[position] == "\\" and position + 1 < len(self.source):
                position += 1
            chunks.append(self.source[position])
            position += 1
        raise _entities_error(
            f"Can't find end of the entity starting at byte offset {_byte_offset(self.source, position)}"
        )


class _LegacyMarkdownParser:
    """The old "Markdown" mode: *bold*, _italic_, `code`, ```pre``` and [text](url); entities cannot nest."""

    _MARKERS: ClassVar[dict[str, str]] = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}

    def __init__(self, source: str) -> None:
        self.source = source
        self.out = _EntityBuilder()

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        position = 0
        while position < len(self.source):
            position = self._step(position)
        return self.out.result()

    def _step(self, position: int) -> int:
        source = self.source
        if source[position] == "\\" and source[position + 1 : position + 2] in {"*", "_", "`", "["}:
            self.out.add(source[position + 1])
            return position + 2
        if source[position] == "[":
            return self._link(position)
        marker = "```" if source.startswith("```", position) else source[position]
        if marker not in self._MARKERS:
            self.out.add(source[position])
            return position + 1
        end = source.find(marker, position + len(marker))
        if end == -1:
            raise _entities_error(
                f"Can't find end of the entity starting at byte offset {_byte_offset(source, position)}"
            )
        start = self.out.offset
        self.out.add(source[position + len(marker) : end])
        self.out.close(self._MARKERS[marker], start)
        return end + len(marker)

    def _link(self, position: int) -> int:
        match = re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(self.source, position)
        if match is None:
            self.out.add("[")
            return position + 1
        start = self.out.offset
        self.out.add(match.group(1))
        self.out.close("text_link", start, {"url": match.group(2)})
        return match.end()
