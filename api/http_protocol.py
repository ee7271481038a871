"""Uvicorn's httptools protocol, with a size limit and a deadline on each request's headers.

Uvicorn waits for a request's headers as long as a client likes (a connection that never finishes
its headers holds a socket for good), and httptools buffers headers of any size (an 8 MB header was
parsed and answered 200). This subclass guards the head of every request, and nothing else:

- Size: the bytes of the request line and headers are counted as they arrive, and the parser is fed
  no more than ``max_header_bytes`` of them; one byte more is answered ``431 Request Header Fields Too
  Large``. Bytes after the end of the headers are body and are not counted (the API's own body limit
  answers those), even when they arrive in the same read.
- Time: headers not complete ``header_timeout`` seconds after the connection was made, or, on a
  kept-alive connection, after the first byte of the next request, are answered ``408 Request
  Timeout``. (Between requests, uvicorn's keep-alive timeout closes an idle connection.) A connection
  that sent nothing at all is closed without an answer: there is no request to answer.

Both answers are problem+json and close the connection. If an earlier response on the connection is
still being written, an answer would land inside it, so the connection closes after that response
instead. One approximation: a pipelined request that starts in the same read as the end of the
request before it has that read's bytes fed uncounted (one read is at most 256 KiB); the limit
applies from the next read.

``funding-engine serve`` passes ``bounded_protocol(...)`` as uvicorn's ``http``; worker processes
unpickle it, which imports this module by name.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from api.errors import PROBLEM_JSON, TITLES

DEFAULT_MAX_HEADER_BYTES = 16 * 1024
DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_header_bytes = max_header_bytes
        self.header_timeout = header_timeout
        self.reading_head = True
        self.head_bytes = 0
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.reading_head:
            self._start_head_timer()
        while data:
            if not self.reading_head:
                super().data_received(data)
                return
            room = self.max_header_bytes - self.head_bytes
            if room <= 0:
                self._answer_and_close(
                    431,
                    "request-header-too-large",
                    f"the request line and headers are limited to {self.max_header_bytes} bytes",
                )
                return
            head, data = data[:room], data[room:]
            self.head_bytes += len(head)
            super().data_received(head)
            # Uvicorn drops the rest of a read after a parse error (400) or an upgrade; so do we.
            if self.parser is None or self.transport.is_closing() or self.parser.should_upgrade():
                return

    # Parser callbacks: httptools calls these (found on the instance) while fed.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        # A pipelined request can begin inside a read that arrived while no head was being read.
        self._start_head_timer()

    def on_headers_complete(self) -> None:
        self.reading_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.reading_head = True
        self.head_bytes = 0

    def _start_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is None and self.head_bytes == 0:
            self.transport.close()
            return
        self._answer_and_close(
            408, "request-timeout", f"the request line and headers did not arrive within {self.header_timeout:g} s"
        )

    def _answer_and_close(self, status: int, type_: str, detail: str) -> None:
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
            self.flow.pause_reading()
            return
        prefix = f"{self.client[0]}:{self.client[1]} - " if self.client else ""
        self.logger.warning("%sAnswered %d and closed the connection: %s", prefix, status, detail)
        body = json.dumps({"type": type_, "title": TITLES[type_], "status": status, "detail": detail}).encode()
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: " + PROBLEM_JSON.encode() + b"\r\n",
                b"content-length: " + str(len(body)).encode() + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()


def bounded_protocol(max_header_bytes: int, header_timeout_seconds: float) -> type[asyncio.Protocol]:
    """The protocol with these limits, for ``uvicorn.run(http=...)``.

    Uvicorn only calls what it is given, with keywords, so a partial stands in for a class; unlike a
    class made here, it pickles by reference for the worker processes.
    """
    factory = functools.partial(
        BoundedHttpToolsProtocol, max_header_bytes=max_header_bytes, header_timeout=header_timeout_seconds
    )
    return cast(type[asyncio.Protocol], factory)
