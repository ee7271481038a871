"""Malformed values raise ``InvalidValue`` through the application and write nothing, on both stores.

All cases share one world per store (a bad value must leave it untouched, and each case checks
that); each case makes the requests it needs before the log position is taken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import cached_property
from typing import Any

import pytest

from domain.errors import InvalidValue
from domain.funding_request import FundingRequest
from funding_engine.application import FundingApplication
from tests.conftest import STORES
from tests.support import (
    CLUSTER,
    COUNCIL,
    EVIDENCE,
    FINANCE,
    HEAD,
    LEAD,
    SCHOOL,
    SECOND_SCHOOL,
    YEAR,
    approved_request,
    escalated_request,
    evidenced_request,
    set_up_world,
    store_app,
    submission,
    submit,
    writes_nothing,
)

# More than the shared world's cluster budget, so the lead may escalate it.
UNAFFORDABLE = "2000000.00"


@pytest.fixture(scope="module", params=STORES)
def shared_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FundingApplication]:
    with store_app(request.param, tmp_path_factory.mktemp("bad-values")) as app:
        set_up_world(app, budget="100000.00", council_fund="100000.00")
        yield app


class Targets:
    """The requests a case acts on, made on first use (before the case takes the log position)."""

    def __init__(self, app: FundingApplication) -> None:
        self.app = app

    @cached_property
    def submitted(self) -> FundingRequest:
        return submit(self.app)

    @cached_property
    def evidenced(self) -> FundingRequest:
        return evidenced_request(self.app)

    @cached_property
    def unaffordable(self) -> FundingRequest:
        return evidenced_request(self.app, amount_requested=UNAFFORDABLE)

    @cached_property
    def escalated(self) -> FundingRequest:
        return escalated_request(self.app, "4000.00", amount_requested=UNAFFORDABLE)

    @cached_property
    def approved(self) -> FundingRequest:
        return approved_request(self.app, "1000.00")


Call = Callable[[FundingApplication, Targets], Any]

# ------------------------------------------------------------------------------------------------
# Families of bad values
# ------------------------------------------------------------------------------------------------

BAD_AMOUNTS = [  # for any amount that must be positive
    ("float", 1000.0),
    ("three-decimal-places", "1000.001"),
    ("three-decimal-places-decimal", Decimal("1000.001")),
    ("negative", "-1.00"),
    ("zero", "0"),
    ("zero-with-pence", "0.00"),
    ("over-ten-million", "10000000.01"),
    ("integer", 1000),
    ("bool", True),
    ("words", "a thousand"),
    ("blank", ""),
    ("exponent", "1e3"),
    ("thousands-separator", "1,000.00"),
    ("pound-sign", "£1000.00"),
    ("not-a-number", Decimal("NaN")),
    ("infinity", Decimal("Infinity")),
]

BAD_ALLOCATIONS = [  # an allocation may be negative, but never zero, fractional-pence or huge
    ("float", 100.0),
    ("three-decimal-places", "100.001"),
    ("zero", "0.00"),
    ("negative-zero", "-0.00"),
    ("over-ten-million", "10000000.01"),
    ("negative-over-ten-million", "-10000000.01"),
    ("words", "one hundred"),
]

BAD_YEARS = [
    ("second-part-not-next-year", "2026-28"),
    ("slash", "2026/27"),
    ("two-digit-first-part", "26-27"),
    ("four-digit-second-part", "2026-2027"),
    ("before-2000", "1999-00"),
    ("after-2098", "2099-00"),
    ("blank", ""),
    ("integer", 2026),
]

BAD_URNS = [
    ("five-digits", "12345"),
    ("seven-digits", "1234567"),
    ("letters", "abcdef"),
    ("padded", " 900001"),
    ("blank", ""),
    ("integer", 900001),
]

BAD_SLUGS = [
    ("capitals", "Northmere-Coast"),
    ("leading-hyphen", "-northmere"),
    ("one-character", "n"),
    ("64-characters", "n" * 64),
    ("space", "northmere coast"),
    ("underscore", "northmere_coast"),
    ("non-ascii", "nörthmere"),
    ("blank", ""),
]

CONTROL_AND_UNSTORABLE = [
    ("nul", "before\x00after"),
    ("bell", "before\x07after"),
    ("escape-sequence", "before\x1b[31mafter"),
    ("delete", "before\x7fafter"),
    ("unit-separator", "before\x1fafter"),
    ("lone-surrogate", "before\ud800after"),
]

BAD_REQUIRED_TEXT = [
    ("blank", ""),
    ("whitespace", "  \t "),
    ("too-long", "x" * 4001),
    ("not-text", 42),
    *CONTROL_AND_UNSTORABLE,
]
BAD_SHORT_TEXT = [("blank", ""), ("too-long", "x" * 201), *CONTROL_AND_UNSTORABLE]
BAD_OPTIONAL_TEXT = [("too-long", "x" * 4001), *CONTROL_AND_UNSTORABLE]
BAD_NOTES = [("too-long", "x" * 1001), *CONTROL_AND_UNSTORABLE]


def cases(
    prefix: str, values: list[tuple[str, Any]], call: Callable[[Any], Call], needs: str | None = None
) -> list[Any]:
    """One case per bad value; ``needs`` names the target request the call acts on, if any."""
    return [pytest.param(needs, call(value), id=f"{prefix}-{label}") for label, value in values]


# ------------------------------------------------------------------------------------------------
# Calls, each with one value replaced
# ------------------------------------------------------------------------------------------------


def submit_with(**overrides: Any) -> Call:
    return lambda app, t: app.submit_request(HEAD, **submission(**overrides))


def evidence_with(**overrides: Any) -> Call:
    return lambda app, t: app.provide_evidence(HEAD, t.submitted.id, **{**EVIDENCE, **overrides})


def commission_with(**overrides: Any) -> Call:
    fields: dict[str, Any] = {
        "service": "specialist_teaching",
        "provider": "Northmere Specialist Teaching Service",
        "amount": "800.00",
        "school_urns": [SCHOOL, SECOND_SCHOOL],
        "description": "Specialist teacher visits for pupils with dyslexia.",
    }
    fields.update(overrides)
    return lambda app, t: app.commission_service(LEAD, CLUSTER, YEAR, **fields)


def line(**overrides: Any) -> dict[str, Any]:
    return {"category": "therapies", "amount": "500.00", "note": "speech and language", **overrides}


def doc(**overrides: Any) -> dict[str, Any]:
    return {"name": "spend.pdf", "sha256": "cd" * 32, **overrides}


APPROVE_REASON = "Evidence shows the school's own SEN funding is spent."

CASES: list[Any] = [
    # -- reference data ------------------------------------------------------------------------
    *cases("register_cluster-cluster_id", BAD_SLUGS, lambda v: lambda app, t: app.register_cluster(COUNCIL, v, "X")),
    *cases(
        "register_cluster-name", BAD_SHORT_TEXT, lambda v: lambda app, t: app.register_cluster(COUNCIL, "new-one", v)
    ),
    *cases("add_school-urn", BAD_URNS, lambda v: lambda app, t: app.add_school(COUNCIL, CLUSTER, v)),
    *cases("add_school-cluster_id", BAD_SLUGS, lambda v: lambda app, t: app.add_school(COUNCIL, v, "900201")),
    *cases("remove_school-urn", BAD_URNS, lambda v: lambda app, t: app.remove_school(COUNCIL, CLUSTER, v)),
    # -- budgets ---------------------------------------------------------------------------------
    *cases(
        "allocate_budget-amount",
        BAD_ALLOCATIONS,
        lambda v: lambda app, t: app.allocate_budget(FINANCE, CLUSTER, YEAR, v, "top-up"),
    ),
    *cases(
        "allocate_budget-financial_year",
        BAD_YEARS,
        lambda v: lambda app, t: app.allocate_budget(FINANCE, CLUSTER, v, "100.00"),
    ),
    *cases(
        "allocate_budget-cluster_id", BAD_SLUGS, lambda v: lambda app, t: app.allocate_budget(FINANCE, v, YEAR, "1.00")
    ),
    *cases(
        "allocate_budget-note",
        BAD_NOTES,
        lambda v: lambda app, t: app.allocate_budget(FINANCE, CLUSTER, YEAR, "1.00", v),
    ),
    *cases(
        "allocate_council_fund-amount",
        BAD_ALLOCATIONS,
        lambda v: lambda app, t: app.allocate_council_fund(FINANCE, YEAR, v, "top-up"),
    ),
    *cases(
        "allocate_council_fund-financial_year",
        BAD_YEARS,
        lambda v: lambda app, t: app.allocate_council_fund(FINANCE, v, "100.00"),
    ),
    *cases(
        "allocate_council_fund-note",
        BAD_NOTES,
        lambda v: lambda app, t: app.allocate_council_fund(FINANCE, YEAR, "1.00", v),
    ),
    *cases("get_budget-financial_year", BAD_YEARS, lambda v: lambda app, t: app.get_budget(FINANCE, CLUSTER, v)),
    *cases("get_budget-cluster_id", BAD_SLUGS, lambda v: lambda app, t: app.get_budget(FINANCE, v, YEAR)),
    *cases("get_council_fund-financial_year", BAD_YEARS, lambda v: lambda app, t: app.get_council_fund(FINANCE, v)),
    # -- commissioning -----------------------------------------------------------------------------
    *cases(
        "commission-service",
        [("unknown", "catering"), ("blank", ""), ("upper-case", "CAMHS"), ("none", None)],
        lambda v: commission_with(service=v),
    ),
    *cases("commission-amount", BAD_AMOUNTS, lambda v: commission_with(amount=v)),
    *cases("commission-provider", BAD_SHORT_TEXT, lambda v: commission_with(provider=v)),
    *cases("commission-description", BAD_REQUIRED_TEXT, lambda v: commission_with(description=v)),
    *cases(
        "commission-school_urns",
        [("none", []), ("bad-urn", ["12345"]), ("duplicate", [SCHOOL, SCHOOL])],
        lambda v: commission_with(school_urns=v),
    ),
    *cases(
        "commission-financial_year",
        BAD_YEARS,
        lambda v: (
            lambda app, t: app.commission_service(
                LEAD, CLUSTER, v, service="camhs", provider="P", amount="1.00", school_urns=[SCHOOL], description="D"
            )
        ),
    ),
    # -- submission ------------------------------------------------------------------------------
    *cases("submit-amount_requested", BAD_AMOUNTS, lambda v: submit_with(amount_requested=v)),
    *cases("submit-school_urn", BAD_URNS, lambda v: submit_with(school_urn=v)),
    *cases("submit-financial_year", BAD_YEARS, lambda v: submit_with(financial_year=v)),
    *cases(
        "submit-reason",
        [("unknown", "new_building"), ("blank", ""), ("upper-case", "COMPLEX_NEEDS"), ("none", None)],
        lambda v: submit_with(reason=v),
    ),
    *cases(
        "submit-pupil_count",
        [("zero", 0), ("negative", -1), ("over-2000", 2001), ("text", "2"), ("float", 1.5), ("bool", True)],
        lambda v: submit_with(pupil_count=v),
    ),
    *cases("submit-needs_summary", BAD_REQUIRED_TEXT, lambda v: submit_with(needs_summary=v)),
    *cases(
        "submit-planned_provision",
        [
            ("empty", []),
            ("unknown-category", [{"category": "snacks", "amount": "100.00"}]),
            ("float-amount", [{"category": "therapies", "amount": 100.0}]),
            ("zero-amount", [{"category": "therapies", "amount": "0.00"}]),
            ("negative-amount", [{"category": "therapies", "amount": "-100.00"}]),
            ("over-ten-million", [{"category": "therapies", "amount": "10000000.01"}]),
            ("51-lines", [{"category": "therapies", "amount": "1.00"}] * 51),
        ],
        lambda v: submit_with(planned_provision=v),
    ),
    # -- evidence --------------------------------------------------------------------------------
    *cases(
        "evidence-notional_sen_budget",
        [
            ("float", 12000.0),
            ("three-decimal-places", "12000.001"),
            ("negative", "-1.00"),
            ("zero", "0.00"),
            ("over-ten-million", "10000000.01"),
            ("words", "twelve thousand"),
        ],
        lambda v: evidence_with(notional_sen_budget=v),
        needs="submitted",
    ),
    *cases(
        "evidence-spend",
        [
            ("empty", []),
            ("unknown-category", [line(category="snacks")]),
            ("float-amount", [line(amount=500.0)]),
            ("zero-amount", [line(amount="0.00")]),
            ("negative-amount", [line(amount="-500.00")]),
            ("over-ten-million", [line(amount="10000000.01")]),
            ("note-too-long", [line(note="x" * 1001)]),
            ("note-with-nul", [line(note="a\x00b")]),
            ("51-lines", [line()] * 51),
        ],
        lambda v: evidence_with(spend=v),
        needs="submitted",
    ),
    *cases(
        "evidence-documents",
        [
            ("blank-name", [doc(name="")]),
            ("name-too-long", [doc(name="x" * 201)]),
            ("upper-case-hash", [doc(sha256="CD" * 32)]),
            ("short-hash", [doc(sha256="cd" * 31)]),
            ("non-hex-hash", [doc(sha256="zz" * 32)]),
            ("51-documents", [doc()] * 51),
        ],
        lambda v: evidence_with(documents=v),
        needs="submitted",
    ),
    # -- decisions -------------------------------------------------------------------------------
    *cases(
        "request_information-question",
        BAD_REQUIRED_TEXT,
        lambda v: lambda app, t: app.request_information(LEAD, t.evidenced.id, v),
        needs="evidenced",
    ),
    *cases(
        "approve-amount",
        BAD_AMOUNTS,
        lambda v: lambda app, t: app.approve(LEAD, t.evidenced.id, v, APPROVE_REASON),
        needs="evidenced",
    ),
    *cases(
        "approve-reason",
        BAD_REQUIRED_TEXT,
        lambda v: lambda app, t: app.approve(LEAD, t.evidenced.id, "100.00", v),
        needs="evidenced",
    ),
    *cases(
        "approve-conditions",
        BAD_OPTIONAL_TEXT,
        lambda v: lambda app, t: app.approve(LEAD, t.evidenced.id, "100.00", APPROVE_REASON, v),
        needs="evidenced",
    ),
    *cases(
        "decline-reason_code",
        [("unknown", "because"), ("blank", ""), ("upper-case", "OTHER"), ("none", None)],
        lambda v: lambda app, t: app.decline(LEAD, t.evidenced.id, v, "Declined."),
        needs="evidenced",
    ),
    *cases(
        "decline-reason",
        BAD_REQUIRED_TEXT,
        lambda v: lambda app, t: app.decline(LEAD, t.evidenced.id, "other", v),
        needs="evidenced",
    ),
    *cases(
        "escalate-amount",
        BAD_AMOUNTS,
        lambda v: lambda app, t: app.escalate(LEAD, t.unaffordable.id, v, "Exceptional."),
        needs="unaffordable",
    ),
    *cases(
        "escalate-exceptional_circumstances",
        BAD_REQUIRED_TEXT,
        lambda v: lambda app, t: app.escalate(LEAD, t.unaffordable.id, "100.00", v),
        needs="unaffordable",
    ),
    *cases(
        "council_decision-decision",
        [("unknown", "maybe"), ("blank", ""), ("upper-case", "APPROVE"), ("none", None)],
        lambda v: lambda app, t: app.decide_escalation(COUNCIL, t.escalated.id, v, "Decided."),
        needs="escalated",
    ),
    *cases(
        "council_decision-reason",
        BAD_REQUIRED_TEXT,
        lambda v: lambda app, t: app.decide_escalation(COUNCIL, t.escalated.id, "approve", v),
        needs="escalated",
    ),
    *cases(
        "council_decision-amount",
        BAD_AMOUNTS,
        lambda v: lambda app, t: app.decide_escalation(COUNCIL, t.escalated.id, "approve", "Yes.", v),
        needs="escalated",
    ),
    pytest.param(
        "escalated",
        lambda app, t: app.decide_escalation(COUNCIL, t.escalated.id, "decline", "No.", "100.00"),
        id="council_decision-decline-with-an-amount",
    ),
    *cases(
        "withdraw-reason",
        BAD_REQUIRED_TEXT,
        lambda v: lambda app, t: app.withdraw(HEAD, t.submitted.id, v),
        needs="submitted",
    ),
    # -- payments --------------------------------------------------------------------------------
    *cases(
        "record_payment-amount",
        BAD_AMOUNTS,
        lambda v: lambda app, t: app.record_payment(FINANCE, t.approved.id, v, "BACS-0001"),
        needs="approved",
    ),
    *cases(
        "record_payment-reference",
        BAD_SHORT_TEXT,
        lambda v: lambda app, t: app.record_payment(FINANCE, t.approved.id, "100.00", v),
        needs="approved",
    ),
]


@pytest.mark.parametrize(("needs", "call"), CASES)
def test_a_bad_value_raises_invalid_value_and_writes_nothing(shared_world, needs, call):
    targets = Targets(shared_world)
    if needs is not None:
        getattr(targets, needs)  # made now, so the log position below is taken after it

    with writes_nothing(shared_world), pytest.raises(InvalidValue):
        call(shared_world, targets)
