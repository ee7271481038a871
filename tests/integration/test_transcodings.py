"""Every value type the domain stores goes into the real store and comes back as itself.

A scenario runs every command once per store, so every domain event class is written; a fresh
application (nothing cached) then reads the records back. An enum must come back as the enum, not
its string; Money as Money, not pence. Snapshots are checked the same way.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate, CanMutateProtocol, DomainEvent, Snapshot

from domain.academic_year import AcademicYear
from domain.awards import Award, Instalment, InstalmentAmount, Recovery, RecoveryReason, ReleaseReason
from domain.clusters import Cluster, SchoolMembership
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, state_of
from domain.money import Money
from domain.payment_runs import InstalmentKey, LinePayment, PaymentRun, PaymentRunBook, RunLine, RunSelection
from domain.policy_pin import PolicyPin
from domain.provision_lines import (
    AreaOfNeed,
    CostBasis,
    FundingSource,
    Impact,
    LineReview,
    LineStatus,
    ProvisionMapLine,
    Tier,
)
from domain.provision_maps import ProvisionMap, SchoolProvisionMaps
from domain.remittances import Remittance, RemittancePayment, RemittanceProblem
from domain.schedules import AwardPeriod, ScheduleKind
from domain.schools import School
from domain.sen_report_checklist import CHECKLIST
from domain.sen_reports import SenInformationReport
from domain.values import (
    ClusterId,
    CommissionedService,
    Decision,
    DecisionKind,
    DeclineReasonCode,
    EvidenceDocument,
    FinancialYear,
    ProvisionCategory,
    ProvisionLine,
    ProvisionMapCitation,
    RequestStatus,
    Role,
    SchoolPhase,
    SchoolUrn,
    SpendEvidence,
    SpendLine,
    TopUpReason,
)
from funding_engine.application import FundingApplication
from funding_engine.storage.transcodings import ALL_TRANSCODINGS
from tests.conftest import STORES
from tests.support import (
    CLUSTER,
    COUNCIL,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_CLUSTER,
    SCHOOL,
    SECOND_SCHOOL,
    YEAR,
    approved_request,
    escalated_request,
    evidenced_request,
    set_up_world,
    store_factory,
    submit,
)

AGGREGATE_CLASSES = (
    Cluster,
    SchoolMembership,
    School,
    ClusterBudget,
    CouncilFund,
    FundingRequest,
    ProvisionMap,
    SchoolProvisionMaps,
    SenInformationReport,
    PaymentRunBook,
    PaymentRun,
    Remittance,
)
BUDGET_ID = ClusterBudget.id_for(ClusterId(CLUSTER), FinancialYear.parse(YEAR))
TRANSCODING_IDS = [transcoding.name for transcoding in ALL_TRANSCODINGS]


def domain_event_classes() -> set[type]:
    """Every event class the domain's aggregates define (not the library's generated bases)."""
    return {
        value
        for aggregate in AGGREGATE_CLASSES
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, DomainEvent) and name not in ("Event", "Created")
    }


# ================================================================================================
# The scenario: every command once, on one store per parameter
# ================================================================================================


@dataclass
class Scenario:
    make_app: Callable[[], FundingApplication]
    writer: FundingApplication
    written: list[Any] = field(default_factory=list)  # the event objects as saved, before any encoding
    snapshots_taken: dict[UUID, Snapshot] = field(default_factory=dict)  # the snapshots as taken
    ids: dict[str, UUID] = field(default_factory=dict)  # the snapshotted aggregates, by name


def run_every_command(app: FundingApplication) -> dict[str, UUID]:
    """Writes every domain event class at least once; returns the ids worth snapshotting, by name."""
    set_up_world(app, budget="5000.00", council_fund="5000.00")
    app.remove_school(COUNCIL, CLUSTER, SECOND_SCHOOL)
    app.add_school(COUNCIL, CLUSTER, SECOND_SCHOOL)
    app.register_school(COUNCIL, SCHOOL, "Northmere Primary School", "primary", CLUSTER)
    app.update_school(COUNCIL, SCHOOL, "Northmere Church of England Primary School", "16_plus", CLUSTER)
    app.import_clusters(COUNCIL, f"cluster_id,name\n{CLUSTER},Northmere and Coast\n".encode())
    app.commission_service(
        LEAD,
        CLUSTER,
        YEAR,
        service="camhs",
        provider="Norfolk CAMHS",
        amount="300.00",
        school_urns=[SCHOOL, SECOND_SCHOOL],
        description="Consultation clinics in both schools.",
    )
    paid = approved_request(app, "1000.00")
    app.record_payment(FINANCE, paid.id, "1000.00", "BACS-0001")
    asked = evidenced_request(app)
    app.request_information(LEAD, asked.id, "Please show the therapy invoices.")
    declined = evidenced_request(app)
    app.decline(LEAD, declined.id, "insufficient_evidence", "No invoices were provided.")
    council_paid = escalated_request(app, "2000.00", amount_requested="6000.00")
    app.decide_escalation(COUNCIL, council_paid.id, "approve", "Exceptional circumstances shown.")
    app.record_payment(FINANCE, council_paid.id, "500.00", "BACS-0002")
    council_declined = escalated_request(app, "2000.00", amount_requested="6000.00")
    app.decide_escalation(COUNCIL, council_declined.id, "decline", "Not exceptional.")
    withdrawn = submit(app, reason="increase_in_numbers")
    app.withdraw(HEAD, withdrawn.id, "The pupils moved school.")
    published = app.today().replace(day=1)
    app.record_sen_report(HEAD, SCHOOL, "https://www.example.org/send", published, published.replace(day=28))
    app.record_sen_report(HEAD, SCHOOL, "https://www.example.org/send-2", published, published.replace(day=28))
    app.assess_sen_report(COUNCIL, SCHOOL, {item.key: "not_met" for item in CHECKLIST}, {CHECKLIST[0].key: "None."})
    app.report_broken_link("transcodings", SCHOOL, "Gone.")
    app.clear_broken_link_reports(COUNCIL, SCHOOL)
    run_every_provision_map_command(app)
    spanning = run_every_award_command(app)
    run_every_payment_run_command(app)
    return {
        "spanning": spanning,
        "paid": paid.id,
        "declined": declined.id,
        "council_paid": council_paid.id,
        "budget": BUDGET_ID,
        "council_fund": CouncilFund.id_for(FinancialYear.parse(YEAR)),
        "cluster": Cluster.id_for(ClusterId(CLUSTER)),
        "school": School.id_for(SchoolUrn(SCHOOL)),
    }


def run_every_award_command(app: FundingApplication) -> UUID:
    """An award across two financial years, committed ahead on the next year's empty budget, then
    covered, held, paid, released and recovered; and the council's year closed, with money carried
    forward and a recovery received after the close."""
    spanning = evidenced_request(app)
    app.approve(
        LEAD,
        spanning.id,
        "900.00",
        "Across the academic year.",
        award_period={"starts_on": "2026-09-01", "ends_on": "2027-08-31"},
        schedule="termly",
        held_instalments=[{"number": 1, "condition": "a reviewed provision plan"}],
    )
    app.allocate_budget(FINANCE, CLUSTER, NEXT_YEAR, "2000.00", "next year's allocation")
    app.lift_hold(LEAD, spanning.id, 1, "The plan was reviewed in September.")
    app.hold_instalment(LEAD, spanning.id, 2, "the spring review")
    app.record_payment(FINANCE, spanning.id, "300.00", "BACS-S-1", instalment=1, paid_on=date(2026, 9, 7))
    app.release_award(LEAD, spanning.id, "pupil_left", "Moved out of county in the spring.", "100.00")
    app.raise_recovery(FINANCE, spanning.id, YEAR, "50.00", "overpayment", "Paid for a week not used.")
    app.receive_recovery(FINANCE, spanning.id, 1, "50.00", "REMIT-1", received_on=date(2026, 10, 1))
    council_paid = escalated_request(app, "2000.00", amount_requested="6000.00")
    app.decide_escalation(
        COUNCIL,
        council_paid.id,
        "approve",
        "Exceptional.",
        award_period={"starts_on": "2027-01-01", "ends_on": "2027-06-30"},
        schedule="monthly",
    )
    app.release_award(COUNCIL, council_paid.id, "provision_ended", "Ends a month early.", "200.00")
    app.record_payment(FINANCE, council_paid.id, "333.33", "BACS-C-9", instalment=1)
    app.raise_recovery(FINANCE, council_paid.id, YEAR, "25.00", "underspend", "Unspent at year end.")
    app.close_council_fund_year(FINANCE, YEAR, "1000.00")  # covers the award's share committed ahead
    app.close_budget_year(FINANCE, OTHER_CLUSTER, YEAR)
    app.receive_recovery(FINANCE, council_paid.id, 1, "25.00", "REMIT-2")
    return spanning.id


def run_every_payment_run_command(app: FundingApplication) -> None:
    """A run of everything due, a remittance paying its first line (and reporting a line of no
    run), then the run cancelled."""
    run = app.create_payment_run(FINANCE, "2027-12-31")
    assert len(run.lines) > 1
    remittance = f"reference,amount,date\n{run.line_reference(1)},{run.lines[0].amount},2027-01-15\n"
    report = app.import_remittance(FINANCE, (remittance + "PR-999999-0001,1.00,2027-01-15\n").encode())
    assert len(report.paid) == 1 and len(report.reported) == 1
    app.cancel_payment_run(FINANCE, run.number, "The rest went by cheque.")


def run_every_provision_map_command(app: FundingApplication) -> None:
    from tests.unit.test_provision_maps import line_fields

    app.open_provision_map(HEAD, SCHOOL, "2026/27")
    commissioned = line_fields(funded_by="school_commissioned", commissioned_service="educational_psychology")
    app.add_provision_line(HEAD, SCHOOL, "2026/27", commissioned)
    app.add_provision_line(HEAD, SCHOOL, "2026/27", line_fields(hours_per_week=None, weeks=None))
    app.change_provision_line(HEAD, SCHOOL, "2026/27", 1, {**commissioned, "pupil_count": 4})
    app.review_provision_line(HEAD, SCHOOL, "2026/27", 1, impact="good", note="Targets met.", reviewed_on="2026-10-15")
    app.remove_provision_line(HEAD, SCHOOL, "2026/27", 2)
    app.add_provision_line(HEAD, SCHOOL, "2026/27", line_fields())  # the school's own spend, for citing
    published = app.publish_provision_map(HEAD, SCHOOL, "2026/27").latest_published
    assert published is not None
    cited = submit(app)
    citation = {"school_urn": SCHOOL, "academic_year": "2026/27", "version": 1, "sha256": published.sha256}
    app.provide_evidence(HEAD, cited.id, notional_sen_budget="9000.00", provision_map=citation)


@pytest.fixture(scope="module", autouse=True)
def shared_audit_key() -> Iterator[None]:
    """The applications here stand for processes of one deployment, reading each other's snapshots:
    they share the audit key, which seals snapshots (without it each trusts only its own)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FUNDING_ENGINE_AUDIT_KEY", "transcodings-" + "5f0c9a7e1d3b2846" * 3)
        yield


