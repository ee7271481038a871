"""A real ``funding-engine serve`` process: the race, the whole year, restarts, SIGTERM and SIGKILL.

Each server is started as an operator would (``python -m funding_engine.cli serve --port N`` with
the settings in the environment, in an empty folder) and driven over HTTP with httpx.
"""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.values import Actor
from tests.api.conftest import APPROVE_BODY, ESCALATE_BODY, OTHER_SECRET, SECRET, assert_problem, auth, token
from tests.support import (
    CLUSTER,
    COUNCIL,
    EVIDENCE,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_CLUSTER,
    OTHER_HEAD,
    OTHER_LEAD,
    OTHER_SCHOOL,
    SCHOOL,
    SECOND_HEAD,
    SECOND_SCHOOL,
    YEAR,
    submission,
)

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "funding_engine.cli"]
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(**settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FUNDING_ENGINE_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(settings)
    return env


class Server:
    """One ``serve`` subprocess; ``start`` waits for /healthz, ``stop`` sends a signal and waits."""

    def __init__(
        self,
        folder: Path,
        database_url: str | None,
        *,
        workers: int = 1,
        dev: bool = False,
        secret: str | None = SECRET,
        settings: dict[str, str] | None = None,
        command: list[str] = CLI,
    ) -> None:
        self.command = command
        self.folder = folder
        self.database_url = database_url
        self.workers = workers
        self.dev = dev
        self.secret = secret
        self.settings = settings or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.folder.glob("server-*.log")))

    def start(self) -> Server:
        self.port = free_port()
        self.starts += 1
        log = open(self.folder / f"server-{time.time_ns()}.log", "wb")  # noqa: SIM115 - closed with the process
        # The default database and dev mode's files go in this folder, not in the project's var/.
        settings = {"FUNDING_ENGINE_DATA_DIR": str(self.folder / "var"), **self.settings}
        if self.database_url is not None:
            settings["FUNDING_ENGINE_DATABASE_URL"] = self.database_url
        if self.secret is not None:
            settings["FUNDING_ENGINE_JWT_SECRET"] = self.secret
        self.process = subprocess.Popen(
            [
                *self.command,
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                *(["--dev"] if self.dev else []),
            ],
            cwd=self.folder,
            env=environment(**settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode}:\n{self.log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the server did not answer /healthz within {START_TIMEOUT}s:\n{self.log}")

    def stop(self, signal_number: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal_number)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.process = None

    def kill_if_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Every server a test starts is stopped afterwards, whatever happened."""
    started: list[Server] = []
    yield started
    for server in started:
        server.kill_if_running()


def serve(servers: list[Server], folder: Path, database_url: str | None, **options: Any) -> Server:
    server = Server(folder, database_url, **options)
    servers.append(server)
    return server.start()


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'data' / 'funding.sqlite3'}"


def run_serve(folder: Path, *options: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """``serve`` as an operator would start it, for a start-up that is expected to be refused."""
    return subprocess.run(
        [*CLI, "serve", "--port", str(free_port()), *options],
        cwd=folder,
        env=environment(**{"FUNDING_ENGINE_DATA_DIR": str(folder / "var"), **settings}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (response.request.method, response.request.url, response.text)
    return response.json()


class Driver:
    """The HTTP calls of a year, as the people in it would make them."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def post(self, path: str, actor: Actor, body: Any = None, status: int = 200, **headers: str) -> dict[str, Any]:
        return ok(self.client.post(path, json=body, headers={**auth(actor), **headers}), status)

    def get(self, path: str, actor: Actor, **params: Any) -> dict[str, Any]:
        return ok(self.client.get(path, params=params, headers=auth(actor)))

    def world(self, budget: str = "5000.00", council_fund: str | None = None) -> None:
        self.post("/clusters", COUNCIL, {"cluster_id": CLUSTER, "name": "Northmere Coast"}, 201)
        self.post("/clusters", COUNCIL, {"cluster_id": OTHER_CLUSTER, "name": "Fenwick Broads"}, 201)
        ok(self.client.put(f"/clusters/{CLUSTER}/schools/{SCHOOL}", headers=auth(COUNCIL)))
        ok(self.client.put(f"/clusters/{CLUSTER}/schools/{SECOND_SCHOOL}", headers=auth(COUNCIL)))
        ok(self.client.put(f"/clusters/{OTHER_CLUSTER}/schools/{OTHER_SCHOOL}", headers=auth(COUNCIL)))
        self.post(
            f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations", FINANCE, {"amount": budget, "note": "initial"}, 201
        )
        if council_fund:
            self.post(f"/council/budgets/{YEAR}/allocations", FINANCE, {"amount": council_fund}, 201)

    def submit(self, actor: Actor = HEAD, **overrides: Any) -> str:
        return str(self.post("/requests", actor, submission(**overrides), 201)["id"])

    def evidence(self, request_id: str, actor: Actor = HEAD) -> dict[str, Any]:
        return self.post(f"/requests/{request_id}/evidence", actor, EVIDENCE)


# =================================================================================================
# The race
# =================================================================================================

RACERS = 20


def approve_all_at_once(url: str, request_ids: list[str]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(request_ids))
    responses: list[httpx.Response | BaseException] = [None] * len(request_ids)  # type: ignore[list-item]
    lead_token = token(LEAD)

    def approve(index: int, request_id: str) -> None:
        with httpx.Client(base_url=url, timeout=60.0) as client:
            client.get("/healthz")  # connect before the start line
            barrier.wait(timeout=30)
            try:
                responses[index] = client.post(
                    f"/requests/{request_id}/approve",
                    json=APPROVE_BODY,
                    headers={"Authorization": f"Bearer {lead_token}"},
                )
            except BaseException as error:  # noqa: BLE001 - asserted below
                responses[index] = error

    threads = [threading.Thread(target=approve, args=pair) for pair in enumerate(request_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    errors = [response for response in responses if not isinstance(response, httpx.Response)]
    assert not errors, errors
    return responses  # type: ignore[return-value]


@pytest.mark.parametrize("workers", [1, 2])
def test_20_concurrent_approvals_against_a_budget_for_5_give_exactly_5_approvals(
    database_url, tmp_path, servers, workers
):
    if database_url.startswith("sqlite"):
        database_url = sqlite_url(tmp_path)
    server = serve(servers, tmp_path, database_url, workers=workers)
    with server.client() as client:
        driver = Driver(client)
        driver.world(budget="5000.00")
        request_ids = []
        for _ in range(RACERS):
            request_id = driver.submit()
            driver.evidence(request_id)
            request_ids.append(request_id)

        responses = approve_all_at_once(server.url, request_ids)

        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200] * 5 + [409] * 15, [(r.status_code, r.text) for r in responses]
        for response in responses:
            if response.status_code == 409:
                assert_problem(response, 409, "insufficient-funds")
            else:
                assert response.json()["status"] == "cluster_approved"
        budget = driver.get(f"/clusters/{CLUSTER}/budgets/{YEAR}", FINANCE)
        assert (budget["available"], budget["committed"]) == ("0.00", "5000.00")
        approved = driver.get("/requests", COUNCIL, status="cluster_approved")["items"]
        assert sorted(item["id"] for item in approved) == sorted(
            response.json()["id"] for response in responses if response.status_code == 200
        )
        assert len(driver.get("/requests", COUNCIL, status="evidenced")["items"]) == 15
        assert driver.get("/finance/reconciliation", FINANCE, financial_year=YEAR)["consistent"] is True
        assert driver.get("/audit/verify", COUNCIL)["ok"] is True
    assert server.stop() == 0
    assert "Traceback" not in server.log


def test_concurrent_writers_of_different_kinds_never_get_a_5xx(database_url, tmp_path, servers):
    """Submissions and allocations at once: on SQLite a save and a read-model catch-up once waited
    on each other until the connection pool timed out, answering 500 (fixed in read_side.py)."""
    if database_url.startswith("sqlite"):
        database_url = sqlite_url(tmp_path)
    server = serve(servers, tmp_path, database_url)
    with server.client() as client:
        Driver(client).world()
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def write(number: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60.0) as client:
            barrier.wait(timeout=30)
            for _ in range(12):
                if number % 2:
                    response = client.post("/requests", json=submission(amount_requested="1.00"), headers=auth(HEAD))
                else:
                    response = client.post(
                        f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}/allocations",
                        json={"amount": "1.00"},
                        headers=auth(FINANCE),
                    )
                with lock:
                    statuses.append(response.status_code)

    threads = [threading.Thread(target=write, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [201] * 96, sorted(statuses)
    with server.client() as client:
        driver = Driver(client)
        assert driver.get(f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}", FINANCE)["allocated"] == "48.00"
        assert len(driver.get("/requests", COUNCIL, limit=500)["items"]) == 48
        assert driver.get("/finance/reconciliation", FINANCE, financial_year=YEAR)["consistent"] is True
    assert server.stop() == 0


# =================================================================================================
# Starting and stopping
# =================================================================================================


def test_several_workers_starting_together_on_a_new_store_all_start(database_url):
    """What ``serve --workers N`` does to a new database: every worker builds the engine and the
    API at once. On PostgreSQL, concurrent CREATE SCHEMA/TABLE IF NOT EXISTS used to kill workers."""
    from api.app import create_app
    from funding_engine.bootstrap import bootstrap
    from funding_engine.settings import Settings

    starters = 6
    barrier = threading.Barrier(starters)
    apps: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def start() -> None:
        barrier.wait(timeout=30)
        try:
            app = bootstrap(Settings(database_url=database_url))
            with lock:
                apps.append(app)
            create_app(app, jwt_secret=SECRET)
        except BaseException as error:  # noqa: BLE001 - asserted below
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert errors == []
        assert len(apps) == starters
        apps[0].register_cluster(COUNCIL, CLUSTER, "Northmere Coast")
        assert [str(cluster.cluster_id) for cluster in apps[-1].read_models.list_clusters(COUNCIL)] == [CLUSTER]
    finally:
        for app in apps:
            app.close()


def test_serve_without_a_secret_and_without_dev_exits_2_with_a_clear_message(tmp_path):
    result = subprocess.run(
        [*CLI, "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=environment(FUNDING_ENGINE_DATABASE_URL=sqlite_url(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "FUNDING_ENGINE_JWT_SECRET is not set" in result.stderr
    assert "--dev" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists(), "nothing is created before the settings are accepted"


@pytest.mark.parametrize(
    ("secret", "why"),
    [("short", "at least 32 characters"), ("a" * 32, "too little variety"), ("ab" * 16, "too little variety")],
)
def test_serve_with_a_weak_secret_exits_2_with_a_clear_message(tmp_path, secret, why):
    result = run_serve(tmp_path, FUNDING_ENGINE_DATABASE_URL=sqlite_url(tmp_path), FUNDING_ENGINE_JWT_SECRET=secret)
    assert result.returncode == 2
    assert why in result.stderr and "Traceback" not in result.stderr
    assert "secrets.token_urlsafe(48)" in result.stderr, "it says how to make a good one"
    assert not (tmp_path / "data").exists()


def test_sigterm_stops_the_server_gracefully_with_exit_code_0(tmp_path, servers):
    server = serve(servers, tmp_path, sqlite_url(tmp_path))
    with server.client() as client:
        Driver(client).world()
    assert server.stop(signal.SIGTERM) == 0
    assert "Traceback" not in server.log
    assert "Finished server process" in server.log
    # Everything written before the signal is still there.
    serve(servers, tmp_path, sqlite_url(tmp_path))
    with servers[-1].client() as client:
        assert Driver(client).get(f"/clusters/{CLUSTER}/budgets/{YEAR}", FINANCE)["allocated"] == "5000.00"
    assert servers[-1].stop() == 0


def test_sigterm_lets_a_request_in_flight_finish(tmp_path, servers):
    server = serve(servers, tmp_path, sqlite_url(tmp_path))
    with server.client() as client:
        Driver(client).world()
    results: list[int] = []
    half_sent = threading.Event()

    def slow_upload() -> None:
        def body() -> Iterator[bytes]:
            yield b'{"cluster_id": "late-arrival", '
            half_sent.set()  # the connection is open and the first half is on its way
            time.sleep(1.0)
            yield b'"name": "Late Arrival"}'

        response = httpx.post(
            f"{server.url}/clusters",
            content=body(),
            headers={**auth(COUNCIL), "Content-Type": "application/json"},
            timeout=30,
        )
        results.append(response.status_code)

    uploader = threading.Thread(target=slow_upload)
    uploader.start()
    assert half_sent.wait(timeout=30)
    time.sleep(0.2)
    assert server.stop(signal.SIGTERM) == 0
    uploader.join(timeout=30)
    assert results == [201]
    serve(servers, tmp_path, sqlite_url(tmp_path))
    with servers[-1].client() as client:
        assert ok(client.get("/clusters/late-arrival", headers=auth(COUNCIL)))["name"] == "Late Arrival"
    assert servers[-1].stop() == 0


def test_a_body_over_1_mib_is_413_from_the_real_server(tmp_path, servers):
    server = serve(servers, tmp_path, sqlite_url(tmp_path))
    huge = b'{"cluster_id": "too-big", "name": "' + b"x" * (1024 * 1024) + b'"}'
    with server.client() as client:
        declared = client.post("/clusters", content=huge, headers={**auth(COUNCIL), "Content-Type": "application/json"})
        assert_problem(declared, 413, "payload-too-large")

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
            for start in range(0, len(huge), 64 * 1024):
                yield huge[start : start + 64 * 1024]

        streamed = client.post(
            "/clusters", content=chunks(), headers={**auth(COUNCIL), "Content-Type": "application/json"}
        )
        assert_problem(streamed, 413, "payload-too-large")
        assert ok(client.get("/clusters", headers=auth(COUNCIL)))["items"] == []
        assert client.get("/healthz").status_code == 200
    assert server.stop() == 0


def test_the_sqlite_file_is_created_readable_by_its_owner_only(tmp_path, servers):
    database = tmp_path / "data" / "funding.sqlite3"
    assert not database.exists()
    server = serve(servers, tmp_path, sqlite_url(tmp_path))
    with server.client() as client:
        Driver(client).world()
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    for companion in (tmp_path / "data").glob("funding.sqlite3-*"):  # WAL and shared memory
        assert stat.S_IMODE(companion.stat().st_mode) & 0o077 == 0, companion
    assert server.stop() == 0


def test_serve_says_which_database_it_serves_and_never_its_password(database_url, tmp_path, servers):
    from urllib.parse import urlsplit, urlunsplit

    from funding_engine.settings import parse_database_url

    parts = urlsplit(database_url)
    if parts.scheme.startswith("postgres") and parts.password is None:
        # The local server trusts its clients: a password is sent, and must never be printed.
        user_at = f"{parts.username or 'postgres'}:pw-Kq83sLm@"
        database_url = urlunsplit(parts._replace(netloc=user_at + parts.netloc.rsplit("@", 1)[-1]))
    server = serve(servers, tmp_path, database_url)
    assert f"Database: {parse_database_url(database_url).describe()}\n" in server.log
    password = urlsplit(database_url).password
    assert password is None or password not in server.log
    assert server.stop() == 0


def test_a_token_printed_by_the_cli_is_accepted_by_the_server(tmp_path, servers):
    server = serve(servers, tmp_path, sqlite_url(tmp_path))
    printed = subprocess.run(
        [*CLI, "token", "--role", "finance", "--sub", "finance-officer-9", "--minutes", "5"],
        cwd=tmp_path,
        env=environment(FUNDING_ENGINE_JWT_SECRET=SECRET),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert printed.returncode == 0, printed.stderr
    bearer = {"Authorization": f"Bearer {printed.stdout.strip()}"}
    with server.client() as client:
        assert client.get("/balances", headers=bearer).status_code == 200
        assert_problem(client.get("/audit/verify", headers=bearer), 403, "forbidden")
    assert server.stop() == 0


def postgres_schema_exists(database_url: str) -> bool:
    import psycopg

    from funding_engine.settings import PostgresStore, parse_database_url

    store = parse_database_url(database_url)
    assert isinstance(store, PostgresStore)
    with psycopg.connect(store.conninfo()) as connection:
        found = connection.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (store.schema,)
        ).fetchone()
    return found is not None


def dev_tokens(log: str) -> list[str]:
    return re.findall(r"(eyJ[\w-]+\.[\w-]+\.[\w-]+)", log)


def bearing(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def council_token(client: httpx.Client, tokens: list[str]) -> str:
    """The printed token that may verify the audit chain: the council's."""
    return next(token for token in tokens if client.get("/audit/verify", headers=bearing(token)).status_code == 200)


def test_serve_dev_refuses_when_pointed_at_a_real_database(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        database_url = sqlite_url(tmp_path)
    result = run_serve(tmp_path, "--dev", FUNDING_ENGINE_DATABASE_URL=database_url)
    assert result.returncode == 2, result.stderr
    assert "serve --dev refuses to run with FUNDING_ENGINE_DATABASE_URL set" in result.stderr
    assert "var/dev.sqlite3" in result.stderr and "leave out --dev" in result.stderr
    assert "Traceback" not in result.stderr and "eyJ" not in result.stdout, "no token is printed"
    assert not (tmp_path / "data").exists() and not (tmp_path / "var").exists(), "nothing is written"
    if database_url.startswith("postgresql"):
        assert not postgres_schema_exists(database_url), "nothing is written"


@pytest.mark.parametrize("variable", ["FUNDING_ENGINE_JWT_SECRET", "FUNDING_ENGINE_AUDIT_KEY"])
def test_serve_dev_refuses_with_a_configured_secret(tmp_path, variable):
    result = run_serve(tmp_path, "--dev", **{variable: SECRET})
    assert result.returncode == 2, result.stderr
    assert f"serve --dev refuses to run with {variable} set" in result.stderr
    assert f"env -u {variable}" in result.stderr
    assert SECRET not in result.stderr + result.stdout and "eyJ" not in result.stdout
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists(), "nothing is written"


def test_serve_dev_names_every_configured_setting_it_refuses(tmp_path):
    result = run_serve(
        tmp_path,
        "--dev",
        FUNDING_ENGINE_DATABASE_URL=sqlite_url(tmp_path),
        FUNDING_ENGINE_JWT_SECRET=SECRET,
        FUNDING_ENGINE_AUDIT_KEY=OTHER_SECRET,
    )
    assert result.returncode == 2
    assert "FUNDING_ENGINE_DATABASE_URL and FUNDING_ENGINE_JWT_SECRET and FUNDING_ENGINE_AUDIT_KEY set" in result.stderr


def wait_for_workers(server: Server, workers: int) -> None:
    """Every worker process has built its app (each bootstraps the store it was given)."""
    deadline = time.monotonic() + START_TIMEOUT
    while server.log.count("Application startup complete") < workers:
        assert time.monotonic() < deadline, server.log
        time.sleep(0.05)


def test_serve_dev_serves_the_demo_from_its_own_file_with_tokens_a_production_secret_does_not_accept(tmp_path, servers):
    dev_folder, production_folder = tmp_path / "dev", tmp_path / "production"
    dev_folder.mkdir()
    production_folder.mkdir()
    dev = serve(servers, dev_folder, None, dev=True, secret=None, workers=2)
    wait_for_workers(dev, 2)
    production = serve(servers, production_folder, sqlite_url(production_folder))
    tokens = dev_tokens(dev.log)
    assert len(tokens) >= 4, dev.log
    assert "var/dev.sqlite3" in dev.log

    # Its own file, in every worker: the default store is never created.
    assert (dev_folder / "var" / "dev.sqlite3").is_file()
    assert not (dev_folder / "var" / "funding.sqlite3").exists()
    with dev.client() as client:
        council = council_token(client, tokens)
        demo_requests = ok(client.get("/requests", params={"limit": 500}, headers=bearing(council)))
        assert demo_requests["items"], "the demo data is loaded"
        for _ in range(8):  # new connections, spread over both workers: each serves the demo
            with httpx.Client(base_url=dev.url, timeout=30.0) as fresh:
                assert ok(fresh.get("/balances", headers=bearing(council)))["items"]
        # Its own secret: a token signed with the production secret is refused.
        assert_problem(client.get("/requests", headers=auth(COUNCIL)), 401, "unauthenticated")

    # And the production server accepts none of the printed tokens.
    with production.client() as client:
        for token in tokens:
            assert_problem(client.get("/requests", headers=bearing(token)), 401, "unauthenticated")
    assert production.stop() == 0

    # The next dev run keeps the file and does not load the demo again; its secret is new.
    assert dev.stop() == 0
    again = serve(servers, dev_folder, None, dev=True, secret=None)
    new_tokens = [token for token in dev_tokens(again.log) if token not in tokens]
    assert len(new_tokens) >= 4
    with again.client() as client:
        for token in tokens:
            assert_problem(client.get("/requests", headers=bearing(token)), 401, "unauthenticated")
        council = council_token(client, new_tokens)
        reloaded = ok(client.get("/requests", params={"limit": 500}, headers=bearing(council)))
        assert [item["id"] for item in reloaded["items"]] == [item["id"] for item in demo_requests["items"]]
    assert again.stop() == 0


@pytest.mark.parametrize(("cap", "accepted", "refused"), [("30", 30, 31), ("1440", 1440, 1441)])
def test_the_real_server_caps_a_tokens_lifetime_as_configured(tmp_path, servers, cap, accepted, refused):
    server = serve(servers, tmp_path, sqlite_url(tmp_path), settings={"FUNDING_ENGINE_TOKEN_MAX_LIFETIME_MINUTES": cap})
    with server.client() as client:
        good = {"Authorization": f"Bearer {token(COUNCIL, minutes=accepted)}"}
        assert client.get("/clusters", headers=good).status_code == 200
        too_long = {"Authorization": f"Bearer {token(COUNCIL, minutes=refused)}"}
        body = assert_problem(client.get("/clusters", headers=too_long), 401, "unauthenticated")
        assert f"longer than the {cap} minutes" in body["detail"]
    assert server.stop() == 0


# =================================================================================================
# A whole year, a restart, and a SIGKILL in the middle of writes
# =================================================================================================

SNAPSHOT_PATHS: list[tuple[str, Actor, dict[str, str | int]]] = [
    ("/clusters", COUNCIL, {}),
    (f"/clusters/{CLUSTER}/budgets/{YEAR}", FINANCE, {}),
    (f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}", FINANCE, {}),
    ("/balances", FINANCE, {"financial_year": YEAR}),
    (f"/council/budgets/{YEAR}", FINANCE, {}),
    ("/requests", COUNCIL, {"limit": 500}),
    ("/audit/decisions", COUNCIL, {"limit": 500}),
    ("/finance/reconciliation", FINANCE, {"financial_year": YEAR}),
    ("/audit/verify", COUNCIL, {}),
]


def snapshot(client: httpx.Client, request_ids: list[str]) -> dict[str, Any]:
    views: dict[str, Any] = {}
    for path, actor, params in SNAPSHOT_PATHS:
        views[path] = ok(client.get(path, params=params, headers=auth(actor)))
    for request_id in request_ids:
        views[request_id] = ok(client.get(f"/requests/{request_id}", headers=auth(COUNCIL)))
        views[f"{request_id}/history"] = ok(client.get(f"/requests/{request_id}/history", headers=auth(COUNCIL)))
    ledger = client.get("/finance/ledger.csv", params={"financial_year": YEAR}, headers=auth(FINANCE))
    assert ledger.status_code == 200
    views["ledger"] = ledger.text
    return views


def drive_a_year(driver: Driver) -> dict[str, str]:
    """Setup, submissions, evidence, approvals, commissioning, escalation, council decisions, payments."""
    driver.world(budget="20000.00", council_fund="15000.00")
    driver.post(f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}/allocations", FINANCE, {"amount": "8000.00"}, 201)
    driver.post(
        f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations", FINANCE, {"amount": "-2000.00", "note": "clawback"}, 201
    )
    ids: dict[str, str] = {}

    # Approved in full and paid in two instalments.
    ids["paid"] = driver.submit(amount_requested="4000.00")
    driver.evidence(ids["paid"])
    driver.post(f"/requests/{ids['paid']}/approve", LEAD, {**APPROVE_BODY, "amount": "4000.00"})
    driver.post(f"/requests/{ids['paid']}/payments", FINANCE, {"amount": "1500.00", "reference": "BACS-001"}, 201)
    driver.post(f"/requests/{ids['paid']}/payments", FINANCE, {"amount": "2500.00", "reference": "BACS-002"}, 201)

    # Questioned, re-evidenced, approved for less than asked, part paid.
    ids["questioned"] = driver.submit(SECOND_HEAD, school_urn=SECOND_SCHOOL, amount_requested="3000.00")
    driver.evidence(ids["questioned"], SECOND_HEAD)
    driver.post(f"/requests/{ids['questioned']}/information-requests", LEAD, {"question": "What did the TAs cost?"})
    driver.evidence(ids["questioned"], SECOND_HEAD)
    driver.post(f"/requests/{ids['questioned']}/approve", LEAD, {**APPROVE_BODY, "amount": "2500.00"})
    driver.post(f"/requests/{ids['questioned']}/payments", FINANCE, {"amount": "1000.00", "reference": "BACS-003"}, 201)

    # Declined, withdrawn, and one left pending.
    ids["declined"] = driver.submit(amount_requested="800.00")
    driver.evidence(ids["declined"])
    driver.post(f"/requests/{ids['declined']}/decline", LEAD, {"reason_code": "insufficient_evidence", "reason": "No."})
    ids["withdrawn"] = driver.submit(amount_requested="600.00")
    driver.post(f"/requests/{ids['withdrawn']}/withdraw", HEAD, {"reason": "Met from school resources."})
    ids["pending"] = driver.submit(amount_requested="700.00")

    # The cluster commissions a service.
    commission = {
        "service": "camhs",
        "provider": "Coastal CAMHS Outreach",
        "amount": "6500.00",
        "school_urns": [SCHOOL, SECOND_SCHOOL],
        "description": "A year of CAMHS outreach clinics.",
    }
    driver.post(f"/clusters/{CLUSTER}/budgets/{YEAR}/commissions", LEAD, commission, 201)
    # Available now: 18000 - 4000 - 2500 - 6500 = 5000.

    # Escalated twice: one approved by the council and paid, one declined.
    ids["council_paid"] = driver.submit(amount_requested="9000.00")
    driver.evidence(ids["council_paid"])
    driver.post(f"/requests/{ids['council_paid']}/escalate", LEAD, {**ESCALATE_BODY, "amount": "8000.00"})
    driver.post(
        f"/requests/{ids['council_paid']}/council-decision", COUNCIL, {"decision": "approve", "reason": "EHCPs."}
    )
    driver.post(f"/requests/{ids['council_paid']}/payments", FINANCE, {"amount": "8000.00", "reference": "CF-001"}, 201)
    ids["council_declined"] = driver.submit(amount_requested="5500.00")
    driver.evidence(ids["council_declined"])
    driver.post(f"/requests/{ids['council_declined']}/escalate", LEAD, ESCALATE_BODY)
    driver.post(
        f"/requests/{ids['council_declined']}/council-decision", COUNCIL, {"decision": "decline", "reason": "Not so."}
    )
    # And one still waiting for the council.
    ids["escalated"] = driver.submit(amount_requested="6000.00")
    driver.evidence(ids["escalated"])
    driver.post(f"/requests/{ids['escalated']}/escalate", LEAD, {**ESCALATE_BODY, "amount": "6000.00"})

    # The other cluster approves one of its own.
    ids["elsewhere"] = driver.submit(OTHER_HEAD, school_urn=OTHER_SCHOOL, amount_requested="1200.00")
    driver.evidence(ids["elsewhere"], OTHER_HEAD)
    driver.post(f"/requests/{ids['elsewhere']}/approve", OTHER_LEAD, {**APPROVE_BODY, "amount": "1200.00"})
    return ids


EXPECTED_STATUSES = {
    "paid": "paid",
    "questioned": "cluster_approved",
    "declined": "cluster_declined",
    "withdrawn": "withdrawn",
    "pending": "submitted",
    "council_paid": "paid",
    "council_declined": "council_declined",
    "escalated": "escalated",
    "elsewhere": "cluster_approved",
}


def check_the_year(driver: Driver, ids: dict[str, str]) -> None:
    for name, status in EXPECTED_STATUSES.items():
        assert driver.get(f"/requests/{ids[name]}", COUNCIL)["status"] == status, name

    budget = driver.get(f"/clusters/{CLUSTER}/budgets/{YEAR}", LEAD)
    assert {key: budget[key] for key in ("allocated", "committed", "commissioned", "available", "pending",
                                         "escalated", "paid")} == {
        "allocated": "18000.00", "committed": "6500.00", "commissioned": "6500.00", "available": "5000.00",
        "pending": "700.00", "escalated": "6000.00", "paid": "5000.00",
    }  # fmt: skip
    fund = driver.get(f"/council/budgets/{YEAR}", COUNCIL)
    assert (fund["allocated"], fund["committed"], fund["available"], fund["paid"]) == (
        "15000.00", "8000.00", "7000.00", "8000.00",
    )  # fmt: skip
    balances = driver.get("/balances", FINANCE, financial_year=YEAR)
    assert balances["totals"]["allocated"] == "26000.00"
    assert balances["totals"]["committed"] == "7700.00"
    assert balances["totals"]["available"] == "11800.00"

    history = driver.get(f"/requests/{ids['questioned']}/history", SECOND_HEAD)["items"]
    assert [item["type"] for item in history] == [
        "Submitted", "SpendEvidenceProvided", "InformationRequested", "SpendEvidenceProvided", "ClusterApproved",
        "PaymentRecorded",
    ]  # fmt: skip
    assert [item["version"] for item in history] == [1, 2, 3, 4, 5, 6]
    as_of = history[2]["timestamp"]
    then = ok(driver.client.get(f"/requests/{ids['questioned']}", params={"as_of": as_of}, headers=auth(LEAD)))
    assert (then["status"], then["version"]) == ("information_requested", 3)
    assert then["amount_approved"] == "0.00"

    ledger = driver.client.get("/finance/ledger.csv", params={"financial_year": YEAR}, headers=auth(FINANCE))
    assert ledger.status_code == 200 and ledger.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(ledger.text)))
    movements = [row["movement"] for row in rows]
    assert movements.count("allocation") == 3 and movements.count("adjustment") == 1
    assert movements.count("commitment") == 4 and movements.count("commission") == 1
    assert movements.count("payment") == 4

    reconciliation = driver.get("/finance/reconciliation", FINANCE, financial_year=YEAR)
    assert reconciliation["consistent"] is True
    verify = driver.get("/audit/verify", COUNCIL)
    assert verify["ok"] is True and verify["first_bad_position"] is None
    kinds = [item["kind"] for item in driver.get("/audit/decisions", COUNCIL, limit=500)["items"]]
    assert kinds[0] == "cluster_approval" and kinds.count("escalation") == 3 and kinds.count("commission") == 1


def test_a_whole_year_over_http_survives_a_restart_and_a_sigkill(tmp_path, servers):
    url = sqlite_url(tmp_path)
    server = serve(servers, tmp_path, url)
    with server.client() as client:
        driver = Driver(client)
        ids = drive_a_year(driver)
        check_the_year(driver, ids)
        keyed = client.post(
            "/requests", json=submission(amount_requested="10.00"), headers={**auth(HEAD), "Idempotency-Key": "year-1"}
        )
        assert keyed.status_code == 201
        ids["keyed"] = keyed.json()["id"]
        before = snapshot(client, list(ids.values()))
    assert server.stop(signal.SIGTERM) == 0

    # A clean restart: every view answers exactly as before, and the idempotency key still holds.
    server = serve(servers, tmp_path, url)
    with server.client() as client:
        assert snapshot(client, list(ids.values())) == before
        replay = client.post(
            "/requests", json=submission(amount_requested="10.00"), headers={**auth(HEAD), "Idempotency-Key": "year-1"}
        )
        assert replay.status_code == 201 and replay.json() == keyed.json()

    # Now kill it without warning while writers are busy.
    acknowledged = kill_during_writes(server)

    server = serve(servers, tmp_path, url)
    with server.client() as client:
        driver = Driver(client)
        for request_id in acknowledged["requests"]:
            assert driver.get(f"/requests/{request_id}", COUNCIL)["status"] == "submitted"
        listed = {item["id"] for item in driver.get("/requests", COUNCIL, limit=500, status="submitted")["items"]}
        assert set(acknowledged["requests"]) <= listed
        # Each writer may have had one write committed but not answered when the process died.
        budget = driver.get(f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}", FINANCE)
        acknowledged_pence = 800000 + 100 * len(acknowledged["allocations"])
        allocated_pence = int(Decimal(budget["allocated"]) * 100)
        assert acknowledged_pence <= allocated_pence <= acknowledged_pence + 100 * WRITERS
        # The read models caught up with the log: balances equal reconciliation's recomputed figures.
        reconciliation = driver.get("/finance/reconciliation", FINANCE, financial_year=YEAR)
        assert reconciliation["consistent"] is True
        balances = {item["cluster_id"]: item for item in driver.get("/balances", FINANCE, financial_year=YEAR)["items"]}
        for row in reconciliation["clusters"]:
            assert row["projected"] == row["recomputed"]
            balance = balances[row["cluster_id"]]
            # What was unpaid at a close is on the year-end statement, not the balance.
            assert set(row["recomputed"]) - set(balance) == {"unpaid_at_close"}
            for figure, value in row["recomputed"].items():
                assert balance.get(figure, value) == value, (row["cluster_id"], figure)
        council_fund = driver.get(f"/council/budgets/{YEAR}", FINANCE)
        assert set(reconciliation["council_fund"]["recomputed"]) - set(council_fund) == {"unpaid_at_close"}
        for figure, value in reconciliation["council_fund"]["recomputed"].items():
            assert council_fund.get(figure, value) == value
        assert driver.get("/audit/verify", COUNCIL)["ok"] is True
        # And the year from before is untouched.
        for name, status in EXPECTED_STATUSES.items():
            assert driver.get(f"/requests/{ids[name]}", COUNCIL)["status"] == status
    assert server.stop() == 0


WRITERS = 4
# Acknowledged writes of each kind before the kill: the kill lands among writes, never before them.
BEFORE_THE_KILL = 15


def kill_during_writes(server: Server) -> dict[str, list[str]]:
    """Writers submit requests and allocate 1.00 each until the server is SIGKILLed under them, which
    happens once each kind of write has been acknowledged ``BEFORE_THE_KILL`` times, however long that takes."""
    acknowledged: dict[str, list[str]] = {"requests": [], "allocations": []}
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    enough = threading.Event()

    def count(kind: str, value: str) -> None:
        with lock:
            acknowledged[kind].append(value)
            if min(len(values) for values in acknowledged.values()) >= BEFORE_THE_KILL:
                enough.set()

    def write(number: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10.0) as client:
            while not stop.is_set():
                try:
                    if number % 2:
                        response = client.post(
                            "/requests", json=submission(amount_requested="1.00"), headers=auth(HEAD)
                        )
                        if response.status_code == 201:
                            count("requests", response.json()["id"])
                    else:
                        response = client.post(
                            f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}/allocations",
                            json={"amount": "1.00", "note": f"writer {number}"},
                            headers=auth(FINANCE),
                        )
                        if response.status_code == 201:
                            count("allocations", str(response.json()["version"]))
                    if response.status_code >= 500:
                        with lock:
                            failures.append(f"{response.status_code} {response.text}")
                except httpx.TransportError:
                    return  # the server is gone
                except BaseException as error:  # noqa: BLE001 - reported below
                    with lock:
                        failures.append(repr(error))
                    enough.set()  # nothing more is coming from this writer: stop waiting, report it
                    return

    threads = [threading.Thread(target=write, args=(number,)) for number in range(WRITERS)]
    for thread in threads:
        thread.start()
    # Order, not speed: the kill comes after the writes. The bound only ends a hang.
    enough.wait(timeout=300)
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, f"{failures}\n{server.log}"
    assert min(len(values) for values in acknowledged.values()) >= BEFORE_THE_KILL, acknowledged
    return acknowledged
