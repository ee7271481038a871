"""The top-up workflow's steps as the benchmarks drive our application: one set of inputs, so
every scenario that times a submit, an evidence or an approval times the same work."""

from __future__ import annotations

import uuid

from domain.values import Actor, FinancialYear
from funding_engine.application import FundingApplication

PROVISION = [{"category": "therapies", "amount": "500.00"}]
SPEND = [{"category": "therapies", "amount": "1000.00", "note": "speech and language sessions"}]
DOCUMENTS = [{"name": "evidence.pdf", "sha256": "0" * 64}]


def submit(app: FundingApplication, school: Actor, year: FinancialYear | str) -> uuid.UUID:
    assert school.school_urn is not None, "only a school submits"
    request = app.submit_request(
        school,
        school_urn=school.school_urn,
        financial_year=year,
        amount_requested="500.00",
        reason="complex_needs",
        pupil_count=1,
        needs_summary="needs summary",
        planned_provision=PROVISION,
    )
    return request.id


def provide_evidence(app: FundingApplication, school: Actor, request_id: uuid.UUID) -> None:
    app.provide_evidence(school, request_id, notional_sen_budget="6000.00", spend=SPEND, documents=DOCUMENTS)


def approve(app: FundingApplication, lead: Actor, request_id: uuid.UUID) -> None:
    app.approve(lead, request_id, "400.00", "meets the cluster's criteria")
