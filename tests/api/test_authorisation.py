"""The authorisation matrix: every endpoint, called by every role and by every kind of bad token.

Expected statuses follow API.md and DESIGN.md: council and finance read everything; a school reads
only its own requests, a lead only its cluster's; each command belongs to one role (and, where it
names a request or cluster, to the right school or lead). Reading a request the caller may not see
is a 404, so its existence does not leak. Every refused call is checked to have written nothing.

One world per store serves the whole module: a call expected to succeed gets its own fresh request
(or cluster); calls expected to be refused share one request in each state.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from domain.sen_report_checklist import CHECKLIST
from domain.values import Actor
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import today_in_england
from tests.api.conftest import (
    APPROVE_BODY,
    BAD_AUTHORIZATION,
    ESCALATE_BODY,
    SKEWED_BUT_GOOD,
    STORES,
    assert_problem,
    auth,
    client_for,
    fresh_store,
    writes_nothing,
)
from tests.support import (
    CLUSTER,
    COUNCIL,
    EVIDENCE,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_HEAD,
    OTHER_LEAD,
    SCHOOL,
    SECOND_HEAD,
    SECOND_SCHOOL,
    YEAR,
    log_position,
    set_up_world,
    submission,
)

CALLERS: dict[str, Actor] = {
    "council": COUNCIL,
    "finance": FINANCE,
    "lead of the request's cluster": LEAD,
    "lead of another cluster": OTHER_LEAD,
    "the school": HEAD,
    "another school in the cluster": SECOND_HEAD,
    "a school in another cluster": OTHER_HEAD,
}
COUNCIL_, FINANCE_, LEAD_, OTHER_LEAD_, SCHOOL_, SECOND_SCHOOL_, OTHER_SCHOOL_ = CALLERS
EVERYONE = frozenset(CALLERS)
BIG = "1000000.00"
UNAFFORDABLE = "2000000.00"
COMMISSION = {
    "service": "specialist_teaching",
    "provider": "County Specialist Teaching Service",
    "amount": "10.00",
    "school_urns": [SCHOOL],
    "description": "Two days of advisory teacher time.",
}

_numbers = itertools.count(1)


def fresh_slug() -> str:
    return f"matrix-cluster-{next(_numbers)}"


def fresh_urn() -> str:
    return f"{700000 + next(_numbers):06d}"


# -- resources, made through the application layer ---------------------------------------------------


def submitted(app: FundingApplication, **overrides: Any) -> str:
    return str(app.submit_request(HEAD, **submission(**overrides)).id)


def evidenced(app: FundingApplication, **overrides: Any) -> str:
    request_id = app.submit_request(HEAD, **submission(**overrides)).id
    app.provide_evidence(HEAD, request_id, **EVIDENCE)
    return str(request_id)


def unaffordable(app: FundingApplication) -> str:
    return evidenced(
        app,
        amount_requested=UNAFFORDABLE,
        planned_provision=[{"category": "therapies", "amount": UNAFFORDABLE}],
    )


def escalated(app: FundingApplication) -> str:
    request_id = unaffordable(app)
    app.escalate(LEAD, _uuid(request_id), ESCALATE_BODY["amount"], ESCALATE_BODY["exceptional_circumstances"])
    return request_id


def approved(app: FundingApplication) -> str:
    request_id = evidenced(app)
    app.approve(LEAD, _uuid(request_id), "1000.00", "Spend evidence seen.")
    return request_id


def held(app: FundingApplication) -> str:
    request_id = evidenced(app)
    app.approve(LEAD, _uuid(request_id), "1000.00", "Seen.", held_instalments=[{"number": 1, "condition": "a plan"}])
    return request_id


def council_approved(app: FundingApplication) -> str:
    request_id = escalated(app)
    app.decide_escalation(COUNCIL, _uuid(request_id), "approve", "Exceptional.")
    return request_id


def paid(app: FundingApplication) -> str:
    request_id = approved(app)
    app.record_payment(FINANCE, _uuid(request_id), "1000.00", "BACS-M")
    return request_id


def recovering(app: FundingApplication) -> str:
    request_id = paid(app)
    app.raise_recovery(FINANCE, _uuid(request_id), YEAR, "100.00", "overpayment", "Paid twice.")
    return request_id


# Council fund years closed by the matrix (issue 13): each setup a year of its own, as for maps.
_close_years: dict[int, Iterator[int]] = {}


def council_year(app: FundingApplication) -> dict[str, str]:
    year = next(_close_years.setdefault(id(app), itertools.count(2040)))
    return {"fy": f"{year}-{(year + 1) % 100:02d}"}


def payment_run(app: FundingApplication) -> dict[str, str]:
    """A run of a fresh award's instalments (issue 13): everything due by the end of the century."""
    approved(app)
    return {"run": str(app.create_payment_run(FINANCE, "2099-12-31").number)}


