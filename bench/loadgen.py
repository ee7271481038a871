"""An HTTP/1.1 load generator, run as its own process: ``python -m bench.loadgen ...`` prints JSON.

    python -m bench.loadgen --port P --requests FILE --connections 8 --seconds 3            # closed loop
    python -m bench.loadgen --port P --requests FILE --connections 16 --seconds 3 --rate 200 # open loop
    python -m bench.loadgen --port P --health-check --connections 8 --seconds 2              # GET /healthz
    python -m bench.loadgen --trivial-server                                                  # see below

Why not wrk: wrk is not on a fresh machine (``make bench`` must run after nothing more than the
setup ``make test`` does), and wrk cannot hold a fixed request rate, which "p99 at half the peak
rate" needs (wrk2 can, and is even rarer). Why not an HTTP client library (httpx, aiohttp): their
per-request overhead in Python is several times what the parsing below costs, and this generator
shares two cores with the server it measures; its own ceiling is measured and recorded beside
every result (``bench.http_load``), so the reader can see it is not the bottleneck.

How it works: asyncio, one task per keep-alive connection, request bytes built before the clock
starts, responses parsed from the status line and ``Content-Length`` (or chunked framing). Two modes:

- closed loop (no ``--rate``): each connection sends its next request as soon as the previous
  answer arrives, until ``--seconds`` pass or the prepared requests run out: throughput at a
  given concurrency. Latency is send to last byte.
- open loop (``--rate R``): request i is due at start + i/R whatever happened before it. A free
  connection takes the oldest due request; if every connection is busy the request waits, and its
  latency is measured from when it was due, not when it was sent. A server that stalls therefore
  shows the stall in every request queued behind it (no coordinated omission).

Requests come from a JSON-lines file, one object per line: ``{"method", "path", "headers",
"body"}`` (body a string). Each line is sent once, so every approval names a different request.
The result: count, counts by status, throughput, latency percentiles in ms, errors, and the
generator's own CPU use (a fraction near 1.0 would mean it was the bottleneck).

``--trivial-server`` answers every request with a fixed 200 from a bare asyncio protocol: the
generator pointed at it measures the generator's own ceiling on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

READ_LIMIT = 1 << 20


@dataclass
class Outcome:
    """What one run saw. Latencies are seconds; they become milliseconds in the report."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    # A few bodies of unexpected answers, so a failed run can say why.
    samples: dict[int, str] = field(default_factory=dict)


def load_requests(path: Path, host: str, port: int) -> list[bytes]:
    """Each prepared request as the exact bytes to send (built before the clock starts)."""
    with path.open(encoding="utf-8") as lines:
        return [encode_request(json.loads(line), host, port) for line in lines if line.strip()]


def encode_request(spec: dict[str, Any], host: str, port: int) -> bytes:
    body = spec.get("body", "").encode("utf-8")
    headers = {"Host": f"{host}:{port}", **spec.get("headers", {})}
    if body:
        headers.setdefault("Content-Type", "application/json")
    if body or spec["method"] in ("POST", "PUT", "PATCH"):
        headers["Content-Length"] = str(len(body))
    head = f"{spec['method']} {spec['path']} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode("latin-1") + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """(status, body) of one HTTP/1.1 response; raises ConnectionError if the server hung up."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length: int | None = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                return status, b"".join(part[:-2] for part in parts)
    if length is None:
        if status in (204, 304) or 100 <= status < 200:
            return status, b""
        raise ConnectionError(f"a {status} answer with neither Content-Length nor chunked framing")
    return status, await reader.readexactly(length)


