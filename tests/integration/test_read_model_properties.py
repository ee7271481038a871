"""For random command sequences, every read model equals an independent model and a fold of the log.

Each hypothesis example gets a store of its own (a new SQLite file, or a new PostgreSQL schema,
dropped afterwards) and an application that catches its read models up inline after every
command. Each command that succeeds is also told to ``tests/read_model_oracle.py``, a model that
shares no code with the projections; after the sequence every table must hold exactly the rows
it predicts (balances, request index, decision log, finance ledger with its running balances,
their helper tables, and the audit chain as ``tests/reference_chain.py`` recomputes it). Then a
*second* ``Projector`` with the same projections, on a separate read-model database (another
SQLite file, or another PostgreSQL schema) but reading the same notification log, builds every
table from nothing; the two must hold exactly the same rows, and reconciliation (read models
against a fold of the aggregates' events) must be consistent for each financial year.

The helpers here (table dumps, a separate read-model database, a from-scratch build, a source
cut off at a log position) are shared by the recovery, rebuild and audit tests.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from domain.errors import FundingError
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget
from domain.money import Money
from domain.values import ClusterId, FinancialYear, ProvisionLine, SchoolUrn, SpendLine, TopUpReason
from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings, SQLiteStore, parse_database_url
from projections.audit_chain import AuditChain
from projections.database import PostgresProjectionDatabase, ProjectionDatabase, SQLiteProjectionDatabase
from projections.engine import LibraryNotificationSource, NotificationLike, NotificationSource, Projector
from projections.read_models import read_models
from tests.conftest import STORES, _drop_schema, postgres_base_url
from tests.read_model_oracle import ReadModelOracle
from tests.support import (
    CLUSTER,
    CLUSTER_NAMES,
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
    set_up_world,
    submission,
)

# ================================================================================================
# Shared helpers: comparing read-model databases table by table
# ================================================================================================

# Every read-model table and its primary key, so a dump is in a stable order.
TABLE_KEYS: dict[str, str] = {
    "cluster_balances": "fund_id",
    "council_fund_balances": "fund_id",
    "cluster_balances_requests": "request_id",
    "request_index": "request_id",
    "decision_log": "position",
    "decision_log_requests": "request_id",
    "decision_log_budgets": "fund_id",
    "finance_ledger": "position",
    "finance_ledger_funds": "fund_id",
    "clusters": "cluster_id",
    "schools": "urn",
    "sen_reports": "school_urn",
    "sen_report_broken_links": "report_ref",
    "instalments": "instalment_id",
    "instalment_requests": "request_id",
    "awards": "request_id",
    "awards_instalments": "instalment_ref",
    "awards_requests": "request_id",
    "audit_chain": "position",
    "audit_checkpoints": "position",
}
# A checkpoint's ``recorded_at`` is the wall-clock time it was written, not a fact of the log, so
# a rebuild legitimately writes a new one; every other column of every table is compared.
SELECTED_COLUMNS: dict[str, str] = {"audit_checkpoints": "position, hash"}


def all_projections(audit_key: bytes | None = None) -> list[Any]:
    return [*read_models(), AuditChain(audit_key)]


def dump_tables(database: ProjectionDatabase) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table's full contents, ordered by primary key."""
    dump: dict[str, list[tuple[Any, ...]]] = {}
    with database.reading() as cursor:
        for table, key in TABLE_KEYS.items():
            cursor.execute(f"SELECT {SELECTED_COLUMNS.get(table, '*')} FROM {table} ORDER BY {key}")
            dump[table] = [tuple(row) for row in cursor.fetchall()]
    return dump


def tracking_positions(database: ProjectionDatabase) -> dict[str, int]:
    with database.reading() as cursor:
        cursor.execute("SELECT name, position FROM projection_tracking ORDER BY name")
        return {str(name): int(position) for name, position in cursor.fetchall()}


class SourceUpTo:
    """The same notification log, cut off after ``last`` (what a build up to a position reads)."""

    def __init__(self, source: NotificationSource, last: int) -> None:
        self.source, self.last = source, last

    def select(self, after: int, limit: int) -> Sequence[NotificationLike]:
        return [n for n in self.source.select(after, limit) if n.id <= self.last]

    def head(self) -> int:
        return min(self.source.head(), self.last)

    def to_event(self, notification: NotificationLike) -> Any:
        return self.source.to_event(notification)