def cluster_with_school(app: FundingApplication) -> dict[str, str]:
    slug, urn = fresh_slug(), fresh_urn()
    app.register_cluster(COUNCIL, slug, "Matrix cluster")
    app.add_school(COUNCIL, slug, urn)
    return {"cluster": slug, "urn": urn}


def cluster_and_free_school(app: FundingApplication) -> dict[str, str]:
    slug = fresh_slug()
    app.register_cluster(COUNCIL, slug, "Matrix cluster")
    return {"cluster": slug, "urn": fresh_urn()}


def registered_school(app: FundingApplication) -> dict[str, str]:
    values = cluster_with_school(app)
    app.register_school(COUNCIL, values["urn"], "Matrix School", "primary", values["cluster"])
    return values


def _uuid(value: str) -> Any:
    from uuid import UUID

    return UUID(value)


# Provision maps (issue 12): each setup a year of its own (years gone by, so a line can be reviewed
# today), counted per store's application, as each store's world makes its own.
_map_years: dict[int, Iterator[int]] = {}
MAP_LINE = {
    "description": "Speech and language group",
    "category": "therapies",
    "tier": "targeted",
    "area_of_need": "communication_and_interaction",
    "pupil_count": 6,
    "staff_or_provider": "Teaching assistant",
    "cost_basis": "per_pupil",
    "cost": "120.50",
    "funded_by": "notional_sen_budget",
    "starts_on": "2000-01-01",  # overlaps every year a setup opens
    "ends_on": "2098-12-31",
    "status": "in_place",
}


def map_year(app: FundingApplication) -> dict[str, str]:
    year = next(_map_years.setdefault(id(app), itertools.count(2000)))
    return {"ay": f"{year}-{(year + 1) % 100:02d}", "written": f"{year}/{(year + 1) % 100:02d}"}


def map_with_a_line(app: FundingApplication) -> dict[str, str]:
    values = map_year(app)
    app.open_provision_map(HEAD, SCHOOL, values["written"])
    app.add_provision_line(HEAD, SCHOOL, values["written"], MAP_LINE)
    return values


def published_map(app: FundingApplication) -> dict[str, str]:
    values = map_with_a_line(app)
    app.publish_provision_map(HEAD, SCHOOL, values["written"])
    return values


# SEN Information Reports (issue 12): published a month ago, reviewed within the year.
_PUBLISHED = today_in_england() - timedelta(days=30)
SEN_REPORT = {
    "url": "https://www.school-900001.example.org/send",
    "published_on": _PUBLISHED.isoformat(),
    "next_review_on": (_PUBLISHED + timedelta(days=300)).isoformat(),
}
ASSESSMENT = {"ratings": {item.key: "met" for item in CHECKLIST}}


def sen_report(app: FundingApplication) -> dict[str, str]:
    app.record_sen_report(HEAD, SCHOOL, SEN_REPORT["url"], SEN_REPORT["published_on"], SEN_REPORT["next_review_on"])
    return {}


def submitted_and_published_map(app: FundingApplication) -> dict[str, str]:
    values = published_map(app)
    version = app.published_provision_map(HEAD, SCHOOL, values["written"], 1)
    return {**values, "id": submitted(app), "sha": version.sha256}


CITING = {
    "notional_sen_budget": "9000.00",
    "provision_map": {"school_urn": SCHOOL, "academic_year": "{written}", "version": 1, "sha256": "{sha}"},
}


