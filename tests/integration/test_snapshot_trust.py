"""A snapshot is never trusted to decide unless sealed by this deployment, and the audit folds every one.

The attack the tests replay: raise ``allocated`` by ten million pounds in a budget's latest stored
snapshot, then, in a restarted process, have the lead approve five million against what is really
available. Run with the audit key (processes share the seal) and without it (each process trusts
only what it sealed itself).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.errors import InsufficientFunds
from domain.funds import ClusterBudget
from domain.money import Money
from domain.values import ClusterId, FinancialYear
from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from funding_engine.storage.snapshots import SEAL_LENGTH, SEAL_PREFIX, TrustingRepository, seal_of, unsealed
from tests.api.conftest import assert_problem, auth, client_for
from tests.integration.tampering import Intruder
from tests.integration.test_audit_chain import cli
from tests.support import CLUSTER, COUNCIL, FINANCE, LEAD, YEAR, evidenced_request, set_up_world

AUDIT_KEY = "snapshot-seal-" + "3c9e1f5a7b0d2648" * 3
BUDGET_ID = ClusterBudget.id_for(ClusterId(CLUSTER), FinancialYear.parse(YEAR))
SNAPSHOT_VERSION = 20  # FundingApplication.snapshotting_intervals[ClusterBudget]
TEN_MILLION_POUNDS = 1_000_000_000  # pence


@pytest.fixture(params=["with the audit key", "without a key"])
def key(request: pytest.FixtureRequest) -> str | None:
    return AUDIT_KEY if request.param == "with the audit key" else None


@pytest.fixture
def start(database_url: str, key: str | None) -> Iterator[Callable[[], FundingApplication]]:
    """Starts a process of the deployment on the test's store (each call: a process after a restart)."""
    apps: list[FundingApplication] = []

    def make() -> FundingApplication:
        apps.append(bootstrap(Settings(database_url=database_url, audit_key=key)))
        return apps[-1]

    yield make
    for app in apps:
        app.close()


def a_budget_past_its_snapshot(app: FundingApplication) -> None:
    """39,726.00 available, in a budget of 21 events whose 20th is snapshotted."""
    set_up_world(app, budget="39707.00")
    while app.get_budget(FINANCE, CLUSTER, YEAR).version <= SNAPSHOT_VERSION:
        app.allocate_budget(FINANCE, CLUSTER, YEAR, "1.00", "monthly top-up")
    assert app.snapshots is not None
    assert [s.originator_version for s in app.snapshots.get(BUDGET_ID)] == [SNAPSHOT_VERSION]


def forge(intruder: Intruder, change: Callable[[dict[str, Any]], None], *, reseal_with: bytes | None = None) -> None:
    """Edit the budget's stored snapshot as someone with write access to the database would."""
    with intruder.cursor() as cursor:
        cursor.execute(
            "SELECT originator_id, originator_version, topic, state FROM {snapshots} WHERE originator_id = ?",
            (intruder.id_param(BUDGET_ID),),
        )
        [(originator_id, version, topic, state)] = cursor.fetchall()
        from eventsourcing.persistence import StoredEvent

        record, seal = unsealed(StoredEvent(BUDGET_ID, version, topic, bytes(state)))
        snapshot = json.loads(record.state)
        change(snapshot)
        forged = StoredEvent(BUDGET_ID, version, topic, json.dumps(snapshot, separators=(",", ":")).encode())
        if reseal_with is not None:
            seal = seal_of(reseal_with, forged)
        new_state = SEAL_PREFIX + (seal or b"0" * SEAL_LENGTH) + b":" + forged.state
        cursor.execute(
            "UPDATE {snapshots} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            (new_state, originator_id, version),
        )
        assert cursor.rowcount == 1


def ten_million_more(snapshot: dict[str, Any]) -> None:
    snapshot["state"]["allocated"]["_data_"] += TEN_MILLION_POUNDS


def test_a_forged_snapshot_is_never_used_to_decide(start, database_url):
    writer = start()
    a_budget_past_its_snapshot(writer)
    forge(Intruder(database_url), ten_million_more)

    restarted = start()
    request = evidenced_request(restarted, amount_requested="5000000.00")
    with pytest.raises(InsufficientFunds):
        restarted.approve(LEAD, request.id, "5000000.00", "The budget says it can.")

    budget = restarted.get_budget(FINANCE, CLUSTER, YEAR)
    assert (budget.allocated, budget.available) == (Money.parse("39726.00"), Money.parse("39726.00"))


def test_the_audit_names_a_forged_snapshot(start, database_url):
    a_budget_past_its_snapshot(start())
    forge(Intruder(database_url), ten_million_more)

    report = start().verify_audit_chain(COUNCIL)

    assert report.chain.ok is True  # no event changed: the chain alone would have said all is well
    assert report.ok is False
    assert [(bad.aggregate_id, bad.version, bad.problem) for bad in report.snapshots.bad] == [
        (BUDGET_ID, SNAPSHOT_VERSION, "does not match its events")
    ]