class Connection:
    """One keep-alive connection; reopened (and the failure counted) if the server drops it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=READ_LIMIT)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            # Requests are small and sent whole: don't let Nagle hold them back.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(request)
        await self.writer.drain()
        return await read_response(self.reader)

    def drop(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def send_one(connection: Connection, request: bytes, started: float, outcome: Outcome) -> None:
    try:
        status, body = await connection.exchange(request)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError) as error:
        outcome.errors[type(error).__name__] += 1
        connection.drop()
        return
    outcome.latencies.append(time.perf_counter() - started)
    outcome.statuses[status] += 1
    if status >= 300 and len(outcome.samples) < 5 and status not in outcome.samples:
        outcome.samples[status] = body[:300].decode("utf-8", errors="replace")


async def closed_loop(
    host: str, port: int, requests: list[bytes], connections: int, seconds: float
) -> tuple[Outcome, float, bool]:
    """(outcome, elapsed seconds, ran out of prepared requests before the time was up)."""
    outcome = Outcome()
    pool = [Connection(host, port) for _ in range(connections)]
    await asyncio.gather(*(connection.open() for connection in pool))
    feed = iter(requests)
    exhausted = False
    start = time.perf_counter()
    deadline = start + seconds

    async def client(connection: Connection) -> None:
        nonlocal exhausted
        while time.perf_counter() < deadline:
            request = next(feed, None)
            if request is None:
                exhausted = True
                return
            await send_one(connection, request, time.perf_counter(), outcome)

    await asyncio.gather(*(client(connection) for connection in pool))
    elapsed = time.perf_counter() - start
    for connection in pool:
        connection.drop()
    return outcome, elapsed, exhausted


async def open_loop(
    host: str, port: int, requests: list[bytes], connections: int, seconds: float, rate: float
) -> tuple[Outcome, float, bool]:
    outcome = Outcome()
    pool = [Connection(host, port) for _ in range(connections)]
    await asyncio.gather(*(connection.open() for connection in pool))
    total = min(len(requests), math.floor(seconds * rate))
    exhausted = total < math.floor(seconds * rate)
    due: asyncio.Queue[tuple[bytes, float] | None] = asyncio.Queue()
    start = time.perf_counter()

    async def schedule() -> None:
        for index in range(total):
            intended = start + index / rate
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            due.put_nowait((requests[index], intended))
        for _ in pool:
            due.put_nowait(None)

    async def client(connection: Connection) -> None:
        while (item := await due.get()) is not None:
            request, intended = item
            # From the intended time: the wait for a free connection is part of what a user sees.
            await send_one(connection, request, intended, outcome)

    await asyncio.gather(schedule(), *(client(connection) for connection in pool))
    elapsed = time.perf_counter() - start
    for connection in pool:
        connection.drop()
    return outcome, elapsed, exhausted


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def report(outcome: Outcome, elapsed: float, exhausted: bool, cpu_seconds: float, **settings: Any) -> dict[str, Any]:
    ordered = sorted(outcome.latencies)
    count = len(ordered)
    ms = 1000.0
    return {
        **settings,
        "count": count,
        "statuses": {str(status): n for status, n in sorted(outcome.statuses.items())},
        "errors": dict(outcome.errors),
        "error_samples": {str(status): text for status, text in outcome.samples.items()},
        "elapsed_seconds": round(elapsed, 4),
        "throughput": count / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(ordered, 0.50) * ms,
        "p95_ms": percentile(ordered, 0.95) * ms,
        "p99_ms": percentile(ordered, 0.99) * ms,
        "max_ms": (ordered[-1] * ms) if ordered else math.nan,
        "mean_ms": (sum(ordered) / count * ms) if count else math.nan,
        "exhausted": exhausted,
        # The generator's own CPU over the run, in cores: near 1.0 it would be the bottleneck.
        "generator_cpu": round(cpu_seconds / elapsed, 3) if elapsed > 0 else 0.0,
    }


def cpu_time() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.health_check:
        spec = {"method": "GET", "path": args.health_path, "headers": {}, "body": ""}
        # More than this generator could send in the time (its ceiling is about 10,000/s here).
        requests = [encode_request(spec, args.host, args.port)] * int(args.seconds * 50_000)
    else:
        requests = load_requests(Path(args.requests), args.host, args.port)
    cpu_before = cpu_time()
    if args.rate:
        outcome, elapsed, exhausted = await open_loop(
            args.host, args.port, requests, args.connections, args.seconds, args.rate
        )
    else:
        outcome, elapsed, exhausted = await closed_loop(args.host, args.port, requests, args.connections, args.seconds)
    settings = {"mode": "open" if args.rate else "closed", "connections": args.connections, "rate": args.rate}
    return report(outcome, elapsed, exhausted, cpu_time() - cpu_before, **settings)


# ------------------------------------------------------------------------------------------------
# The trivial server: a fixed answer from a bare asyncio protocol, for the generator's own ceiling.
# ------------------------------------------------------------------------------------------------

TRIVIAL_ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"status":"ok"}'


class TrivialProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        # Every request the generator sends to it is a bodiless GET: one answer per header block.
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            self.buffer = self.buffer[end + 4 :]
            self.transport.write(TRIVIAL_ANSWER)


async def trivial_server(host: str, port: int) -> None:
    server = await asyncio.get_running_loop().create_server(TrivialProtocol, host, port)
    print(f"listening on {host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", help="JSON-lines file of prepared requests, each sent once")
    parser.add_argument("--health-check", action="store_true", help="send GET --health-path repeatedly instead")
    parser.add_argument("--health-path", default="/healthz")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=None, help="open loop at this many requests/s")
    parser.add_argument("--trivial-server", action="store_true", help="serve a fixed 200 on --port (see above)")
    args = parser.parse_args(argv)
    if args.trivial_server:
        asyncio.run(trivial_server(args.host, args.port))
        return
    if not args.health_check and not args.requests:
        parser.error("--requests FILE or --health-check")
    json.dump(asyncio.run(run(args)), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
