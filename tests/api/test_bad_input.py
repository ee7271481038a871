"""A bad-input table per command: every case is a 422 ``validation-error`` problem and writes nothing.

Wrong types, JSON numbers for money, more than 2 dp, zero, negatives (only an allocation may be
negative), more than 10,000,000.00, unknown enum values, malformed URNs, years and slugs, missing
and unknown fields, blank and over-long text; then bad query strings and headers.

All cases share one world per store: a request in each state the commands need. None of them may
change it, which each case checks through the log position.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.conftest import (
    APPROVE_BODY,
    ESCALATE_BODY,
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
    OTHER_CLUSTER,
    SCHOOL,
    YEAR,
    set_up_world,
    submission,
)

DROP = object()  # a field to leave out


def changed(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``body`` with the field at a dotted ``path`` (list indexes as numbers) set to ``value`` or dropped."""
    result = copy.deepcopy(body)
    *parents, last = path.split(".")
    target: Any = result
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is DROP:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return result


# Every one of these is refused wherever an amount is expected.
BAD_AMOUNTS: list[tuple[str, Any]] = [
    ("a JSON float", 100.5),
    ("a JSON integer", 100),
    ("a JSON float with 2 dp", 100.25),
    ("3 dp", "100.001"),
    ("3 dp of zeros", "100.000"),
    ("zero", "0"),
    ("zero with 2 dp", "0.00"),
    ("negative zero", "-0.00"),
    ("over 10,000,000.00", "10000000.01"),
    ("far over the limit", "99999999999999999999"),
    ("exponent notation", "1e3"),
    ("thousands separator", "1,000.00"),
    ("currency symbol", "£100.00"),
    ("leading space", " 100.00"),
    ("trailing space", "100.00 "),
    ("an explicit plus", "+100.00"),
    ("a trailing point", "100."),
    ("no whole pounds", ".50"),
    ("hexadecimal", "0x10"),
    ("non-ASCII digits", "\uff11\uff10\uff10"),
    ("NaN", "NaN"),
    ("Infinity", "Infinity"),
    ("empty", ""),
    ("words", "a hundred pounds"),
    ("null", None),
    ("true", True),
    ("a list", ["100.00"]),
    ("an object", {"pounds": 100}),
]
NEGATIVE_AMOUNTS: list[tuple[str, Any]] = [("negative", "-100.00"), ("negative 1p", "-0.01")]
TOO_NEGATIVE: list[tuple[str, Any]] = [("under -10,000,000.00", "-10000000.01")]


def money_cases(field: str, *, negative_allowed: bool = False) -> list[tuple[str, str, Any]]:
    cases = BAD_AMOUNTS + (TOO_NEGATIVE if negative_allowed else NEGATIVE_AMOUNTS + TOO_NEGATIVE)
    return [(f"{field} {label}", field, value) for label, value in cases]


def text_cases(field: str, limit: int, *, required: bool = True) -> list[tuple[str, str, Any]]:
    cases = [
        (f"{field} over {limit} characters", field, "x" * (limit + 1)),
        (f"{field} a number", field, 42),
        (f"{field} a list", field, ["text"]),
        (f"{field} an object", field, {"text": "x"}),
        (f"{field} a control character", field, "line one\x00line two"),
        (f"{field} an escape character", field, "\x1b[31mred"),
        (f"{field} a lone surrogate", field, "broken \ud800 text"),
    ]
    if required:
        cases += [
            (f"{field} missing", field, DROP),
            (f"{field} null", field, None),
            (f"{field} empty", field, ""),
            (f"{field} only spaces", field, "   \n\t "),
        ]
    return cases


def enum_cases(field: str) -> list[tuple[str, str, Any]]:
    return [
        (f"{field} unknown", field, "something_else"),
        (f"{field} in capitals", field, "OTHER"),
        (f"{field} a number", field, 1),
        (f"{field} missing", field, DROP),
        (f"{field} null", field, None),
    ]


def common_cases(required: list[str]) -> list[tuple[str, str, Any]]:
    cases: list[tuple[str, str, Any]] = [
        ("an unknown extra field", "surprise", "hello"),
        ("a misspelt field", "amuont", "100.00"),
    ]
    cases += [(f"{field} missing", field, DROP) for field in required]
    return cases


