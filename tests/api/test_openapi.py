"""The generated OpenAPI document: valid, complete against API.md, served with /docs; then fuzzed.

The fuzzing uses schemathesis (pinned in the report: ``schemathesis==4.32.5``) against the app's own
schema through ASGI, with a token for a role that may call each operation, so that generated input
reaches the domain rather than stopping at 403. Every response must be a non-5xx that conforms to
the schema (status code, content type, headers and body). Examples are bounded per operation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.values import Actor
from tests.api.conftest import PROBLEM_JSON, auth, client_for, fresh_store
from tests.support import (
    CLUSTER,
    COUNCIL,
    EVIDENCE,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_CLUSTER,
    SCHOOL,
    SECOND_SCHOOL,
    YEAR,
    set_up_world,
    submission,
)
from tests.unit.test_provision_maps import line_fields as provision_line

# Every method and path of API.md (path parameters renamed as the app names them).
API_PATHS: dict[str, set[str]] = {
    "/clusters": {"post", "get"},
    "/clusters/{cluster_id}": {"get"},
    "/clusters/{cluster_id}/schools/{urn}": {"put", "delete"},
    # The school register (issue 12).
    "/schools": {"post", "get"},
    "/schools/{urn}": {"put", "get"},
    "/clusters/{cluster_id}/budgets/{fy}/allocations": {"post"},
    "/clusters/{cluster_id}/budgets/{fy}/commissions": {"post"},
    "/clusters/{cluster_id}/budgets/{fy}": {"get"},
    "/balances": {"get"},
    "/council/budgets/{fy}/allocations": {"post"},
    "/council/budgets/{fy}": {"get"},
    "/requests": {"post", "get"},
    "/requests/{id}/evidence": {"post"},
    "/requests/{id}/information-requests": {"post"},
    "/requests/{id}/approve": {"post"},
    "/requests/{id}/decline": {"post"},
    "/requests/{id}/escalate": {"post"},
    "/requests/{id}/council-decision": {"post"},
    "/requests/{id}/withdraw": {"post"},
    "/requests/{id}/payments": {"post"},
    "/requests/{id}": {"get"},
    "/requests/{id}/history": {"get"},
    "/audit/decisions": {"get"},
    "/audit/verify": {"get"},
    "/finance/reconciliation": {"get"},
    "/finance/ledger.csv": {"get"},
    "/healthz": {"get"},
    # issue 12: provision maps
    "/schools/{urn}/provision-maps": {"get"},
    "/schools/{urn}/provision-maps/{academic_year}": {"post", "get"},
    "/schools/{urn}/provision-maps/{academic_year}/lines": {"post"},
    "/schools/{urn}/provision-maps/{academic_year}/lines/{line_number}": {"put", "delete"},
    "/schools/{urn}/provision-maps/{academic_year}/lines/{line_number}/reviews": {"post"},
    "/schools/{urn}/provision-maps/{academic_year}/publish": {"post"},
    "/schools/{urn}/provision-maps/{academic_year}/versions": {"get"},
    "/schools/{urn}/provision-maps/{academic_year}/versions/{version}": {"get"},
    # Since issue 12: SEN Information Reports and the public Local Offer.
    "/local-offer/schools": {"get"},
    "/local-offer/schools/{urn}": {"get"},
    "/local-offer/checklist": {"get"},
    "/local-offer/schools/{urn}/broken-link-reports": {"post"},
    "/schools/{urn}/sen-information-report": {"put", "get"},
    "/schools/{urn}/sen-information-report/assessments": {"post"},
    "/schools/{urn}/sen-information-report/broken-link-reports/clear": {"post"},
    "/sen-information-reports/follow-up": {"get"},
    "/clusters/{cluster_id}/sen-information-reports": {"get"},
    # issue 12: evidence from a provision map, and the cluster's shared picture of need
    "/requests/{id}/evidence-review": {"get"},
    "/clusters/{cluster_id}/needs-overview": {"get"},
    # issue 13: the money after a decision
    "/requests/{id}/instalments/{number}/hold": {"post"},
    "/requests/{id}/instalments/{number}/lift-hold": {"post"},
    "/requests/{id}/release": {"post"},
    "/requests/{id}/recoveries": {"post"},
    "/requests/{id}/recoveries/{number}/receipts": {"post"},
    "/clusters/{cluster_id}/budgets/{fy}/close": {"post"},
    "/council/budgets/{fy}/close": {"post"},
    # issue 13: payment runs and the bank's remittance
    "/finance/instalments-due": {"get"},
    "/finance/payment-runs": {"post", "get"},
    "/finance/payment-runs/{number}": {"get"},
    "/finance/payment-runs/{number}/file.csv": {"get"},
    "/finance/payment-runs/{number}/cancel": {"post"},
    "/finance/remittances": {"post"},
    # issue 13: a fund's year-end statement, and commitments by age
    "/clusters/{cluster_id}/budgets/{fy}/statement": {"get"},
    "/council/budgets/{fy}/statement": {"get"},
    "/finance/commitments-by-age": {"get"},
    # issue 14: a decision in its context; the policy, the council's and a cluster's overrides
    "/audit/decisions/{position}/context": {"get"},
    "/policy": {"get"},
    "/policy/changes": {"post"},
    "/policy/changes/{number}/approve": {"post"},
    "/policy/changes/{number}/reject": {"post"},
    "/clusters/{cluster_id}/policy": {"get"},
    "/clusters/{cluster_id}/policy/changes": {"post"},
    "/clusters/{cluster_id}/policy/changes/{number}/approve": {"post"},
    "/clusters/{cluster_id}/policy/changes/{number}/reject": {"post"},
}
# Operations anyone may call with no token.
PUBLIC_OPERATIONS = {
    ("get", "/healthz"),
    ("get", "/local-offer/schools"),
    ("get", "/local-offer/schools/{}"),
    ("get", "/local-offer/checklist"),
    ("post", "/local-offer/schools/{}/broken-link-reports"),
}
QUERY_PARAMETERS = {
    ("get", "/clusters"): {"limit", "cursor"},
    ("get", "/schools"): {"cluster_id", "q", "registered", "limit", "cursor"},
    ("get", "/balances"): {"financial_year", "limit", "cursor"},
    ("get", "/requests"): {"cluster_id", "school_urn", "status", "financial_year", "limit", "cursor"},
    ("get", "/requests/{id}"): {"as_of"},
    ("get", "/requests/{id}/evidence-review"): {"as_of"},
    ("get", "/clusters/{cluster_id}/needs-overview"): {"academic_year"},
    ("get", "/audit/decisions"): {"cluster_id", "from", "to", "actor", "school_urn", "kind", "limit", "cursor"},
    ("get", "/finance/reconciliation"): {"financial_year"},
    ("get", "/local-offer/schools"): {"q", "cluster_id", "limit", "cursor"},
    ("get", "/finance/ledger.csv"): {"financial_year"},
    ("get", "/finance/instalments-due"): {"due_by", "funded_by", "cluster_id", "financial_year", "limit", "cursor"},
    ("get", "/finance/payment-runs"): {"limit", "cursor"},
    ("get", "/finance/commitments-by-age"): {"financial_year", "cluster_id", "as_of"},
    ("get", "/policy"): {"as_of"},
    ("get", "/clusters/{cluster_id}/policy"): {"as_of"},
}
AWARD_FIELDS = {"award_period", "schedule", "held_instalments"}  # since issue 13
PROVISION_LINE_FIELDS = {
    "description", "category", "tier", "area_of_need", "pupil_count", "hours_per_week", "weeks",
    "staff_or_provider", "cost_basis", "cost", "funded_by", "commissioned_service", "starts_on", "ends_on", "status",
}  # fmt: skip
REQUEST_BODIES = {
    ("post", "/clusters"): {"cluster_id", "name"},
    ("post", "/schools"): {"urn", "name", "phase", "cluster_id"},
    ("put", "/schools/{urn}"): {"name", "phase", "cluster_id"},
    ("post", "/clusters/{cluster_id}/budgets/{fy}/allocations"): {"amount", "note"},
    ("post", "/clusters/{cluster_id}/budgets/{fy}/commissions"): {"service", "provider", "amount", "school_urns",
                                                                   "description"},
    ("post", "/council/budgets/{fy}/allocations"): {"amount", "note"},
    ("post", "/requests"): {"school_urn", "financial_year", "amount_requested", "reason", "pupil_count",
                            "needs_summary", "planned_provision"},
    ("post", "/requests/{id}/evidence"): {"notional_sen_budget", "spend", "documents", "provision_map"},
    ("post", "/requests/{id}/information-requests"): {"question"},
    ("post", "/requests/{id}/approve"): {"amount", "reason", "conditions", *AWARD_FIELDS},
    ("post", "/requests/{id}/decline"): {"reason_code", "reason"},
    ("post", "/requests/{id}/escalate"): {"amount", "exceptional_circumstances"},
    ("post", "/requests/{id}/council-decision"): {"decision", "amount", "reason", *AWARD_FIELDS},
    ("post", "/requests/{id}/withdraw"): {"reason"},
    ("post", "/requests/{id}/payments"): {"amount", "reference", "instalment", "paid_on"},
    ("post", "/requests/{id}/instalments/{number}/hold"): {"condition"},
    ("post", "/requests/{id}/instalments/{number}/lift-hold"): {"note"},
    ("post", "/requests/{id}/release"): {"reason_code", "note", "amount"},
    ("post", "/requests/{id}/recoveries"): {"financial_year", "amount", "reason_code", "note"},
    ("post", "/requests/{id}/recoveries/{number}/receipts"): {"amount", "reference", "received_on"},
    ("post", "/clusters/{cluster_id}/budgets/{fy}/close"): {"carry_forward"},
    ("post", "/council/budgets/{fy}/close"): {"carry_forward"},
    ("post", "/schools/{urn}/provision-maps/{academic_year}/lines"): PROVISION_LINE_FIELDS,
    ("put", "/schools/{urn}/provision-maps/{academic_year}/lines/{line_number}"): PROVISION_LINE_FIELDS,
    ("post", "/schools/{urn}/provision-maps/{academic_year}/lines/{line_number}/reviews"): {"impact", "note",
                                                                                           "reviewed_on"},
    ("post", "/local-offer/schools/{urn}/broken-link-reports"): {"note"},
    ("put", "/schools/{urn}/sen-information-report"): {"url", "published_on", "next_review_on"},
    ("post", "/schools/{urn}/sen-information-report/assessments"): {"ratings", "notes"},
    ("post", "/finance/payment-runs"): {"due_by", "funded_by", "cluster_id", "financial_year"},
    ("post", "/finance/payment-runs/{number}/cancel"): {"reason"},
    ("post", "/policy/changes"): {"parameter", "value", "effective_from", "reason"},
    ("post", "/clusters/{cluster_id}/policy/changes"): {"parameter", "value", "effective_from", "reason"},
    ("post", "/policy/changes/{number}/reject"): {"reason"},
    ("post", "/clusters/{cluster_id}/policy/changes/{number}/reject"): {"reason"},
}  # fmt: skip


def require(module: str, requirement: str) -> Any:
    """Import a test-only tool; outside CI a missing one skips, in CI (``CI=true``) it fails."""
    import importlib
    import os

    try:
        return importlib.import_module(module)
    except ImportError:
        message = f"{requirement} is not installed (add it to the test extras in pyproject.toml)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def normalised(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One SQLite world for the module: a request in each state, for the fuzzer to aim at."""
    with fresh_store("sqlite", tmp_path_factory.mktemp("openapi")) as make:
        app = make()
        set_up_world(app, budget="50000.00", council_fund="50000.00")
        ids = []
        for state in ("submitted", "evidenced", "escalated", "approved"):
            request = app.submit_request(
                HEAD, **submission(amount_requested="60000.00" if state == "escalated" else "1000.00")
            )
            if state != "submitted":
                app.provide_evidence(HEAD, request.id, **EVIDENCE)
            if state == "escalated":
                app.escalate(LEAD, request.id, "1000.00", "Exceptional.")
            if state == "approved":
                app.approve(LEAD, request.id, "1000.00", "Evidence seen.")
            ids.append(str(request.id))
        # Awards for the award endpoints (issue 13) to act on: one held, one paid and being recovered.
        held = app.submit_request(HEAD, **submission())
        app.provide_evidence(HEAD, held.id, **EVIDENCE)
        app.approve(LEAD, held.id, "1000.00", "Evidence seen.", held_instalments=[{"number": 1, "condition": "a plan"}])
        recovering = app.submit_request(HEAD, **submission())
        app.provide_evidence(HEAD, recovering.id, **EVIDENCE)
        app.approve(LEAD, recovering.id, "1000.00", "Evidence seen.")
        app.record_payment(FINANCE, recovering.id, "500.00", "BACS-FUZZ")
        app.raise_recovery(FINANCE, recovering.id, YEAR, "100.00", "overpayment", "Paid twice.")
        ids += [str(held.id), str(recovering.id)]
        app.open_provision_map(HEAD, SCHOOL, "2026/27")
        app.add_provision_line(HEAD, SCHOOL, "2026/27", provision_line())
        app.publish_provision_map(HEAD, SCHOOL, "2026/27")
        app.create_payment_run(FINANCE, "2099-12-31")  # run 1, of the approved request's instalments
        with client_for(app) as client:
            yield {"app": app, "client": client, "request_ids": ids}