SETUPS: dict[str, Callable[[FundingApplication], dict[str, str]]] = {
    "none": lambda app: {},
    "new cluster id": lambda app: {"cluster": fresh_slug()},
    "cluster and free school": cluster_and_free_school,
    "cluster with school": cluster_with_school,
    "registered school": registered_school,
    "submitted": lambda app: {"id": submitted(app)},
    "evidenced": lambda app: {"id": evidenced(app)},
    "unaffordable": lambda app: {"id": unaffordable(app)},
    "escalated": lambda app: {"id": escalated(app)},
    "approved": lambda app: {"id": approved(app)},
    "new map year": map_year,
    "map with a line": map_with_a_line,
    "published map": published_map,
    "sen report": sen_report,
    "submitted, and a published map": submitted_and_published_map,
    "held": lambda app: {"id": held(app)},
    "council approved": lambda app: {"id": council_approved(app)},
    "paid": lambda app: {"id": paid(app)},
    "recovering": lambda app: {"id": recovering(app)},
    "council year": council_year,
    "approved, due": lambda app: {"id": approved(app)},
    "payment run": payment_run,
}


# -- the endpoints ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # formatted with the setup's values
    setup: str = "none"
    body: dict[str, Any] | None = None
    ok: dict[str, int] = field(default_factory=dict)  # caller -> success status
    hidden: frozenset[str] = frozenset()  # callers answered 404: existence must not leak
    public: bool = False  # no token needed
    csv: str | None = None  # a text/csv body instead of JSON (a remittance)

    def expected(self, caller: str) -> int:
        if self.public:
            return 200
        if caller in self.ok:
            return self.ok[caller]
        return 404 if caller in self.hidden else 403


def only(status: int, *callers: str) -> dict[str, int]:
    return dict.fromkeys(callers, status)


NOT_THE_REQUESTS_READERS = frozenset({OTHER_LEAD_, SECOND_SCHOOL_, OTHER_SCHOOL_})
# A command on a request the caller may not read answers as a read does: 404, not 403.
OTHER_SCHOOLS = frozenset({SECOND_SCHOOL_, OTHER_SCHOOL_})
OTHER_LEADS = frozenset({OTHER_LEAD_})
REQUEST_READERS = only(200, COUNCIL_, FINANCE_, LEAD_, SCHOOL_)
# A school's provision maps: the school, its cluster's lead and the council read them; others 403.
MAP_READERS = only(200, COUNCIL_, LEAD_, SCHOOL_)
MAPS = f"/schools/{SCHOOL}/provision-maps"