@dataclass(frozen=True)
class Command:
    name: str
    method: str
    path: str  # formatted with the world's request ids
    actor: Any
    body: dict[str, Any] | None
    cases: list[tuple[str, str, Any]]
    optional_body: bool = False  # no body, or null, or {}: every field has a default


URN_CASES = [("5 digits", "12345"), ("7 digits", "1234567"), ("letters", "abcdef"), ("a number", 900001),
             ("padded", " 900001"), ("null", None)]  # fmt: skip
YEAR_CASES = [("the wrong second year", "2026-28"), ("four-digit second part", "2026-2027"), ("slash", "2026/27"),
              ("only one year", "2026"), ("before 2000", "1999-00"), ("after 2098", "2099-00"), ("a number", 2026),
              ("null", None), ("words", "this year")]  # fmt: skip
SLUG_CASES = [("capitals", "Northmere"), ("spaces", "north mere"), ("one character", "a"),
              ("a leading hyphen", "-north"), ("64 characters", "a" * 64), ("underscore", "north_mere"),
              ("a dot", "north.mere"), ("a number", 12), ("empty", ""), ("null", None)]  # fmt: skip

DATE_CASES = [("day first", "31/12/2099"), ("no such day", "2099-02-30"), ("a number", 20991231), ("null", None),
              ("empty", ""), ("a time", "2099-12-31T00:00:00Z"), ("words", "next Friday")]  # fmt: skip

CLUSTER_BODY = {"cluster_id": "brand-new-cluster", "name": "Brand New"}
ALLOCATION_BODY = {"amount": "100.00", "note": "allocation"}
COMMISSION_BODY = {
    "service": "therapy_services",
    "provider": "Coastal Therapies",
    "amount": "100.00",
    "school_urns": [SCHOOL],
    "description": "Speech and language therapy sessions.",
}
PAYMENT_BODY = {"amount": "100.00", "reference": "BACS-0001"}
SCHOOL_BODY = {"name": "Saltmarsh Primary School", "phase": "primary", "cluster_id": CLUSTER}

# Since issue 13: award fields, and the award commands.
AWARD_PERIOD = {"starts_on": "2026-09-01", "ends_on": "2027-03-31"}
AWARD_APPROVAL = {
    **APPROVE_BODY,
    "award_period": AWARD_PERIOD,
    "schedule": "monthly",
    "held_instalments": [{"number": 1, "condition": "a reviewed provision plan"}],
}
COUNCIL_AWARD = {"decision": "approve", "reason": "Exceptional.", "award_period": AWARD_PERIOD, "schedule": "single"}
INSTALMENT_PAYMENT = {"amount": "100.00", "reference": "BACS-0002", "instalment": 1, "paid_on": "2026-09-07"}
RELEASE_BODY = {"reason_code": "pupil_left", "note": "Moved out of county.", "amount": "100.00"}
RECOVERY_BODY = {"financial_year": YEAR, "amount": "50.00", "reason_code": "overpayment", "note": "Paid twice."}
RECEIPT_BODY = {"amount": "10.00", "reference": "REMIT-0001", "received_on": "2026-10-01"}
DATE_CASES = [("a number", 20260901), ("a Unix time", 1788220800), ("a date-time", "2026-09-01T00:00:00"),
              ("a day that is not", "2026-02-30"), ("slashes", "2026/09/01"), ("no leading zeros", "2026-9-1"),
              ("a trailing newline", "2026-09-01\n"), ("empty", ""), ("words", "next Tuesday"),
              ("a list", ["2026-09-01"])]  # fmt: skip
NUMBER_CASES = [("zero", 0), ("negative", -1), ("a string", "1"), ("a float", 1.5), ("a whole float", 1.0),
                ("true", True), ("over 9999", 10000)]  # fmt: skip
# A carry-forward may be zero (nothing carried); every other bad amount is refused.
CARRY_FORWARD_CASES = [
    (label, path, value) for label, path, value in money_cases("carry_forward") if value not in ("0", "0.00", "-0.00")
] + [("carry_forward more than is available", "carry_forward", "1.00")]


def date_cases(field: str, *, required: bool) -> list[tuple[str, str, Any]]:
    cases = [(f"{field} {label}", field, value) for label, value in DATE_CASES]
    if required:
        cases += [(f"{field} null", field, None), (f"{field} missing", field, DROP)]
    return cases


