"""Spend evidence citing a published provision map, through the application on both stores.

The cited version is read back from the map's log whenever the request is read: a map that changes
afterwards (new lines, a new version) leaves the request's cited version exactly as it was cited,
now and as at any past moment. Old evidence (a version 1 event, written before citations existed)
reads as typed in.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from domain.errors import InvalidTransition, InvalidValue, NotPermitted
from domain.funding_request import FundingRequest
from domain.values import ProvisionCategory
from funding_engine.application import FundingApplication
from tests.support import (
    COUNCIL,
    EVIDENCE,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_HEAD,
    OTHER_LEAD,
    OTHER_SCHOOL,
    SCHOOL,
    SECOND_HEAD,
    SECOND_SCHOOL,
    log_position,
    set_up_world,
    submit,
)
from tests.unit.test_provision_maps import line_fields

AY = "2026/27"


def publish_map(app: FundingApplication, head: Any = HEAD, urn: str = SCHOOL, *lines: dict[str, Any]) -> Any:
    if not app.provision_map_years(head, urn):
        app.open_provision_map(head, urn, AY)
    for fields in lines or (line_fields(), line_fields(category="personal_care", funded_by="council")):
        app.add_provision_line(head, urn, AY, fields)
    return app.publish_provision_map(head, urn, AY).latest_published


def cite(published: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "school_urn": str(published.school_urn),
        "academic_year": str(published.academic_year),
        "version": published.version,
        "sha256": published.sha256,
        **overrides,
    }


@pytest.fixture
def world(app: FundingApplication) -> FundingApplication:
    set_up_world(app)
    return app


def test_evidence_citing_a_published_version_takes_its_own_budget_lines_as_the_spend(world):
    version = publish_map(world)
    request = submit(world)

    evidenced = world.provide_evidence(HEAD, request.id, notional_sen_budget="12000.00", provision_map=cite(version))

    assert evidenced.evidence.provision_map.version == 1
    assert evidenced.evidence.provision_map.sha256 == version.sha256
    # 6 pupils at £120.50 funded by the school; the council's personal care line is not the school's spend.
    assert [(line.category, line.amount.pence) for line in evidenced.evidence.spend] == [
        (ProvisionCategory.THERAPIES, 72300)
    ]
    assert evidenced.evidence.spend[0].note == "Provision map 2026/27 version 1, line 1"


def test_the_cited_version_is_shown_even_after_the_map_changes_and_is_published_again(world):
    first = publish_map(world)
    request = submit(world)
    world.provide_evidence(HEAD, request.id, notional_sen_budget="12000.00", provision_map=cite(first))
    cited_at = world.get_request(LEAD, request.id).modified_on

    world.change_provision_line(HEAD, SCHOOL, AY, 1, line_fields(pupil_count=1))
    second = world.publish_provision_map(HEAD, SCHOOL, AY).latest_published

    for review in (world.evidence_review(LEAD, request.id), world.evidence_review(COUNCIL, request.id, as_at=cited_at)):
        assert review.cited_map.version.version == 1
        assert review.cited_map.version.sha256 == first.sha256 != second.sha256
        assert review.cited_map.hash_holds
        assert [line["pupil_count"] for line in review.cited_map.own_budget_lines] == [6]
        assert review.cited_map.own_budget_total.pence == 72300


def test_finance_reads_the_cited_version_with_the_request_though_not_the_map_itself(world):
    version = publish_map(world)
    request = submit(world)
    world.provide_evidence(HEAD, request.id, notional_sen_budget="12000.00", provision_map=cite(version))

    assert world.evidence_review(FINANCE, request.id).cited_map.version.sha256 == version.sha256
    with pytest.raises(NotPermitted):
        world.published_provision_map(FINANCE, SCHOOL, AY, 1)


def test_the_warnings_come_with_the_review_and_change_nothing(world):
    version = publish_map(world)
    request = submit(world, pupil_count=2, planned_provision=[{"category": "interpreters", "amount": "1000.00"}])
    world.provide_evidence(HEAD, request.id, notional_sen_budget="12000.00", provision_map=cite(version))
    before = log_position(world)

    codes = [warning.code for warning in world.evidence_review(LEAD, request.id).warnings]

    assert codes == ["own_spend_below_threshold", "category_not_in_map"]
    assert log_position(world) == before
    # Warnings, not refusals: the lead may still approve.
    assert (
        world.approve(LEAD, request.id, "500.00", "Agreed at the cluster meeting.").status.value == "cluster_approved"
    )


def test_typed_evidence_has_no_cited_map_and_no_warnings(world):
    request = submit(world)
    world.provide_evidence(HEAD, request.id, **EVIDENCE)

    review = world.evidence_review(LEAD, request.id)

    assert review.cited_map is None and review.warnings == []


def refused(app: FundingApplication, error: type[Exception], message: str, **evidence: Any) -> None:
    request = submit(app)
    before = log_position(app)
    with pytest.raises(error, match=message):
        app.provide_evidence(HEAD, request.id, notional_sen_budget="12000.00", **evidence)
    assert log_position(app) == before


def test_a_citation_must_name_a_published_version_with_its_own_hash(world):
    version = publish_map(world)
    world.add_provision_line(HEAD, SCHOOL, AY, line_fields())  # a draft version 2, never published

    refused(world, InvalidValue, "no published version 2", provision_map=cite(version, version=2))
    refused(world, InvalidValue, "not the SHA-256", provision_map=cite(version, sha256="0" * 64))
    refused(
        world,
        InvalidValue,
        "no published version 1 of its 2027/28",
        provision_map=cite(version, academic_year="2027/28"),
    )
    refused(world, InvalidValue, "64 lower-case hex", provision_map=cite(version, sha256="A" * 64))
    refused(world, InvalidValue, "not both", provision_map=cite(version), spend=EVIDENCE["spend"])
    refused(world, InvalidValue, "names school_urn", provision_map={"version": 1})


def test_a_school_cannot_cite_another_schools_map_even_one_that_exists(world):
    others = publish_map(world, SECOND_HEAD, SECOND_SCHOOL)
    publish_map(world, OTHER_HEAD, OTHER_SCHOOL)

    refused(world, InvalidValue, "only the school's own provision map", provision_map=cite(others))
    # The refusal is the same whether or not the other school published that version: nothing to probe.
    refused(world, InvalidValue, "only the school's own provision map", provision_map=cite(others, version=9))


def test_a_map_with_no_own_budget_line_gives_no_evidence(world):
    version = publish_map(world, HEAD, SCHOOL, line_fields(funded_by="council"))

    refused(world, InvalidValue, "no costed line funded by", provision_map=cite(version))


def test_a_citation_on_a_request_that_takes_no_evidence_is_a_conflict_before_the_map_is_read(world):
    version = publish_map(world)
    request = submit(world)
    world.withdraw(HEAD, request.id, "No longer needed.")

    with pytest.raises(InvalidTransition):
        world.provide_evidence(HEAD, request.id, notional_sen_budget="1.00", provision_map=cite(version, version=7))


def test_the_lead_of_another_cluster_cannot_read_the_review(world):
    version = publish_map(world)
    request = submit(world)
    world.provide_evidence(HEAD, request.id, notional_sen_budget="12000.00", provision_map=cite(version))

    with pytest.raises(Exception, match="not found"):
        world.evidence_review(OTHER_LEAD, request.id)


def test_evidence_stored_before_citations_existed_reads_as_typed_in(world):
    request = submit(world)
    evidenced = world.provide_evidence(HEAD, request.id, **EVIDENCE)
    record = [n for n in world.recorder.select_notifications(1, 10_000) if n.topic.endswith("SpendEvidenceProvided")][
        -1
    ]
    state = json.loads(record.state)
    assert state.pop("class_version") == 2 and state.pop("provision_map") is None
    old = StoredEvent(record.originator_id, record.originator_version, record.topic, json.dumps(state).encode())

    event = world.mapper.to_domain_event(old)

    assert isinstance(event, FundingRequest.SpendEvidenceProvided)
    assert event.provision_map is None
    assert event.spend == evidenced.evidence.spend


def test_a_snapshot_of_evidence_taken_before_citations_existed_reads_as_typed_in(world):
    request = submit(world)
    evidence = world.provide_evidence(HEAD, request.id, **EVIDENCE).evidence
    transcoder = world.mapper.transcoder
    stored = json.loads(transcoder.encode({"evidence": evidence}))
    del stored["evidence"]["_data_"]["provision_map"]  # as a snapshot of an older engine holds it

    read = transcoder.decode(json.dumps(stored).encode())["evidence"]

    assert read == evidence and read.provision_map is None
