"""The decision log's school and kind filters (issue 11), in the application and on
``GET /audit/decisions``, over the demo year, on SQLite and on PostgreSQL."""

from __future__ import annotations

import io

import pytest

from domain.errors import InvalidValue
from funding_engine import demo
from funding_engine.application import FundingApplication
from tests.api.conftest import assert_problem, auth, client_for

COUNCIL = demo.COUNCIL
VALIDATION = "validation-error"


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


def everything(app: FundingApplication) -> list:
    return app.read_models.decisions(COUNCIL, limit=500).items


def test_school_urn_selects_the_decisions_about_that_schools_requests(loaded):
    rows = loaded.read_models.decisions(COUNCIL, school_urn="990201").items

    assert [row.kind for row in rows] == ["council_decline", "escalation", "escalation"]
    assert {row.school_urn for row in rows} == {"990201"}
    assert rows == [row for row in everything(loaded) if row.school_urn == "990201"]


def test_kind_selects_one_kind_of_decision(loaded):
    rows = loaded.read_models.decisions(COUNCIL, kind="escalation").items

    assert len(rows) == 3 and {row.kind for row in rows} == {"escalation"}
    assert rows == [row for row in everything(loaded) if row.kind == "escalation"]
    commissions = loaded.read_models.decisions(COUNCIL, kind="commission").items
    # This year's educational psychologists, and last year's specialist teacher (the demo closed last year).
    assert [(row.cluster_id, row.school_urn) for row in commissions] == [("northmere-coast", None)] * 2


def test_the_new_filters_combine_with_the_old_and_page(loaded):
    rows = loaded.read_models.decisions(
        COUNCIL, cluster_id="marshfield-vale", school_urn="990202", kind="council_approval", decided_by=COUNCIL.sub
    ).items
    assert len(rows) == 1 and rows[0].amount == 1_200_000

    first = loaded.read_models.decisions(COUNCIL, school_urn="990201", limit=2)
    second = loaded.read_models.decisions(COUNCIL, school_urn="990201", limit=2, cursor=first.next_cursor)
    assert first.items + second.items == loaded.read_models.decisions(COUNCIL, school_urn="990201").items
    assert second.next_cursor is None


def test_without_the_new_filters_the_log_is_as_before(loaded):
    rows = everything(loaded)

    # 4 approvals or declines by leads, an information request, 2 commissions (last year's and this year's),
    # 3 escalations, 2 by the council
    assert len(rows) == 12
    assert [row.position for row in rows] == sorted((row.position for row in rows), reverse=True)


@pytest.mark.parametrize(
    ("filters", "field"),
    [({"school_urn": "12345"}, "URN"), ({"school_urn": "99020x"}, "URN"), ({"kind": "approval"}, "kind")],
)
def test_a_malformed_urn_or_an_unknown_kind_is_refused(loaded, filters, field):
    with pytest.raises(InvalidValue, match=field):
        loaded.read_models.decisions(COUNCIL, **filters)
    with pytest.raises(InvalidValue, match=field):
        loaded.read_models.write_decisions_csv(COUNCIL, io.StringIO(), **filters)


def test_the_csv_writer_pages_through_every_matching_decision(loaded):
    out = io.StringIO()
    count = loaded.read_models.write_decisions_csv(COUNCIL, out, kind="escalation")

    lines = out.getvalue().splitlines()
    assert count == 3 and len(lines) == 4
    assert lines[0] == (
        "position,kind,request_id,school_urn,cluster_id,financial_year,actor_sub,actor_role,decided_at,"
        "amount,reason_code,reason,details"
    )
    assert all('"escalation"' in line for line in lines[1:])


def test_the_api_takes_school_urn_and_kind(loaded):
    with client_for(loaded) as client:
        council = auth(COUNCIL)
        by_school = client.get("/audit/decisions", params={"school_urn": "990201"}, headers=council)
        by_kind = client.get("/audit/decisions", params={"kind": "cluster_decline"}, headers=council)
        bad_urn = client.get("/audit/decisions", params={"school_urn": "nope"}, headers=council)
        bad_kind = client.get("/audit/decisions", params={"kind": "maybe"}, headers=council)

    assert by_school.status_code == 200
    assert [item["kind"] for item in by_school.json()["items"]] == ["council_decline", "escalation", "escalation"]
    assert [(item["kind"], item["school_urn"]) for item in by_kind.json()["items"]] == [("cluster_decline", "990102")]
    assert_problem(bad_urn, 422, VALIDATION)
    assert_problem(bad_kind, 422, VALIDATION)