def award_cases() -> list[tuple[str, str, Any]]:
    """An approval's award period and schedule, each wrong in every way we know."""
    return (
        date_cases("award_period.starts_on", required=True)
        + date_cases("award_period.ends_on", required=True)
        + [
            ("award_period ending before it starts", "award_period.ends_on", "2026-08-31"),
            ("award_period a year or more", "award_period.ends_on", "2027-09-01"),
            (
                "award_period starting in the next financial year",
                "award_period",
                {"starts_on": "2027-04-01", "ends_on": "2027-06-30"},
            ),
            (
                "award_period starting before the financial year",
                "award_period",
                {"starts_on": "2026-03-01", "ends_on": "2026-06-30"},
            ),
            ("award_period a string", "award_period", "2026-09-01 to 2027-03-31"),
            ("award_period a list", "award_period", ["2026-09-01", "2027-03-31"]),
            ("award_period an extra field", "award_period.months", 7),
            ("schedule unknown", "schedule", "weekly"),
            ("schedule in capitals", "schedule", "MONTHLY"),
            ("schedule a number", "schedule", 12),
        ]
    )


HELD_INSTALMENT_CASES = (
    [(f"held_instalments number {label}", "held_instalments.0.number", value) for label, value in NUMBER_CASES]
    + [(f"held_instalments {case[0]}", case[1], case[2]) for case in text_cases("held_instalments.0.condition", 200)]
    + [
        ("held_instalments number missing", "held_instalments.0.number", DROP),
        ("held_instalments an instalment the schedule does not make", "held_instalments.0.number", 8),
        ("held_instalments one instalment twice", "held_instalments",
         [{"number": 2, "condition": "a"}, {"number": 2, "condition": "b"}]),
        ("held_instalments an object", "held_instalments", {"number": 1, "condition": "a"}),
        ("held_instalments null", "held_instalments", None),
        ("held_instalments over 50", "held_instalments", [{"number": 1, "condition": "a"}] * 51),
        ("held_instalments an extra field", "held_instalments.0.until", "2026-12-01"),
    ]
)  # fmt: skip

