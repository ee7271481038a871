"""Audit anchors: the chain's head kept outside the database catches a log cut at its end.

The attack the tests replay: delete the last events, their links in the chain and roll the chain's
tracking back. The chain that is left is whole, so `audit verify` alone says all is well; against an
anchor written before the cut it must fail, naming the anchor.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from projections.audit_anchors import FORMAT, AnchorError
from tests.api.conftest import auth, client_for
from tests.api.test_server import Server, servers  # noqa: F401 - the fixture
from tests.integration.tampering import Intruder
from tests.integration.test_audit_chain import CLI, ROOT, cli
from tests.support import CLUSTER, COUNCIL, FINANCE, YEAR, log_position, set_up_world

AUDIT_KEY = "anchor-test-key-" + "8d41c7e09a2f5b36" * 3
ALLOCATIONS = 8


@pytest.fixture
def anchors(tmp_path: Path) -> Path:
    folder = tmp_path / "anchors"
    folder.mkdir()
    return folder


def eight_allocations(app: FundingApplication) -> None:
    for month in range(ALLOCATIONS):
        app.allocate_budget(FINANCE, CLUSTER, YEAR, "100.00", f"instalment {month + 1}")
    app.read_side.make_fresh()


def cut_the_tail(database_url: str, keep: int) -> None:
    """Remove every event after ``keep`` with its links, and roll the chain's position back with them."""
    intruder = Intruder(database_url)
    with intruder.cursor() as cursor:
        cursor.execute("DELETE FROM {events} WHERE {position} > ?", (keep,))
        cursor.execute("DELETE FROM audit_chain WHERE position > ?", (keep,))
        cursor.execute("DELETE FROM audit_checkpoints WHERE position > ?", (keep,))
        cursor.execute("UPDATE projection_tracking SET position = ? WHERE name = 'audit_chain'", (keep,))


def test_a_log_cut_at_its_end_passes_the_chain_but_fails_against_an_anchor(app, database_url, anchors):
    set_up_world(app)
    before = log_position(app)
    eight_allocations(app)
    anchored = cli(["audit", "anchor", "--to", str(anchors)], database_url)
    assert anchored.returncode == 0, anchored.stderr
    [anchor_file] = list(anchors.iterdir())
    app.close()

    cut_the_tail(database_url, keep=before)

    alone = cli(["audit", "verify"], database_url)
    against = cli(["audit", "verify", "--anchor", str(anchors)], database_url)

    assert alone.returncode == 0 and "ok: true" in alone.stdout.splitlines()  # what the chain alone sees
    assert against.returncode == 1, against.stdout + against.stderr
    assert "ok: false" in against.stdout.splitlines()
    assert (
        f"anchor {anchor_file} (position {before + ALLOCATIONS}): FAILED: the log ends at position {before}, "
        f"before this anchor's position {before + ALLOCATIONS}: events were removed"
    ) in against.stdout.splitlines()


def test_a_log_rewritten_after_the_cut_differs_from_the_anchor(make_app, database_url, anchors):
    app = make_app()
    set_up_world(app)
    before = log_position(app)
    eight_allocations(app)
    app.anchor_audit_chain(COUNCIL, anchors)
    app.close()
    cut_the_tail(database_url, keep=before)

    # New events take the place of the removed ones (SQLite reuses the positions, PostgreSQL moves on).
    rewriter = make_app()
    for _ in range(ALLOCATIONS + 2):
        rewriter.allocate_budget(FINANCE, CLUSTER, YEAR, "1.00", "something else")
    report = rewriter.verify_audit_chain(COUNCIL, anchors)

    assert report.chain.ok is True
    [check] = report.anchors
    assert report.ok is False and check.ok is False
    assert check.problem in (
        f"the log differs from this anchor at or before position {before + ALLOCATIONS}",
        f"the log has no event at this anchor's position {before + ALLOCATIONS}: events were removed",
    )


def test_an_untouched_log_passes_every_anchor_taken_as_it_grew(app, database_url, anchors):
    set_up_world(app)
    app.anchor_audit_chain(COUNCIL, anchors)
    eight_allocations(app)
    app.anchor_audit_chain(COUNCIL, anchors)

    result = cli(["audit", "verify", "--anchor", str(anchors)], database_url)

    assert result.returncode == 0, result.stdout + result.stderr
    assert sum(line.endswith(": ok") for line in result.stdout.splitlines() if line.startswith("anchor ")) == 2


def test_an_anchor_holds_the_chains_head_and_an_hmac_under_the_key(database_url, anchors):
    app = bootstrap(Settings(database_url=database_url, audit_key=AUDIT_KEY))
    try:
        set_up_world(app)
        _, path = app.anchor_audit_chain(COUNCIL, anchors)
        with app.read_side.database.reading() as cursor:
            cursor.execute("SELECT position, hash FROM audit_chain ORDER BY position DESC LIMIT 1")
            head = tuple(cursor.fetchone())
    finally:
        app.close()
    written = json.loads(path.read_text())
    assert written["format"] == FORMAT
    assert (written["position"], written["hash"]) == (int(head[0]), str(head[1]))
    assert len(written["hmac"]) == 64 and written["written_at"].endswith("Z")


