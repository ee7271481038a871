"""An independent model of every read-model table, predicted from the commands a test issued.

The random-command tests used to compare the read models with a rebuild by the same projection
code, which shares every bug of it (payments of 400.00 or more left out of the ledger's
``paid_after`` passed them). This model is told each command that succeeded, with the amounts,
actors and texts the test sent, and works out from the rules of DESIGN.md and README.md alone
what every row of every table must then hold: balances (pending = asked for by open requests,
escalated = awaiting the council), the request index, the decision log, the finance ledger
with the fund's available and paid balances after each movement, and the clusters with their
schools, and the school register. It never imports the read models or their queries.

Only what a test cannot know beforehand is taken from the log, read raw: each new event's position
and timestamp (from the stored JSON). The command's events are matched by aggregate and type, and
must be exactly those the command should have written, with the versions the model expects. The
audit chain is predicted by ``tests/reference_chain.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.council_terms import CouncilTermAwards, SchoolTerm
from domain.values import Actor
from funding_engine.application.calendar import today_in_england
from tests.reference_chain import StoredChain, reference_checkpoints, reference_links

# How the engine names its budgets and funds (domain/funds.py): a pure function of cluster and year.
_IDS = uuid5(NAMESPACE_URL, "urn:send-top-up-funding-engine")
OPEN = ("submitted", "evidenced", "information_requested")


def budget_id(cluster_id: str, year: str) -> str:
    return uuid5(_IDS, f"cluster-budget/{cluster_id}/{year}").hex


def council_fund_id(year: str) -> str:
    return uuid5(_IDS, f"council-fund/{year}").hex


def pence(amount: str | int) -> int:
    """Pence from what a test sent: ``"-12.30"`` or an int of pence."""
    if isinstance(amount, int):
        return amount
    return int(Decimal(amount) * 100)


def hex_id(value: Any) -> str:
    return UUID(str(value)).hex


@dataclass(frozen=True)
class LoggedEvent:
    """The facts of one new event the model takes from the log: where and when, nothing else."""

    position: int
    originator: str
    version: int
    type: str  # "ClusterBudget.FundsAllocated": the topic after the module
    at: str  # the event's timestamp as the read models print times, 2026-11-27T20:06:44.123456Z


@dataclass
class FundModel:
    fund_id: str
    kind: str  # "cluster" or "council"
    cluster_id: str | None
    year: str
    opened: bool = False
    allocated: int = 0
    committed: int = 0
    commissioned: int = 0
    paid: int = 0
    version: int = 0

    @property
    def available(self) -> int:
        return self.allocated - self.committed - self.commissioned


@dataclass
class ClusterModel:
    cluster_id: str
    name: str
    school_urns: list[str]
    version: int

    @property
    def aggregate_id(self) -> str:
        return uuid5(_IDS, f"cluster/{self.cluster_id}").hex


@dataclass
class RegisterEntry:
    """A school on the register as the model has it: what the council last wrote, and the entry's version."""

    name: str
    phase: str
    version: int = 1


@dataclass
class RequestModel:
    request_id: str
    school_urn: str
    cluster_id: str
    year: str
    reason: str
    pupil_count: int
    requested: int
    created_at: str
    status: str = "submitted"
    escalated: int | None = None
    approved: int = 0
    paid: int = 0
    funded_by: str | None = None
    updated_at: str = ""
    status_since: str = ""
    version: int = 1
    fund_id: str = field(init=False)

    def __post_init__(self) -> None:
        self.fund_id = budget_id(self.cluster_id, self.year)
        self.updated_at = self.status_since = self.created_at


