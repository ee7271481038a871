"""A request's earlier states and its full history, as an auditor reads them years later.

One request is taken through six versions once per store; every test here only reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import AggregateEvent

from domain.errors import InvalidValue, NotFound
from domain.money import Money
from domain.policy_pin import PolicyPin
from domain.values import RequestStatus, SchoolUrn
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import today_in_england
from tests.conftest import STORES
from tests.support import (
    COUNCIL,
    EVIDENCE,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_HEAD,
    OTHER_LEAD,
    SECOND_HEAD,
    log_position,
    set_up_world,
    store_factory,
    submit,
)

S = RequestStatus
QUESTION = "Please show the therapy invoices."
APPROVAL_REASON = "Evidence shows the school's own SEN funding is spent."

# version -> (status, event type, actor) along the timeline below
TIMELINE = {
    1: (S.SUBMITTED, "Submitted", HEAD),
    2: (S.EVIDENCED, "SpendEvidenceProvided", HEAD),
    3: (S.INFORMATION_REQUESTED, "InformationRequested", LEAD),
    4: (S.EVIDENCED, "SpendEvidenceProvided", HEAD),
    5: (S.CLUSTER_APPROVED, "ClusterApproved", LEAD),
    6: (S.CLUSTER_APPROVED, "PaymentRecorded", FINANCE),
}


@dataclass
class Story:
    app: FundingApplication
    request_id: UUID
    before_creation: datetime
    timestamps: dict[int, datetime]  # version -> the stored event's timestamp


@pytest.fixture(scope="module", params=STORES)
def story(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    with store_factory(request.param, tmp_path_factory.mktemp("history")) as make_app:
        app = make_app()
        set_up_world(app, budget="5000.00")
        before_creation = datetime.now(UTC)
        funding_request = submit(app)
        app.provide_evidence(HEAD, funding_request.id, **EVIDENCE)
        app.request_information(LEAD, funding_request.id, QUESTION)
        app.provide_evidence(HEAD, funding_request.id, **EVIDENCE)
        app.approve(LEAD, funding_request.id, "900.00", APPROVAL_REASON)
        app.record_payment(FINANCE, funding_request.id, "300.00", "BACS-0001")
        reader = make_app()  # the history is read back from the store, not from the writer's memory
        app.close()
        timestamps: dict[int, datetime] = {}
        for event in reader.events.get(funding_request.id):
            assert isinstance(event, AggregateEvent)
            timestamps[event.originator_version] = event.timestamp
        yield Story(reader, funding_request.id, before_creation, timestamps)


# ================================================================================================
# Earlier states
# ================================================================================================


@pytest.mark.parametrize("version", list(TIMELINE))
def test_get_request_at_a_version_gives_the_state_then(story, version):
    then = story.app.get_request(COUNCIL, story.request_id, version=version)

    assert (then.version, then.status) == (version, TIMELINE[version][0])


def test_get_request_at_version_one_has_no_evidence_decisions_or_approval(story):
    then = story.app.get_request(COUNCIL, story.request_id, version=1)

    assert (then.evidence, then.decisions, then.amount_approved) == (None, [], Money.zero())


def test_get_request_without_a_version_or_time_gives_the_current_state(story):
    now = story.app.get_request(COUNCIL, story.request_id)

    assert (now.version, now.status, now.amount_paid) == (6, S.CLUSTER_APPROVED, Money.parse("300.00"))


@pytest.mark.parametrize("version", [0, -1, 7])
def test_get_request_at_a_version_it_never_had_raises_not_found(story, version):
    with pytest.raises(NotFound):
        story.app.get_request(COUNCIL, story.request_id, version=version)


@pytest.mark.parametrize("version", list(TIMELINE))
def test_get_request_as_at_the_moment_of_an_event_gives_the_state_it_made(story, version):
    then = story.app.get_request(COUNCIL, story.request_id, as_at=story.timestamps[version])

    assert (then.version, then.status) == (version, TIMELINE[version][0])


@pytest.mark.parametrize("version", list(TIMELINE)[:-1])
def test_get_request_as_at_a_moment_between_two_events_gives_the_earlier_state(story, version):
    between = story.timestamps[version] + (story.timestamps[version + 1] - story.timestamps[version]) / 2
    assert story.timestamps[version] < between < story.timestamps[version + 1]

    then = story.app.get_request(COUNCIL, story.request_id, as_at=between)

    assert then.version == version


def test_get_request_as_at_a_time_in_another_time_zone_reads_the_same_instant(story):
    in_paris = story.timestamps[3].astimezone(timezone(timedelta(hours=1)))

    then = story.app.get_request(COUNCIL, story.request_id, as_at=in_paris)

    assert (then.version, then.status) == (3, S.INFORMATION_REQUESTED)


def test_get_request_as_at_a_time_after_the_last_event_gives_the_current_state(story):
    then = story.app.get_request(COUNCIL, story.request_id, as_at=datetime.now(UTC) + timedelta(days=365))

    assert then.version == 6


def test_get_request_as_at_a_time_before_the_request_existed_raises_not_found(story):
    with pytest.raises(NotFound):
        story.app.get_request(COUNCIL, story.request_id, as_at=story.before_creation)


def test_get_request_as_at_a_microsecond_before_creation_raises_not_found(story):
    with pytest.raises(NotFound):
        story.app.get_request(COUNCIL, story.request_id, as_at=story.timestamps[1] - timedelta(microseconds=1))


def test_get_request_as_at_a_naive_datetime_raises_invalid_value(story):
    naive = story.timestamps[3].replace(tzinfo=None)

    with pytest.raises(InvalidValue):
        story.app.get_request(COUNCIL, story.request_id, as_at=naive)


def test_reading_an_earlier_state_writes_nothing(story):
    before = log_position(story.app)

    story.app.get_request(COUNCIL, story.request_id, version=2)
    story.app.get_request(COUNCIL, story.request_id, as_at=story.timestamps[4])

    assert log_position(story.app) == before


# ================================================================================================
# History
# ================================================================================================


def test_history_lists_every_event_in_version_order_with_its_type(story):
    history = story.app.request_history(COUNCIL, story.request_id)

    assert [(entry.version, entry.type) for entry in history] == [
        (version, event_type) for version, (_, event_type, _) in TIMELINE.items()
    ]


def test_history_gives_each_events_actor(story):
    history = story.app.request_history(COUNCIL, story.request_id)

    assert [entry.actor for entry in history] == [actor for _, _, actor in TIMELINE.values()]


def test_history_timestamps_are_the_stored_ones_in_utc_and_increasing(story):
    history = story.app.request_history(COUNCIL, story.request_id)

    stamps = [entry.timestamp for entry in history]
    assert stamps == [story.timestamps[version] for version in TIMELINE]
    assert all(stamp.utcoffset() == timedelta(0) for stamp in stamps)
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_history_gives_each_events_facts_as_data(story):
    history = {entry.version: entry.data for entry in story.app.request_history(COUNCIL, story.request_id)}

    assert history[1]["school_urn"] == SchoolUrn("900001")
    assert history[1]["amount_requested"] == Money.parse("1000.00")
    assert history[2]["notional_sen_budget"] == Money.parse("12000.00")
    question = dict(history[3])
    # Since issue 14 each decision names the policy it was taken under: none recorded yet here.
    assert question.pop("policy") == PolicyPin(0, 0, today_in_england())
    assert question == {"question": QUESTION}
    approval = dict(history[5])
    award = approval.pop("award")
    assert approval.pop("policy") == PolicyPin(0, 0, today_in_england())
    assert approval == {"amount": Money.parse("900.00"), "reason": APPROVAL_REASON, "conditions": ""}
    assert award.approved == Money.parse("900.00")
    payment = dict(history[6])
    assert [(part.number, part.amount) for part in payment.pop("instalments")] == [(1, Money.parse("300.00"))]
    assert payment == {"amount": Money.parse("300.00"), "reference": "BACS-0001", "paid_on": None}


def test_history_data_leaves_out_the_envelope_fields(story):
    envelope = {"originator_id", "originator_version", "timestamp", "originator_topic", "actor"}

    for entry in story.app.request_history(COUNCIL, story.request_id):
        assert not envelope & set(entry.data)


# ================================================================================================
# Who may read it
# ================================================================================================

OUTSIDERS = [
    pytest.param(SECOND_HEAD, id="another-school-in-the-cluster"),
    pytest.param(OTHER_HEAD, id="a-school-in-another-cluster"),
    pytest.param(OTHER_LEAD, id="another-clusters-lead"),
]
READERS = [
    pytest.param(HEAD, id="the-school"),
    pytest.param(LEAD, id="the-clusters-lead"),
    pytest.param(COUNCIL, id="council"),
    pytest.param(FINANCE, id="finance"),
]


@pytest.mark.parametrize("reader", READERS)
def test_history_is_read_by_the_school_its_lead_council_and_finance(story, reader):
    assert len(story.app.request_history(reader, story.request_id)) == len(TIMELINE)


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_history_is_not_found_for_an_outsider(story, outsider):
    with pytest.raises(NotFound) as refused:
        story.app.request_history(outsider, story.request_id)
    assert str(refused.value) == f"request {story.request_id} not found"  # as for an unknown id


READS_OF_THE_PAST: dict[str, Any] = {
    "at-a-version": lambda story, actor: story.app.get_request(actor, story.request_id, version=1),
    "as-at-a-time": lambda story, actor: story.app.get_request(actor, story.request_id, as_at=story.timestamps[1]),
    "before-it-existed": lambda story, actor: story.app.get_request(
        actor, story.request_id, as_at=story.before_creation
    ),
}


@pytest.mark.parametrize("outsider", OUTSIDERS)
@pytest.mark.parametrize("read", list(READS_OF_THE_PAST))
def test_an_earlier_state_is_not_found_for_an_outsider(story, outsider, read):
    with pytest.raises(NotFound) as refused:
        READS_OF_THE_PAST[read](story, outsider)
    assert str(refused.value) == f"request {story.request_id} not found"