@pytest.fixture(scope="module")
def spec(world: dict[str, Any]) -> dict[str, Any]:
    response = world["client"].get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, normalised(path)): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "delete", "patch")
    }


def test_the_schema_is_a_valid_openapi_document(spec):
    validate = require("openapi_spec_validator", "openapi-spec-validator==0.9.0").validate

    assert spec["openapi"].startswith("3.")
    validate(spec)


def test_the_schema_lists_every_path_and_method_of_the_contract(spec):
    documented = set(operations(spec))
    expected = {(method, normalised(path)) for path, methods in API_PATHS.items() for method in methods}
    assert expected <= documented, sorted(expected - documented)
    assert documented == expected, f"undocumented in API.md: {sorted(documented - expected)}"


def test_the_schema_names_the_query_parameters_of_the_contract(spec):
    found = operations(spec)
    for (method, path), names in QUERY_PARAMETERS.items():
        parameters = {p["name"] for p in found[(method, normalised(path))].get("parameters", []) if p["in"] == "query"}
        assert names <= parameters, (path, sorted(names - parameters))


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The object schema a body names; an optional body (issue 13) is that object or null."""
    options = [option for option in schema.get("anyOf", []) if option.get("type") != "null"]
    if len(options) == 1:
        schema = options[0]
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_the_schema_describes_every_request_body_with_the_contracts_fields(spec):
    found = operations(spec)
    for (method, path), fields in REQUEST_BODIES.items():
        body = found[(method, normalised(path))]["requestBody"]["content"]["application/json"]["schema"]
        schema = resolve(spec, body)
        assert set(schema["properties"]) == fields, path
        assert schema.get("additionalProperties") is False, f"{path} accepts unknown fields"


def test_money_is_documented_as_a_string_with_an_example(spec):
    names = ("AllocationRequest", "ApproveRequest", "PaymentRequest", "EscalateRequest", "ReleaseRequest",
             "RecoveryRequest", "RecoveryReceiptRequest", "YearCloseRequest")  # fmt: skip
    for name in names:
        properties = spec["components"]["schemas"][name]["properties"]
        amount = properties.get("amount") or properties["carry_forward"]
        amount = next((option for option in amount.get("anyOf", []) if option["type"] == "string"), amount)
        assert amount["type"] == "string" and amount["examples"] == ["1500.00"]
        assert re.fullmatch(amount["pattern"], "1500.00") and not re.fullmatch(amount["pattern"], "1500.001")


def test_every_authenticated_operation_declares_the_bearer_scheme_and_its_problems(spec):
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["HTTPBearer"]["description"],
    }
    for (method, path), operation in operations(spec).items():
        if (method, path) in PUBLIC_OPERATIONS:
            assert "security" not in operation, (method, path)
            continue
        assert operation["security"] == [{"HTTPBearer": []}], (method, path)
        for status in ("401", "403", "422"):
            content = operation["responses"][status]["content"]
            assert PROBLEM_JSON in content, (method, path, status)
            assert content[PROBLEM_JSON]["schema"]["$ref"].endswith("/ProblemResponse"), (method, path, status)


def test_every_operation_has_a_summary_and_a_description(spec):
    for (method, path), operation in operations(spec).items():
        assert operation.get("summary") and operation.get("description"), (method, path)


def test_the_docs_page_answers_200_with_html(world):
    response = world["client"].get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


# =================================================================================================
# Fuzzing with schemathesis
# =================================================================================================

MAX_EXAMPLES = 12

# The role that may call each operation, so generated input gets past the role check.
CALLER: dict[tuple[str, str], Actor] = {
    ("POST", "/clusters"): COUNCIL,
    ("PUT", "/clusters/{cluster_id}/schools/{urn}"): COUNCIL,
    ("DELETE", "/clusters/{cluster_id}/schools/{urn}"): COUNCIL,
    ("POST", "/schools"): COUNCIL,
    ("PUT", "/schools/{urn}"): COUNCIL,
    ("POST", "/clusters/{cluster_id}/budgets/{fy}/allocations"): FINANCE,
    ("POST", "/clusters/{cluster_id}/budgets/{fy}/commissions"): LEAD,
    ("POST", "/council/budgets/{fy}/allocations"): FINANCE,
    ("GET", "/council/budgets/{fy}"): FINANCE,
    ("POST", "/requests"): HEAD,
    ("POST", "/requests/{request_id}/evidence"): HEAD,
    ("POST", "/requests/{request_id}/withdraw"): HEAD,
    ("POST", "/requests/{request_id}/information-requests"): LEAD,
    ("POST", "/requests/{request_id}/approve"): LEAD,
    ("POST", "/requests/{request_id}/decline"): LEAD,
    ("POST", "/requests/{request_id}/escalate"): LEAD,
    ("POST", "/requests/{request_id}/council-decision"): COUNCIL,
    ("POST", "/requests/{request_id}/payments"): FINANCE,
    ("POST", "/requests/{request_id}/instalments/{number}/hold"): LEAD,
    ("POST", "/requests/{request_id}/instalments/{number}/lift-hold"): LEAD,
    ("POST", "/requests/{request_id}/release"): LEAD,
    ("POST", "/requests/{request_id}/recoveries"): FINANCE,
    ("POST", "/requests/{request_id}/recoveries/{number}/receipts"): FINANCE,
    ("POST", "/clusters/{cluster_id}/budgets/{fy}/close"): FINANCE,
    ("POST", "/council/budgets/{fy}/close"): FINANCE,
    ("GET", "/finance/ledger.csv"): FINANCE,
    ("GET", "/council/budgets/{fy}/statement"): FINANCE,
    ("GET", "/finance/commitments-by-age"): FINANCE,
    **{
        (method.upper(), path): COUNCIL for path, methods in API_PATHS.items() if "policy" in path for method in methods
    },
    **{
        (method.upper(), path): FINANCE
        for path, methods in API_PATHS.items()
        if path.startswith("/finance/")
        for method in methods
    },
    **{
        (method.upper(), path): HEAD
        for path, methods in API_PATHS.items()
        if path.startswith("/schools/")
        for method in methods
    },
}
OPERATIONS = sorted((method.upper(), path) for path, methods in API_PATHS.items() for method in methods)
OPERATIONS = [(method, path.replace("{id}", "{request_id}")) for method, path in OPERATIONS]


def path_parameter_choices(path: str, request_ids: list[str]) -> list[dict[str, str]]:
    """Known good values for the path's parameters (the fuzzer also tries its own)."""
    names = re.findall(r"\{([^}]+)\}", path)
    if not names:
        return []
    values = {
        "cluster_id": [CLUSTER, OTHER_CLUSTER],
        "fy": [YEAR, "2027-28"],
        "urn": [SCHOOL, SECOND_SCHOOL, "900301"],
        "request_id": request_ids,
        "academic_year": ["2026-27", "2027-28"],
        "line_number": ["1", "2"],
        "version": ["1", "2"],
        "number": ["1", "2"],  # an instalment, a recovery or a payment run
        "position": ["1", "20"],
    }
    choices: list[dict[str, str]] = [{}]
    for name in names:
        choices = [{**choice, name: value} for choice in choices for value in values[name]]
    return choices