@pytest.fixture(scope="module", params=STORES)
def scenario(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with store_factory(request.param, tmp_path_factory.mktemp("transcodings")) as make_app:
        writer = make_app()
        result = Scenario(make_app, writer)
        original_save = writer.save

        def save(*aggregates: Any, **kwargs: Any) -> Any:
            recordings = original_save(*aggregates, **kwargs)
            result.written.extend(recording.domain_event for recording in recordings)
            return recordings

        writer.save = save  # type: ignore[method-assign]
        result.ids = run_every_command(writer)
        for aggregate_id in result.ids.values():
            writer.take_snapshot(aggregate_id)
            result.snapshots_taken[aggregate_id] = Snapshot.take(writer.repository.get(aggregate_id))
        del writer.save  # later writes (the specimens) are not part of the scenario
        yield result


@pytest.fixture(scope="module")
def fresh(scenario: Scenario) -> FundingApplication:
    """Another application on the scenario's store, made after the writing: it reads everything from the
    store (event and snapshot stores are not cached), never from the writer's memory."""
    return scenario.make_app()


def stored_domain_records(app: FundingApplication) -> list[Any]:
    """Every stored event record of the domain (specimens written by this module are left out)."""
    return [n for n in app.recorder.select_notifications(1, 100_000) if n.topic.startswith("domain.")]


# ================================================================================================
# Walking values
# ================================================================================================


def walk(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every value inside a value, with its path: fields of dataclasses, items of lists and dicts."""
    yield path, value
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*path, key))
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from walk(getattr(value, item.name), (*path, item.name))


def at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step] if isinstance(value, (list, dict)) else getattr(value, step)
    return value


def pairs_of_type(scenario: Scenario, fresh: FundingApplication, wanted: type) -> list[tuple[Any, Any]]:
    """(as written, as read by a fresh application) for every value of exactly ``wanted``'s type."""
    pairs = []
    for event in scenario.written:
        [read] = list(fresh.events.get(event.originator_id, gt=event.originator_version - 1, limit=1))
        pairs += [(value, at(read, path)) for path, value in walk(event) if type(value) is wanted]
    assert fresh.snapshots is not None
    for aggregate_id, taken in scenario.snapshots_taken.items():
        [read_snapshot] = list(fresh.snapshots.get(aggregate_id, desc=True, limit=1))
        assert isinstance(read_snapshot, Snapshot)
        pairs += [(value, at(read_snapshot.state, path)) for path, value in walk(taken.state) if type(value) is wanted]
    return pairs


def _declared_fields(event_class: type) -> dict[str, Any]:
    """The fields the domain declares on an event class (and its domain bases), as resolved types."""
    hints: dict[str, Any] = {}
    for klass in reversed(event_class.__mro__):
        if klass.__module__.startswith("domain."):
            namespace = vars(sys.modules[klass.__module__])
            for name, annotation in vars(klass).get("__annotations__", {}).items():
                if name != "class_version":
                    hints[name] = eval(annotation, namespace) if isinstance(annotation, str) else annotation
    return hints


def conforms(value: Any, hint: Any) -> bool:
    """Is ``value`` exactly of the declared type, all the way down? (A str is not a str-valued Enum.)"""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    if origin is list:
        return type(value) is list and all(conforms(item, args[0]) for item in value)
    if origin is dict:
        return type(value) is dict and all(conforms(k, args[0]) and conforms(v, args[1]) for k, v in value.items())
    if isinstance(hint, type):
        if type(value) is not hint:
            return False
        if dataclasses.is_dataclass(hint):
            nested = typing.get_type_hints(hint)
            return all(conforms(getattr(value, item.name), nested[item.name]) for item in dataclasses.fields(hint))
        return True
    raise AssertionError(f"unexpected type hint {hint!r}")


# ================================================================================================
# Tests on the domain's own records
# ================================================================================================


def test_the_scenario_stores_every_event_class_the_domain_defines(fresh):
    stored_topics = {record.topic for record in stored_domain_records(fresh)}

    missing = {f"{cls.__module__}:{cls.__qualname__}" for cls in domain_event_classes()} - stored_topics
    assert not missing


def test_every_stored_event_reads_back_equal_to_the_event_written(scenario, fresh):
    read = [fresh.mapper.to_domain_event(record) for record in stored_domain_records(fresh)]

    assert read == scenario.written


def test_every_field_of_every_stored_event_reads_back_as_its_declared_type(fresh):
    wrong = []
    for record in stored_domain_records(fresh):
        event = fresh.mapper.to_domain_event(record)
        for name, hint in _declared_fields(type(event)).items():
            if not conforms(getattr(event, name), hint):
                wrong.append((type(event).__qualname__, name, hint, getattr(event, name)))

    assert not wrong


TRANSCODING_PARAMS = [pytest.param(transcoding, id=transcoding.name) for transcoding in ALL_TRANSCODINGS]


@pytest.mark.parametrize("transcoding", TRANSCODING_PARAMS)
def test_each_transcoded_type_in_the_stored_records_reads_back_equal_and_as_itself(scenario, fresh, transcoding):
    pairs = pairs_of_type(scenario, fresh, transcoding.type)

    assert pairs, f"no stored event or snapshot carries a {transcoding.type.__name__}"
    for written, read in pairs:
        assert type(read) is type(written)
        assert read == written


@pytest.mark.parametrize("transcoding", TRANSCODING_PARAMS)
def test_each_transcodings_name_appears_in_the_stored_json(scenario, fresh, transcoding):
    stored = [record.state for record in stored_domain_records(fresh)]
    stored += [
        record.state
        for aggregate_id in scenario.snapshots_taken
        for record in fresh.snapshots.recorder.select_events(aggregate_id)
    ]

    marker = json.dumps({"_type_": transcoding.name}, separators=(",", ":"))[1:-1].encode()
    assert any(marker in state for state in stored)


# ================================================================================================
# Every registered transcoding, one value each, through the store
# ================================================================================================


class Specimen(Aggregate):
    """A test-only aggregate whose one event carries any value, to store each registered type."""

    class Carried(Aggregate.Created):
        value: Any

    def __init__(self, value: Any) -> None:
        self.value = value


NEXT_YEAR = "2027-28"
WHEN = datetime(2026, 11, 27, 20, 6, 44, 123456, tzinfo=UTC)
INSTALMENT = Instalment(
    2, date(2027, 1, 1), FinancialYear.parse("2026-27"), Money(30000), Money(100), Money(0), "a review"
)
RECOVERY = Recovery(1, FinancialYear.parse("2026-27"), Money(5000), RecoveryReason.OVERPAYMENT, "Over.", Money(100))
SPEND = SpendLine(ProvisionCategory.THERAPIES, Money.parse("3000.00"), "speech and language")
DOCUMENT = EvidenceDocument("sen-spend.pdf", "ab" * 32)
RUN_LINE = RunLine(
    2, UUID(int=7), 3, Money(1), date(2027, 1, 1), FinancialYear(2026), "cluster", ClusterId("fenwick-broads"),
    SchoolUrn("900101"), "Fenwick Primary", "CC-1",
)  # fmt: skip
SAMPLES: dict[str, Any] = {
    "money_pence": Money.parse("-1234.56"),
    "financial_year": FinancialYear.parse("2031-32"),
    "school_urn": SchoolUrn("900101"),
    "cluster_id": ClusterId("fenwick-broads"),
    "role": Role.CLUSTER_LEAD,
    "provision_category": ProvisionCategory.HABILITATION_INDEPENDENT_LIVING,
    "commissioned_service": CommissionedService.SUPPORTED_EMPLOYMENT,
    "top_up_reason": TopUpReason.INCREASE_IN_NUMBERS,
    "decline_reason_code": DeclineReasonCode.NEEDS_MET_WITHIN_SCHOOL_RESOURCES,
    "request_status": RequestStatus.INFORMATION_REQUESTED,
    "decision_kind": DecisionKind.COUNCIL_APPROVAL,
    "school_phase": SchoolPhase.SIXTEEN_PLUS,
    "actor": HEAD,
    "provision_line": ProvisionLine(ProvisionCategory.NOTE_TAKERS, Money.parse("0.01")),
    "spend_line": SPEND,
    "evidence_document": DOCUMENT,
    "spend_evidence": SpendEvidence(Money.parse("12000.00"), [SPEND], [DOCUMENT], HEAD, WHEN),
    "academic_year": AcademicYear.parse("2031/32"),
    "provision_map_citation": ProvisionMapCitation(SchoolUrn("900101"), AcademicYear.parse("2031/32"), 3, "cd" * 32),
    "date_iso": date(2027, 2, 28),
    "tier": Tier.SPECIALIST,
    "area_of_need": AreaOfNeed.SENSORY_AND_OR_PHYSICAL,
    "funding_source": FundingSource.CLUSTER_TOP_UP,
    "cost_basis": CostBasis.TOTAL,
    "line_status": LineStatus.PLANNED,
    "impact": Impact.NONE,
    "provision_map_line": ProvisionMapLine.parse(
        description="Braille resources",
        category="accessible_information",
        tier="specialist",
        area_of_need="sensory_and_or_physical",
        pupil_count=1,
        staff_or_provider="Sensory support service",
        cost_basis="total",
        cost="450.00",
        funded_by="council",
        starts_on="2027-01-04",
        ends_on="2027-07-21",
        status="planned",
        hours_per_week="1.25",
    ),
    "line_review": LineReview.parse(reviewed_on="2027-03-01", impact="some", note="Half the targets met."),
    "schedule_kind": ScheduleKind.MONTHLY,
    "release_reason": ReleaseReason.PROVISION_ENDED,
    "recovery_reason": RecoveryReason.PUPIL_LEFT,
    "award_period": AwardPeriod(date(2026, 9, 1), date(2027, 7, 31)),
    "award": Award(AwardPeriod(date(2026, 9, 1), date(2027, 7, 31)), ScheduleKind.TERMLY, [INSTALMENT], [RECOVERY]),
    "instalment": INSTALMENT,
    "instalment_amount": InstalmentAmount(3, Money(1)),
    "recovery": RECOVERY,
    "instalment_key": InstalmentKey(UUID(int=7), 3),
    "run_selection": RunSelection(date(2027, 1, 31), "council", ClusterId("fenwick-broads"), FinancialYear(2026)),
    "run_line": RUN_LINE,
    "line_payment": LinePayment(2, date(2027, 1, 15)),
    "remittance_payment": RemittancePayment(3, "PR-000001-0002", Money(1), date(2027, 1, 15), UUID(int=7), 3),
    "remittance_problem": RemittanceProblem(4, "PR-999999-0001", "the reference matches no payment run line"),
    "decision": Decision(
        DecisionKind.CLUSTER_DECLINE,
        LEAD,
        WHEN,
        "Declined.",
        Money.parse("5.00"),
        DeclineReasonCode.OTHER,
        PolicyPin(3, 1, date(2027, 1, 15)),
    ),
    "policy_pin": PolicyPin(4, 0, date(2027, 4, 1)),
}


@pytest.mark.parametrize("transcoding", ALL_TRANSCODINGS, ids=TRANSCODING_IDS)
def test_each_registered_transcoding_round_trips_a_value_through_the_store(scenario, fresh, transcoding):
    sample = SAMPLES[transcoding.name]
    assert type(sample) is transcoding.type
    specimen = Specimen(value=sample)
    scenario.writer.save(specimen)

    [event] = fresh.events.get(specimen.id)

    assert type(event.value) is transcoding.type
    assert event.value == sample


# ================================================================================================
# Snapshots
# ================================================================================================


def rebuilt_from_events_only(app: FundingApplication, aggregate_id: UUID) -> Any:
    aggregate = None
    for event in app.events.get(aggregate_id):
        assert isinstance(event, CanMutateProtocol)
        aggregate = event.mutate(aggregate)
    return aggregate


def test_a_cluster_budget_past_its_snapshot_interval_loads_from_the_snapshot_equal_to_a_full_replay(app, make_app):
    interval = FundingApplication.snapshotting_intervals[ClusterBudget]
    set_up_world(app, budget="5000.00")
    request = approved_request(app, "1000.00")
    app.record_payment(FINANCE, request.id, "250.00", "BACS-0001")
    app.commission_service(
        LEAD,
        CLUSTER,
        YEAR,
        service="camhs",
        provider="CAMHS",
        amount="100.00",
        school_urns=[SCHOOL],
        description="Clinic.",
    )
    while app.get_budget(FINANCE, CLUSTER, YEAR).version < interval + 3:
        app.allocate_budget(FINANCE, CLUSTER, YEAR, "1.00", "monthly top-up")

    app.close()  # PostgreSQL connections are shared with every other suite on the server
    fresh = make_app()
    [snapshot] = list(fresh.snapshots.get(BUDGET_ID))
    loaded = fresh.repository.get(BUDGET_ID)
    replayed = rebuilt_from_events_only(fresh, BUDGET_ID)
    from_snapshot = snapshot.mutate(None)
    for event in fresh.events.get(BUDGET_ID, gt=snapshot.originator_version):
        from_snapshot = event.mutate(from_snapshot)

    assert snapshot.originator_version == interval
    assert state_of(loaded) == state_of(replayed) == state_of(from_snapshot)
    assert (loaded.version, loaded.allocated, loaded.paid, loaded.commission_count) == (
        interval + 3,
        Money.parse("5000.00") + Money(100 * (interval + 3 - 5)),
        Money.parse("250.00"),
        1,
    )


@pytest.mark.parametrize("which", ["paid", "declined", "council_paid"])
def test_a_funding_request_snapshot_restores_the_same_state_as_replaying_its_events(scenario, fresh, which):
    request_id = scenario.ids[which]

    [snapshot] = list(fresh.snapshots.get(request_id, desc=True, limit=1))
    restored = snapshot.mutate(None)

    assert isinstance(restored, FundingRequest)
    assert state_of(restored) == state_of(rebuilt_from_events_only(fresh, request_id))
    assert type(restored.status) is RequestStatus


def test_an_actor_stored_before_a_validation_rule_still_reads_back():
    # Stored actors are not revalidated on reading: a log written before a rule was added (here,
    # no tabs or bidirectional characters in a sub) must still load, exactly as written.
    from eventsourcing.persistence import JSONTranscoder

    from domain.values import Actor
    from funding_engine.storage.transcodings import register_domain_transcodings

    transcoder = JSONTranscoder()
    register_domain_transcodings(transcoder)
    stored = transcoder.encode({"actor": Actor.council("council-officer")})
    altered = stored.replace(b"council-officer", b"council\\t\\u202eofficer")
    assert altered != stored

    actor = transcoder.decode(altered)["actor"]

    assert isinstance(actor, Actor)
    assert (actor.sub, actor.role) == ("council\t\u202eofficer", Role.COUNCIL)