COMMANDS = [
    Command(
        "create cluster", "POST", "/clusters", COUNCIL, CLUSTER_BODY,
        [(f"cluster_id {label}", "cluster_id", value) for label, value in SLUG_CASES]
        + text_cases("name", 200)
        + common_cases(["cluster_id"]),
    ),
    Command(
        "register school", "POST", "/schools", COUNCIL, {"urn": "900301", **SCHOOL_BODY},
        [(f"urn {label}", "urn", value) for label, value in URN_CASES]
        + [(f"cluster_id {label}", "cluster_id", value) for label, value in SLUG_CASES]
        + text_cases("name", 200)
        + enum_cases("phase")
        + common_cases(["urn", "name", "phase", "cluster_id"]),
    ),
    Command(
        "update school", "PUT", f"/schools/{SCHOOL}", COUNCIL, SCHOOL_BODY,
        [(f"cluster_id {label}", "cluster_id", value) for label, value in SLUG_CASES]
        + text_cases("name", 200)
        + enum_cases("phase")
        + [("the urn in the body", "urn", SCHOOL)]
        + common_cases(["name", "phase", "cluster_id"]),
    ),
    Command(
        "allocate budget", "POST", f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations", FINANCE, ALLOCATION_BODY,
        money_cases("amount", negative_allowed=True)
        + text_cases("note", 1000, required=False)
        + common_cases(["amount"]),
    ),
    Command(
        "allocate council fund", "POST", f"/council/budgets/{YEAR}/allocations", FINANCE, ALLOCATION_BODY,
        money_cases("amount", negative_allowed=True)
        + text_cases("note", 1000, required=False)
        + common_cases(["amount"]),
    ),
    Command(
        "commission", "POST", f"/clusters/{CLUSTER}/budgets/{YEAR}/commissions", LEAD, COMMISSION_BODY,
        money_cases("amount")
        + enum_cases("service")
        + text_cases("provider", 200)
        + text_cases("description", 4000)
        + [(f"school_urns item {label}", "school_urns.0", value) for label, value in URN_CASES]
        + [
            ("school_urns empty", "school_urns", []),
            ("school_urns a string", "school_urns", SCHOOL),
            ("school_urns null", "school_urns", None),
            ("school_urns over 200", "school_urns", [SCHOOL] * 201),
        ]
        + common_cases(["school_urns", "amount"]),
    ),
    Command(
        "submit", "POST", "/requests", HEAD, submission(),
        money_cases("amount_requested")
        + [(f"school_urn {label}", "school_urn", value) for label, value in URN_CASES]
        + [(f"financial_year {label}", "financial_year", value) for label, value in YEAR_CASES]
        + enum_cases("reason")
        + [
            ("pupil_count zero", "pupil_count", 0),
            ("pupil_count negative", "pupil_count", -1),
            ("pupil_count over 2000", "pupil_count", 2001),
            ("pupil_count a string", "pupil_count", "2"),
            ("pupil_count a float", "pupil_count", 2.5),
            ("pupil_count a whole float", "pupil_count", 2.0),
            ("pupil_count true", "pupil_count", True),
            ("pupil_count null", "pupil_count", None),
            ("pupil_count missing", "pupil_count", DROP),
        ]
        + text_cases("needs_summary", 4000)
        + [
            ("planned_provision empty", "planned_provision", []),
            ("planned_provision missing", "planned_provision", DROP),
            ("planned_provision an object", "planned_provision", {"category": "therapies", "amount": "1.00"}),
            ("planned_provision over 50 lines", "planned_provision",
             [{"category": "therapies", "amount": "1.00"}] * 51),
            ("planned_provision category unknown", "planned_provision.0.category", "swimming"),
            ("planned_provision category missing", "planned_provision.0.category", DROP),
            ("planned_provision line extra field", "planned_provision.0.pupil_name", "A. Pupil"),
        ]
        + [(f"planned_provision amount {label}", "planned_provision.0.amount", value)
           for label, value in BAD_AMOUNTS[:10]]
        + common_cases(["school_urn", "financial_year", "amount_requested", "reason"]),
    ),
    Command(
        "evidence", "POST", "/requests/{submitted}/evidence", HEAD, EVIDENCE,
        money_cases("notional_sen_budget")
        + [
            ("spend empty", "spend", []),
            ("spend missing", "spend", DROP),
            ("spend over 50 lines", "spend", [{"category": "therapies", "amount": "1.00", "note": ""}] * 51),
            ("spend category unknown", "spend.0.category", "snacks"),
            ("spend note over 1000 characters", "spend.0.note", "x" * 1001),
            ("spend line extra field", "spend.0.receipt", "yes"),
            ("documents a string", "documents", "file.pdf"),
            ("documents over 50", "documents", [{"name": "d.pdf", "sha256": "ab" * 32}] * 51),
            ("document sha256 upper case", "documents.0.sha256", "AB" * 32),
            ("document sha256 too short", "documents.0.sha256", "ab" * 31),
            ("document sha256 not hex", "documents.0.sha256", "zz" * 32),
            ("document name over 200 characters", "documents.0.name", "x" * 201),
            ("document name missing", "documents.0.name", DROP),
        ]
        + [(f"spend amount {label}", "spend.0.amount", value) for label, value in BAD_AMOUNTS[:10] + NEGATIVE_AMOUNTS]
        + common_cases([]),
    ),
    Command(
        "information request", "POST", "/requests/{submitted}/information-requests", LEAD, {"question": "Why?"},
        text_cases("question", 4000) + common_cases([]),
    ),
    Command(
        "approve", "POST", "/requests/{evidenced}/approve", LEAD, APPROVE_BODY,
        money_cases("amount")
        + [("amount more than requested", "amount", "1000.01")]
        + text_cases("reason", 4000)
        + [case for case in text_cases("conditions", 4000, required=False) if case[2] is not None]
        + common_cases([]),
    ),
    Command(
        "decline", "POST", "/requests/{submitted}/decline", LEAD, {"reason_code": "other", "reason": "No."},
        enum_cases("reason_code") + text_cases("reason", 4000) + common_cases([]),
    ),
    Command(
        "escalate", "POST", "/requests/{unaffordable}/escalate", LEAD, ESCALATE_BODY,
        [
            *money_cases("amount"),
            ("amount more than requested", "amount", "6000.01"),
            *text_cases("exceptional_circumstances", 4000),
            *common_cases([]),
        ],
    ),
    Command(
        "council decision", "POST", "/requests/{escalated}/council-decision", COUNCIL,
        {"decision": "approve", "reason": "Exceptional.", "amount": "500.00"},
        [case for case in money_cases("amount") if case[2] is not None]  # no amount: the escalated amount
        + [("amount more than escalated", "amount", "1000.01")]
        + enum_cases("decision")
        + text_cases("reason", 4000)
        + common_cases([]),
    ),
    Command(
        "council decline with an amount", "POST", "/requests/{escalated}/council-decision", COUNCIL,
        {"decision": "decline", "reason": "Not exceptional.", "amount": "500.00"},
        [("decline carrying an amount", "amount", "500.00")],
    ),
    Command(
        "withdraw", "POST", "/requests/{submitted}/withdraw", HEAD, {"reason": "Met in school."},
        text_cases("reason", 4000) + common_cases([]),
    ),
    Command(
        "payment", "POST", "/requests/{approved}/payments", FINANCE, PAYMENT_BODY,
        money_cases("amount") + text_cases("reference", 200) + common_cases([]),
    ),
    Command(
        "approve with an award", "POST", "/requests/{evidenced_again}/approve", LEAD, AWARD_APPROVAL,
        award_cases() + HELD_INSTALMENT_CASES,
    ),
    Command(
        "council decision with an award", "POST", "/requests/{escalated_again}/council-decision", COUNCIL,
        COUNCIL_AWARD,
        [*award_cases(),
         ("a decline with an award", "decision", "decline"),
         ("an instalment the schedule does not make held", "held_instalments", [{"number": 2, "condition": "a"}])],
    ),
    Command(
        "payment of an instalment", "POST", "/requests/{approved}/payments", FINANCE, INSTALMENT_PAYMENT,
        [(f"instalment {label}", "instalment", value) for label, value in NUMBER_CASES]
        + [("an instalment the award does not have", "instalment", 4)]
        + date_cases("paid_on", required=False),
    ),
    Command(
        "hold instalment", "POST", "/requests/{approved}/instalments/2/hold", LEAD, {"condition": "the spring review"},
        text_cases("condition", 200) + common_cases([]),
    ),
    Command(
        "lift hold", "POST", "/requests/{held}/instalments/1/lift-hold", LEAD, {"note": "Reviewed."},
        text_cases("note", 4000, required=False) + common_cases([]), optional_body=True,
    ),
    Command(
        "release", "POST", "/requests/{approved}/release", LEAD, RELEASE_BODY,
        enum_cases("reason_code")
        + text_cases("note", 4000)
        + [case for case in money_cases("amount") if case[2] is not None]  # no amount: all that is unpaid
        + common_cases([]),
    ),
    Command(
        "raise recovery", "POST", "/requests/{recovering}/recoveries", FINANCE, RECOVERY_BODY,
        [(f"financial_year {label}", "financial_year", value) for label, value in YEAR_CASES]
        + money_cases("amount")
        + enum_cases("reason_code")
        + text_cases("note", 4000)
        + common_cases(["financial_year", "amount"]),
    ),
    Command(
        "receive recovery", "POST", "/requests/{recovering}/recoveries/1/receipts", FINANCE, RECEIPT_BODY,
        money_cases("amount")
        + text_cases("reference", 200)
        + date_cases("received_on", required=False)
        + common_cases(["amount"]),
    ),
    Command(
        "close budget year", "POST", f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}/close", FINANCE,
        {"carry_forward": "0.00"}, CARRY_FORWARD_CASES + common_cases([]), optional_body=True,
    ),
    Command(
        "close council fund year", "POST", "/council/budgets/2027-28/close", FINANCE,
        {"carry_forward": "0.00"}, CARRY_FORWARD_CASES + common_cases([]), optional_body=True,
    ),
    # issue 13: payment runs (the control creates run 1 before cancelling it)
    Command(
        "create payment run", "POST", "/finance/payment-runs", FINANCE, {"due_by": "2099-12-31"},
        [(f"due_by {label}", "due_by", value) for label, value in DATE_CASES]
        + [(f"funded_by {label}", "funded_by", value) for label, value in
           (("unknown", "academy"), ("in capitals", "COUNCIL"), ("a number", 1))]
        + [(f"cluster_id {label}", "cluster_id", value) for label, value in SLUG_CASES if value is not None]
        + [(f"financial_year {label}", "financial_year", value) for label, value in YEAR_CASES if value is not None]
        + common_cases(["due_by"]),
    ),
    Command(
        "cancel payment run", "POST", "/finance/payment-runs/1/cancel", FINANCE, {"reason": "Never sent."},
        text_cases("reason", 200) + common_cases([]),
    ),
]  # fmt: skip

