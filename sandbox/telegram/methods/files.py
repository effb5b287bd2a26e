"""Files: resolving an InputFile parameter (an upload, a URL, a known file_id) and getFile."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..account import BotAccount
from ..errors import bad_request
from ..models import FileKind, StoredFile
from ..params import UploadedFile
from .registry import Call, method

MB = 1024 * 1024
DOWNLOAD_LIMIT = 20 * MB
PHOTO_UPLOAD_LIMIT = 10 * MB


def input_file(call: Call, field: str, kind: FileKind) -> StoredFile:
    """Resolves an InputFile parameter: an upload, an HTTP URL for Telegram to fetch, or a known file_id."""
    source = call.params.upload(field)
    if isinstance(source, UploadedFile):
        return store_upload(call.bot, source, kind)
    if not source:
        raise bad_request(f"there is no {field} in the request")
    if urlsplit(source).scheme in {"http", "https"}:
        # The fake never fetches URLs (it runs offline): the file exists, but its content is empty.
        file_name = (urlsplit(source).path.rsplit("/", 1)[-1] or None) if kind == "document" else None
        return call.bot.store_file(kind, b"", file_name=file_name, source_url=source)
    stored = call.bot.files.get(source)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
    return stored


def store_upload(bot: BotAccount, upload: UploadedFile, kind: FileKind) -> StoredFile:
    if kind == "photo":
        if len(upload.data) > PHOTO_UPLOAD_LIMIT:
            raise bad_request("PHOTO_SAVE_FILE_INVALID")
        return bot.store_file("photo", upload.data)  # Telegram re-encodes photos and forgets the file name
    content_type = upload.content_type if upload.content_type != "application/octet-stream" else None
    return bot.store_file(kind, upload.data, file_name=upload.filename, mime_type=content_type)


@method("getFile")
async def get_file(call: Call) -> Any:
    file_id = call.params.string("file_id")
    if not file_id:
        raise bad_request("file_id not specified")
    stored = call.bot.files.get(file_id)
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.size > DOWNLOAD_LIMIT:
        raise bad_request("file is too big")
    return stored.to_file()