ENDPOINTS = [
    Endpoint("create cluster", "POST", "/clusters", "new cluster id", {"cluster_id": "{cluster}", "name": "New"},
             only(201, COUNCIL_)),
    Endpoint("list clusters", "GET", "/clusters", ok=only(200, *EVERYONE)),
    Endpoint("get cluster", "GET", f"/clusters/{CLUSTER}", ok=only(200, *EVERYONE)),
    Endpoint("put school", "PUT", "/clusters/{cluster}/schools/{urn}", "cluster and free school",
             ok=only(200, COUNCIL_)),
    Endpoint("delete school", "DELETE", "/clusters/{cluster}/schools/{urn}", "cluster with school",
             ok=only(200, COUNCIL_)),
    Endpoint("register school", "POST", "/schools", "cluster and free school",
             {"urn": "{urn}", "name": "Matrix School", "phase": "primary", "cluster_id": "{cluster}"},
             only(201, COUNCIL_)),
    Endpoint("update school", "PUT", "/schools/{urn}", "registered school",
             {"name": "Matrix Academy", "phase": "all_through", "cluster_id": "{cluster}"}, only(200, COUNCIL_)),
    Endpoint("list schools", "GET", "/schools", ok=only(200, *EVERYONE)),
    Endpoint("get school", "GET", f"/schools/{SCHOOL}", ok=only(200, *EVERYONE)),
    Endpoint("allocate budget", "POST", f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations", body={"amount": "1.00"},
             ok=only(201, FINANCE_)),
    Endpoint("commission", "POST", f"/clusters/{CLUSTER}/budgets/{YEAR}/commissions", body=COMMISSION,
             ok=only(201, LEAD_)),
    Endpoint("get budget", "GET", f"/clusters/{CLUSTER}/budgets/{YEAR}",
             ok=only(200, COUNCIL_, FINANCE_, LEAD_, SCHOOL_, SECOND_SCHOOL_)),
    Endpoint("balances", "GET", f"/balances?financial_year={YEAR}", ok=only(200, COUNCIL_, FINANCE_)),
    Endpoint("allocate council fund", "POST", f"/council/budgets/{YEAR}/allocations", body={"amount": "1.00"},
             ok=only(201, FINANCE_)),
    Endpoint("get council fund", "GET", f"/council/budgets/{YEAR}", ok=only(200, COUNCIL_, FINANCE_)),
    Endpoint("submit", "POST", "/requests", body=submission(), ok=only(201, SCHOOL_)),
    Endpoint("evidence", "POST", "/requests/{id}/evidence", "submitted", EVIDENCE, only(200, SCHOOL_),
             hidden=OTHER_SCHOOLS),
    Endpoint("information request", "POST", "/requests/{id}/information-requests", "submitted",
             {"question": "Which provision is planned?"}, only(200, LEAD_), hidden=OTHER_LEADS),
    Endpoint("approve", "POST", "/requests/{id}/approve", "evidenced", APPROVE_BODY, only(200, LEAD_),
             hidden=OTHER_LEADS),
    Endpoint("decline", "POST", "/requests/{id}/decline", "submitted", {"reason_code": "other", "reason": "No."},
             only(200, LEAD_), hidden=OTHER_LEADS),
    Endpoint("escalate", "POST", "/requests/{id}/escalate", "unaffordable", ESCALATE_BODY, only(200, LEAD_),
             hidden=OTHER_LEADS),
    Endpoint("council decision", "POST", "/requests/{id}/council-decision", "escalated",
             {"decision": "approve", "reason": "Exceptional."}, only(200, COUNCIL_)),
    Endpoint("withdraw", "POST", "/requests/{id}/withdraw", "submitted", {"reason": "Met in school."},
             only(200, SCHOOL_), hidden=OTHER_SCHOOLS),
    Endpoint("payment", "POST", "/requests/{id}/payments", "approved", {"amount": "1000.00", "reference": "P-1"},
             only(201, FINANCE_)),
    Endpoint("get request", "GET", "/requests/{id}", "approved", ok=REQUEST_READERS, hidden=NOT_THE_REQUESTS_READERS),
    Endpoint("get request as of", "GET", "/requests/{id}?as_of=2099-01-01T00:00:00Z", "approved",
             ok=REQUEST_READERS, hidden=NOT_THE_REQUESTS_READERS),
    Endpoint("history", "GET", "/requests/{id}/history", "approved", ok=REQUEST_READERS,
             hidden=NOT_THE_REQUESTS_READERS),
    Endpoint("list requests", "GET", "/requests", ok=only(200, *EVERYONE)),
    Endpoint("audit decisions", "GET", "/audit/decisions", ok=only(200, COUNCIL_)),
    Endpoint("audit verify", "GET", "/audit/verify", ok=only(200, COUNCIL_)),
    Endpoint("reconciliation", "GET", f"/finance/reconciliation?financial_year={YEAR}",
             ok=only(200, COUNCIL_, FINANCE_)),
    Endpoint("ledger", "GET", f"/finance/ledger.csv?financial_year={YEAR}", ok=only(200, FINANCE_)),
    Endpoint("healthz", "GET", "/healthz", public=True),
    Endpoint("list provision maps", "GET", MAPS, "published map", ok=MAP_READERS),
    Endpoint("open provision map", "POST", MAPS + "/{ay}", "new map year", ok=only(201, SCHOOL_)),
    Endpoint("get provision map", "GET", MAPS + "/{ay}", "published map", ok=MAP_READERS),
    Endpoint("add provision line", "POST", MAPS + "/{ay}/lines", "map with a line", MAP_LINE, only(201, SCHOOL_)),
    Endpoint("change provision line", "PUT", MAPS + "/{ay}/lines/1", "map with a line", {**MAP_LINE, "pupil_count": 7},
             only(200, SCHOOL_)),
    Endpoint("remove provision line", "DELETE", MAPS + "/{ay}/lines/1", "map with a line", ok=only(200, SCHOOL_)),
    Endpoint("review provision line", "POST", MAPS + "/{ay}/lines/1/reviews", "map with a line", {"impact": "good"},
             only(201, SCHOOL_)),
    Endpoint("publish provision map", "POST", MAPS + "/{ay}/publish", "map with a line", ok=only(201, SCHOOL_)),
    Endpoint("list published versions", "GET", MAPS + "/{ay}/versions", "published map", ok=MAP_READERS),
    Endpoint("get published version", "GET", MAPS + "/{ay}/versions/1", "published map", ok=MAP_READERS),
    # Since issue 12. Reporting a broken link (public, and it writes) has tests of its own.
    Endpoint("local offer", "GET", "/local-offer/schools", public=True),
    Endpoint("local offer school", "GET", f"/local-offer/schools/{SCHOOL}", public=True),
    Endpoint("checklist", "GET", "/local-offer/checklist", public=True),
    Endpoint("record sen report", "PUT", f"/schools/{SCHOOL}/sen-information-report", body=SEN_REPORT,
             ok=only(200, SCHOOL_)),
    Endpoint("get sen report", "GET", f"/schools/{SCHOOL}/sen-information-report", "sen report",
             ok=only(200, SCHOOL_, LEAD_, COUNCIL_), hidden=frozenset({SECOND_SCHOOL_, OTHER_SCHOOL_, OTHER_LEAD_})),
    Endpoint("assess sen report", "POST", f"/schools/{SCHOOL}/sen-information-report/assessments", "sen report",
             ASSESSMENT, only(201, SCHOOL_, COUNCIL_)),
    Endpoint("clear broken links", "POST", f"/schools/{SCHOOL}/sen-information-report/broken-link-reports/clear",
             "sen report", ok=only(200, COUNCIL_)),
    Endpoint("sen report follow-up", "GET", "/sen-information-reports/follow-up", ok=only(200, COUNCIL_)),
    Endpoint("cluster sen reports", "GET", f"/clusters/{CLUSTER}/sen-information-reports",
             ok=only(200, COUNCIL_, LEAD_)),
    Endpoint("evidence citing a provision map", "POST", "/requests/{id}/evidence", "submitted, and a published map",
             CITING, only(200, SCHOOL_), hidden=OTHER_SCHOOLS),
    Endpoint("evidence review", "GET", "/requests/{id}/evidence-review", "approved", ok=REQUEST_READERS,
             hidden=NOT_THE_REQUESTS_READERS),
    Endpoint("needs overview", "GET", f"/clusters/{CLUSTER}/needs-overview?academic_year=2026-27",
             ok=only(200, COUNCIL_, LEAD_)),
    # Since issue 13: an award is managed by whoever made it (the cluster's lead, or the council);
    # finance recovers money and closes years.
    Endpoint("approve with an award", "POST", "/requests/{id}/approve", "evidenced",
             {**APPROVE_BODY, "award_period": {"starts_on": "2026-09-01", "ends_on": "2027-03-31"},
              "schedule": "monthly", "held_instalments": [{"number": 1, "condition": "a plan"}]},
             only(200, LEAD_), hidden=OTHER_LEADS),
    Endpoint("payment of an instalment", "POST", "/requests/{id}/payments", "approved",
             {"amount": "10.00", "reference": "P-2", "instalment": 2, "paid_on": "2026-09-07"}, only(201, FINANCE_)),
    Endpoint("hold instalment", "POST", "/requests/{id}/instalments/1/hold", "approved", {"condition": "a plan"},
             only(200, LEAD_), hidden=OTHER_LEADS),
    Endpoint("lift hold", "POST", "/requests/{id}/instalments/1/lift-hold", "held", {"note": "Seen."},
             only(200, LEAD_), hidden=OTHER_LEADS),
    Endpoint("release", "POST", "/requests/{id}/release", "approved", {"reason_code": "pupil_left", "note": "Left."},
             only(200, LEAD_), hidden=OTHER_LEADS),
    Endpoint("hold instalment of a council award", "POST", "/requests/{id}/instalments/1/hold", "council approved",
             {"condition": "a plan"}, only(200, COUNCIL_), hidden=OTHER_LEADS),
    Endpoint("release a council award", "POST", "/requests/{id}/release", "council approved",
             {"reason_code": "underspend", "note": "Unspent."}, only(200, COUNCIL_), hidden=OTHER_LEADS),
    Endpoint("raise recovery", "POST", "/requests/{id}/recoveries", "paid",
             {"financial_year": YEAR, "amount": "10.00", "reason_code": "overpayment", "note": "Paid twice."},
             only(201, FINANCE_)),
    Endpoint("receive recovery", "POST", "/requests/{id}/recoveries/1/receipts", "recovering",
             {"amount": "10.00", "reference": "REMIT-M"}, only(201, FINANCE_)),
    Endpoint("close budget year", "POST", f"/clusters/{{cluster}}/budgets/{YEAR}/close", "cluster with school",
             {"carry_forward": "0.00"}, only(200, FINANCE_)),
    Endpoint("close council fund year", "POST", "/council/budgets/{fy}/close", "council year", ok=only(200, FINANCE_)),
    # Since issue 13: payment runs and remittances are finance's alone.
    Endpoint("instalments due", "GET", "/finance/instalments-due?due_by=2099-12-31", ok=only(200, FINANCE_)),
    Endpoint("create payment run", "POST", "/finance/payment-runs", "approved, due", {"due_by": "2099-12-31"},
             only(201, FINANCE_)),
    Endpoint("list payment runs", "GET", "/finance/payment-runs", ok=only(200, FINANCE_)),
    Endpoint("get payment run", "GET", "/finance/payment-runs/{run}", "payment run", ok=only(200, FINANCE_)),
    Endpoint("payment run file", "GET", "/finance/payment-runs/{run}/file.csv", "payment run",
             ok=only(200, FINANCE_)),
    Endpoint("cancel payment run", "POST", "/finance/payment-runs/{run}/cancel", "payment run",
             {"reason": "Never sent."}, only(200, FINANCE_)),
    Endpoint("import remittance", "POST", "/finance/remittances", ok=only(200, FINANCE_),
             csv="reference,amount,date\nPR-999999-0001,1.00,2026-09-07\n"),
    # Since issue 13: a fund's year, and commitments by age (a lead gets only its own cluster's).
    Endpoint("budget statement", "GET", f"/clusters/{CLUSTER}/budgets/{YEAR}/statement",
             ok=only(200, COUNCIL_, FINANCE_, LEAD_)),
    Endpoint("council fund statement", "GET", f"/council/budgets/{YEAR}/statement", ok=only(200, COUNCIL_, FINANCE_)),
    Endpoint("commitments by age", "GET", f"/finance/commitments-by-age?financial_year={YEAR}",
             ok=only(200, COUNCIL_, FINANCE_, LEAD_, OTHER_LEAD_)),
    Endpoint("commitments by age of a cluster", "GET", f"/finance/commitments-by-age?cluster_id={CLUSTER}",
             ok=only(200, COUNCIL_, FINANCE_, LEAD_)),
]  # fmt: skip
BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}


def fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**values) if "{" in value else value
    if isinstance(value, dict):
        return {key: fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, values) for item in value]
    return value


# -- one world per store ----------------------------------------------------------------------------


@dataclass
class World:
    app: FundingApplication
    client: Any
    shared: dict[str, dict[str, str]]  # one resource per setup, for calls that are to be refused


@pytest.fixture(scope="module", params=STORES)
def matrix_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with fresh_store(request.param, tmp_path_factory.mktemp(f"matrix-{request.param}")) as make:
        app = make()
        set_up_world(app, budget=BIG, council_fund=BIG)
        shared = {name: setup(app) for name, setup in SETUPS.items()}
        with client_for(app) as client:
            yield World(app, client, shared)


def call(world: World, endpoint: Endpoint, values: dict[str, str], headers: dict[str, str]) -> Any:
    if endpoint.csv is not None:
        headers = {**headers, "Content-Type": "text/csv"}
        return world.client.request(endpoint.method, fill(endpoint.path, values), content=endpoint.csv, headers=headers)
    return world.client.request(
        endpoint.method, fill(endpoint.path, values), json=fill(endpoint.body, values), headers=headers
    )


PROBLEM_TYPES = {401: "unauthenticated", 403: "forbidden", 404: "not-found"}


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.name)
def test_each_role_gets_exactly_the_status_the_contract_gives_it(matrix_world, endpoint, caller):
    world = matrix_world
    expected = endpoint.expected(caller)
    succeeds = 200 <= expected < 300
    values = SETUPS[endpoint.setup](world.app) if succeeds else world.shared[endpoint.setup]
    before = log_position(world.app)
    response = call(world, endpoint, values, auth(CALLERS[caller]))
    assert response.status_code == expected, (endpoint.name, caller, response.text)
    if succeeds:
        if endpoint.method == "GET":
            assert log_position(world.app) == before, "a read wrote to the log"
    else:
        assert_problem(response, expected, PROBLEM_TYPES[expected])
        assert log_position(world.app) == before, f"{caller} was refused {endpoint.name} but something was written"


