"""Reading method parameters the way the Bot API accepts them.

Telegram takes parameters from the query string, a JSON body, an urlencoded form or a multipart form, and the
same method call may mix them. In forms every value is a string: aiogram JSON-encodes anything that is not already
a string (numbers, booleans, reply_markup) and sends uploads as file parts referenced as ``attach://<part name>``
(see ``aiogram/client/session/base.py:prepare_value``). So values are kept as received and converted only when a
method asks for a typed value, which is also how the real server treats them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web

from .errors import ApiError, bad_request

ATTACH_PREFIX = "attach://"


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """The parameters of one method call, with typed accessors that fail like Telegram does."""

    def __init__(self, values: Mapping[str, Any], files: Mapping[str, UploadedFile] | None = None) -> None:
        self._values = dict(values)
        self._files = dict(files or {})

    def __contains__(self, name: str) -> bool:
        return name in self._values or name in self._files

    def raw(self, name: str) -> Any:
        return self._values.get(name)

    def string(self, name: str) -> str | None:
        value = self._values.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        raise bad_request(f'field "{name}" must be of type String')

    def integer(self, name: str) -> int | None:
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f'field "{name}" must be of type Integer')
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f'field "{name}" must be of type Integer') from None

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in {"true", "1"}

    def json(self, name: str, what: str) -> Any:
        """A structured value: native in a JSON body, a JSON-encoded string in forms and query strings."""
        value = self._values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what} JSON object") from None

    def upload(self, name: str) -> UploadedFile | str | None:
        """An InputFile parameter: an uploaded part, or a string (file_id or HTTP URL) for Telegram to resolve.

        Uploads arrive either as a part named like the parameter or, as aiogram sends them, as a string
        ``attach://<part>`` naming another part.
        """
        if name in self._files:
            return self._files[name]
        value = self.string(name)
        if value is not None and value.startswith(ATTACH_PREFIX):
            part = self._files.get(value.removeprefix(ATTACH_PREFIX))
            if part is None:
                raise bad_request(f"file {value} not found in the request")
            return part
        return value

    def summary(self) -> dict[str, Any]:
        """The parameters for `ApiCall` records; upload bodies are described instead of kept."""
        summary = dict(self._values)
        for name, part in self._files.items():
            summary[name] = f"<upload {part.filename or name}, {len(part.data)} bytes>"
        return summary


async def read_request(request: web.Request) -> Params:
    """All parameters of an incoming Bot API request; body values win over the query string, as in Telegram."""
    values: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.can_read_body:
        if request.content_type == "application/json":
            values.update(await _read_json_object(request))
        elif request.content_type == "multipart/form-data":
            form, files = await read_multipart(await request.multipart())
            values.update(form)
        elif request.content_type == "application/x-www-form-urlencoded":
            form_data = await request.post()
            values.update({key: value for key, value in form_data.items() if isinstance(value, str)})
    return Params(values, files)


async def read_multipart(reader: MultipartReader) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Splits a multipart body into plain fields and uploaded files.

    Shared by incoming requests and by webhook answers that carry a method call (aiogram's reply-in-webhook).
    """
    values: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue  # nested multiparts and nameless parts carry no Bot API parameter
        data = bytes(await part.read(decode=True))
        if part.filename is None:
            values[part.name] = data.decode(part.get_charset("utf-8"))
        else:
            files[part.name] = UploadedFile(part.name, part.filename, part.headers.get("Content-Type"), data)
    return values, files


async def _read_json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise bad_request("can't parse JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Bad Request: JSON object expected")
    return body