@pytest.mark.parametrize("key", [AUDIT_KEY], ids=["with the audit key"])
def test_a_snapshot_resealed_by_a_key_holder_still_fails_the_audit(start, database_url, key):
    """Only someone holding the key can seal; the fold of the events still gives them away."""
    a_budget_past_its_snapshot(start())
    from funding_engine.storage.snapshots import seal_key

    forge(Intruder(database_url), ten_million_more, reseal_with=seal_key(key)[0])

    report = start().verify_audit_chain(COUNCIL)
    assert [(bad.version, bad.problem) for bad in report.snapshots.bad] == [
        (SNAPSHOT_VERSION, "does not match its events")
    ]


def test_an_untouched_snapshot_passes_the_audit_and_under_the_key_is_used_by_other_processes(
    start: Callable[[], FundingApplication], key: str | None
) -> None:
    writer = start()
    a_budget_past_its_snapshot(writer)

    restarted = start()
    report = restarted.verify_audit_chain(COUNCIL)
    assert isinstance(restarted.repository, TrustingRepository)
    trusted = restarted.repository._trusted_snapshot(BUDGET_ID, None)

    assert report.ok is True and report.snapshots.checked == 1
    # Under the shared key a restarted process starts its loads from the snapshot; without a key
    # it cannot tell the snapshot from a forgery, so it replays the events instead.
    assert (trusted.originator_version if trusted else None) == (SNAPSHOT_VERSION if key else None)
    assert restarted.get_budget(FINANCE, CLUSTER, YEAR).allocated == Money.parse("39726.00")


def test_a_snapshot_whose_seal_was_stripped_is_passed_over(
    start: Callable[[], FundingApplication], database_url: str
) -> None:
    a_budget_past_its_snapshot(start())
    intruder = Intruder(database_url)
    with intruder.cursor() as cursor:
        cursor.execute("SELECT state FROM {snapshots} WHERE originator_id = ?", (intruder.id_param(BUDGET_ID),))
        [(state,)] = cursor.fetchall()
        plain = bytes(state).split(b":", 2)[2].replace(b'"_data_":3970700', b'"_data_":1003970700')
        cursor.execute(
            "UPDATE {snapshots} SET state = ? WHERE originator_id = ?", (plain, intruder.id_param(BUDGET_ID))
        )

    restarted = start()
    assert isinstance(restarted.repository, TrustingRepository)
    assert restarted.repository._trusted_snapshot(BUDGET_ID, None) is None
    assert restarted.get_budget(FINANCE, CLUSTER, YEAR).allocated == Money.parse("39726.00")


def test_audit_verify_on_the_command_line_names_the_forged_snapshot(start, database_url, key):
    a_budget_past_its_snapshot(start())
    forge(Intruder(database_url), ten_million_more)

    result = cli(["audit", "verify"], database_url, **({"FUNDING_ENGINE_AUDIT_KEY": key} if key else {}))

    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "ok: false" in lines and "first_bad_position: null" in lines
    assert f"bad snapshot: {BUDGET_ID} version {SNAPSHOT_VERSION}: does not match its events" in lines
    assert "Traceback" not in result.stderr


def test_get_audit_verify_names_the_forged_snapshot(start, database_url):
    a_budget_past_its_snapshot(start())
    forge(Intruder(database_url), ten_million_more)

    with client_for(start()) as client:
        refused = client.get("/audit/verify", headers=auth(FINANCE))
        body = client.get("/audit/verify", headers=auth(COUNCIL)).json()

    assert_problem(refused, 403, "forbidden")
    assert body["ok"] is False and body["first_bad_position"] is None
    assert body["snapshots_checked"] == 1
    assert body["bad_snapshots"] == [
        {"aggregate_id": str(BUDGET_ID), "version": SNAPSHOT_VERSION, "problem": "does not match its events"}
    ]


def test_the_audit_folds_snapshots_on_a_long_history_too(start, tmp_path: Path):
    """Several snapshots of one budget, each checked against the events up to its own version."""
    app = start()
    set_up_world(app, budget="100.00")
    while app.get_budget(FINANCE, CLUSTER, YEAR).version <= 3 * SNAPSHOT_VERSION:
        app.allocate_budget(FINANCE, CLUSTER, YEAR, "1.00", "weekly top-up")
    report = start().verify_audit_chain(COUNCIL)
    budget_snapshots = [s.originator_version for s in app.snapshots.get(BUDGET_ID)]
    assert budget_snapshots == [SNAPSHOT_VERSION, 2 * SNAPSHOT_VERSION, 3 * SNAPSHOT_VERSION]
    assert report.ok is True and report.snapshots.checked >= 3
