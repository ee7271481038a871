"""A retried command moves money once, whatever moment its server died: real servers, ``kill -9``.

A server planted with a crash (``tests.api.crashing_serve``) kills itself with SIGKILL at one step
of a keyed command: inside the events' transaction before it commits, after the commit before the
answer is recorded, or after the answer is recorded but before it is sent. The client sees its
connection drop, as it would. A fresh server on the same store then gets the same request with the
same key, twice: the ledger (or, for a release or a recovery's receipt, the request's and its
budget's events) must show the movement exactly once, and the answers must agree.
"""

from __future__ import annotations

import csv
import io
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from domain.funds import ClusterBudget
from domain.values import Actor, ClusterId, FinancialYear
from funding_engine.application import FundingApplication
from tests.api.conftest import auth
from tests.api.crashing_serve import POINTS
from tests.api.test_server import Server, servers  # noqa: F401 - the fixture
from tests.support import CLUSTER, FINANCE, LEAD, YEAR, approved_request, set_up_world

CRASHING = [sys.executable, "-m", "tests.api.crashing_serve"]


@dataclass(frozen=True)
class Keyed:
    """A keyed command ready to send, and how to count the money it moved once it has run."""

    path: str
    body: dict[str, str]
    actor: Actor
    # The movements found, each (kind, amount): read from the ledger, or from the events themselves.
    moved: Callable[[httpx.Client, FundingApplication], list[tuple[str, str]]]


def allocation(app: FundingApplication) -> Keyed:
    path = f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations"
    return Keyed(path, {"amount": "250.00", "note": "retried top-up"}, FINANCE, in_the_ledger("retried top-up"))


def payment(app: FundingApplication) -> Keyed:
    request = approved_request(app, amount="1000.00")
    body = {"amount": "400.00", "reference": "BACS-RETRIED"}
    return Keyed(f"/requests/{request.id}/payments", body, FINANCE, in_the_ledger("BACS-RETRIED"))


def release(app: FundingApplication) -> Keyed:
    """Since issue 13: a release gives money back to the budget (the request's event and the budget's)."""
    request = approved_request(app, amount="1000.00")
    body = {"reason_code": "pupil_left", "note": "Retried release.", "amount": "300.00"}
    moved = in_the_events(request.id, "AwardReleased", "FundsReleased")
    return Keyed(f"/requests/{request.id}/release", body, LEAD, moved)


def recovery_receipt(app: FundingApplication) -> Keyed:
    """Since issue 13: money recovered comes back to the budget it was paid from."""
    request = approved_request(app, amount="1000.00")
    app.record_payment(FINANCE, request.id, "1000.00", "BACS-PAID")
    app.raise_recovery(FINANCE, request.id, YEAR, "200.00", "overpayment", "Paid twice.")
    body = {"amount": "150.00", "reference": "REMIT-RETRIED", "received_on": "2026-10-01"}
    moved = in_the_events(request.id, "RecoveryReceived", "RecoveryReceived")
    return Keyed(f"/requests/{request.id}/recoveries/1/receipts", body, FINANCE, moved)


COMMANDS: dict[str, Callable[[FundingApplication], Keyed]] = {
    "allocation": allocation,
    "payment": payment,
    "release": release,
    "recovery_receipt": recovery_receipt,
}


def in_the_ledger(reference: str) -> Callable[[httpx.Client, FundingApplication], list[tuple[str, str]]]:
    def moved(client: httpx.Client, app: FundingApplication) -> list[tuple[str, str]]:
        return [(row["movement"], row["amount"]) for row in ledger_rows(client, reference)]

    return moved


def in_the_events(
    request_id: UUID, request_event: str, budget_event: str
) -> Callable[[httpx.Client, FundingApplication], list[tuple[str, str]]]:
    """The request's events of one kind and its cluster budget's of another, as read from the store."""

    def moved(client: httpx.Client, app: FundingApplication) -> list[tuple[str, str]]:
        budget_id = ClusterBudget.id_for(ClusterId(CLUSTER), FinancialYear.parse(YEAR))
        found = []
        for aggregate_id, name in ((request_id, request_event), (budget_id, budget_event)):
            found += [
                (type(event).__qualname__, str(event.amount))  # type: ignore[attr-defined]
                for event in app.events.get(aggregate_id)
                if type(event).__name__ == name and getattr(event, "request_id", request_id) == request_id
            ]
        return found

    return moved


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
    keyed = COMMANDS[command](app)
    headers = {**auth(keyed.actor), "Idempotency-Key": f"{command}-{point}"}

    crashing = Server(tmp_path, database_url, command=CRASHING, settings={"CRASH_AT": point})
    servers.append(crashing.start())
    process = crashing.process
    assert process is not None
    with crashing.client() as client, pytest.raises(httpx.TransportError):
        client.post(keyed.path, json=keyed.body, headers=headers)
    assert process.wait(timeout=30) == -9, crashing.log  # it died by SIGKILL, at the planted step

    restarted = Server(tmp_path, database_url)
    servers.append(restarted.start())
    with restarted.client() as client:
        retry = client.post(keyed.path, json=keyed.body, headers=headers)
        again = client.post(keyed.path, json=keyed.body, headers=headers)
        moved = keyed.moved(client, make_app())  # a fresh application: what the store holds

    success = 201 if command != "release" else 200
    assert retry.status_code == again.status_code == success, (retry.text, again.text)
    assert again.json() == retry.json()
    assert again.headers["etag"] == retry.headers["etag"]
    assert again.headers.get("idempotent-replayed") == "true"
    # Before the commit, nothing had happened: the retry is the one time the command runs.
    # After it, the retry is answered from what the crashed server committed or recorded.
    assert retry.headers.get("idempotent-replayed") == (None if point == "before-commit" else "true")
    amount = keyed.body["amount"]
    if command in ("allocation", "payment"):
        assert moved == [(command, amount)]
    else:  # the request's event and its budget's, once each
        assert [moved_amount for _, moved_amount in moved] == [amount, amount], moved


def test_concurrent_repeats_across_two_server_processes_act_once(
    make_app: Callable[[], FundingApplication],
    database_url: str,
    tmp_path: Path,
    servers: list[Server],  # noqa: F811 - the fixture
) -> None:
    app = make_app()
    set_up_world(app)
    keyed = allocation(app)
    path, body = keyed.path, keyed.body
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
        rows = ledger_rows(client, "retried top-up")
        budget = client.get(f"/clusters/{CLUSTER}/budgets/{YEAR}", headers=auth(FINANCE)).json()
    assert len(rows) == 1
    assert budget["allocated"] == "5250.00"
