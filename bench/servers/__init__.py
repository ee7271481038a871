"""Benchmark servers: how they are launched (exactly as ``funding-engine serve`` launches ours),
started as real processes, watched for memory, and always stopped.

Each baseline module runs as ``python -m bench.servers.<name> --port P --workers W`` and hands
its factory to :func:`serve`, which calls ``uvicorn.run`` with the same arguments as
``funding_engine.cli.commands.run_serve``, so the two baselines and the product share one server stack
(uvicorn's defaults for loop, HTTP parser and access log included). Keep :func:`serve` in step
with ``run_serve``; ``bench.http_load`` records whether the product's log showed access lines.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import process_rss_mb

# Set by the harness for the baselines: where their data lives (a FUNDING_ENGINE_DATABASE_URL).
DATABASE_URL_VARIABLE = "BENCH_SERVER_DATABASE_URL"
STARTUP_LINE = "Application startup complete."
START_TIMEOUT_SECONDS = 60.0


def serve(factory: str, argv: Sequence[str] | None = None) -> None:
    """``uvicorn.run`` as ``funding-engine serve`` calls it (see funding_engine/cli/commands.py run_serve)."""
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    # As run_serve: a SIGTERM is a clean stop (exit 0) rather than death by signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        factory,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        timeout_graceful_shutdown=10,
    )


def _exit_cleanly(signal_number: int, frame: object) -> None:
    raise SystemExit(0)


def free_port() -> int:
    """A port nobody listens on now (the server binds it a moment later; a clash fails loudly)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_tree(root: int) -> list[int]:
    """``root`` and every process descended from it, from /proc (uvicorn's workers, their helpers)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                # The command name (field 2) may hold spaces; the fields after its ')' do not.
                ppid = int(stat.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


@dataclass
class MemoryWatch:
    """Samples the summed resident memory of a process tree on a thread; keeps the peak."""

    root: int
    interval: float = 0.1
    peak_rss_mb: float = 0.0
    # Sum over the processes of each one's own high-water mark: an upper bound of the true peak,
    # catching a spike between two samples.
    peak_hwm_mb: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self.sample(self.tree())

    def tree(self) -> list[int]:
        return process_tree(self.root)

    def sample(self, pids: list[int]) -> None:
        total_rss = total_hwm = 0.0
        for pid in pids:
            try:
                rss, hwm = process_rss_mb(pid)
            except OSError:  # ended between listing and reading
                continue
            total_rss += rss
            total_hwm += hwm
        self.peak_rss_mb = max(self.peak_rss_mb, total_rss)
        self.peak_hwm_mb = max(self.peak_hwm_mb, total_hwm)

    def _run(self) -> None:
        pids, listed = self.tree(), time.monotonic()
        while not self._stop.wait(self.interval):
            # Listing /proc costs more than reading a few status files: refresh it once a second.
            if time.monotonic() - listed > 1.0:
                pids, listed = self.tree(), time.monotonic()
            self.sample(pids)


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    memory: MemoryWatch

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    port: int,
    workers: int = 1,
    health_path: str | None = "/healthz",
    ready_line: str = STARTUP_LINE,
    label: str = "server",
) -> Iterator[RunningServer]:
    """Start ``argv`` in its own process group; yield once it answers; always stop the whole group.

    Ready means: ``health_path`` answers 200 (if given) and ``ready_line`` (by default uvicorn's
    start-up line) is in the log once per worker, so a second worker still importing cannot take
    the first measured requests. A process that exits before that raises with its log.
    """
    with tempfile.NamedTemporaryFile(prefix=f"{label}-", suffix=".log", delete=False) as log_file:
        log_path = Path(log_file.name)
    with log_path.open("wb") as log:
        # Its own session, hence its own process group: one killpg reaches uvicorn's workers too.
        process = subprocess.Popen(
            list(argv), env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    memory = MemoryWatch(process.pid)
    server = RunningServer(process, port, log_path, memory)
    try:
        wait_until_ready(server, ready_line, max(workers, 1), health_path, label)
        memory.start()
        yield server
    finally:
        memory.stop()
        stop(process)
        if process.returncode not in (0, None) and os.environ.get("BENCH_KEEP_LOGS"):
            print(f"{label} exited with {process.returncode}; log kept at {log_path}")
        else:
            log_path.unlink(missing_ok=True)


def wait_until_ready(server: RunningServer, ready_line: str, count: int, health_path: str | None, label: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            status = server.process.returncode
            raise RuntimeError(f"{label} exited with status {status} while starting:\n{server.log()}")
        ready = server.log().count(ready_line) >= count
        if ready and (health_path is None or answers(server.port, health_path)):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{label} did not become ready within {START_TIMEOUT_SECONDS:.0f}s:\n{server.log()}")


def answers(port: int, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def stop(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM the process group (uvicorn drains), then SIGKILL whatever is left of it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    # Workers could outlive a master that died: clear the group whatever the master did.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait()