@contextmanager
def separate_read_model_database(database_url: str, folder: Path) -> Iterator[ProjectionDatabase]:
    """An empty read-model database beside the store: a new SQLite file, or a new PostgreSQL schema."""
    store = parse_database_url(database_url)
    if isinstance(store, SQLiteStore):
        database: ProjectionDatabase = SQLiteProjectionDatabase(str(folder / f"scratch-{uuid.uuid4().hex[:8]}.sqlite3"))
        try:
            yield database
        finally:
            database.close()
        return
    import psycopg
    from psycopg import sql

    schema = f"scratch_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(store.conninfo(), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    database = PostgresProjectionDatabase(store.conninfo(), schema, pool_size=2)
    try:
        yield database
    finally:
        database.close()
        _drop_schema(database_url, schema)


def notification_source(app: FundingApplication) -> LibraryNotificationSource:
    return LibraryNotificationSource(app.recorder, app.mapper)


def from_scratch_tables(
    app: FundingApplication,
    database_url: str,
    folder: Path,
    *,
    up_to: int | None = None,
) -> dict[str, list[tuple[Any, ...]]]:
    """Every table as a fresh projector builds it from the log alone, on a separate database."""
    source: NotificationSource = notification_source(app)
    if up_to is not None:
        source = SourceUpTo(source, up_to)
    audit_key = app.read_side.audit_key if app.read_side is not None else None
    with separate_read_model_database(database_url, folder) as database:
        projector = Projector(database, source, all_projections(audit_key))
        projector.create_tables()
        projector.catch_up()
        return dump_tables(database)


def write_many_events(app: FundingApplication, requests: int, *, chunk: int = 100) -> int:
    """Append about ``6 * requests`` real domain events fast, by saving many aggregates per ``save()``.

    Needs ``set_up_world`` first. Each request is submitted, evidenced, approved against the
    cluster budget and paid in full, exactly as the commands would record it; going around the
    commands keeps the read models untouched, so a worker or a catch-up has a backlog to work on.
    Returns the log position of the last event.
    """
    year, cluster = FinancialYear.parse(YEAR), ClusterId.parse(CLUSTER)
    budget: ClusterBudget = app.repository.get(ClusterBudget.id_for(cluster, year))
    budget.allocate(Money.parse("1000000.00"), "bulk allocation", FINANCE)
    pending: list[Any] = []
    for number in range(requests):
        request = FundingRequest.submit(
            school_urn=SchoolUrn.parse(SCHOOL),
            cluster_id=cluster,
            financial_year=year,
            amount_requested=Money.parse("100.00"),
            reason=TopUpReason.COMPLEX_NEEDS,
            pupil_count=1,
            needs_summary="One pupil needs daily speech and language therapy.",
            planned_provision=[ProvisionLine.parse("therapies", "100.00")],
            actor=HEAD,
        )
        request.provide_evidence(Money.parse("12000.00"), [SpendLine.parse("therapies", "9000.00", "SaLT")], [], HEAD)
        request.approve(Money.parse("90.00"), "Evidence shows the school's funds are used.", "", LEAD, budget)
        request.record_payment(Money.parse("90.00"), f"BULK-{number:05d}", FINANCE, budget)
        pending.append(request)
        if len(pending) == chunk:
            app.save(budget, *pending)
            pending = []
    app.save(budget, *pending)
    last = app.recorder.max_notification_id()
    assert last is not None  # the log holds at least the world's events
    return last


def test_the_table_comparison_covers_every_table_of_every_projection():
    tables = [table for projection in all_projections() for table in projection.tables]

    assert sorted(tables) == sorted(TABLE_KEYS)


# ================================================================================================
# Random command sequences
# ================================================================================================

YEARS = (YEAR, "2027-28")
NEXT_YEAR = "2027-28"
CLUSTERS = (CLUSTER, OTHER_CLUSTER)
LEADS = {CLUSTER: LEAD, OTHER_CLUSTER: OTHER_LEAD}
SCHOOLS = ((HEAD, SCHOOL), (SECOND_HEAD, SECOND_SCHOOL), (OTHER_HEAD, OTHER_SCHOOL))
AMOUNTS = ("0.01", "1.00", "99.99", "250.00", "600.00", "1000.00", "2500.50", "4000.00")
# Fractions of the relevant amount (requested, escalated or outstanding); 3/2 is over the limit.
FRACTIONS = ((1, 1), (1, 2), (1, 3), (3, 2))
# ``FUNDING_ENGINE_STATEFUL_EXAMPLES`` multiplies these for a soak, as in test_stateful.py.
SOAK = int(os.environ.get("FUNDING_ENGINE_STATEFUL_EXAMPLES", "1") or "1")
EXAMPLES = {"sqlite": 20 * SOAK, "postgres": 6 * SOAK}