@pytest.fixture(scope="module")
def fuzz_schema(world: dict[str, Any]) -> Any:
    schemathesis = require("schemathesis", "schemathesis==4.32.5")
    return schemathesis.openapi.from_asgi("/openapi.json", world["client"].app)


def checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]


# Negative data needs something to negate: a body or a constrained query parameter (path
# parameters are plain strings, so an operation with only those has no invalid input to generate).
NEGATABLE = {
    (method.upper(), path.replace("{id}", "{request_id}")) for method, path in (*REQUEST_BODIES, *QUERY_PARAMETERS)
}
FUZZ_CASES = [
    pytest.param(method, path, mode, id=f"{method} {path} {mode}")
    for method, path in OPERATIONS
    for mode in ("positive", "negative")
    if mode == "positive" or (method, path) in NEGATABLE
]


@pytest.mark.parametrize("method, path, mode", FUZZ_CASES)
def test_fuzzed_requests_never_get_a_5xx_and_every_answer_conforms_to_the_schema(
    world, fuzz_schema, method, path, mode
):
    from schemathesis import GenerationMode

    operation = fuzz_schema[path][method]
    caller = CALLER.get((method, path), COUNCIL)
    headers = auth(caller)
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    strategies = [operation.as_strategy(generation_mode=generation, headers=headers)]
    strategies.extend(
        operation.as_strategy(generation_mode=generation, headers=headers, path_parameters=fixed)
        for fixed in path_parameter_choices(path, world["request_ids"])
    )
    before = world["app"].recorder.max_notification_id() or 0
    seen: list[int] = []
    selected = checks()

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def fuzz(case: Any) -> None:
        response = case.call(headers=headers)
        seen.append(response.status_code)
        case.validate_response(response, checks=selected, headers=headers)
        if response.status_code >= 400:
            content_type = response.headers.get("content-type", [""])[0]  # schemathesis: a list per header
            assert content_type.split(";")[0] == PROBLEM_JSON, response.text

    fuzz()
    assert seen, "nothing was generated"
    if method == "GET":
        assert (world["app"].recorder.max_notification_id() or 0) == before, "a GET wrote to the log"