CASES = [
    pytest.param(command, path, value, id=f"{command.name}: {label}")
    for command in COMMANDS
    for label, path, value in command.cases
]
WHOLE_BODIES = [
    pytest.param(command, body, id=f"{command.name}: body {label}")
    for command in COMMANDS
    if command.body is not None
    for label, body in (("an empty object", {}), ("a list", []), ("a string", "text"), ("null", None), ("a number", 7))
    if not (command.optional_body and label in ("an empty object", "null"))
]


@dataclass
class World:
    app: Any
    client: Any
    ids: dict[str, str]


def award_states(app: Any) -> dict[str, str]:
    """Requests for the award commands (issue 13): evidenced and escalated ones to approve with an
    award, one with instalment 1 held, and one paid in full with a recovery raised."""
    evidenced = app.submit_request(HEAD, **submission())
    app.provide_evidence(HEAD, evidenced.id, **EVIDENCE)
    escalated = app.submit_request(HEAD, **submission(amount_requested="6000.00"))
    app.provide_evidence(HEAD, escalated.id, **EVIDENCE)
    app.escalate(LEAD, escalated.id, "1000.00", "Exceptional circumstances.")
    held = app.submit_request(HEAD, **submission())
    app.provide_evidence(HEAD, held.id, **EVIDENCE)
    app.approve(LEAD, held.id, "1000.00", "Evidence seen.", held_instalments=[{"number": 1, "condition": "a plan"}])
    recovering = app.submit_request(HEAD, **submission())
    app.provide_evidence(HEAD, recovering.id, **EVIDENCE)
    app.approve(LEAD, recovering.id, "1000.00", "Evidence seen.")
    app.record_payment(FINANCE, recovering.id, "1000.00", "BACS-0003")
    app.raise_recovery(FINANCE, recovering.id, YEAR, "100.00", "overpayment", "Paid twice.")
    return {
        "evidenced_again": str(evidenced.id),
        "escalated_again": str(escalated.id),
        "held": str(held.id),
        "recovering": str(recovering.id),
    }


