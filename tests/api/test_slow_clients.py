"""Slow and oversized request heads, against a real ``funding-engine serve`` over raw sockets.

A header that never finishes is answered 408 and the connection closed; a head over the limit is
answered 431 and closed before the server has read it; heads within the limit, and bodies after
them, are answered by the routes as before. Servers run with a 1 s header timeout so the tests are
quick; the test's own sockets wait 30 s, so a server that never answers fails the test, and nothing
here asserts how long anything took.
"""

from __future__ import annotations

import json
import socket
import subprocess
import uuid
import weakref
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from api.middleware import MAX_BODY_BYTES
from funding_engine.settings import Settings
from tests.api.conftest import SECRET, assert_problem, token
from tests.api.test_server import CLI, Server, environment, free_port, serve, servers, sqlite_url  # noqa: F401
from tests.conftest import STORES, _drop_schema, postgres_base_url
from tests.support import COUNCIL

HEADER_TIMEOUT = "1"
CLIENT_TIMEOUT = 30.0
LIMIT = 16 * 1024  # the default FUNDING_ENGINE_MAX_HEADER_BYTES


@dataclass
class Answer:
    """Just enough of an httpx response for ``assert_problem``, read off a raw socket."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


def start(started: list[Server], folder: Path, database_url: str, **options: Any) -> Server:
    settings = {"FUNDING_ENGINE_HEADER_TIMEOUT_SECONDS": HEADER_TIMEOUT}
    return serve(started, folder, database_url, settings=settings, **options)


@pytest.fixture(scope="module", params=STORES)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per store for the module: each test opens its own connections and leaves none behind."""
    folder = tmp_path_factory.mktemp(f"slow-clients-{request.param}")
    started: list[Server] = []
    if request.param == "sqlite":
        database_url, schema = sqlite_url(folder), None
    else:
        base, schema = postgres_base_url(), f"test_{uuid.uuid4().hex[:16]}"
        database_url = f"{base}{'&' if '?' in base else '?'}schema={schema}"
    try:
        yield start(started, folder, database_url)
    finally:
        for process in started:
            process.kill_if_running()
        if schema is not None:
            _drop_schema(base, schema)


@contextmanager
def connect(server: Server) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=CLIENT_TIMEOUT) as sock:
        yield sock


class _Answers:
    """Answers read off one connection in turn. One buffer per connection: a reader made per answer
    (http.client's is) may read ahead into the next pipelined answer and then drop it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"the server closed the connection; unread: {self.buffer!r}")
        self.buffer += chunk

    def next(self) -> Answer:
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in header_lines)}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._more()
        content, self.buffer = self.buffer[:length], self.buffer[length:]
        return Answer(int(status_line.split()[1]), headers, content)


_answers: weakref.WeakKeyDictionary[socket.socket, _Answers] = weakref.WeakKeyDictionary()


def read_answer(sock: socket.socket) -> Answer:
    if sock not in _answers:
        _answers[sock] = _Answers(sock)
    return _answers[sock].next()


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server has closed the connection (end of stream, or a reset)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def request_head(method: str, path: str, headers: dict[str, str], size: int) -> bytes:
    """A request line and headers of exactly ``size`` bytes, padded with one more header."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{name}: {value}" for name, value in headers.items())]
    head = ("\r\n".join(lines) + "\r\nX-Padding: ").encode()
    padding = size - len(head) - len(b"\r\n\r\n")
    assert padding > 0
    return head + b"p" * padding + b"\r\n\r\n"


def healthz_answers(server: Server) -> bool:
    with server.client() as client:
        return client.get("/healthz").status_code == 200


# =================================================================================================
# Headers that never finish: 408
# =================================================================================================


STALLED = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Still-Typing: ab"


def assert_answered_408_and_closed(sock: socket.socket) -> None:
    answer = read_answer(sock)
    body = assert_problem(answer, 408, "request-timeout")
    assert "1 s" in body["detail"]
    assert answer.headers["connection"] == "close"
    assert closed_by_server(sock)


def test_a_header_that_never_finishes_is_answered_408_and_the_connection_closed(server):
    with connect(server) as sock:
        sock.sendall(STALLED)
        assert_answered_408_and_closed(sock)
    assert healthz_answers(server)


def test_with_two_worker_processes_a_header_that_never_finishes_is_answered_408(
    database_url,
    tmp_path,
    servers,  # noqa: F811 - the fixture
):
    # Each worker process unpickles the protocol uvicorn was given, importing it by name.
    if database_url.startswith("sqlite"):
        database_url = sqlite_url(tmp_path)
    server = start(servers, tmp_path, database_url, workers=2)
    with ExitStack() as stack:
        socks = [stack.enter_context(connect(server)) for _ in range(6)]  # they may land on either worker
        for sock in socks:
            sock.sendall(STALLED)
        for sock in socks:
            assert_answered_408_and_closed(sock)
    assert healthz_answers(server)


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(server):
    with connect(server) as sock:
        assert sock.recv(1024) == b""
    assert healthz_answers(server)


def test_a_kept_alive_connection_that_stalls_in_its_next_request_is_answered_408_and_closed(server):
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = read_answer(sock)
        assert (first.status_code, first.json()) == (200, {"status": "ok"})
        assert first.headers.get("connection") != "close"
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Sti")
        assert_problem(read_answer(sock), 408, "request-timeout")
        assert closed_by_server(sock)