@pytest.mark.parametrize("bad", list(BAD_AUTHORIZATION))
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.name)
def test_a_missing_or_bad_token_is_401_everywhere_and_writes_nothing(matrix_world, endpoint, bad):
    world = matrix_world
    with writes_nothing(world.app):
        response = call(world, endpoint, world.shared[endpoint.setup], BAD_AUTHORIZATION[bad]())
    if endpoint.public:
        assert response.status_code == 200
        return
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("skew", list(SKEWED_BUT_GOOD))
@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if not e.public], ids=lambda endpoint: endpoint.name)
def test_a_token_from_a_clock_slightly_ahead_is_accepted_everywhere(matrix_world, endpoint, skew):
    world = matrix_world
    caller, expected = next(iter(endpoint.ok.items()))
    response = call(world, endpoint, SETUPS[endpoint.setup](world.app), SKEWED_BUT_GOOD[skew](CALLERS[caller]))
    assert response.status_code == expected, (endpoint.name, skew, response.text)


# -- the order of the checks: 401, then 403, then 422, then 404/403, then 409/412 ----------------------

INVALID_BODY = {"amount": 12.5, "reason": ""}


def test_no_token_with_an_invalid_body_is_401_not_422(matrix_world):
    world = matrix_world
    with writes_nothing(world.app):
        response = world.client.post(f"/requests/{world.shared['evidenced']['id']}/approve", json=INVALID_BODY)
    assert_problem(response, 401, "unauthenticated")