@pytest.fixture(scope="module", params=STORES)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with fresh_store(request.param, tmp_path_factory.mktemp(f"bad-input-{request.param}")) as make:
        app = make()
        set_up_world(app, budget="5000.00", council_fund="20000.00")
        app.register_school(COUNCIL, SCHOOL, "Northmere Primary School", "primary", CLUSTER)
        submitted = app.submit_request(HEAD, **submission())
        evidenced = app.submit_request(HEAD, **submission())
        app.provide_evidence(HEAD, evidenced.id, **EVIDENCE)
        unaffordable = app.submit_request(HEAD, **submission(amount_requested="6000.00"))
        app.provide_evidence(HEAD, unaffordable.id, **EVIDENCE)
        escalated = app.submit_request(HEAD, **submission(amount_requested="6000.00"))
        app.provide_evidence(HEAD, escalated.id, **EVIDENCE)
        app.escalate(LEAD, escalated.id, "1000.00", "Exceptional circumstances.")
        approved = app.submit_request(HEAD, **submission())
        app.provide_evidence(HEAD, approved.id, **EVIDENCE)
        app.approve(LEAD, approved.id, "1000.00", "Evidence seen.")
        ids = {
            "submitted": str(submitted.id),
            "evidenced": str(evidenced.id),
            "unaffordable": str(unaffordable.id),
            "escalated": str(escalated.id),
            "approved": str(approved.id),
            **award_states(app),
        }
        with client_for(app) as client:
            yield World(app, client, ids)


