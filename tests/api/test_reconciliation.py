"""Reconciliation of every read model a person reads, through the command line and over HTTP.

On SQLite and on PostgreSQL, a busy year is built, its read models caught up, and then one table
is tampered with straight in the database, as someone with write access to it would: one row
edited, one deleted, one inserted. ``finance reconcile`` must exit 1 naming that table and that
row, and ``GET /finance/reconciliation`` must say the same, column by column. Damage to the event
log itself is in ``test_reconciliation_of_a_damaged_log.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from domain.funds import ClusterBudget, CouncilFund
from domain.values import ClusterId, FinancialYear
from funding_engine.application import FundingApplication
from tests.api.conftest import assert_money_2dp, auth, client_for
from tests.integration.test_read_models import NEXT_YEAR, SEN_REPORT_URL, Busy, build_busy_year, run_cli
from tests.support import CLUSTER, COUNCIL, FINANCE, OTHER_CLUSTER, SCHOOL, SECOND_SCHOOL, YEAR

# Every table reconciled, in the order the report lists them, with the column that keys its rows.
KEYS = {
    "cluster_balances": "cluster_id",
    "council_fund_balances": "financial_year",
    "cluster_balances_requests": "request_id",
    "request_index": "request_id",
    "decision_log": "position",
    "decision_log_requests": "request_id",
    "decision_log_budgets": "fund_id",
    "finance_ledger": "position",
    "finance_ledger_funds": "fund_id",
    "clusters": "cluster_id",
    "schools": "urn",
    "sen_reports": "school_urn",
    "sen_report_broken_links": "report_ref",
    "instalments": "instalment_id",
    "instalment_requests": "request_id",
    # issue 13
    "awards": "request_id",
    "awards_instalments": "instalment_ref",
    "awards_requests": "request_id",
}


@pytest.fixture
def busy(app: FundingApplication, database_url: str) -> Busy:
    busy = build_busy_year(app, database_url)
    app.read_side.make_fresh()  # every row written before anyone tampers with one
    return busy


def execute(app: FundingApplication, sql: str, params: tuple[Any, ...] = ()) -> None:
    with app.read_side.database.transaction() as cursor:
        cursor.execute(sql, params)
        assert cursor.rowcount == 1, sql


def scalar(app: FundingApplication, sql: str, params: tuple[Any, ...] = ()) -> Any:
    with app.read_side.database.reading() as cursor:
        cursor.execute(sql, params)
        (value,) = cursor.fetchone()
        return value


def reconciliation_body(app: FundingApplication) -> dict[str, Any]:
    with client_for(app) as client:
        response = client.get("/finance/reconciliation", params={"financial_year": YEAR}, headers=auth(FINANCE))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert_money_2dp(body)
    return body


def read_models(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in body["read_models"]}


def shown(key: Any) -> str:
    """A key as the command line prints it: text quoted, positions bare."""
    return repr(key) if isinstance(key, str) else str(key)


# ================================================================================================
# An untouched year
# ================================================================================================


def test_an_untouched_year_reconciles_every_read_model_over_http(busy):
    body = reconciliation_body(busy.app)

    assert body["consistent"] is True
    assert [entry["name"] for entry in body["read_models"]] == list(KEYS)
    head = busy.app.recorder.max_notification_id()
    assert body["log_position"] == head
    for entry in body["read_models"]:
        assert entry["consistent"] is True, entry
        assert (entry["differing"], entry["missing"], entry["extra"], entry["first_difference"]) == (0, 0, 0, None)
        assert entry["position"] == head
        assert entry["rows_checked"] > 0, entry
    rows = read_models(body)
    # The busy year: 8 requests, 9 decisions, 11 money movements (see build_busy_year).
    assert (rows["request_index"]["rows_checked"], rows["decision_log"]["rows_checked"]) == (8, 9)
    assert rows["finance_ledger"]["rows_checked"] == 11
    assert body["clusters"][1]["version"] == {"projected": 8, "recomputed": 8}


def test_an_untouched_year_reconciles_on_the_command_line(busy):
    result = run_cli(["finance", "reconcile", "--year", YEAR], busy.url)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "consistent: yes"
    for table in KEYS:
        (line,) = [line for line in lines if line.startswith(f"{table} ")]
        assert line.split()[-1] == "yes", line
    assert "first difference" not in result.stdout


def test_each_year_reconciles_on_its_own(busy):
    # The next year holds one request; this year's many events are folded only to be checked.
    result = busy.app.read_models.reconcile(FINANCE, NEXT_YEAR)

    assert result.consistent
    tables = {table.name: table for table in result.tables}
    assert tables["request_index"].rows_checked == 1
    assert tables["finance_ledger"].rows_checked == 0


# ================================================================================================
# One table tampered with: the report names it, and the row
# ================================================================================================


@dataclass(frozen=True)
class Expect:
    table: str
    key: Any
    kind: str  # "differing", "missing" or "extra"
    columns: dict[str, tuple[Any, Any]] | None = None  # for "differing": column -> (read model, log)
    # Tables whose rows hang off the tampered one (a join), and so differ with it.
    also: frozenset[str] = field(default_factory=frozenset)


def ledger_position(app: FundingApplication, reference: str) -> int:
    return int(scalar(app, "SELECT position FROM finance_ledger WHERE reference = ?", (reference,)))


def decision_position(app: FundingApplication, request_id: Any, kind: str) -> int:
    sql = "SELECT position FROM decision_log WHERE request_id = ? AND kind = ?"
    return int(scalar(app, sql, (request_id.hex, kind)))


def budget_id(cluster_id: str) -> str:
    return ClusterBudget.id_for(ClusterId(cluster_id), FinancialYear.parse(YEAR)).hex


def edit_pending_and_escalated(busy: Busy) -> Expect:
    execute(
        busy.app,
        "UPDATE cluster_balances SET pending = pending + 1, escalated = escalated + 250 "
        "WHERE cluster_id = ? AND financial_year = ?",
        (CLUSTER, YEAR),
    )
    return Expect(
        "cluster_balances", CLUSTER, "differing", {"pending": ("1000.01", "1000.00"), "escalated": ("2.50", "0.00")}
    )


def edit_a_budget_version(busy: Busy) -> Expect:
    sql = "UPDATE cluster_balances SET version = version + 1 WHERE cluster_id = ? AND financial_year = ?"
    execute(busy.app, sql, (CLUSTER, YEAR))
    return Expect("cluster_balances", CLUSTER, "differing", {"version": (9, 8)})


def delete_a_budget_row(busy: Busy) -> Expect:
    execute(busy.app, "DELETE FROM cluster_balances WHERE cluster_id = ? AND financial_year = ?", (OTHER_CLUSTER, YEAR))
    # Its requests' amounts are kept per budget row: they go with it.
    return Expect("cluster_balances", OTHER_CLUSTER, "missing", also=frozenset({"cluster_balances_requests"}))


def insert_a_budget_row(busy: Busy) -> Expect:
    execute(
        busy.app,
        "INSERT INTO cluster_balances (fund_id, cluster_id, financial_year, allocated) VALUES (?, ?, ?, ?)",
        ("0" * 32, "aaa-phantom", YEAR, 100000),
    )
    return Expect("cluster_balances", "aaa-phantom", "extra")


def edit_the_council_fund(busy: Busy) -> Expect:
    execute(busy.app, "UPDATE council_fund_balances SET committed = committed - 1 WHERE financial_year = ?", (YEAR,))
    columns = {"committed": ("2499.99", "2500.00"), "available": ("500.01", "500.00")}
    return Expect("council_fund_balances", YEAR, "differing", columns)


def delete_the_council_fund_row(busy: Busy) -> Expect:
    # (A second row for the year cannot be inserted: the year is unique in that table.)
    execute(busy.app, "DELETE FROM council_fund_balances WHERE financial_year = ?", (YEAR,))
    return Expect("council_fund_balances", YEAR, "missing")


def edit_a_request_row(busy: Busy) -> Expect:
    execute(busy.app, "UPDATE request_index SET status = 'withdrawn' WHERE request_id = ?", (busy.submitted.hex,))
    return Expect("request_index", busy.submitted.hex, "differing", {"status": ("withdrawn", "submitted")})


def delete_a_request_row(busy: Busy) -> Expect:
    execute(busy.app, "DELETE FROM request_index WHERE request_id = ?", (busy.declined.hex,))
    return Expect("request_index", busy.declined.hex, "missing")


def insert_a_request_row(busy: Busy) -> Expect:
    at = "2026-11-01T09:00:00.000000Z"
    execute(
        busy.app,
        "INSERT INTO request_index (request_id, school_urn, cluster_id, financial_year, status, reason, pupil_count, "
        "amount_requested, amount_escalated, amount_approved, amount_paid, created_at, updated_at, status_since, "
        "version) VALUES (?, ?, ?, ?, 'cluster_approved', 'complex_needs', 1, 900000, NULL, 900000, 0, ?, ?, ?, 3)",
        ("f" * 32, SCHOOL, CLUSTER, YEAR, at, at, at),
    )
    return Expect("request_index", "f" * 32, "extra")


def edit_a_decision(busy: Busy) -> Expect:
    position = decision_position(busy.app, busy.council_approved, "council_approval")
    execute(busy.app, "UPDATE decision_log SET reason = 'No reason given.' WHERE position = ?", (position,))
    return Expect(
        "decision_log", position, "differing", {"reason": ("No reason given.", "Exceptional circumstances are shown.")}
    )


def delete_a_decision(busy: Busy) -> Expect:
    position = decision_position(busy.app, busy.declined, "cluster_decline")
    execute(busy.app, "DELETE FROM decision_log WHERE position = ?", (position,))
    return Expect("decision_log", position, "missing")


def insert_a_decision(busy: Busy) -> Expect:
    # Position 1 is the first cluster's registration: no decision was ever taken there.
    execute(
        busy.app,
        "INSERT INTO decision_log (position, kind, request_id, school_urn, cluster_id, financial_year, actor_sub, "
        "actor_role, decided_at, amount, reason_code, reason, details) VALUES (1, 'cluster_approval', ?, ?, ?, ?, "
        "'lead-northmere', 'cluster_lead', '2026-11-01T09:00:00.000000Z', 900000, NULL, 'Approved.', '')",
        ("f" * 32, SCHOOL, CLUSTER, YEAR),
    )
    return Expect("decision_log", 1, "extra")


def edit_a_ledger_row(busy: Busy) -> Expect:
    position = ledger_position(busy.app, "PAY-0001")
    execute(busy.app, "UPDATE finance_ledger SET paid_after = paid_after + 100000 WHERE position = ?", (position,))
    return Expect("finance_ledger", position, "differing", {"paid_after": ("1300.00", "300.00")})


def delete_a_ledger_row(busy: Busy) -> Expect:
    position = ledger_position(busy.app, "COUNCIL-PAY-0001")
    execute(busy.app, "DELETE FROM finance_ledger WHERE position = ?", (position,))
    return Expect("finance_ledger", position, "missing")


def insert_a_ledger_row(busy: Busy) -> Expect:
    execute(
        busy.app,
        "INSERT INTO finance_ledger (position, recorded_at, fund, cluster_id, financial_year, movement, request_id, "
        "amount, available_after, paid_after, reference, actor_sub) VALUES (2, '2026-11-01T09:00:00.000000Z', "
        "'cluster', ?, ?, 'payment', ?, 500000, 0, 500000, 'PAY-9999', 'finance-officer-1')",
        (CLUSTER, YEAR, "f" * 32),
    )
    return Expect("finance_ledger", 2, "extra")


def move_a_ledger_row_to_another_year(busy: Busy) -> Expect:
    position = ledger_position(busy.app, "PAY-0001")
    execute(busy.app, "UPDATE finance_ledger SET financial_year = ? WHERE position = ?", (NEXT_YEAR, position))
    return Expect("finance_ledger", position, "missing")


def edit_a_requests_amount_behind_the_balances(busy: Busy) -> Expect:
    # Pending falls by this amount when the request is decided: wrong later, unless caught now.
    sql = "UPDATE cluster_balances_requests SET amount_requested = 1 WHERE request_id = ?"
    execute(busy.app, sql, (busy.submitted.hex,))
    return Expect(
        "cluster_balances_requests", busy.submitted.hex, "differing", {"amount_requested": ("0.01", "700.00")}
    )


def edit_where_the_decision_log_places_a_request(busy: Busy) -> Expect:
    execute(
        busy.app, "UPDATE decision_log_requests SET school_urn = ? WHERE request_id = ?", (SECOND_SCHOOL, busy.paid.hex)
    )
    return Expect("decision_log_requests", busy.paid.hex, "differing", {"school_urn": (SECOND_SCHOOL, SCHOOL)})


def edit_where_the_decision_log_places_a_budget(busy: Busy) -> Expect:
    sql = "UPDATE decision_log_budgets SET cluster_id = ? WHERE fund_id = ?"
    execute(busy.app, sql, (OTHER_CLUSTER, budget_id(CLUSTER)))
    return Expect("decision_log_budgets", budget_id(CLUSTER), "differing", {"cluster_id": (OTHER_CLUSTER, CLUSTER)})


def edit_a_funds_running_balance(busy: Busy) -> Expect:
    execute(busy.app, "UPDATE finance_ledger_funds SET available = available + 1 WHERE fund = 'council'")
    fund_id = CouncilFund.id_for(FinancialYear.parse(YEAR)).hex
    return Expect("finance_ledger_funds", fund_id, "differing", {"available": ("500.01", "500.00")})


def edit_a_clusters_schools(busy: Busy) -> Expect:
    execute(busy.app, "UPDATE clusters SET school_urns = ? WHERE cluster_id = ?", (SCHOOL, CLUSTER))
    return Expect("clusters", CLUSTER, "differing", {"school_urns": (SCHOOL, f"{SCHOOL},{SECOND_SCHOOL}")})


def edit_a_clusters_name_and_version(busy: Busy) -> Expect:
    sql = "UPDATE clusters SET name = 'Fenwick', version = version + 1 WHERE cluster_id = ?"
    execute(busy.app, sql, (OTHER_CLUSTER,))
    return Expect("clusters", OTHER_CLUSTER, "differing", {"name": ("Fenwick", "Fenwick Broads"), "version": (3, 2)})


def delete_a_cluster_row(busy: Busy) -> Expect:
    execute(busy.app, "DELETE FROM clusters WHERE cluster_id = ?", (OTHER_CLUSTER,))
    return Expect("clusters", OTHER_CLUSTER, "missing")


def insert_a_cluster_row(busy: Busy) -> Expect:
    execute(
        busy.app,
        "INSERT INTO clusters (cluster_id, aggregate_id, name, school_urns, version) VALUES (?, ?, ?, ?, ?)",
        ("aaa-phantom", "0" * 32, "Phantom Cluster", "", 1),
    )
    return Expect("clusters", "aaa-phantom", "extra")


def edit_a_schools_cluster(busy: Busy) -> Expect:
    execute(busy.app, "UPDATE schools SET cluster_id = ? WHERE urn = ?", (OTHER_CLUSTER, SECOND_SCHOOL))
    return Expect("schools", SECOND_SCHOOL, "differing", {"cluster_id": (OTHER_CLUSTER, CLUSTER)})


def delete_a_school_row(busy: Busy) -> Expect:
    execute(busy.app, "DELETE FROM schools WHERE urn = ?", (SECOND_SCHOOL,))
    return Expect("schools", SECOND_SCHOOL, "missing")


def insert_a_school_row(busy: Busy) -> Expect:
    execute(
        busy.app,
        "INSERT INTO schools (urn, name, phase, cluster_id, version, school_id, membership_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        ("000001", "Phantom School", "primary", CLUSTER, 1, "0" * 32, "1" * 32),
    )
    return Expect("schools", "000001", "extra")


def edit_a_reports_address(busy: Busy) -> Expect:
    execute(busy.app, "UPDATE sen_reports SET url = ? WHERE school_urn = ?", ("https://elsewhere.example", SCHOOL))
    return Expect("sen_reports", SCHOOL, "differing", {"url": ("https://elsewhere.example", SEN_REPORT_URL)})


def edit_an_audits_counts(busy: Busy) -> Expect:
    execute(busy.app, "UPDATE sen_reports SET audit_met = 23, audit_partly_met = 0 WHERE school_urn = ?", (SCHOOL,))
    return Expect("sen_reports", SCHOOL, "differing", {"audit_met": (23, 0), "audit_partly_met": (0, 23)})


def insert_a_school_with_no_report(busy: Busy) -> Expect:
    execute(
        busy.app,
        "INSERT INTO sen_reports (school_urn, membership_id, open_broken_links, version) VALUES (?, ?, 0, 0)",
        ("999999", "0" * 32),
    )
    return Expect("sen_reports", "999999", "extra")


def clear_a_broken_link_report(busy: Busy) -> Expect:
    (reference,) = [row.report_ref for row in open_links(busy) if row.school_urn == SCHOOL]
    execute(busy.app, "UPDATE sen_report_broken_links SET cleared_at = report_ref WHERE report_ref = ?", (reference,))
    return Expect("sen_report_broken_links", reference, "differing", {"cleared_at": (reference, None)})


def delete_a_broken_link_report(busy: Busy) -> Expect:
    (reference,) = [row.report_ref for row in open_links(busy) if row.school_urn == SCHOOL]
    execute(busy.app, "DELETE FROM sen_report_broken_links WHERE report_ref = ?", (reference,))
    return Expect("sen_report_broken_links", reference, "missing")


def edit_what_an_instalment_has_paid(busy: Busy) -> Expect:
    key = f"{busy.approved.hex}-0001"
    execute(busy.app, "UPDATE instalments SET paid = 100 WHERE instalment_id = ?", (key,))
    return Expect("instalments", key, "differing", {"paid": ("1.00", "0.00")})


def put_an_instalment_in_a_run(busy: Busy) -> Expect:
    key = f"{busy.approved.hex}-0002"
    execute(busy.app, "UPDATE instalments SET payment_run = 7 WHERE instalment_id = ?", (key,))
    return Expect("instalments", key, "differing", {"payment_run": (7, None)})


def edit_the_school_of_an_instalments_request(busy: Busy) -> Expect:
    execute(busy.app, "UPDATE instalment_requests SET school_urn = ? WHERE request_id = ?", (SCHOOL, busy.approved.hex))
    return Expect("instalment_requests", busy.approved.hex, "differing", {"school_urn": (SCHOOL, SECOND_SCHOOL)})


def edit_an_awards_figures(busy: Busy) -> Expect:
    execute(busy.app, "UPDATE awards SET paid_out = paid_out - 1, scheduled_unpaid = 1 WHERE request_id = ?",
            (busy.paid.hex,))  # fmt: skip
    return Expect("awards", busy.paid.hex, "differing", {"paid_out": ("799.99", "800.00"),
                                                         "scheduled_unpaid": ("0.01", "0.00")})  # fmt: skip


def delete_an_award_row(busy: Busy) -> Expect:
    execute(busy.app, "DELETE FROM awards WHERE request_id = ?", (busy.approved.hex,))
    # Its instalments are selected for the year through their award: they go with it.
    return Expect("awards", busy.approved.hex, "missing", also=frozenset({"awards_instalments"}))


def hold_an_instalment_behind_the_awards(busy: Busy) -> Expect:
    reference = f"{busy.approved.hex}/002"
    execute(busy.app, "UPDATE awards_instalments SET held_until = 'nothing' WHERE instalment_ref = ?", (reference,))
    return Expect("awards_instalments", reference, "differing", {"held_until": ("nothing", "")})


def edit_where_the_awards_place_a_request(busy: Busy) -> Expect:
    sql = "UPDATE awards_requests SET cluster_id = ? WHERE request_id = ?"
    execute(busy.app, sql, (OTHER_CLUSTER, busy.submitted.hex))
    return Expect("awards_requests", busy.submitted.hex, "differing", {"cluster_id": (OTHER_CLUSTER, CLUSTER)})


def edit_a_budgets_released(busy: Busy) -> Expect:
    sql = "UPDATE cluster_balances SET released = 5, closed = 1 WHERE cluster_id = ? AND financial_year = ?"
    execute(busy.app, sql, (CLUSTER, YEAR))
    return Expect("cluster_balances", CLUSTER, "differing", {"released": ("0.05", "0.00"), "closed": (1, 0)})


def edit_the_council_funds_carried_forward(busy: Busy) -> Expect:
    execute(busy.app, "UPDATE council_fund_balances SET carried_forward = 100 WHERE financial_year = ?", (YEAR,))
    return Expect("council_fund_balances", YEAR, "differing", {"carried_forward": ("1.00", "0.00")})


def edit_a_requests_amount_released(busy: Busy) -> Expect:
    execute(busy.app, "UPDATE request_index SET amount_released = 7 WHERE request_id = ?", (busy.approved.hex,))
    return Expect("request_index", busy.approved.hex, "differing", {"amount_released": ("0.07", "0.00")})


def open_links(busy: Busy) -> list[Any]:
    return busy.app.read_models.local_offer.overview(COUNCIL).broken_links


TAMPERING: list[Callable[[Busy], Expect]] = [
    edit_pending_and_escalated,
    edit_a_budget_version,
    delete_a_budget_row,
    insert_a_budget_row,
    edit_the_council_fund,
    delete_the_council_fund_row,
    edit_a_request_row,
    delete_a_request_row,
    insert_a_request_row,
    edit_a_decision,
    delete_a_decision,
    insert_a_decision,
    edit_a_ledger_row,
    delete_a_ledger_row,
    insert_a_ledger_row,
    move_a_ledger_row_to_another_year,
    edit_a_requests_amount_behind_the_balances,
    edit_where_the_decision_log_places_a_request,
    edit_where_the_decision_log_places_a_budget,
    edit_a_funds_running_balance,
    edit_a_clusters_schools,
    edit_a_clusters_name_and_version,
    delete_a_cluster_row,
    insert_a_cluster_row,
    edit_a_schools_cluster,
    delete_a_school_row,
    insert_a_school_row,
    edit_a_reports_address,
    edit_an_audits_counts,
    insert_a_school_with_no_report,
    clear_a_broken_link_report,
    delete_a_broken_link_report,
    edit_what_an_instalment_has_paid,
    put_an_instalment_in_a_run,
    edit_the_school_of_an_instalments_request,
    edit_an_awards_figures,
    delete_an_award_row,
    hold_an_instalment_behind_the_awards,
    edit_where_the_awards_place_a_request,
    edit_a_budgets_released,
    edit_the_council_funds_carried_forward,
    edit_a_requests_amount_released,
]


@pytest.mark.parametrize("tamper", TAMPERING, ids=[tamper.__name__ for tamper in TAMPERING])
def test_a_tampered_read_model_is_named_with_its_first_differing_row(busy, tamper):
    expect = tamper(busy)

    body = reconciliation_body(busy.app)
    printed = run_cli(["finance", "reconcile", "--year", YEAR], busy.url)

    assert body["consistent"] is False
    entries = read_models(body)
    entry = entries[expect.table]
    assert entry["consistent"] is False
    counts = {kind: entry[kind] for kind in ("differing", "missing", "extra")}
    assert counts == {kind: int(kind == expect.kind) for kind in counts}, entry
    difference = entry["first_difference"]
    assert (difference["key_column"], difference["key"]) == (KEYS[expect.table], expect.key)
    columns = {name: (pair["projected"], pair["recomputed"]) for name, pair in difference["columns"].items()}
    if expect.kind == "differing":
        assert columns == expect.columns
    else:
        absent = 0 if expect.kind == "missing" else 1
        assert columns and all(pair[absent] is None for pair in columns.values()), columns
    assert {name for name, other in entries.items() if not other["consistent"]} == {expect.table, *expect.also}

    assert printed.returncode == 1, printed.stderr
    assert "Traceback" not in printed.stderr
    lines = printed.stdout.splitlines()
    assert lines[-1] == "consistent: NO"
    named = f"  {expect.table}: first difference at {KEYS[expect.table]} {shown(expect.key)}: "
    assert [line for line in lines if line.startswith(named)], printed.stdout
    (row,) = [line for line in lines if line.startswith(f"{expect.table} ")]
    assert row.split()[-1] == "NO"


# ================================================================================================
# Nothing a person reads is left out
# ================================================================================================


def stored_columns(app: FundingApplication, table: str) -> set[str]:
    database = app.read_side.database
    with database.reading() as cursor:
        if database.kind == "sqlite":
            cursor.execute(f"PRAGMA table_info({table})")
            return {str(row[1]) for row in cursor.fetchall()}
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ?",
            (table,),
        )
        return {str(row[0]) for row in cursor.fetchall()}


def test_every_column_of_every_read_model_table_is_reconciled(app):
    # Imported here, so that the rest of this module runs (and fails) on code without it.
    from projections.read_models import read_models
    from projections.reconciliation.tables import TABLES

    owned = {table for projection in read_models() for table in projection.tables}
    assert {table.name for table in TABLES} == owned == set(KEYS)
    for table in TABLES:
        # The year is what every table is selected by: a row moved to another year is a missing row.
        unreconciled = stored_columns(app, table.name) - set(table.columns) - {"financial_year"}
        assert stored_columns(app, table.name) and not unreconciled, (table.name, unreconciled)
        assert table.key == KEYS[table.name]


def test_each_read_model_is_checked_at_the_position_it_has_applied(database_url):
    # A worker-mode application: nothing catches the read models up but this test, one at a time.
    from funding_engine.bootstrap import bootstrap
    from funding_engine.settings import Settings
    from projections.reconciliation import reconcile
    from tests.support import LEAD, evidenced_request, set_up_world

    app = bootstrap(Settings(database_url=database_url, projections="worker"))
    try:
        projector = app.read_side.projector
        set_up_world(app, budget="5000.00", council_fund="3000.00")
        projector.catch_up(["cluster_balances"])
        request = evidenced_request(app)
        app.approve(LEAD, request.id, "800.00", "Spend evidence shows the school's own funds are used.")
        projector.catch_up(["request_index", "finance_ledger"])
        app.record_payment(FINANCE, request.id, "300.00", "PAY-0001")
        projector.catch_up(["decision_log"])
        positions = {name: projector.position(name) for name in ("cluster_balances", "request_index", "decision_log")}
        assert len(set(positions.values())) == 3, positions

        result = reconcile(app.read_side.database, projector.source, FinancialYear.parse(YEAR))
    finally:
        app.close()

    assert result.consistent, [table for table in result.tables if not table.consistent]
    assert {table.name: table.position for table in result.tables if table.table.read_model in positions} == {
        table: positions[read_model]
        for table, read_model in (
            ("cluster_balances", "cluster_balances"),
            ("council_fund_balances", "cluster_balances"),
            ("cluster_balances_requests", "cluster_balances"),
            ("request_index", "request_index"),
            ("decision_log", "decision_log"),
            ("decision_log_requests", "decision_log"),
            ("decision_log_budgets", "decision_log"),
        )
    }
    assert result.log_position == positions["decision_log"]


def test_text_written_over_a_balance_is_reported_not_a_crash(busy):
    """SQLite keeps whatever is written into a BIGINT column; PostgreSQL refuses text there."""
    sql = "UPDATE cluster_balances SET allocated = 'ten million' WHERE cluster_id = ? AND financial_year = ?"
    if busy.app.read_side.database.kind == "postgres":
        import psycopg

        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            execute(busy.app, sql, (CLUSTER, YEAR))
        return
    execute(busy.app, sql, (CLUSTER, YEAR))

    with client_for(busy.app) as client:
        response = client.get("/finance/reconciliation", params={"financial_year": YEAR}, headers=auth(FINANCE))
    printed = run_cli(["finance", "reconcile", "--year", YEAR], busy.url)

    assert response.status_code == 200, response.text
    body = response.json()
    [row] = [row for row in body["clusters"] if row["cluster_id"] == CLUSTER]
    assert body["consistent"] is False and row["consistent"] is False
    assert row["projected"]["allocated"] is None and row["recomputed"]["allocated"] != "0.00"
    difference = read_models(body)["cluster_balances"]["first_difference"]
    assert difference["key"] == CLUSTER and difference["columns"]["allocated"]["projected"] == "ten million"
    assert printed.returncode == 1 and "Traceback" not in printed.stderr
    assert "unreadable" in printed.stdout