class ReadModelOracle:
    """Tell it each command that succeeded (after it returns); ask it for every table's rows.

    ``clusters`` (id -> name) and ``membership`` (URN -> cluster id) are the world the test sets up
    before it tells the model anything: each cluster registered, then each of its schools added once.
    """

    def __init__(
        self,
        app: Any,
        database_url: str,
        *,
        audit_key: str | None = None,
        membership: dict[str, str] | None = None,
        clusters: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        self.database_url = database_url
        self.audit_key = audit_key
        self.membership: dict[str, str | None] = dict(membership or {})
        self.clusters: dict[str, ClusterModel] = {}
        for cluster_id, name in (clusters or {}).items():
            urns = sorted(urn for urn, member_of in self.membership.items() if member_of == cluster_id)
            self.clusters[cluster_id] = ClusterModel(cluster_id, name, urns, 1 + len(urns))
        self.register: dict[str, RegisterEntry] = {}
        self.seen = 0  # the last log position whose event the model has accounted for
        self.funds: dict[str, FundModel] = {}
        self.requests: dict[str, RequestModel] = {}
        self.decisions: list[tuple[Any, ...]] = []
        self.ledger: list[tuple[Any, ...]] = []
        self.term_tallies: dict[str, int] = {}  # the council's term tallies, by id: their versions

    # -- the log: only positions and times --------------------------------------------------------

    def _new_events(self) -> list[LoggedEvent]:
        events: list[LoggedEvent] = []
        while True:
            batch = self.app.recorder.select_notifications(self.seen, 500, inclusive_of_start=False)
            if not batch:
                return events
            for notification in batch:
                stamp = json.loads(bytes(notification.state))["timestamp"]["_data_"]
                at = datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                topic = str(notification.topic).split(":", 1)[1]
                events.append(
                    LoggedEvent(notification.id, hex_id(notification.originator_id), notification.originator_version,
                                topic, at)
                )  # fmt: skip
                self.seen = notification.id

    def _take(self, *expected: tuple[str, str, int]) -> list[LoggedEvent]:
        """The command's events: exactly one per (aggregate, type, version) expected, and nothing else."""
        new = self._new_events()
        found = []
        for originator, kind, version in expected:
            matches = [e for e in new if (e.originator, e.type) == (originator, kind)]
            assert len(matches) == 1, f"expected one {kind} of {originator} in the log, found {matches} in {new}"
            assert matches[0].version == version, f"{kind} of {originator}: version {matches[0].version}, not {version}"
            found.append(matches[0])
        extra = [e for e in new if e not in found]
        assert not extra, f"the command wrote events the model did not expect: {extra}"
        return found

    # -- reference data ---------------------------------------------------------------------------

    def reference_data(self) -> None:
        """Clusters registered, schools joining or leaving: only the clusters' own events."""
        new = self._new_events()
        others = [e for e in new if not e.type.startswith(("Cluster.", "SchoolMembership.", "School."))]
        assert not others, f"reference-data commands wrote other events: {others}"

    def school_joined(self, cluster_id: str, urn: str) -> None:
        self.reference_data()
        if self.membership.get(urn) != cluster_id:  # joining its own cluster again changes nothing
            cluster = self.clusters[cluster_id]
            cluster.school_urns = sorted([*cluster.school_urns, urn])
            cluster.version += 1
        self.membership[urn] = cluster_id

    def school_left(self, urn: str) -> None:
        self.reference_data()
        left = self.membership[urn]
        assert left is not None, f"the model has school {urn} in no cluster, yet it could leave one"
        cluster = self.clusters[left]
        cluster.school_urns = [other for other in cluster.school_urns if other != urn]
        cluster.version += 1
        self.membership[urn] = None

    def school_registered(self, urn: str, name: str, phase: str, cluster_id: str) -> None:
        """A school put on the register in ``cluster_id`` (joining it, if it was not there)."""
        if self.membership.get(urn) != cluster_id:
            if self.membership.get(urn) is not None:
                self.school_left(urn)
            self.school_joined(cluster_id, urn)
        self.reference_data()
        entry = self.register.get(urn)
        if entry is None:
            self.register[urn] = RegisterEntry(name, phase)
        elif (entry.name, entry.phase) != (name, phase):
            entry.name, entry.phase, entry.version = name, phase, entry.version + 1

    def cluster_renamed(self, cluster_id: str, name: str) -> None:
        self.reference_data()
        cluster = self.clusters[cluster_id]
        if cluster.name != name:
            cluster.name, cluster.version = name, cluster.version + 1

    # -- money in ---------------------------------------------------------------------------------

    def _fund(self, kind: str, cluster_id: str | None, year: str) -> FundModel:
        fund_id = budget_id(cluster_id, year) if kind == "cluster" else council_fund_id(year)  # type: ignore[arg-type]
        if fund_id not in self.funds:
            self.funds[fund_id] = FundModel(fund_id, kind, cluster_id, year)
        return self.funds[fund_id]

    def _allocated(self, fund: FundModel, actor: Actor, amount: str | int, note: str) -> None:
        type_prefix = "ClusterBudget" if fund.kind == "cluster" else "CouncilFund"
        expected = [] if fund.opened else [(fund.fund_id, f"{type_prefix}.Opened", fund.version + 1)]
        version = fund.version + len(expected) + 1
        *_, allocation = self._take(*expected, (fund.fund_id, f"{type_prefix}.FundsAllocated", version))
        fund.opened, fund.version = True, version
        fund.allocated += pence(amount)
        movement = "allocation" if pence(amount) > 0 else "adjustment"
        self._ledger(allocation, fund, movement, None, pence(amount), note, actor)

    def budget_allocated(self, actor: Actor, cluster_id: str, year: str, amount: str | int, note: str) -> None:
        self._allocated(self._fund("cluster", cluster_id, year), actor, amount, note)

    def council_fund_allocated(self, actor: Actor, year: str, amount: str | int, note: str) -> None:
        self._allocated(self._fund("council", None, year), actor, amount, note)

    def service_commissioned(
        self,
        actor: Actor,
        cluster_id: str,
        year: str,
        *,
        service: str,
        provider: str,
        amount: str | int,
        school_urns: Sequence[str],
        description: str,
    ) -> None:
        budget = self._fund("cluster", cluster_id, year)
        (commission,) = self._take((budget.fund_id, "ClusterBudget.ServiceCommissioned", budget.version + 1))
        budget.version += 1
        budget.commissioned += pence(amount)
        details = f"{service}; provider: {provider}; schools: {', '.join(sorted(school_urns))}"
        self._decision(commission, "commission", None, cluster_id, year, actor, pence(amount), None, description,
                       details)  # fmt: skip
        self._ledger(commission, budget, "commission", None, pence(amount), f"{service}: {provider}", actor)

    # -- a request's life -------------------------------------------------------------------------

    def submitted(
        self,
        actor: Actor,
        request_id: Any,
        *,
        school_urn: str,
        year: str,
        amount: str | int,
        reason: str = "complex_needs",
        pupil_count: int = 2,
    ) -> None:
        request_id = hex_id(request_id)
        cluster_id = self.membership.get(school_urn)
        assert cluster_id is not None, f"the model has school {school_urn} in no cluster, yet it could submit"
        (event,) = self._take((request_id, "FundingRequest.Submitted", 1))
        self.requests[request_id] = RequestModel(
            request_id, school_urn, cluster_id, year, reason, pupil_count, pence(amount), event.at
        )
        self._fund("cluster", cluster_id, year)  # a request makes its budget's row, opened or not

    def _request_event(self, request_id: Any, kind: str, status: str | None) -> tuple[RequestModel, LoggedEvent]:
        request = self.requests[hex_id(request_id)]
        (event,) = self._take((request.request_id, f"FundingRequest.{kind}", request.version + 1))
        self._moved(request, event, status)
        return request, event

    @staticmethod
    def _moved(request: RequestModel, event: LoggedEvent, status: str | None) -> None:
        request.version, request.updated_at = event.version, event.at
        if status is not None and status != request.status:
            # The time it entered its current status: evidence given again keeps the clock running.
            request.status, request.status_since = status, event.at

    def evidence_provided(self, actor: Actor, request_id: Any) -> None:
        self._request_event(request_id, "SpendEvidenceProvided", "evidenced")

    def information_requested(self, actor: Actor, request_id: Any, question: str) -> None:
        request, event = self._request_event(request_id, "InformationRequested", "information_requested")
        self._request_decision(event, "information_request", request, actor, None, None, question, None)

    def declined(self, actor: Actor, request_id: Any, reason_code: str, reason: str) -> None:
        request, event = self._request_event(request_id, "ClusterDeclined", "cluster_declined")
        self._request_decision(event, "cluster_decline", request, actor, None, reason_code, reason, None)

    def escalated(self, actor: Actor, request_id: Any, amount: str | int, statement: str) -> None:
        request, event = self._request_event(request_id, "Escalated", "escalated")
        request.escalated = pence(amount)
        self._request_decision(event, "escalation", request, actor, pence(amount), None, statement, None)

    def council_declined(self, actor: Actor, request_id: Any, reason: str) -> None:
        request, event = self._request_event(request_id, "CouncilDeclined", "council_declined")
        self._request_decision(event, "council_decline", request, actor, None, None, reason, None)

    def withdrawn(self, actor: Actor, request_id: Any, reason: str) -> None:
        self._request_event(request_id, "Withdrawn", "withdrawn")  # not a decision: the log leaves it out

    def approved(self, actor: Actor, request_id: Any, amount: str | int, reason: str, conditions: str = "") -> None:
        self._approved(actor, request_id, pence(amount), reason, conditions, "cluster")

    def council_approved(self, actor: Actor, request_id: Any, amount: str | int | None, reason: str) -> None:
        request = self.requests[hex_id(request_id)]
        granted = request.escalated if amount is None else pence(amount)  # the escalated amount by default
        assert granted is not None
        self._approved(actor, request_id, granted, reason, None, "council")

    def _approved(
        self, actor: Actor, request_id: Any, amount: int, reason: str, conditions: str | None, funder: str
    ) -> None:
        request = self.requests[hex_id(request_id)]
        fund = self._fund(funder, request.cluster_id if funder == "cluster" else None, request.year)
        kind, fund_type = ("ClusterApproved", "ClusterBudget")
        if funder == "council":
            kind, fund_type = ("CouncilApproved", "CouncilFund")
        expected = [
            (request.request_id, f"FundingRequest.{kind}", request.version + 1),
            (fund.fund_id, f"{fund_type}.FundsCommitted", fund.version + 1),
        ]
        if funder == "council":
            # Issue 14: a council approval counts in its term's tally (opened by the term's first).
            tally = hex_id(CouncilTermAwards.id_for(SchoolTerm.containing(today_in_england())))
            counted = self.term_tallies.get(tally, 0)
            if counted == 0:
                expected.append((tally, "CouncilTermAwards.Opened", 1))
                counted = 1
            expected.append((tally, "CouncilTermAwards.AwardCounted", counted + 1))
            self.term_tallies[tally] = counted + 1
        decision, commitment, *_ = self._take(*expected)
        self._moved(request, decision, f"{funder}_approved")
        request.approved, request.funded_by = amount, funder
        fund.version += 1
        fund.committed += amount
        self._request_decision(decision, f"{funder}_approval", request, actor, amount, None, reason, conditions)
        self._ledger(commitment, fund, "commitment", request.request_id, amount, "", actor)

    def paid(self, actor: Actor, request_id: Any, amount: str | int, reference: str) -> None:
        request = self.requests[hex_id(request_id)]
        assert request.funded_by is not None, "the model has no approval to pay against"
        fund = self._fund(request.funded_by, request.cluster_id if request.funded_by == "cluster" else None,
                          request.year)  # fmt: skip
        fund_type = "ClusterBudget" if fund.kind == "cluster" else "CouncilFund"
        on_request, on_fund = self._take(
            (request.request_id, "FundingRequest.PaymentRecorded", request.version + 1),
            (fund.fund_id, f"{fund_type}.PaymentRecorded", fund.version + 1),
        )
        request.paid += pence(amount)
        self._moved(request, on_request, "paid" if request.paid == request.approved else None)
        fund.version += 1
        fund.paid += pence(amount)
        self._ledger(on_fund, fund, "payment", request.request_id, pence(amount), reference, actor)

    # -- rows -------------------------------------------------------------------------------------

    def _request_decision(
        self,
        event: LoggedEvent,
        kind: str,
        request: RequestModel,
        actor: Actor,
        amount: int | None,
        reason_code: str | None,
        reason: str,
        details: str | None,
    ) -> None:
        self._decision(
            event, kind, request.school_urn, request.cluster_id, request.year, actor, amount, reason_code, reason,
            details, request_id=request.request_id,
        )  # fmt: skip

    def _decision(
        self,
        event: LoggedEvent,
        kind: str,
        school_urn: str | None,
        cluster_id: str,
        year: str,
        actor: Actor,
        amount: int | None,
        reason_code: str | None,
        reason: str,
        details: str | None,
        *,
        request_id: str | None = None,
    ) -> None:
        self.decisions.append(
            (event.position, kind, request_id, school_urn, cluster_id, year, actor.sub, actor.role.value, event.at,
             amount, reason_code, reason, details)
        )  # fmt: skip

    def _ledger(
        self,
        event: LoggedEvent,
        fund: FundModel,
        movement: str,
        request_id: str | None,
        amount: int,
        reference: str,
        actor: Actor,
    ) -> None:
        self.ledger.append(
            (event.position, event.at, fund.kind, fund.cluster_id, fund.year, movement, request_id, amount,
             fund.available, fund.paid, reference, actor.sub)
        )  # fmt: skip

    def tables(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every read-model table as the model predicts it, in the columns of ``TABLE_COLUMNS``."""
        assert not self._new_events(), "the log has events no command told the model of"
        budgets = [fund for fund in self.funds.values() if fund.kind == "cluster"]
        councils = [fund for fund in self.funds.values() if fund.kind == "council" and fund.opened]
        requests = list(self.requests.values())

        def pending(fund: FundModel) -> int:
            return sum(r.requested for r in requests if r.fund_id == fund.fund_id and r.status in OPEN)

        def escalated(fund: FundModel) -> int:
            return sum(r.escalated or 0 for r in requests if r.fund_id == fund.fund_id and r.status == "escalated")

        links = reference_links(StoredChain(self.database_url).records(), self.audit_key)
        return {
            "cluster_balances": [
                (f.fund_id, f.cluster_id, f.year, f.allocated, f.committed, f.commissioned, pending(f), escalated(f),
                 f.paid, f.version)
                for f in budgets
            ],
            "council_fund_balances": [
                (f.fund_id, f.year, f.allocated, f.committed, f.paid, f.version) for f in councils
            ],
            "cluster_balances_requests": [(r.request_id, r.fund_id, r.requested, r.escalated or 0) for r in requests],
            "request_index": [
                (r.request_id, r.school_urn, r.cluster_id, r.year, r.status, r.reason, r.pupil_count, r.requested,
                 r.escalated, r.approved, r.paid, r.created_at, r.updated_at, r.status_since, r.version)
                for r in requests
            ],
            "decision_log": list(self.decisions),
            "decision_log_requests": [(r.request_id, r.school_urn, r.cluster_id, r.year) for r in requests],
            "decision_log_budgets": [(f.fund_id, f.cluster_id, f.year) for f in budgets if f.opened],
            "finance_ledger": list(self.ledger),
            "finance_ledger_funds": [
                (f.fund_id, f.kind, f.cluster_id, f.year, f.available, f.paid) for f in self.funds.values() if f.opened
            ],
            "clusters": [
                (c.cluster_id, c.aggregate_id, c.name, ",".join(c.school_urns), c.version)
                for c in self.clusters.values()
            ],
            "schools": [
                (urn, entry.name if entry else None, entry.phase if entry else None, self.membership.get(urn),
                 entry.version if entry else 0, uuid5(_IDS, f"school-register/{urn}").hex if entry else None,
                 uuid5(_IDS, f"school/{urn}").hex if urn in self.membership else None)
                for urn in sorted(self.register.keys() | self.membership.keys())
                for entry in [self.register.get(urn)]
            ],
            # The commands told of never touch a report: a row per school that joined a cluster.
            "sen_reports": [
                (urn, uuid5(_IDS, f"school/{urn}").hex, None, cluster_id, None, 0, 0)
                for urn, cluster_id in self.membership.items()
            ],
            "audit_chain": links,
            "audit_checkpoints": reference_checkpoints(links),
        }  # fmt: skip

    def assert_read_models_match(self, database: Any) -> None:
        """Every table, row by row, against the model; the first differences are named."""
        expected = self.tables()
        actual = table_rows(database)
        problems = [found for table in TABLE_COLUMNS for found in differences(table, expected[table], actual[table])]
        assert not problems, "the read models differ from the model:\n" + "\n".join(problems[:12])


# Each table's columns, the key first; a checkpoint's recorded_at is wall-clock time, not a fact of the log.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "cluster_balances": ("fund_id", "cluster_id", "financial_year", "allocated", "committed", "commissioned",
                         "pending", "escalated", "paid", "version"),
    "council_fund_balances": ("fund_id", "financial_year", "allocated", "committed", "paid", "version"),
    "cluster_balances_requests": ("request_id", "fund_id", "amount_requested", "amount_escalated"),
    "request_index": ("request_id", "school_urn", "cluster_id", "financial_year", "status", "reason", "pupil_count",
                      "amount_requested", "amount_escalated", "amount_approved", "amount_paid", "created_at",
                      "updated_at", "status_since", "version"),
    "decision_log": ("position", "kind", "request_id", "school_urn", "cluster_id", "financial_year", "actor_sub",
                     "actor_role", "decided_at", "amount", "reason_code", "reason", "details"),
    "decision_log_requests": ("request_id", "school_urn", "cluster_id", "financial_year"),
    "decision_log_budgets": ("fund_id", "cluster_id", "financial_year"),
    "finance_ledger": ("position", "recorded_at", "fund", "cluster_id", "financial_year", "movement", "request_id",
                       "amount", "available_after", "paid_after", "reference", "actor_sub"),
    "finance_ledger_funds": ("fund_id", "fund", "cluster_id", "financial_year", "available", "paid"),
    "clusters": ("cluster_id", "aggregate_id", "name", "school_urns", "version"),
    "schools": ("urn", "name", "phase", "cluster_id", "version", "school_id", "membership_id"),
    "sen_reports": ("school_urn", "membership_id", "report_id", "cluster_id", "url", "open_broken_links", "version"),
    "audit_chain": ("position", "hash"),
    "audit_checkpoints": ("position", "hash"),
}  # fmt: skip


def table_rows(database: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in ``TABLE_COLUMNS`` order, read in one consistent snapshot."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with database.reading() as cursor:
        for table, columns in TABLE_COLUMNS.items():
            cursor.execute(f"SELECT {', '.join(columns)} FROM {table}")
            rows[table] = [tuple(row) for row in cursor.fetchall()]
    return rows


def differences(table: str, expected: Iterable[tuple[Any, ...]], actual: Iterable[tuple[Any, ...]]) -> list[str]:
    """Row by row, by key: rows missing, rows extra, and each differing column."""
    columns = TABLE_COLUMNS[table]
    want = {row[0]: row for row in expected}
    have = {row[0]: row for row in actual}
    problems = []
    for key in sorted(set(want) | set(have), key=str):
        if key not in have:
            problems.append(f"{table}: no row {key}; expected {dict(zip(columns, want[key], strict=True))}")
        elif key not in want:
            problems.append(f"{table}: unexpected row {dict(zip(columns, have[key], strict=True))}")
        elif want[key] != have[key]:
            changed = {
                column: (have_value, want_value)
                for column, want_value, have_value in zip(columns, want[key], have[key], strict=True)
                if want_value != have_value
            }
            problems.append(f"{table} row {key}: (actual, expected) {changed}")
    return problems
