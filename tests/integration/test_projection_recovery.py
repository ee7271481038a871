"""Projections survive crashes, refuse a second worker, and serve reads from a separate worker.

(a) A fault between applying a batch's rows and recording its position rolls the whole batch
    back (rows and every projection's position); resuming applies each event exactly once.
(b) A real ``kill -9`` of a ``funding-engine projections run`` worker in the middle of a
    catch-up, then a restart, ends with tables identical to a from-scratch build of the log.
(c) A second worker, or a rebuild, is refused while a worker holds the projections.
(d) In worker mode a query waits (bounded) for the worker to reach the log's head, and without
    a worker it raises ``ProjectionTimeout`` naming the configured read timeout; a worker started
    afterwards lets the next query answer.

Everything runs on SQLite and on PostgreSQL. The application under test runs with
``FUNDING_ENGINE_PROJECTIONS=worker`` wherever commands must not catch the read models up
themselves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.values import FinancialYear
from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from projections.engine import ProjectionBusy, ProjectionTimeout, Projector
from projections.projection import Projection
from projections.reconciliation import recompute
from tests.integration.test_read_model_properties import (
    dump_tables,
    from_scratch_tables,
    notification_source,
    tracking_positions,
    write_many_events,
)
from tests.support import (
    CLUSTER,
    COUNCIL,
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
    evidenced_request,
    set_up_world,
    submit,
)

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "funding_engine.cli"]
REASON = "Spend evidence shows the school's own SEN funding is fully used."
CIRCUMSTANCES = "A special school closed and three pupils with EHCPs arrived mid-year."


@pytest.fixture
def make_worker_mode_app(database_url: str) -> Iterator[Callable[..., FundingApplication]]:
    """Applications whose commands leave the read models to a worker (``projections=worker``)."""
    apps: list[FundingApplication] = []

    def make(**settings: Any) -> FundingApplication:
        app = bootstrap(Settings(database_url=database_url, projections="worker", **settings))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


@pytest.fixture
def worker_mode_app(make_worker_mode_app: Callable[..., FundingApplication]) -> FundingApplication:
    return make_worker_mode_app()


def a_busy_year(app: FundingApplication) -> None:
    """Every kind of event the read models care about."""
    set_up_world(app, budget="5000.00", council_fund="3000.00")
    app.allocate_budget(FINANCE, OTHER_CLUSTER, YEAR, "2000.00", "initial allocation")
    paid = evidenced_request(app)
    app.approve(LEAD, paid.id, "800.00", REASON)
    app.record_payment(FINANCE, paid.id, "800.00", "PAY-0001")
    questioned = submit(app, SECOND_HEAD, school_urn=SECOND_SCHOOL, amount_requested="700.00")
    app.request_information(LEAD, questioned.id, "Please send the provision map.")
    escalated = evidenced_request(app, amount_requested="6000.00")
    app.escalate(LEAD, escalated.id, "4500.00", CIRCUMSTANCES)
    app.decide_escalation(COUNCIL, escalated.id, "approve", "Exceptional circumstances shown.", "2500.00")
    declined = evidenced_request(app, OTHER_HEAD, school_urn=OTHER_SCHOOL, amount_requested="400.00")
    app.decline(OTHER_LEAD, declined.id, "insufficient_evidence", "The evidence covers one term only.")
    app.commission_service(
        LEAD,
        CLUSTER,
        YEAR,
        service="camhs",
        provider="Coastal CAMHS Outreach",
        amount="450.00",
        school_urns=[SCHOOL],
        description="Weekly CAMHS drop-in for the spring term.",
    )


def cluster_figures_from_read_model(app: FundingApplication) -> dict[str, dict[str, int]]:
    rows = {cluster: app.read_models.balance(COUNCIL, cluster, YEAR) for cluster in (CLUSTER, OTHER_CLUSTER)}
    return {
        cluster: {
            **row.figures.named(),
            "pending": row.pending,
            "escalated": row.escalated,
            # The money after the decisions (issue 13), every figure but the ``closed`` flag.
            **{name: value for name, value in asdict(row.after).items() if name != "closed"},
        }
        for cluster, row in rows.items()
    }


# ================================================================================================
# (a) A fault between applying rows and recording the position
# ================================================================================================

BATCH = 4
FAULTY_BATCH = 3  # two batches commit, the third fails
FAULTY_PROJECTION = "finance_ledger"  # positions are recorded in name order: three before it in that batch


@pytest.fixture
def crashing_once(worker_mode_app: FundingApplication, monkeypatch: pytest.MonkeyPatch) -> FundingApplication:
    """A backlog of a busy year, and a projector whose third batch dies before it records a position."""
    a_busy_year(worker_mode_app)
    worker_mode_app.read_side.projector.batch_size = BATCH
    original = Projector._record_position
    batches_recorded: dict[str, int] = {}

    def record_position(self: Projector, cursor: Any, name: str, old: int, new: int) -> None:
        batches_recorded[name] = batches_recorded.get(name, 0) + 1
        if name == FAULTY_PROJECTION and batches_recorded[name] == FAULTY_BATCH:
            raise RuntimeError("injected crash between the rows and the position")
        original(self, cursor, name, old, new)

    monkeypatch.setattr(Projector, "_record_position", record_position)
    return worker_mode_app


def test_a_fault_before_the_position_is_recorded_rolls_back_the_whole_batch(crashing_once, database_url, tmp_path):
    app = crashing_once

    with pytest.raises(RuntimeError, match="injected crash"):
        app.read_side.projector.catch_up()

    committed = BATCH * (FAULTY_BATCH - 1)
    assert set(tracking_positions(app.read_side.database).values()) == {committed}
    assert dump_tables(app.read_side.database) == from_scratch_tables(app, database_url, tmp_path, up_to=committed)


def test_resuming_after_the_fault_applies_each_event_exactly_once(crashing_once, database_url, tmp_path):
    app = crashing_once
    with pytest.raises(RuntimeError):
        app.read_side.projector.catch_up()

    app.read_side.projector.catch_up()

    assert set(tracking_positions(app.read_side.database).values()) == {app.recorder.max_notification_id()}
    assert dump_tables(app.read_side.database) == from_scratch_tables(app, database_url, tmp_path)


def test_balances_after_resuming_equal_the_fold_of_the_log(crashing_once):
    app = crashing_once
    with pytest.raises(RuntimeError):
        app.read_side.projector.catch_up()
    app.read_side.projector.catch_up()

    recomputed, fund = recompute(notification_source(app), FinancialYear.parse(YEAR))

    assert cluster_figures_from_read_model(app) == recomputed
    council_fund = app.read_models.council_fund_balance(FINANCE, YEAR)
    read = {**council_fund.figures.named(), **asdict(council_fund.after)}
    assert {k: read[k] for k in fund} == fund
    assert app.read_models.reconcile(FINANCE, YEAR).consistent


def test_two_processes_catching_up_at_once_apply_each_event_exactly_once(make_app, database_url, tmp_path):
    """Two inline applications on one store both catch up (their followers and their queries); they
    serialise on the tracking rows, so no event is applied twice or skipped."""
    first, second = make_app(), make_app()
    set_up_world(first, budget="100000.00")
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work(app: FundingApplication, actor: Any, school: str) -> None:
        try:
            barrier.wait()
            for _ in range(8):
                request = evidenced_request(app, actor, school_urn=school, amount_requested="10.00")
                app.approve(LEAD, request.id, "10.00", REASON)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=work, args=(first, HEAD, SCHOOL)),
        threading.Thread(target=work, args=(second, SECOND_HEAD, SECOND_SCHOOL)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert errors == []
    second.read_side.make_fresh()
    assert dump_tables(first.read_side.database) == from_scratch_tables(first, database_url, tmp_path)
    assert first.read_models.balance(COUNCIL, CLUSTER, YEAR).figures.committed == 16 * 1000


# ================================================================================================
# Worker subprocesses
# ================================================================================================


class Worker:
    """A ``funding-engine projections run`` subprocess, its output in files."""

    def __init__(self, database_url: str, folder: Path, name: str = "worker") -> None:
        self.stdout_path, self.stderr_path = folder / f"{name}.out", folder / f"{name}.err"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("FUNDING_ENGINE_")}
        environment.update(
            PYTHONPATH=str(ROOT),
            FUNDING_ENGINE_DATABASE_URL=database_url,
            FUNDING_ENGINE_PROJECTIONS="worker",
        )
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.process = subprocess.Popen(
                [*CLI, "projections", "run", "--poll", "0.05"], cwd=ROOT, env=environment, stdout=out, stderr=err
            )

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_until(self, condition: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited ({self.process.returncode}) waiting for {what}: {self.stderr}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; worker said: {self.stdout} {self.stderr}")
            time.sleep(0.002)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()  # SIGKILL: no clean-up of any kind
        self.process.wait(30)


@pytest.fixture
def workers(database_url: str, tmp_path: Path) -> Iterator[Callable[[str], Worker]]:
    started: list[Worker] = []

    def start(name: str = "worker") -> Worker:
        worker = Worker(database_url, tmp_path, name)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


def run_cli(args: list[str], database_url: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FUNDING_ENGINE_")}
    environment.update(PYTHONPATH=str(ROOT), FUNDING_ENGINE_DATABASE_URL=database_url)
    return subprocess.run([*CLI, *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)


def caught_up(app: FundingApplication) -> Callable[[], bool]:
    def check() -> bool:
        return set(tracking_positions(app.read_side.database).values()) == {app.recorder.max_notification_id()}

    return check


# ================================================================================================
# (b) kill -9 in the middle of a catch-up
# ================================================================================================


def test_a_worker_killed_mid_catch_up_and_restarted_ends_with_tables_identical_to_a_fresh_build(
    worker_mode_app, workers, database_url, tmp_path
):
    app = worker_mode_app
    a_busy_year(app)
    head = write_many_events(app, 450)  # about 2,700 events: several of the worker's 500-event batches
    database = app.read_side.database

    first = workers("first")
    first.wait_until(lambda: min(tracking_positions(database).values()) > 0, what="the first batch")
    first.kill()
    killed_at = tracking_positions(database)

    assert 0 < min(killed_at.values()) < head, killed_at
    assert len(set(killed_at.values())) == 1, "the projections' positions moved apart"
    at = min(killed_at.values())
    assert dump_tables(database) == from_scratch_tables(app, database_url, tmp_path, up_to=at)

    second = workers("second")
    second.wait_until(caught_up(app), what="the restarted worker to catch up")
    assert second.stop() == 0

    assert dump_tables(database) == from_scratch_tables(app, database_url, tmp_path)
    assert app.read_models.reconcile(FINANCE, YEAR).consistent


# ================================================================================================
# (c) One worker at a time
# ================================================================================================


@pytest.fixture
def running_worker(worker_mode_app, workers) -> Worker:
    """A worker that has applied the backlog of a busy year and is following the log."""
    a_busy_year(worker_mode_app)
    worker = workers("first")
    worker.wait_until(caught_up(worker_mode_app), what="the first worker to catch up")
    return worker


def test_a_second_worker_exits_with_status_1_saying_the_projection_is_held(running_worker, database_url):
    second = run_cli(["projections", "run"], database_url)

    assert second.returncode == 1
    assert "held by another worker" in second.stderr
    assert running_worker.process.poll() is None


def test_a_second_worker_applies_nothing_while_the_first_holds_the_projections(
    running_worker, worker_mode_app, database_url, monkeypatch
):
    applied: list[str] = []
    original = Projector._apply_batch

    def counted(self: Projector, projections: Sequence[Projection]) -> int:
        applied.append("batch")
        return original(self, projections)

    monkeypatch.setattr(Projector, "_apply_batch", counted)
    other = bootstrap(Settings(database_url=database_url, projections="worker"))
    try:
        with pytest.raises(ProjectionBusy, match="held by another worker"):
            other.read_side.projector.run_worker(poll_interval=0.01)
    finally:
        other.close()

    assert applied == []


def test_a_rebuild_is_refused_while_a_worker_runs(running_worker, worker_mode_app, database_url):
    before = dump_tables(worker_mode_app.read_side.database)

    result = run_cli(["projections", "rebuild"], database_url)

    assert result.returncode == 1
    assert "held by another worker" in result.stderr
    assert dump_tables(worker_mode_app.read_side.database) == before


def test_a_stopped_workers_projections_can_be_taken_over(running_worker, worker_mode_app, workers):
    assert running_worker.stop() == 0
    worker_mode_app.allocate_budget(FINANCE, CLUSTER, YEAR, "100.00", "spring top-up")

    successor = workers("successor")
    successor.wait_until(caught_up(worker_mode_app), what="the successor to catch up")

    assert successor.process.poll() is None
    assert worker_mode_app.read_models.balance(COUNCIL, CLUSTER, YEAR).figures.allocated == 510000


# ================================================================================================
# (d) Reading in worker mode
# ================================================================================================


def test_with_a_worker_a_query_right_after_a_command_waits_for_it_and_shows_it(running_worker, worker_mode_app):
    app = worker_mode_app
    seen = []
    for amount in ("100.00", "200.00", "300.00"):
        app.allocate_budget(FINANCE, OTHER_CLUSTER, YEAR, amount, "top-up")
        seen.append(app.read_models.balance(COUNCIL, OTHER_CLUSTER, YEAR).figures.allocated)

    assert seen == [210000, 230000, 260000]


def test_with_a_worker_a_decision_is_in_the_log_as_soon_as_the_command_returns(running_worker, worker_mode_app):
    app = worker_mode_app
    request = evidenced_request(app, amount_requested="100.00")
    app.approve(LEAD, request.id, "100.00", REASON)

    newest = app.read_models.decisions(COUNCIL, limit=1).items[0]

    assert (newest.kind, UUID(str(newest.request_id))) == ("cluster_approval", request.id)


def test_in_worker_mode_commands_leave_the_read_models_to_the_worker(worker_mode_app):
    set_up_world(worker_mode_app)

    assert set(tracking_positions(worker_mode_app.read_side.database).values()) == {0}


def test_without_a_worker_a_query_fails_saying_how_long_it_waited_and_for_what(make_worker_mode_app):
    app = make_worker_mode_app(read_timeout_seconds=0.5)
    set_up_world(app)
    head = app.recorder.max_notification_id()

    expected = rf"did not reach log position {head} within 0\.5s; is the projection worker running\?"
    with pytest.raises(ProjectionTimeout, match=expected):
        app.read_models.balance(COUNCIL, CLUSTER, YEAR)

    # It waited for a worker; it did not catch the read models up itself.
    assert set(tracking_positions(app.read_side.database).values()) == {0}


def test_after_a_timeout_a_worker_started_later_lets_the_next_query_answer(make_worker_mode_app, workers):
    app = make_worker_mode_app(read_timeout_seconds=0.5)
    set_up_world(app)
    with pytest.raises(ProjectionTimeout):
        app.read_models.balance(COUNCIL, CLUSTER, YEAR)

    late = workers("late")
    late.wait_until(caught_up(app), what="the late worker to catch up")

    assert app.read_models.balance(COUNCIL, CLUSTER, YEAR).figures.allocated == 500000


def test_a_query_waits_for_a_worker_that_reaches_the_log_while_it_waits(make_worker_mode_app, monkeypatch):
    # The timeout only bounds a hang: the worker below starts once the query has found the models behind.
    app = make_worker_mode_app(read_timeout_seconds=60)
    set_up_world(app)
    head = app.recorder.max_notification_id()
    worker = make_worker_mode_app()  # another process's projector, as `projections run` holds it
    positions_seen: list[int] = []
    query_is_waiting = threading.Event()
    position = app.read_side.projector.position

    def observed_position(name: str) -> int:
        seen = position(name)
        positions_seen.append(seen)
        query_is_waiting.set()
        return seen

    monkeypatch.setattr(app.read_side.projector, "position", observed_position)

    def work() -> None:
        if query_is_waiting.wait(timeout=60):  # a bound on a hang only, as above
            worker.read_side.projector.catch_up()

    thread = threading.Thread(target=work)
    thread.start()
    allocated = app.read_models.balance(COUNCIL, CLUSTER, YEAR).figures.allocated
    thread.join()

    assert positions_seen[0] == 0, "the query should have found the read models behind the log"
    assert positions_seen[-1] == head
    assert allocated == 500000


def test_the_read_timeout_comes_from_the_environment(database_url, monkeypatch):
    monkeypatch.setenv("FUNDING_ENGINE_READ_TIMEOUT_SECONDS", "0.3")
    monkeypatch.setenv("FUNDING_ENGINE_PROJECTIONS", "worker")
    app = bootstrap(Settings(database_url=database_url))
    try:
        set_up_world(app)
        # The message names the timeout the query waited for: the one from the environment.
        with pytest.raises(ProjectionTimeout, match=r"within 0\.3s; is the projection worker running\?"):
            app.read_models.council_fund_balance(FINANCE, YEAR)
    finally:
        app.close()