@pytest.mark.parametrize("caller", [COUNCIL_, FINANCE_, SCHOOL_])
def test_a_role_never_allowed_with_an_invalid_body_is_403_not_422(matrix_world, caller):
    world = matrix_world
    with writes_nothing(world.app):
        response = world.client.post(
            f"/requests/{world.shared['evidenced']['id']}/approve", json=INVALID_BODY, headers=auth(CALLERS[caller])
        )
    assert_problem(response, 403, "forbidden")


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe"])
def test_a_body_that_is_not_json_is_checked_after_the_token_and_the_role(matrix_world, raw):
    world = matrix_world
    path = f"{'/clusters'}"
    json_header = {"Content-Type": "application/json"}
    with writes_nothing(world.app):
        assert_problem(world.client.post(path, content=raw, headers=json_header), 401, "unauthenticated")
        assert_problem(
            world.client.post(path, content=raw, headers={**json_header, **BAD_AUTHORIZATION["expired token"]()}),
            401,
            "unauthenticated",
        )
        assert_problem(world.client.post(path, content=raw, headers={**json_header, **auth(HEAD)}), 403, "forbidden")
        assert_problem(
            world.client.post(path, content=raw, headers={**json_header, **auth(COUNCIL)}), 422, "validation-error"
        )


def test_no_token_on_an_unknown_request_is_401_not_404(matrix_world):
    world = matrix_world
    response = world.client.get("/requests/3f0b8f4e-2d55-4c1e-9a57-6f0f3b8c0d11")
    assert_problem(response, 401, "unauthenticated")


def test_a_role_never_allowed_on_an_unknown_request_is_403_not_404(matrix_world):
    world = matrix_world
    response = world.client.post(
        "/requests/3f0b8f4e-2d55-4c1e-9a57-6f0f3b8c0d11/approve", json=APPROVE_BODY, headers=auth(FINANCE)
    )
    assert_problem(response, 403, "forbidden")


def test_an_invalid_body_on_an_unknown_request_is_422_not_404(matrix_world):
    world = matrix_world
    response = world.client.post(
        "/requests/3f0b8f4e-2d55-4c1e-9a57-6f0f3b8c0d11/approve", json=INVALID_BODY, headers=auth(LEAD)
    )
    assert_problem(response, 422, "validation-error")


def test_another_clusters_lead_is_refused_before_the_state_is_checked(matrix_world):
    """A lead of another cluster approving a request that is not even evidenced: 404, not 409."""
    world = matrix_world
    with writes_nothing(world.app):
        response = world.client.post(
            f"/requests/{world.shared['submitted']['id']}/approve", json=APPROVE_BODY, headers=auth(OTHER_LEAD)
        )
    assert_problem(response, 404, "not-found")