def test_an_idle_kept_alive_connection_is_closed_by_the_keep_alive_timeout_without_a_408(server):
    # Between requests no request is late: uvicorn's keep-alive timeout closes the connection silently,
    # and a client reusing it must never read a 408 it did not ask for.
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_answer(sock).status_code == 200
        assert sock.recv(1024) == b""


def test_pipelined_requests_are_still_answered_in_order(server):
    with connect(server) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            b"GET /clusters HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        answers = [read_answer(sock) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [200, 401, 200]
        assert closed_by_server(sock)


# =================================================================================================
# Heads over the limit: 431
# =================================================================================================


def test_an_8_mb_header_is_answered_431_without_being_read_and_the_server_serves_the_next_client(server):
    huge = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: " + b"a" * (8 * 1024 * 1024) + b"\r\n\r\n"
    sent = 0
    with connect(server) as sock:
        # A small send buffer: what the client manages to send is what the server took in, give or take
        # the kernel's buffers.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        try:
            for offset in range(0, len(huge), 64 * 1024):
                sock.sendall(huge[offset : offset + 64 * 1024])
                sent = offset + 64 * 1024
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while the header was still arriving
        answer = read_answer(sock)
        body = assert_problem(answer, 431, "request-header-too-large")
        assert str(LIMIT) in body["detail"]
        assert answer.headers["connection"] == "close"
        assert closed_by_server(sock)
    assert sent < len(huge), "the server read the whole 8 MB header before answering"
    assert healthz_answers(server)


def test_a_head_one_byte_over_the_limit_is_431_and_one_at_the_limit_is_answered(server):
    with connect(server) as sock:
        sock.sendall(request_head("GET", "/healthz", {}, LIMIT + 1))
        assert_problem(read_answer(sock), 431, "request-header-too-large")
        assert closed_by_server(sock)
    with connect(server) as sock:
        sock.sendall(request_head("GET", "/healthz", {}, LIMIT))
        answer = read_answer(sock)
        assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_a_head_at_the_limit_with_a_1_mib_body_in_the_same_write_gets_the_routes_answers(server):
    """Body bytes are not header bytes, even when they arrive in the same read as the end of the head."""
    cluster = json.dumps({"cluster_id": "wide-open", "name": "Wide Open"}).encode()
    at_the_body_limit = cluster + b" " * (MAX_BODY_BYTES - len(cluster))  # valid JSON, 1 MiB exactly
    over_the_body_limit = at_the_body_limit + b" "
    council = {"Authorization": f"Bearer {token(COUNCIL)}", "Content-Type": "application/json"}

    with connect(server) as sock:
        headers = {**council, "Content-Length": str(len(at_the_body_limit))}
        sock.sendall(request_head("POST", "/clusters", headers, LIMIT) + at_the_body_limit)
        created = read_answer(sock)
        assert created.status_code == 201, created.text
        assert created.json()["cluster_id"] == "wide-open"

        headers = {**council, "Content-Length": str(len(over_the_body_limit))}
        sock.sendall(request_head("POST", "/clusters", headers, LIMIT) + over_the_body_limit)
        assert_problem(read_answer(sock), 413, "payload-too-large")

        sock.sendall(request_head("GET", "/clusters/wide-open", {"Authorization": council["Authorization"]}, LIMIT))
        read = read_answer(sock)
        assert (read.status_code, read.json()["name"]) == (200, "Wide Open")


# =================================================================================================
# The settings
# =================================================================================================


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FUNDING_ENGINE_MAX_HEADER_BYTES", "100"),
        ("FUNDING_ENGINE_MAX_HEADER_BYTES", str(1024 * 1024 + 1)),
        ("FUNDING_ENGINE_MAX_HEADER_BYTES", "16k"),
        ("FUNDING_ENGINE_HEADER_TIMEOUT_SECONDS", "0"),
        ("FUNDING_ENGINE_HEADER_TIMEOUT_SECONDS", "-1"),
        ("FUNDING_ENGINE_HEADER_TIMEOUT_SECONDS", "301"),
        ("FUNDING_ENGINE_HEADER_TIMEOUT_SECONDS", "nan"),
    ],
)
def test_a_header_limit_out_of_range_is_refused_at_start_up(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("FUNDING_ENGINE_").lower()):
        Settings()


def test_the_header_limits_default_to_16_kib_and_10_seconds(monkeypatch):
    monkeypatch.delenv("FUNDING_ENGINE_MAX_HEADER_BYTES", raising=False)
    monkeypatch.delenv("FUNDING_ENGINE_HEADER_TIMEOUT_SECONDS", raising=False)
    settings = Settings()
    assert (settings.max_header_bytes, settings.header_timeout_seconds) == (16 * 1024, 10.0)


def test_serve_with_a_header_timeout_out_of_range_exits_2_naming_the_setting(tmp_path):
    result = subprocess.run(
        [*CLI, "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=environment(
            FUNDING_ENGINE_DATABASE_URL=sqlite_url(tmp_path),
            FUNDING_ENGINE_JWT_SECRET=SECRET,
            FUNDING_ENGINE_HEADER_TIMEOUT_SECONDS="0",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "FUNDING_ENGINE_HEADER_TIMEOUT_SECONDS must be more than 0 and at most 300" in result.stderr
    assert "Traceback" not in result.stderr