index = st.integers(0, 9)
fraction = st.sampled_from(FRACTIONS)
PARAMETERS: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    # The flag makes the allocation a negative adjustment (a third of the time).
    "allocate": st.tuples(
        st.sampled_from(CLUSTERS),
        st.sampled_from(YEARS),
        st.sampled_from(AMOUNTS),
        st.sampled_from([False, False, True]),
    ),
    "fund": st.tuples(st.sampled_from(YEARS), st.sampled_from(AMOUNTS)),
    "submit": st.tuples(st.integers(0, 2), st.sampled_from(YEARS), st.sampled_from(AMOUNTS)),
    "evidence": st.tuples(index),
    "information": st.tuples(index),
    "approve": st.tuples(index, fraction),
    "decline": st.tuples(index),
    "escalate": st.tuples(index, fraction),
    "council": st.tuples(index, st.booleans(), st.one_of(st.none(), fraction)),
    "withdraw": st.tuples(index),
    "pay": st.tuples(index, fraction),
    "commission": st.tuples(st.sampled_from(CLUSTERS), st.sampled_from(YEARS), st.sampled_from(AMOUNTS)),
    "move_school": st.tuples(),
    # The register: by hand (register, or update once registered) or as a one-row file.
    "register_school": st.tuples(
        st.integers(0, 2),
        st.sampled_from(("Northmere Primary", "Fenwick Academy")),
        st.sampled_from(("primary", "all_through")),
        st.sampled_from(CLUSTERS),
        st.booleans(),
    ),
    "rename_cluster": st.tuples(st.sampled_from(CLUSTERS), st.sampled_from(("Northmere", "Fenwick Broads"))),
}
# How often each command comes up: the request lifecycle more than the reference data.
WEIGHTS = {"submit": 4, "evidence": 4, "approve": 3, "pay": 2, "escalate": 2, "council": 2, "allocate": 2}
KINDS = [kind for kind in PARAMETERS for _ in range(WEIGHTS.get(kind, 1))]
steps = st.sampled_from(KINDS).flatmap(lambda kind: PARAMETERS[kind].map(lambda params: (kind, *params)))
sequences = st.lists(steps, min_size=10, max_size=25)