def test_another_school_is_refused_before_a_stale_if_match_is_noticed(matrix_world):
    world = matrix_world
    with writes_nothing(world.app):
        response = world.client.post(
            f"/requests/{world.shared['submitted']['id']}/withdraw",
            json={"reason": "not mine"},
            headers={**auth(SECOND_HEAD), "If-Match": '"99"'},
        )
    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize(
    ("caller", "action", "body"),
    [
        (OTHER_LEAD, "approve", APPROVE_BODY),
        (OTHER_LEAD, "decline", {"reason_code": "other", "reason": "No."}),
        (SECOND_HEAD, "withdraw", {"reason": "not mine"}),
        (OTHER_HEAD, "evidence", EVIDENCE),
    ],
    ids=["lead approves", "lead declines", "school withdraws", "school evidences"],
)
def test_a_command_on_someone_elses_request_is_the_same_404_as_on_an_unknown_one(matrix_world, caller, action, body):
    world = matrix_world
    hidden_id, unknown_id = world.shared["evidenced"]["id"], "3f0b8f4e-2d55-4c1e-9a57-6f0f3b8c0d11"
    with writes_nothing(world.app):
        hidden = world.client.post(f"/requests/{hidden_id}/{action}", json=body, headers=auth(caller))
        unknown = world.client.post(f"/requests/{unknown_id}/{action}", json=body, headers=auth(caller))
    assert_problem(hidden, 404, "not-found")
    assert_problem(unknown, 404, "not-found")
    # Nothing in the answer tells an existing id from an unknown one.
    assert hidden.json()["detail"].replace(hidden_id, "ID") == unknown.json()["detail"].replace(unknown_id, "ID")
    assert hidden.json()["title"] == unknown.json()["title"]


def test_reading_another_schools_request_is_the_same_404_as_an_unknown_one(matrix_world):
    world = matrix_world
    hidden = world.client.get(f"/requests/{world.shared['approved']['id']}", headers=auth(OTHER_HEAD))
    unknown = world.client.get("/requests/3f0b8f4e-2d55-4c1e-9a57-6f0f3b8c0d11", headers=auth(OTHER_HEAD))
    assert_problem(hidden, 404, "not-found")
    assert_problem(unknown, 404, "not-found")
    assert hidden.json()["title"] == unknown.json()["title"]


@pytest.mark.parametrize(
    "caller, params",
    [
        (SCHOOL_, {"school_urn": SECOND_SCHOOL}),
        (OTHER_SCHOOL_, {"school_urn": SCHOOL}),
        (LEAD_, {"cluster_id": "fenwick-broads"}),
        (OTHER_LEAD_, {"cluster_id": CLUSTER}),
    ],
)
def test_filtering_the_list_for_someone_elses_requests_is_403(matrix_world, caller, params):
    world = matrix_world
    assert_problem(world.client.get("/requests", params=params, headers=auth(CALLERS[caller])), 403, "forbidden")


def test_a_school_submitting_for_another_school_is_403_and_writes_nothing(matrix_world):
    world = matrix_world
    with writes_nothing(world.app):
        response = world.client.post("/requests", json=submission(school_urn=SCHOOL), headers=auth(SECOND_HEAD))
    assert_problem(response, 403, "forbidden")


def test_an_unauthenticated_call_with_an_idempotency_key_stores_nothing(matrix_world):
    world = matrix_world
    key = {"Idempotency-Key": "matrix-unauthenticated"}
    with writes_nothing(world.app):
        refused = world.client.post("/requests", json=submission(school_urn=SECOND_SCHOOL), headers=key)
    assert_problem(refused, 401, "unauthenticated")
    accepted = world.client.post(
        "/requests", json=submission(school_urn=SECOND_SCHOOL), headers={**key, **auth(SECOND_HEAD)}
    )
    assert accepted.status_code == 201


def test_a_forbidden_call_with_an_idempotency_key_is_replayed_as_forbidden(matrix_world):
    world = matrix_world
    headers = {**auth(FINANCE), "Idempotency-Key": "matrix-forbidden"}
    with writes_nothing(world.app):
        first = world.client.post("/clusters", json={"cluster_id": "never-made", "name": "x"}, headers=headers)
        again = world.client.post("/clusters", json={"cluster_id": "never-made", "name": "x"}, headers=headers)
    assert_problem(first, 403, "forbidden")
    assert_problem(again, 403, "forbidden")
    assert again.json() == first.json()
