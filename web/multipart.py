"""Posted multipart form data (RFC 7578), parsed with the standard library: text fields and files.

Pages that take a file (a school's evidence documents, the council's register files) read the
body here, within a size they choose, and check the form's CSRF token as any form's.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser

from fastapi import Request

from web.kit import Form, FormExpired, Kit
from web.session import CSRF_COOKIE, CSRF_FIELD


@dataclass(frozen=True)
class UploadedFile:
    """One file of a form: the field it came in, its name as the person knows it, and its bytes."""

    field: str
    filename: str
    content: bytes


class TooLarge(Exception):
    """The body is over the size the page accepts; nothing was read past it."""


def parse_form_data(content_type: str, body: bytes) -> tuple[dict[str, list[str]], list[UploadedFile]]:
    """Text fields by name, and each non-empty file (its name without any folder a browser sent)."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        return {}, []  # no fields, so no CSRF token: refused as any form without one
    fields: dict[str, list[str]] = {}
    files: list[UploadedFile] = []
    for part in (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break  # the closing delimiter
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = headers.get_param("filename", header="content-disposition")
        if isinstance(filename, str):
            if filename or content:
                # Older browsers send the whole path; the person knows the file by its own name.
                files.append(UploadedFile(name, filename.replace("\\", "/").rsplit("/", 1)[-1], content))
        else:
            fields.setdefault(name, []).append(content.decode("utf-8", "replace"))
    return fields, files


async def read_form_data(kit: Kit, request: Request, max_bytes: int) -> tuple[Form, list[UploadedFile]]:
    """A multipart form of at most ``max_bytes`` (``TooLarge`` past it), its CSRF token checked."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise TooLarge
    fields, files = parse_form_data(request.headers.get("content-type", ""), bytes(body))
    if not kit.signer.csrf_matches(request.cookies.get(CSRF_COOKIE), (fields.get(CSRF_FIELD) or [""])[0]):
        raise FormExpired
    return Form({name: values[0] for name, values in fields.items()}, fields), files
