"""The rules of spend evidence from a provision map, and of each warning beside it (domain only)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.academic_year import AcademicYear
from domain.errors import InvalidValue
from domain.funding_request import FundingRequest
from domain.map_evidence import (
    EvidencePolicy,
    check_citation_holds,
    citation_of,
    evidence_warnings,
    own_budget_total,
    spend_from_map,
    years_overlap,
)
from domain.money import Money
from domain.provision_lines import LineReview
from domain.provision_maps import ProvisionMap, PublishedVersion
from domain.values import (
    Actor,
    ClusterId,
    FinancialYear,
    ProvisionCategory,
    ProvisionLine,
    ProvisionMapCitation,
    SchoolUrn,
    TopUpReason,
)
from tests.unit.test_provision_maps import a_line

URN = SchoolUrn("900001")
HEAD = Actor.school("senco", "900001")
YEAR = AcademicYear.parse("2026/27")
POLICY = EvidencePolicy(own_spend_per_pupil=Money(600_000), review_interval_weeks=13)


def published(*lines: Any) -> PublishedVersion:
    provision_map = ProvisionMap.open(URN, YEAR, HEAD)
    for line in lines or (a_line(),):
        provision_map.add_line(line, HEAD)
    return provision_map.publish(HEAD)


def warning_codes(
    version: PublishedVersion, *, pupils: int = 1, planned: tuple[str, ...] = ("therapies",), **kw: Any
) -> list[str]:
    warnings = evidence_warnings(
        document=version.document,
        published_on=kw.get("published_on", date(2026, 10, 1)),
        hash_holds=kw.get("hash_holds", True),
        pupil_count=pupils,
        planned_categories=[ProvisionCategory(category) for category in planned],
        academic_year=version.academic_year,
        financial_year=kw.get("financial_year", FinancialYear(2026)),
        policy=POLICY,
    )
    return [warning.code for warning in warnings]


# -- the citation -------------------------------------------------------------------------------------


def test_a_citation_names_a_version_from_1_and_a_sha256():
    with pytest.raises(InvalidValue):
        ProvisionMapCitation(URN, YEAR, 0, "a" * 64)
    with pytest.raises(InvalidValue):
        ProvisionMapCitation(URN, YEAR, 1, "A" * 64)
    with pytest.raises(InvalidValue):
        ProvisionMapCitation(URN, YEAR, True, "a" * 64)


def test_a_citation_holds_only_with_the_versions_own_hash():
    version = published()
    check_citation_holds(citation_of(version), version)
    with pytest.raises(InvalidValue, match="not the SHA-256"):
        check_citation_holds(ProvisionMapCitation(URN, YEAR, 1, "0" * 64), version)


def test_a_citation_of_content_changed_since_it_was_hashed_does_not_hold():
    version = published()
    tampered = dataclasses.replace(version, content=version.content.replace('"pupil_count":6', '"pupil_count":7'))

    with pytest.raises(InvalidValue, match="no longer matches"):
        check_citation_holds(citation_of(version), tampered)


def test_a_request_cites_only_its_own_schools_map():
    request = FundingRequest.submit(
        school_urn=URN,
        cluster_id=ClusterId("northmere-coast"),
        financial_year=FinancialYear.parse("2026-27"),
        amount_requested=Money(100_000),
        reason=TopUpReason.COMPLEX_NEEDS,
        pupil_count=1,
        needs_summary="A pupil with complex needs.",
        planned_provision=[ProvisionLine(ProvisionCategory.THERAPIES, Money(100_000))],
        actor=HEAD,
    )
    version = published()
    spend = spend_from_map(version)
    another = ProvisionMapCitation(SchoolUrn("900002"), YEAR, 1, version.sha256)

    with pytest.raises(InvalidValue, match="only the school's own"):
        request.provide_evidence(Money(0), spend, [], HEAD, provision_map=another)
    request.provide_evidence(Money(0), spend, [], HEAD, provision_map=citation_of(version))

    assert request.evidence is not None and request.evidence.provision_map == citation_of(version)
    [event] = [e for e in request.collect_events() if isinstance(e, FundingRequest.SpendEvidenceProvided)]
    assert event.provision_map == citation_of(version)


def test_an_old_evidence_record_upcasts_to_typed_in_evidence():
    state: dict[str, Any] = {"notional_sen_budget": Money(0), "spend": [], "documents": [], "actor": HEAD}

    FundingRequest.SpendEvidenceProvided.upcast_v1_v2(state)

    assert state["provision_map"] is None


# -- the spend it gives ---------------------------------------------------------------------------------


def test_the_spend_is_the_own_budget_lines_totalled_by_category_in_the_categories_order():
    version = published(
        a_line(category="therapies", cost_basis="total", cost="1000.00"),
        a_line(category="personal_care", cost_basis="total", cost="250.00"),
        a_line(category="therapies", cost_basis="per_pupil", cost="10.00", pupil_count=3),
        a_line(category="interpreters", funded_by="cluster_top_up", cost_basis="total", cost="999.00"),
        a_line(category="note_takers", cost_basis="total", cost="0"),
    )

    spend = spend_from_map(version)

    assert [(line.category.value, line.amount.pence, line.note) for line in spend] == [
        ("personal_care", 25000, "Provision map 2026/27 version 1, line 2"),
        ("therapies", 103000, "Provision map 2026/27 version 1, lines 1, 3"),
    ]
    assert own_budget_total(version.document).pence == 128000


def test_a_version_with_no_costed_own_budget_line_gives_no_spend():
    version = published(a_line(funded_by="council"), a_line(cost="0"))

    with pytest.raises(InvalidValue, match="no costed line"):
        spend_from_map(version)


# -- the warnings -----------------------------------------------------------------------------------------


def test_own_spend_per_pupil_is_the_own_budget_total_over_the_requests_pupils():
    version = published(a_line(cost_basis="total", cost="12000.00"))  # £12,000 of the school's own

    assert "own_spend_below_threshold" not in warning_codes(version, pupils=2)  # £6,000 each: met
    assert "own_spend_below_threshold" in warning_codes(version, pupils=3)  # £4,000 each


def test_the_own_spend_warning_says_the_figures():
    version = published(a_line(cost_basis="total", cost="12000.00"), a_line(funded_by="council", cost="50000.00"))
    [warning] = evidence_warnings(
        document=version.document,
        published_on=date(2026, 10, 1),
        hash_holds=True,
        pupil_count=3,
        planned_categories=[ProvisionCategory.THERAPIES],
        academic_year=version.academic_year,
        financial_year=FinancialYear(2026),
        policy=POLICY,
    )
    assert warning.message == (
        "The school's own spend on the cited map is £4,000.00 for each of the 3 pupils the request is for, "
        "below the expected £6,000.00 a pupil."
    )


def test_a_planned_category_on_no_line_of_the_map_is_warned_of_once_whoever_funds_the_line():
    version = published(
        a_line(cost_basis="total", cost="9000.00"), a_line(category="personal_care", funded_by="council")
    )

    codes = warning_codes(version, planned=("personal_care", "interpreters", "interpreters", "therapies"))

    assert codes == ["category_not_in_map"]


def test_a_line_in_place_longer_than_the_interval_without_a_review_is_overdue():
    version = published(a_line(cost_basis="total", cost="9000.00", starts_on="2026-09-01"))
    thirteen_weeks_on = date(2026, 12, 1)  # 91 days: not more than 13 weeks

    assert "reviews_overdue" not in warning_codes(version, published_on=thirteen_weeks_on)
    assert "reviews_overdue" in warning_codes(version, published_on=date(2026, 12, 2))


def test_a_review_restarts_the_interval_and_a_planned_or_ended_line_is_judged_fairly():
    provision_map = ProvisionMap.open(URN, YEAR, HEAD)
    provision_map.add_line(a_line(cost_basis="total", cost="9000.00"), HEAD)
    provision_map.add_line(a_line(status="planned"), HEAD)
    provision_map.add_line(a_line(starts_on="2026-09-01", ends_on="2026-10-01"), HEAD)
    provision_map.review_line(
        1, LineReview.parse(reviewed_on="2026-11-01", impact="good"), HEAD, today=date(2027, 1, 1)
    )
    version = provision_map.publish(HEAD)

    assert "reviews_overdue" not in warning_codes(version, published_on=date(2027, 1, 15))
    assert "reviews_overdue" in warning_codes(version, published_on=date(2027, 2, 15))  # line 1, 15 weeks on


def test_a_hash_that_no_longer_holds_is_the_first_warning():
    version = published(a_line(cost_basis="total", cost="9000.00"))

    assert warning_codes(version, hash_holds=False) == ["hash_mismatch"]


@pytest.mark.parametrize(
    "academic_year, financial_year, overlap",
    [
        ("2026/27", "2026-27", True),  # September 2026 to March 2027
        ("2025/26", "2026-27", True),  # April to August 2026
        ("2026/27", "2027-28", True),  # April to August 2027
        ("2027/28", "2026-27", False),  # starts September 2027, after March 2027
        ("2024/25", "2026-27", False),  # ends August 2025, before April 2026
        ("2025/26", "2024-25", False),  # starts September 2025, after March 2025
    ],
)
def test_a_map_whose_academic_year_has_no_day_in_the_requests_financial_year_is_warned_of(
    academic_year, financial_year, overlap
):
    assert years_overlap(AcademicYear.parse(academic_year), FinancialYear.parse(financial_year)) is overlap
    year = AcademicYear.parse(academic_year)
    provision_map = ProvisionMap.open(URN, year, HEAD)
    provision_map.add_line(
        a_line(cost_basis="total", cost="9000.00", starts_on=str(year.starts_on), ends_on=str(year.ends_on)), HEAD
    )
    version = provision_map.publish(HEAD)

    codes = warning_codes(version, published_on=year.starts_on, financial_year=FinancialYear.parse(financial_year))

    assert ("map_year_outside_financial_year" in codes) is not overlap
    assert "own_spend_below_threshold" not in codes  # a warning beside the others, not instead of them


def test_the_year_warning_says_both_years_and_their_days():
    version = published(a_line(cost_basis="total", cost="9000.00"))  # 2026/27
    [warning] = evidence_warnings(
        document=version.document,
        published_on=date(2026, 10, 1),
        hash_holds=True,
        pupil_count=1,
        planned_categories=[ProvisionCategory.THERAPIES],
        academic_year=version.academic_year,
        financial_year=FinancialYear(2028),
        policy=POLICY,
    )
    assert warning.code == "map_year_outside_financial_year"
    assert warning.message == (
        "The cited map is for the academic year 2026/27 (1 September 2026 to 31 August 2027), which has no day "
        "in the request's financial year 2028-29 (1 April 2028 to 31 March 2029)."
    )


def test_warnings_depend_only_on_the_frozen_content_so_they_read_the_same_later():
    version = published(a_line())
    again = PublishedVersion(
        URN, YEAR, 1, json.dumps(json.loads(version.content)), version.sha256, datetime(2030, 1, 1, tzinfo=UTC), HEAD
    )

    assert warning_codes(version) == warning_codes(again)