def send(world: World, command: Command, body: Any, headers: dict[str, str] | None = None) -> Any:
    # json.dumps escapes non-ASCII, so even a lone surrogate travels as valid JSON ("\ud800").
    return world.client.request(
        command.method,
        command.path.format(**world.ids),
        content=json.dumps(body).encode(),
        headers={**auth(command.actor), "Content-Type": "application/json", **(headers or {})},
    )


@pytest.mark.parametrize("command, path, value", CASES)
def test_bad_input_is_422_validation_error_and_writes_nothing(world, command, path, value):
    body = changed(command.body, path, value)
    with writes_nothing(world.app):
        response = send(world, command, body)
    assert_problem(response, 422, "validation-error")


@pytest.mark.parametrize("command, body", WHOLE_BODIES)
def test_a_body_of_the_wrong_shape_is_422_validation_error_and_writes_nothing(world, command, body):
    with writes_nothing(world.app):
        response = send(world, command, body)
    assert_problem(response, 422, "validation-error")


@pytest.mark.parametrize(
    "command",
    [command for command in COMMANDS if command.body is not None and not command.optional_body],
    ids=lambda c: c.name,
)
def test_no_body_at_all_is_422_validation_error(world, command):
    with writes_nothing(world.app):
        response = world.client.request(command.method, command.path.format(**world.ids), headers=auth(command.actor))
    assert_problem(response, 422, "validation-error")


def test_the_valid_bodies_of_the_table_are_valid(tmp_path):
    """The control: each table's unchanged body is accepted (on a world of its own, so the table's stays put)."""
    with fresh_store("sqlite", tmp_path) as make:
        app = make()
        set_up_world(app, budget="5000.00", council_fund="20000.00")
        app.register_school(COUNCIL, SCHOOL, "Northmere Primary School", "primary", CLUSTER)
        with client_for(app) as client:
            ids = {}
            for state in ("submitted", "evidenced", "unaffordable", "escalated", "approved"):
                request = app.submit_request(
                    HEAD,
                    **submission(amount_requested="6000.00" if state in ("unaffordable", "escalated") else "1000.00"),
                )
                if state != "submitted":
                    app.provide_evidence(HEAD, request.id, **EVIDENCE)
                if state == "escalated":
                    app.escalate(LEAD, request.id, "1000.00", "Exceptional circumstances.")
                if state == "approved":
                    app.approve(LEAD, request.id, "1000.00", "Evidence seen.")
                ids[state] = str(request.id)
            ids.update(award_states(app))
            for command in COMMANDS:
                if command.name == "council decline with an amount":
                    continue
                path = command.path.format(**ids)
                if command.name in ("decline", "withdraw"):  # the information request moved it on
                    path = f"/requests/{app.submit_request(HEAD, **submission()).id}/{path.rsplit('/', 1)[1]}"
                response = client.request(command.method, path, json=command.body, headers=auth(command.actor))
                assert response.status_code in (200, 201), (command.name, response.text)


# -- query strings -----------------------------------------------------------------------------------