def part_of(pence: int, share: tuple[int, int]) -> str:
    numerator, denominator = share
    return str(Money(max(1, pence * numerator // denominator)))


def run_step(app: FundingApplication, requests: list[UUID], step: tuple[Any, ...], oracle: ReadModelOracle) -> None:
    """One command by the actor entitled to it; a refusal by the domain is part of the game.

    Each command that succeeds is told to the oracle, with what was sent."""
    kind = step[0]
    if kind == "allocate":
        _, cluster_id, year, amount, negative = step
        amount = f"-{amount}" if negative else amount
        app.allocate_budget(FINANCE, cluster_id, year, amount, "random allocation")
        oracle.budget_allocated(FINANCE, cluster_id, year, amount, "random allocation")
    elif kind == "fund":
        _, year, amount = step
        app.allocate_council_fund(FINANCE, year, amount, "random fund allocation")
        oracle.council_fund_allocated(FINANCE, year, amount, "random fund allocation")
    elif kind == "submit":
        _, school, year, amount = step
        actor, urn = SCHOOLS[school]
        provision = [{"category": "therapies", "amount": amount}]
        fields = submission(school_urn=urn, financial_year=year, amount_requested=amount, planned_provision=provision)
        request = app.submit_request(actor, **fields)
        requests.append(request.id)
        oracle.submitted(actor, request.id, school_urn=urn, year=year, amount=amount, reason=fields["reason"],
                         pupil_count=fields["pupil_count"])  # fmt: skip
    elif kind == "move_school":
        here = app.cluster_of_school(SECOND_SCHOOL)
        there = OTHER_CLUSTER if str(here) == CLUSTER else CLUSTER
        app.remove_school(COUNCIL, str(here), SECOND_SCHOOL)
        oracle.school_left(SECOND_SCHOOL)
        app.add_school(COUNCIL, there, SECOND_SCHOOL)
        oracle.school_joined(there, SECOND_SCHOOL)
    elif kind == "register_school":
        _, school, name, phase, cluster_id, from_file = step
        urn = SCHOOLS[school][1]
        if from_file:
            app.import_schools(COUNCIL, f"urn,name,phase,cluster_id\n{urn},{name},{phase},{cluster_id}\n".encode())
        elif app.read_models.school(COUNCIL, urn).registered:
            app.update_school(COUNCIL, urn, name, phase, cluster_id)
        else:
            app.register_school(COUNCIL, urn, name, phase, cluster_id)
        oracle.school_registered(urn, name, phase, cluster_id)
    elif kind == "rename_cluster":
        _, cluster_id, name = step
        app.import_clusters(COUNCIL, f"cluster_id,name\n{cluster_id},{name}\n".encode())
        oracle.cluster_renamed(cluster_id, name)
    elif kind == "commission":
        _, cluster_id, year, amount = step
        commission: dict[str, Any] = {
            "service": "educational_psychology",
            "provider": "Broadland Psychology Partnership",
            "amount": amount,
            "school_urns": [SCHOOL] if cluster_id == CLUSTER else [OTHER_SCHOOL],
            "description": "Termly educational psychology sessions.",
        }
        app.commission_service(LEADS[cluster_id], cluster_id, year, **commission)
        oracle.service_commissioned(LEADS[cluster_id], cluster_id, year, **commission)
    elif requests or kind in PREPARED_BY:
        request = pick_request(app, requests, kind, step[1], oracle)
        if request is not None:
            act(app, kind, request, step[2:], oracle)


# Which request states each command suits, and the command that brings a request to that state.
SUITED = {
    "evidence": ("submitted", "information_requested"),
    "information": ("submitted", "evidenced"),
    "approve": ("evidenced",),
    "decline": ("submitted", "evidenced", "information_requested"),
    "escalate": ("evidenced",),
    "council": ("escalated",),
    "withdraw": ("submitted", "evidenced", "information_requested"),
    "pay": ("cluster_approved", "council_approved"),
}
PREPARED_BY = {"approve": "evidence", "escalate": "evidence", "council": "escalate", "pay": "approve"}
IN_FULL = (1, 1)


def pick_request(
    app: FundingApplication,
    requests: list[UUID],
    kind: str,
    choice: int,
    oracle: ReadModelOracle,
    *,
    bring_forward: str = "",
) -> Any:
    """A request in a state the command suits; if none is, one brought to it first (submitted, evidence
    given, escalated or approved in full), so most commands get past the status rules to the money.
    With no suitable request and nothing to bring forward, any request: the command is then refused."""
    candidates = [app.get_request(COUNCIL, request_id) for request_id in requests]
    suited = [request for request in candidates if request.status.value in SUITED[kind]]
    if suited:
        return suited[choice % len(suited)]
    before = PREPARED_BY.get(kind)
    if before is None:
        if not bring_forward:
            return candidates[choice % len(candidates)] if candidates else None
        run_step(app, requests, ("submit", choice % len(SCHOOLS), YEARS[choice % 2], bring_forward), oracle)
        return app.get_request(COUNCIL, requests[-1])
    # A request brought forward to an escalation asks for more than any cluster budget holds.
    amount = "4000.00" if kind in ("escalate", "council") else AMOUNTS[choice % len(AMOUNTS)]
    request = pick_request(app, requests, before, choice, oracle, bring_forward=amount)
    act(app, before, request, (IN_FULL, True, None), oracle)
    return app.get_request(COUNCIL, request.id)


def act(app: FundingApplication, kind: str, request: Any, params: tuple[Any, ...], oracle: ReadModelOracle) -> None:
    school = next(actor for actor, urn in SCHOOLS if urn == str(request.school_urn))
    lead = LEADS[str(request.cluster_id)]
    if kind == "evidence":
        app.provide_evidence(school, request.id, **EVIDENCE)
        oracle.evidence_provided(school, request.id)
    elif kind == "information":
        question = "Please send the latest provision map."
        app.request_information(lead, request.id, question)
        oracle.information_requested(lead, request.id, question)
    elif kind == "approve":
        amount, reason = part_of(request.amount_requested.pence, params[0]), "Evidence shows the funds are used."
        app.approve(lead, request.id, amount, reason)
        oracle.approved(lead, request.id, amount, reason)
    elif kind == "decline":
        reason = "The spend evidence does not cover the year."
        app.decline(lead, request.id, "insufficient_evidence", reason)
        oracle.declined(lead, request.id, "insufficient_evidence", reason)
    elif kind == "escalate":
        amount, statement = part_of(request.amount_requested.pence, params[0]), "A special school closed mid-year."
        app.escalate(lead, request.id, amount, statement)
        oracle.escalated(lead, request.id, amount, statement)
    elif kind == "council":
        approve, share = params[0], params[1]
        if approve:
            escalated = (request.amount_escalated or request.amount_requested).pence
            granted = None if share is None else part_of(escalated, share)
            app.decide_escalation(COUNCIL, request.id, "approve", "Exceptional circumstances shown.", granted)
            oracle.council_approved(COUNCIL, request.id, granted, "Exceptional circumstances shown.")
        else:
            app.decide_escalation(COUNCIL, request.id, "decline", "Circumstances are not exceptional.")
            oracle.council_declined(COUNCIL, request.id, "Circumstances are not exceptional.")
    elif kind == "withdraw":
        app.withdraw(school, request.id, "The pupils moved to another school.")
        oracle.withdrawn(school, request.id, "The pupils moved to another school.")
    elif kind == "pay":
        outstanding = request.amount_approved.pence - request.amount_paid.pence
        amount = part_of(max(outstanding, 1), params[0])
        app.record_payment(FINANCE, request.id, amount, "PAY-REF-1")
        oracle.paid(FINANCE, request.id, amount, "PAY-REF-1")


# ``set_up_world``'s schools and their clusters.
MEMBERSHIP = {SCHOOL: CLUSTER, SECOND_SCHOOL: CLUSTER, OTHER_SCHOOL: OTHER_CLUSTER}
OPENING_BUDGETS = ((CLUSTER, YEAR, "3000.00"), (OTHER_CLUSTER, YEAR, "1500.00"), (CLUSTER, NEXT_YEAR, "1000.00"))
OPENING_FUNDS = ((YEAR, "3000.00"), (NEXT_YEAR, "500.00"))


def set_up_world_for_two_years(app: FundingApplication, oracle: ReadModelOracle) -> None:
    """Budgets for both clusters in both years, small enough that approvals and escalations compete."""
    set_up_world(app, budget=None)
    oracle.reference_data()
    for cluster_id, year, amount in OPENING_BUDGETS:
        app.allocate_budget(FINANCE, cluster_id, year, amount, "initial allocation")
        oracle.budget_allocated(FINANCE, cluster_id, year, amount, "initial allocation")
    for year, amount in OPENING_FUNDS:
        app.allocate_council_fund(FINANCE, year, amount, "exceptional circumstances fund")
        oracle.council_fund_allocated(FINANCE, year, amount, "exceptional circumstances fund")


def pay_what_is_outstanding(app: FundingApplication, requests: list[UUID], oracle: ReadModelOracle) -> None:
    """Finance settles every approved request in full: random steps seldom pay much, and the ledger's
    running paid balance and the paid status must be seen with payments of every size."""
    for request_id in requests:
        request = app.get_request(COUNCIL, request_id)
        if request.status.value in SUITED["pay"]:
            act(app, "pay", request, (IN_FULL,), oracle)


@contextmanager
def fresh_store(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'funding.sqlite3'}"
        return
    base = postgres_base_url()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    try:
        yield f"{base}{'&' if '?' in base else '?'}schema={schema}"
    finally:
        _drop_schema(base, schema)


@pytest.mark.parametrize("kind", STORES)
def test_after_random_commands_every_read_model_equals_the_model_and_a_fold_of_the_log_and_reconciles(kind):
    if kind == "postgres":
        postgres_base_url()  # skips here, not inside hypothesis, when PostgreSQL is not configured

    @settings(
        max_examples=EXAMPLES[kind],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(sequence=sequences)
    def check(sequence: list[tuple[Any, ...]]) -> None:
        with fresh_store(kind) as url, tempfile.TemporaryDirectory() as scratch:
            app = bootstrap(Settings(database_url=url))
            oracle = ReadModelOracle(app, url, membership=MEMBERSHIP, clusters=CLUSTER_NAMES)
            try:
                set_up_world_for_two_years(app, oracle)
                requests: list[UUID] = []
                for step in sequence:
                    try:
                        run_step(app, requests, step, oracle)
                    except FundingError:
                        continue
                    event(f"done: {step[0]}")
                pay_what_is_outstanding(app, requests, oracle)
                database = app.read_side.database
                head = app.recorder.max_notification_id()
                assert head is not None
                # The follower gets there by itself; waiting (not querying) checks it does.
                app.read_side.projector.wait_for(head, timeout=10)
                assert set(tracking_positions(database).values()) == {head}, "the follower left a read model behind"
                # Every table, row by row, against a model that shares no code with the projections...
                oracle.assert_read_models_match(database)
                # ...and against a from-scratch build, so catching up in small batches equals one pass.
                assert dump_tables(database) == from_scratch_tables(app, url, Path(scratch))
                for year in YEARS:
                    result = app.read_models.reconcile(FINANCE, year)
                    assert result.consistent, (year, result)
            finally:
                app.close()

    check()
