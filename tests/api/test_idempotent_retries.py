"""A retried command moves money once, whatever moment its server died: real servers, ``kill -9``.

A server planted with a crash (``tests.api.crashing_serve``) kills itself with SIGKILL at one step
of a keyed command: inside the events' transaction before it commits, after the commit before the
answer is recorded, or after the answer is recorded but before it is sent. The client sees its
connection drop, as it would. A fresh server on the same store then gets the same request with the
same key, twice: the ledger must show the movement exactly once, and the answers must agree.
"""

from __future__ import annotations

import csv
import io
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from funding_engine.application import FundingApplication
from tests.api.conftest import auth
from tests.api.crashing_serve import POINTS
from tests.api.test_server import Server, servers  # noqa: F401 - the fixture
from tests.support import CLUSTER, FINANCE, YEAR, approved_request, set_up_world

CRASHING = [sys.executable, "-m", "tests.api.crashing_serve"]


def allocation(app: FundingApplication) -> tuple[str, dict[str, str], str]:
    return (
        f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations",
        {"amount": "250.00", "note": "retried top-up"},
        "retried top-up",
    )


def payment(app: FundingApplication) -> tuple[str, dict[str, str], str]:
    request = approved_request(app, amount="1000.00")
    return f"/requests/{request.id}/payments", {"amount": "400.00", "reference": "BACS-RETRIED"}, "BACS-RETRIED"


COMMANDS: dict[str, Callable[[FundingApplication], tuple[str, dict[str, str], str]]] = {
    "allocation": allocation,
    "payment": payment,
}


def ledger_rows(client: httpx.Client, reference: str) -> list[dict[str, str]]:
    response = client.get("/finance/ledger.csv", params={"financial_year": YEAR}, headers=auth(FINANCE))
    assert response.status_code == 200, response.text
    return [row for row in csv.DictReader(io.StringIO(response.text)) if reference in row["reference"]]


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("point", list(POINTS))
def test_a_retry_after_a_crash_at_any_step_moves_the_money_exactly_once(
    make_app: Callable[[], FundingApplication],
    database_url: str,
    tmp_path: Path,
    servers: list[Server],  # noqa: F811 - the fixture
    point: str,
    command: str,
) -> None:
    app = make_app()
    set_up_world(app)
    path, body, reference = COMMANDS[command](app)
    headers = {**auth(FINANCE), "Idempotency-Key": f"{command}-{point}"}

    crashing = Server(tmp_path, database_url, command=CRASHING, settings={"CRASH_AT": point})
    servers.append(crashing.start())
    process = crashing.process
    assert process is not None
    with crashing.client() as client, pytest.raises(httpx.TransportError):
        client.post(path, json=body, headers=headers)
    assert process.wait(timeout=30) == -9, crashing.log  # it died by SIGKILL, at the planted step

    restarted = Server(tmp_path, database_url)
    servers.append(restarted.start())
    with restarted.client() as client:
        retry = client.post(path, json=body, headers=headers)
        again = client.post(path, json=body, headers=headers)
        rows = ledger_rows(client, reference)

    assert retry.status_code == again.status_code == 201, (retry.text, again.text)
    assert again.json() == retry.json()
    assert again.headers["etag"] == retry.headers["etag"]
    assert again.headers.get("idempotent-replayed") == "true"
    # Before the commit, nothing had happened: the retry is the one time the command runs.
    # After it, the retry is answered from what the crashed server committed or recorded.
    assert retry.headers.get("idempotent-replayed") == (None if point == "before-commit" else "true")
    assert [row["movement"] for row in rows] == [command]
    assert rows[0]["amount"] == body["amount"]


def test_concurrent_repeats_across_two_server_processes_act_once(
    make_app: Callable[[], FundingApplication],
    database_url: str,
    tmp_path: Path,
    servers: list[Server],  # noqa: F811 - the fixture
) -> None:
    app = make_app()
    set_up_world(app)
    path, body, reference = allocation(app)
    headers = {**auth(FINANCE), "Idempotency-Key": "sixteen-at-once"}
    server = Server(tmp_path, database_url, workers=2)
    servers.append(server.start())
    answers: list[Any] = []
    guard, start = threading.Lock(), threading.Barrier(16)

    def repeat() -> None:
        with server.client() as client:
            start.wait()
            response = client.post(path, json=body, headers=headers)
        with guard:
            answers.append(response)

    threads = [threading.Thread(target=repeat) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [response.status_code for response in answers] == [201] * 16, [r.text for r in answers]
    assert len({response.json()["version"] for response in answers}) == 1
    with server.client() as client:
        rows = ledger_rows(client, reference)
        budget = client.get(f"/clusters/{CLUSTER}/budgets/{YEAR}", headers=auth(FINANCE)).json()
    assert len(rows) == 1
    assert budget["allocated"] == "5250.00"