def test_an_altered_anchor_file_is_named_when_it_carries_an_hmac(database_url, anchors):
    app = bootstrap(Settings(database_url=database_url, audit_key=AUDIT_KEY))
    try:
        set_up_world(app)
        _, path = app.anchor_audit_chain(COUNCIL, anchors)
        altered = json.loads(path.read_text())
        altered["written_at"] = "2020-01-01T00:00:00Z"  # backdated
        path.write_text(json.dumps(altered))
        [check] = app.verify_audit_chain(COUNCIL, anchors).anchors
    finally:
        app.close()
    assert check.problem == "the anchor's own HMAC does not verify: the file was altered, or written under another key"


def test_a_file_that_is_not_an_anchor_fails_the_check(app, anchors):
    set_up_world(app)
    (anchors / "minutes.anchor.json").write_text("{not json")
    report = app.verify_audit_chain(COUNCIL, anchors)
    [check] = report.anchors
    assert report.ok is False and check.problem is not None and check.problem.startswith("not a readable anchor")


def test_an_anchor_is_never_written_over_an_existing_file_or_through_a_link(app, anchors, tmp_path):
    set_up_world(app)
    existing = tmp_path / "kept.json"
    existing.write_text("the minutes of the March panel\n")
    with pytest.raises(AnchorError, match="exists already"):
        app.anchor_audit_chain(COUNCIL, existing)
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(AnchorError):
        app.anchor_audit_chain(COUNCIL, link)
    assert existing.read_text() == "the minutes of the March panel\n"
    assert not (tmp_path / "elsewhere.json").exists()


def test_audit_anchor_without_a_target_says_where_to_write(database_url):
    result = cli(["audit", "anchor"], database_url)
    assert result.returncode == 1
    assert "FUNDING_ENGINE_AUDIT_ANCHOR_DIR" in result.stderr and "Traceback" not in result.stderr


def test_get_audit_verify_checks_the_configured_anchor_folder(database_url, anchors):
    app = bootstrap(Settings(database_url=database_url, audit_anchor_dir=anchors))
    try:
        set_up_world(app)
        before = log_position(app)
        eight_allocations(app)
        app.anchor_audit_chain(COUNCIL)
    finally:
        app.close()
    cut_the_tail(database_url, keep=before)

    app = bootstrap(Settings(database_url=database_url, audit_anchor_dir=anchors))
    try:
        with client_for(app) as client:
            body = client.get("/audit/verify", headers=auth(COUNCIL)).json()
    finally:
        app.close()
    assert body["ok"] is False and body["first_bad_position"] is None
    [check] = body["anchors"]
    assert check["ok"] is False and check["position"] == before + ALLOCATIONS
    assert check["problem"].startswith(f"the log ends at position {before}")


def anchored_positions(folder: Path) -> list[int]:
    return sorted(json.loads(path.read_text())["position"] for path in folder.glob("*.anchor.json"))


def wait_for_anchor_at(folder: Path, position: int, process_log: Callable[[], str]) -> list[int]:
    """Poll until an anchor reaches ``position`` (the process writes one every 0.6 s here)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        positions = anchored_positions(folder)
        if positions and positions[-1] >= position:
            return positions
        time.sleep(0.1)
    raise AssertionError(f"no anchor reached position {position}: {anchored_positions(folder)}\n{process_log()}")


def test_a_server_with_an_anchor_folder_anchors_the_chain_as_it_grows(database_url, anchors, tmp_path, servers):  # noqa: F811
    settings = {"FUNDING_ENGINE_AUDIT_ANCHOR_DIR": str(anchors), "FUNDING_ENGINE_AUDIT_ANCHOR_INTERVAL_MINUTES": "0.01"}
    server = Server(tmp_path, database_url, settings=settings)
    servers.append(server.start())
    with server.client() as client:
        made = client.post("/clusters", json={"cluster_id": CLUSTER, "name": "Northmere"}, headers=auth(COUNCIL))
        assert made.status_code == 201
        first = wait_for_anchor_at(anchors, 1, lambda: server.log)
        client.post(f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations", json={"amount": "5.00"}, headers=auth(FINANCE))
        later = wait_for_anchor_at(anchors, 3, lambda: server.log)
        verified = client.get("/audit/verify", headers=auth(COUNCIL)).json()
    assert first[0] >= 1 and later[-1] >= 3
    assert len(later) == len(set(later)), "one anchor per new head, not one per interval"
    assert verified["ok"] is True and all(check["ok"] for check in verified["anchors"])


def test_the_projection_worker_anchors_the_chain_too(database_url, anchors, tmp_path):
    app = bootstrap(Settings(database_url=database_url))
    try:
        set_up_world(app)
        head = log_position(app)
    finally:
        app.close()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FUNDING_ENGINE_")}
    environment.update(
        PYTHONPATH=str(ROOT),
        FUNDING_ENGINE_DATABASE_URL=database_url,
        FUNDING_ENGINE_PROJECTIONS="worker",
        FUNDING_ENGINE_AUDIT_ANCHOR_DIR=str(anchors),
        FUNDING_ENGINE_AUDIT_ANCHOR_INTERVAL_MINUTES="0.01",
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen([*CLI, "projections", "run"], cwd=tmp_path, env=environment, stdout=out, stderr=out)
    try:
        positions = wait_for_anchor_at(anchors, head, log.read_text)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, log.read_text()
    assert positions[-1] == head