BAD_QUERIES = [
    ("/requests", {"status": "bogus"}),
    ("/requests", {"status": "SUBMITTED"}),
    ("/requests", {"financial_year": "2026-28"}),
    ("/requests", {"financial_year": "2026"}),
    ("/requests", {"school_urn": "12345"}),
    ("/requests", {"cluster_id": "Not A Slug"}),
    ("/requests", {"limit": "0"}),
    ("/requests", {"limit": "501"}),
    ("/requests", {"limit": "ten"}),
    ("/requests", {"limit": "-1"}),
    ("/requests", {"cursor": "!!!not-a-cursor!!!"}),
    ("/requests", {"cursor": "W10"}),  # base64 of [] : the wrong length
    ("/schools", {"cluster_id": "Not A Slug"}),
    ("/schools", {"q": "x" * 201}),
    ("/schools", {"q": "a\x01b"}),
    ("/schools", {"registered": "maybe"}),
    ("/schools", {"limit": "0"}),
    ("/schools", {"cursor": "%%%"}),
    ("/clusters", {"limit": "0"}),
    ("/clusters", {"limit": "501"}),
    ("/clusters", {"cursor": "%%%"}),
    ("/balances", {"financial_year": "2026-28"}),
    ("/balances", {"financial_year": "26-27"}),
    ("/balances", {"limit": "1000"}),
    ("/balances", {"cursor": "garbage"}),
    ("/audit/decisions", {"from": "yesterday"}),
    ("/audit/decisions", {"to": "2026-13-45T00:00:00Z"}),
    ("/audit/decisions", {"from": "2026-06-01T12:00:00"}),  # no time zone
    ("/audit/decisions", {"cluster_id": "UPPER"}),
    ("/audit/decisions", {"limit": "0"}),
    ("/audit/decisions", {"cursor": "bm90LWEtbGlzdA"}),
    ("/audit/decisions", {"actor": "x" * 201}),
    ("/finance/reconciliation", {"financial_year": "2026-2027"}),
    ("/finance/ledger.csv", {"financial_year": "next year"}),
    ("/finance/commitments-by-age", {"financial_year": "2026-2027"}),
    ("/finance/commitments-by-age", {"cluster_id": "Not A Slug"}),
    ("/finance/commitments-by-age", {"cluster_id": "x" * 201}),
    ("/finance/commitments-by-age", {"as_of": "2027-02-30"}),
    ("/finance/commitments-by-age", {"as_of": "2027-03-01T09:00:00Z"}),
    ("/requests/{approved}", {"as_of": "not a time"}),
    ("/requests/{approved}", {"as_of": "2026-06-01T12:00:00"}),  # no time zone
    ("/requests/{approved}", {"as_of": "2026-02-30T00:00:00Z"}),
    ("/finance/instalments-due", {"due_by": "30/09/2026"}),
    ("/finance/instalments-due", {"due_by": "2026-02-30"}),
    ("/finance/instalments-due", {"due_by": "2026-09-30T00:00:00Z"}),
    ("/finance/instalments-due", {"funded_by": "academy"}),
    ("/finance/instalments-due", {"cluster_id": "Not A Slug"}),
    ("/finance/instalments-due", {"financial_year": "2026-28"}),
    ("/finance/instalments-due", {"limit": "0"}),
    ("/finance/instalments-due", {"cursor": "garbage"}),
    ("/finance/payment-runs", {"limit": "501"}),
    ("/finance/payment-runs", {"cursor": "%%%"}),
    ("/finance/payment-runs", {"cursor": "WyJ4Il0"}),  # base64 of ["x"]: not a run number
]


@pytest.mark.parametrize("path, params", BAD_QUERIES, ids=[f"{path} {params}" for path, params in BAD_QUERIES])
def test_a_bad_query_string_is_422_validation_error(world, path, params):
    actor = FINANCE if path.startswith("/finance/") else COUNCIL
    with writes_nothing(world.app):
        response = world.client.get(path.format(**world.ids), params=params, headers=auth(actor))
    assert_problem(response, 422, "validation-error")


# -- the order of the checks: invalid input is a 422 before the state is looked at ----------------------


def test_invalid_input_is_422_even_when_the_state_would_also_refuse_it(world):
    """Invalid input comes before 409: a float on an already-approved request is a 422."""
    with writes_nothing(world.app):
        response = world.client.post(
            f"/requests/{world.ids['approved']}/approve", json={**APPROVE_BODY, "amount": 5.5}, headers=auth(LEAD)
        )
    assert_problem(response, 422, "validation-error")


@pytest.mark.parametrize(
    "path, actor, body",
    [
        ("/requests/{approved}/withdraw", HEAD, {"reason": "  "}),
        ("/requests/{approved}/decline", LEAD, {"reason_code": "other", "reason": ""}),
        ("/requests/{approved}/information-requests", LEAD, {"question": " "}),
        ("/requests/{approved}/escalate", LEAD, {"amount": "1.00", "exceptional_circumstances": ""}),
        ("/requests/{submitted}/council-decision", COUNCIL, {"decision": "decline", "reason": "\n"}),
    ],
)
def test_blank_text_is_422_even_when_the_state_would_also_refuse_it(world, path, actor, body):
    with writes_nothing(world.app):
        response = world.client.post(path.format(**world.ids), json=body, headers=auth(actor))
    assert_problem(response, 422, "validation-error")


def test_blank_text_is_422_before_a_stale_if_match(world):
    with writes_nothing(world.app):
        response = world.client.post(
            f"/requests/{world.ids['submitted']}/withdraw",
            json={"reason": ""},
            headers={**auth(HEAD), "If-Match": '"9"'},
        )
    assert_problem(response, 422, "validation-error")
