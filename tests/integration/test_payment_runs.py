"""Payment runs and remittances through the application, on SQLite and PostgreSQL.

A run is written out as its CSV file, the bank's remittance is built from that file, and the
remittance is imported back: the round trip goes through real files. Bad remittance lines (an
unknown reference, a wrong amount, a line already paid, an instalment held or given back since)
are reported and record nothing. Two officers creating runs at once never put an instalment in
two runs.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.awards import InstalmentAmount
from domain.errors import Conflict, InvalidValue, NotFound, NotPermitted
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund
from domain.money import Money
from domain.payment_runs import NothingDue, PaymentRun, RunNotOpen
from domain.values import ClusterId, FinancialYear
from funding_engine.application import FundingApplication, ImportRefused
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from tests.support import (
    CLUSTER,
    COUNCIL,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_CLUSTER,
    OTHER_HEAD,
    OTHER_LEAD,
    OTHER_SCHOOL,
    SCHOOL,
    YEAR,
    evidenced_request,
    log_position,
    set_up_world,
    writes_nothing,
)

WHOLE_YEAR = {"starts_on": "2026-04-01", "ends_on": "2027-03-31"}
SEPTEMBER = "2026-09-30"
REMITTANCE_DATE = "2026-09-07"


def world(app: FundingApplication) -> None:
    set_up_world(app, budget="20000.00", council_fund="20000.00")
    app.allocate_budget(FINANCE, OTHER_CLUSTER, YEAR, "20000.00", "initial allocation")
    app.register_school(COUNCIL, SCHOOL, "Northmere Primary School", "primary", CLUSTER)


def award(app: FundingApplication, amount: str = "1200.00", actor: Any = HEAD, **terms: Any) -> UUID:
    """An approved award, termly over 2026-27: instalments due 1 April (5/12), 1 September (4/12)
    and 1 January (3/12)."""
    school = OTHER_SCHOOL if actor is OTHER_HEAD else SCHOOL
    request = evidenced_request(
        app,
        actor,
        school_urn=school,
        amount_requested=amount,
        planned_provision=[{"category": "therapies", "amount": amount}],
    )
    lead = OTHER_LEAD if actor is OTHER_HEAD else LEAD
    app.approve(lead, request.id, amount, "Evidence seen.", award_period=WHOLE_YEAR, schedule="termly", **terms)
    return request.id


def council_award(app: FundingApplication, amount: str = "600.00") -> UUID:
    request = evidenced_request(
        app, amount_requested="30000.00", planned_provision=[{"category": "therapies", "amount": "30000.00"}]
    )
    app.escalate(LEAD, request.id, amount, "Exceptional circumstances.")
    app.decide_escalation(COUNCIL, request.id, "approve", "Exceptional.", award_period=WHOLE_YEAR, schedule="single")
    return request.id


def due_keys(app: FundingApplication, due_by: str = SEPTEMBER, **filters: Any) -> set[tuple[str, int]]:
    page = app.instalments_due(FINANCE, due_by, limit=500, **filters)
    return {(row.request_id, row.number) for row in page.items}


def run_keys(run: PaymentRun) -> set[tuple[str, int]]:
    return {(line.request_id.hex, line.instalment) for line in run.lines}


def write_run_file(app: FundingApplication, number: int, folder: Path) -> Path:
    path = folder / f"run-{number}.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        run = app.write_payment_run_file(FINANCE, number, out)
    assert app.payment_run_file_name(run) == f"payment-run-PR-{number:06d}.csv"
    return path


def remittance_from(run_file: Path, folder: Path, *, change: Callable[[list[list[str]]], Any] | None = None) -> Path:
    """The bank's remittance for a run file: each line's reference and amount, paid on one day."""
    with run_file.open(newline="", encoding="utf-8") as source:
        lines = list(csv.DictReader(source))
    rows = [[line["line_reference"], line["amount"], REMITTANCE_DATE] for line in lines]
    if change is not None:
        change(rows)
    path = folder / f"remittance-{run_file.stem}.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["reference", "amount", "date"])
        writer.writerows(rows)
    return path


def instalment(app: FundingApplication, request_id: UUID, number: int) -> Any:
    request: FundingRequest = app.repository.get(request_id)
    assert request.award is not None
    return request.award.instalment(number)


def instalments_reconcile(app: FundingApplication) -> bool:
    """The instalments read model, row by row, against a fold of the log (the other read models'
    reconciliation is theirs to test)."""
    tables = {table.name: table for table in app.read_models.reconcile(FINANCE, YEAR).tables}
    checked = [tables["instalments"], tables["instalment_requests"]]
    assert all(table.rows_checked > 0 for table in checked)
    return all(table.consistent for table in checked)


def budget_paid(app: FundingApplication) -> Money:
    budget: ClusterBudget = app.repository.get(ClusterBudget.id_for(ClusterId(CLUSTER), FinancialYear.parse(YEAR)))
    return budget.paid


# ================================================================================================
# What is due
# ================================================================================================


def test_instalments_due_by_a_date_are_the_unpaid_ones_falling_due_by_then(app):
    world(app)
    request_id = award(app)

    page = app.instalments_due(FINANCE, SEPTEMBER)

    assert [(row.number, row.due_on, row.amount, row.unpaid) for row in page.items] == [
        (1, "2026-04-01", 50000, 50000),
        (2, "2026-09-01", 40000, 40000),
    ]
    row = page.items[0]
    assert (row.request_id, row.school_urn, row.cluster_id) == (request_id.hex, SCHOOL, CLUSTER)
    assert row.funded_by == "cluster"
    assert (row.request_year, row.financial_year, row.payment_run, row.held_until) == (YEAR, YEAR, None, "")
    assert len(app.instalments_due(FINANCE, "2027-01-01").items) == 3


def test_instalments_due_leave_out_what_is_paid_held_or_given_back(app):
    world(app)
    held, paid, released = award(app), award(app), award(app)
    app.hold_instalment(LEAD, held, 2, "a reviewed provision plan")
    app.record_payment(FINANCE, paid, "500.00", "BACS-1", instalment=1)
    app.release_award(LEAD, released, "pupil_left", "Moved away in the summer.")

    assert due_keys(app) == {(held.hex, 1), (paid.hex, 2)}


def test_instalments_due_are_narrowed_by_funder_cluster_and_year(app):
    world(app)
    ours, theirs, councils = award(app), award(app, actor=OTHER_HEAD), council_award(app)

    assert due_keys(app, funded_by="council") == {(councils.hex, 1)}
    assert due_keys(app, funded_by="cluster", cluster_id=OTHER_CLUSTER) == {(theirs.hex, 1), (theirs.hex, 2)}
    assert due_keys(app, cluster_id=CLUSTER) == {(ours.hex, 1), (ours.hex, 2), (councils.hex, 1)}
    assert due_keys(app, "2027-03-31", financial_year="2027-28") == set()


def test_instalments_due_come_a_page_at_a_time_earliest_first(app):
    world(app)
    for _ in range(3):
        award(app)

    first = app.instalments_due(FINANCE, SEPTEMBER, limit=4)
    second = app.instalments_due(FINANCE, SEPTEMBER, limit=4, cursor=first.next_cursor)

    rows = first.items + second.items
    assert len(first.items) == 4 and len(second.items) == 2 and second.next_cursor is None
    assert [row.due_on for row in rows] == sorted(row.due_on for row in rows)


def test_an_approval_recorded_before_awards_is_one_instalment_due_on_the_day(app):
    """A version 1 approval (``award`` None) and a version 1 payment (no instalments named)."""
    world(app)
    request: FundingRequest = app.repository.get(evidenced_request(app).id)
    budget: ClusterBudget = app.repository.get(ClusterBudget.id_for(ClusterId(CLUSTER), FinancialYear.parse(YEAR)))
    amount = Money.parse("800.00")
    budget.commit(request.id, amount, LEAD)
    request.trigger_event(
        request.ClusterApproved, amount=amount, reason="Old.", conditions="", actor=LEAD, award=None, policy=None
    )
    app.save(request, budget)
    budget.record_payment(request.id, Money.parse("300.00"), "OLD-1", FINANCE)
    request.trigger_event(
        request.PaymentRecorded,
        amount=Money.parse("300.00"),
        reference="OLD-1",
        actor=FINANCE,
        instalments=None,
        paid_on=None,
    )
    app.save(request, budget)
    approved_on = app.repository.get(request.id).decisions[-1].decided_at.date().isoformat()

    (row,) = app.instalments_due(FINANCE, "2099-01-01").items

    assert (row.number, row.due_on, row.amount, row.paid, row.unpaid) == (1, approved_on, 80000, 30000, 50000)
    run = app.create_payment_run(FINANCE, "2099-01-01")
    assert [(line.instalment, line.amount) for line in run.lines] == [(1, Money.parse("500.00"))]
    assert instalments_reconcile(app)


# ================================================================================================
# Runs
# ================================================================================================


def test_a_run_records_each_instalment_due_with_its_payee_award_and_cost_centre(app):
    world(app)
    request_id, councils = award(app), council_award(app)

    run = app.create_payment_run(FINANCE, SEPTEMBER)

    assert (run.number, run.reference, run.status) == (1, "PR-000001", "open")
    by_key = {(line.request_id, line.instalment): line for line in run.lines}
    ours = by_key[(request_id, 1)]
    assert (ours.amount, ours.due_on, ours.school_urn.value, ours.school_name) == (
        Money.parse("500.00"), date(2026, 4, 1), SCHOOL, "Northmere Primary School"
    )  # fmt: skip
    assert (ours.funded_by, ours.cost_centre, ours.award_reference) == ("cluster", CLUSTER, str(request_id))
    assert by_key[(councils, 1)].cost_centre == "council"
    assert [line.line for line in run.lines] == [1, 2, 3]
    assert due_keys(app) == set()
    assert {row.payment_run for row in app.instalments_due(FINANCE, "2027-03-31").items} == {None}


def test_an_instalment_in_an_open_run_goes_in_no_other(app):
    world(app)
    award(app)
    first = app.create_payment_run(FINANCE, "2026-04-30")

    second = app.create_payment_run(FINANCE, SEPTEMBER)

    assert run_keys(first).isdisjoint(run_keys(second))
    with writes_nothing(app), pytest.raises(NothingDue, match="nothing is due by 2026-09-30"):
        app.create_payment_run(FINANCE, SEPTEMBER)


def test_a_held_instalment_joins_a_run_once_its_hold_is_lifted(app):
    world(app)
    request_id = award(app, held_instalments=[{"number": 1, "condition": "a reviewed provision plan"}])
    first = app.create_payment_run(FINANCE, SEPTEMBER)
    app.lift_hold(LEAD, request_id, 1, "Reviewed.")

    second = app.create_payment_run(FINANCE, SEPTEMBER)

    assert [line.instalment for line in first.lines] == [2]
    assert [line.instalment for line in second.lines] == [1]


def test_cancelling_a_run_makes_its_unpaid_instalments_due_again(app, tmp_path):
    world(app)
    award(app)
    run = app.create_payment_run(FINANCE, SEPTEMBER)
    remittance = remittance_from(write_run_file(app, 1, tmp_path), tmp_path, change=lambda rows: rows.pop())
    app.import_remittance(FINANCE, remittance.read_bytes())

    cancelled = app.cancel_payment_run(FINANCE, run.number, "The bank returned line 2.")

    assert (cancelled.status, cancelled.line_status(1), cancelled.line_status(2)) == ("cancelled", "paid", "withdrawn")
    again = app.create_payment_run(FINANCE, SEPTEMBER)
    assert [(line.instalment, line.amount) for line in again.lines] == [(2, Money.parse("400.00"))]
    with writes_nothing(app), pytest.raises(RunNotOpen):
        app.cancel_payment_run(FINANCE, run.number, "Twice.")
    assert instalments_reconcile(app)


def test_runs_are_listed_newest_first_a_page_at_a_time(app):
    world(app)
    for month in ("04", "05", "06"):
        award(app)
        app.create_payment_run(FINANCE, f"2026-{month}-30")

    first = app.payment_runs(FINANCE, limit=2)
    second = app.payment_runs(FINANCE, limit=2, cursor=first.next_cursor)

    assert [run.number for run in first.items] == [3, 2] and [run.number for run in second.items] == [1]
    assert second.next_cursor is None
    assert app.payment_run(FINANCE, "2").number == 2


@pytest.mark.parametrize("number", ["0", "7", "-1", "1e3", "x", "1000000"])
def test_a_run_that_does_not_exist_is_not_found(app, number):
    with pytest.raises(NotFound):
        app.payment_run(FINANCE, number)


def test_only_finance_lists_creates_reads_or_cancels_runs(app):
    world(app)
    award(app)
    with writes_nothing(app):
        for actor in (COUNCIL, LEAD, HEAD):
            with pytest.raises(NotPermitted):
                app.instalments_due(actor, SEPTEMBER)
            with pytest.raises(NotPermitted):
                app.create_payment_run(actor, SEPTEMBER)
            with pytest.raises(NotPermitted):
                app.import_remittance(actor, b"reference,amount,date\n")
            with pytest.raises(NotPermitted):
                app.payment_runs(actor)


@pytest.mark.parametrize(
    "filters",
    [{"due_by": "30/09/2026"}, {"due_by": "2026-02-30"}, {"funded_by": "academy"}, {"cluster_id": "Not A Slug"},
     {"financial_year": "2026-28"}],
)  # fmt: skip
def test_a_bad_selection_is_refused_and_writes_nothing(app, filters):
    world(app)
    award(app)
    selection = {"due_by": SEPTEMBER, **filters}
    with writes_nothing(app), pytest.raises(InvalidValue):
        app.create_payment_run(FINANCE, selection.pop("due_by"), **selection)


def test_the_run_file_has_the_configured_headings_and_cost_centres(database_url, tmp_path):
    settings = Settings(
        database_url=database_url,
        payment_run_columns='{"line_reference": "Our Ref", "amount": "Net Amount", "payee_urn": "Supplier"}',
        cost_centres='{"clusters": {"northmere-coast": "SEN-NC-01"}, "council": "SEN-COUNCIL"}',
    )
    app = bootstrap(settings)
    try:
        world(app)
        award(app)
        council_award(app)
        app.create_payment_run(FINANCE, SEPTEMBER)
        with write_run_file(app, 1, tmp_path).open(newline="", encoding="utf-8") as written:
            header, *lines = list(csv.reader(written))
    finally:
        app.close()

    assert header == ["Our Ref", "Net Amount", "Supplier", "payee_name", "award_reference", "cost_centre", "due_date"]
    assert [line[0] for line in lines] == ["PR-000001-0001", "PR-000001-0002", "PR-000001-0003"]
    assert {line[5] for line in lines} == {"SEN-NC-01", "SEN-COUNCIL"}
    assert sorted(line[1] for line in lines) == ["400.00", "500.00", "600.00"]


# ================================================================================================
# The round trip through files
# ================================================================================================


def test_a_run_and_its_remittance_round_trip_through_files(app, tmp_path):
    world(app)
    first, second = award(app), award(app, "900.00")
    run = app.create_payment_run(FINANCE, SEPTEMBER)
    run_file = write_run_file(app, run.number, tmp_path)
    remittance = remittance_from(run_file, tmp_path)

    report = app.import_remittance(FINANCE, remittance.read_bytes())

    assert report.lines_read == 4 and report.reported == []
    assert [(line.line, line.reference) for line in report.paid] == [
        (2, "PR-000001-0001"), (3, "PR-000001-0002"), (4, "PR-000001-0003"), (5, "PR-000001-0004")
    ]  # fmt: skip
    assert report.total_paid == Money.parse("1575.00")  # 500 + 400 + 375 + 300
    paid = instalment(app, first, 2)
    assert (paid.paid, paid.unpaid) == (Money.parse("400.00"), Money.zero())
    payments = [event for event in app.events.get(second) if isinstance(event, FundingRequest.PaymentRecorded)]
    assert [(payment.paid_on, payment.instalments) for payment in payments] == [
        (date(2026, 9, 7), [InstalmentAmount(1, Money.parse("375.00"))]),
        (date(2026, 9, 7), [InstalmentAmount(2, Money.parse("300.00"))]),
    ]
    references = {(line.request_id, line.instalment): line.reference for line in report.paid}
    assert [payment.reference for payment in payments] == [references[(second, 1)], references[(second, 2)]]
    assert app.repository.get(second).amount_paid == Money.parse("675.00")
    assert budget_paid(app) == Money.parse("1575.00")
    assert app.payment_run(FINANCE, 1).status == "paid"
    assert report.remittance_id is not None
    assert app.remittance_report(FINANCE, report.remittance_id) == report
    assert instalments_reconcile(app)


def test_a_remittance_line_with_an_unknown_reference_or_a_wrong_amount_is_reported_and_records_nothing(app, tmp_path):
    world(app)
    award(app)
    run_file = write_run_file(app, app.create_payment_run(FINANCE, SEPTEMBER).number, tmp_path)

    def unknown_and_wrong(rows: list[list[str]]) -> None:
        rows[1][1] = "399.99"  # the 400.00 line
        rows.append(["PR-000009-0001", "500.00", REMITTANCE_DATE])
        rows.append(["BACS-REF-77", "12.00", REMITTANCE_DATE])

    report = app.import_remittance(FINANCE, remittance_from(run_file, tmp_path, change=unknown_and_wrong).read_bytes())

    assert [(line.line, line.reference) for line in report.paid] == [(2, "PR-000001-0001")]
    assert [(problem.line, problem.reference, problem.reason) for problem in report.reported] == [
        (3, "PR-000001-0002", "the amount 399.99 is not the 400.00 of the run line"),
        (4, "PR-000009-0001", "the reference matches no payment run line"),
        (5, "BACS-REF-77", "the reference matches no payment run line"),
    ]
    assert budget_paid(app) == Money.parse("500.00")
    run = app.payment_run(FINANCE, 1)
    assert (run.line_status(1), run.line_status(2)) == ("paid", "awaiting")
    assert instalments_reconcile(app)


def test_a_remittance_that_pays_nothing_writes_nothing(app, tmp_path):
    world(app)
    award(app)
    run_file = write_run_file(app, app.create_payment_run(FINANCE, SEPTEMBER).number, tmp_path)
    remittance = remittance_from(run_file, tmp_path, change=lambda rows: [row.__setitem__(1, "1.00") for row in rows])

    with writes_nothing(app):
        report = app.import_remittance(FINANCE, remittance.read_bytes())

    assert report.paid == [] and report.remittance_id is None
    assert [problem.line for problem in report.reported] == [2, 3]


def test_importing_the_same_remittance_twice_records_nothing_the_second_time(app, tmp_path):
    world(app)
    award(app)
    run_file = write_run_file(app, app.create_payment_run(FINANCE, SEPTEMBER).number, tmp_path)
    data = remittance_from(run_file, tmp_path).read_bytes()
    first = app.import_remittance(FINANCE, data)

    with writes_nothing(app):
        second = app.import_remittance(FINANCE, data)

    assert len(first.paid) == 2 and second.paid == []
    assert [(problem.line, problem.reason) for problem in second.reported] == [
        (2, "already paid on 2026-09-07"),
        (3, "already paid on 2026-09-07"),
    ]
    assert budget_paid(app) == Money.parse("900.00")


def test_a_line_whose_instalment_was_held_or_given_back_since_the_run_records_nothing(app, tmp_path):
    world(app)
    held, released = award(app), award(app)
    run = app.create_payment_run(FINANCE, SEPTEMBER)
    run_file = write_run_file(app, run.number, tmp_path)
    app.hold_instalment(LEAD, held, 2, "the autumn review")
    app.release_award(LEAD, released, "provision_ended", "Ended in the summer.")

    report = app.import_remittance(FINANCE, remittance_from(run_file, tmp_path).read_bytes())

    reference = {(line.request_id, line.instalment): run.line_reference(line.line) for line in run.lines}
    reasons = {(problem.reference, problem.reason) for problem in report.reported}
    assert reasons == {
        (reference[(held, 2)], "instalment 2 is held until the autumn review"),
        (reference[(released, 1)], "the award is released: nothing of it is payable"),
        (reference[(released, 2)], "the award is released: nothing of it is payable"),
    }
    assert [line.reference for line in report.paid] == [reference[(held, 1)]]
    assert instalment(app, held, 2).paid == Money.zero()
    assert instalments_reconcile(app)


def test_a_line_of_a_cancelled_run_records_nothing(app, tmp_path):
    world(app)
    award(app)
    run_file = write_run_file(app, app.create_payment_run(FINANCE, SEPTEMBER).number, tmp_path)
    app.cancel_payment_run(FINANCE, 1, "Never sent to the bank.")

    with writes_nothing(app):
        report = app.import_remittance(FINANCE, remittance_from(run_file, tmp_path).read_bytes())

    assert {problem.reason for problem in report.reported} == {
        "payment run PR-000001 was cancelled, so this line was withdrawn"
    }


def test_a_council_award_is_paid_from_the_council_fund(app, tmp_path):
    world(app)
    request_id = council_award(app)
    run_file = write_run_file(app, app.create_payment_run(FINANCE, SEPTEMBER, funded_by="council").number, tmp_path)

    report = app.import_remittance(FINANCE, remittance_from(run_file, tmp_path).read_bytes())

    assert [line.request_id for line in report.paid] == [request_id]
    fund = app.repository.get(CouncilFund.id_for(FinancialYear.parse(YEAR)))
    assert fund.paid == Money.parse("600.00")


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"ref,amount,date\nPR-000001-0001,1.00,2026-09-07\n", "missing reference"),
        (b"reference,amount,amount,date\n", "amount more than once"),
        (b"\xff\xfe", "not UTF-8"),
        (b'reference,amount,date\n"PR-000001-0001,1.00\n', "not valid CSV"),
    ],
)
def test_a_file_that_is_not_a_remittance_is_refused_whole(app, data, why):
    world(app)
    with writes_nothing(app), pytest.raises(ImportRefused, match=why):
        app.import_remittance(FINANCE, data)


def test_unreadable_remittance_rows_are_reported_by_line_and_the_rest_still_pay(app, tmp_path):
    world(app)
    award(app)
    run_file = write_run_file(app, app.create_payment_run(FINANCE, SEPTEMBER).number, tmp_path)
    lines = run_file.read_text(encoding="utf-8").splitlines()[1:]
    first_reference = lines[0].rsplit(",", 1)[1]
    second_reference = lines[1].rsplit(",", 1)[1]
    text = (
        "Amount,Date,Reference,Bank note\n"
        f"£500.00,07/09/2026,{first_reference.lower()},ok\n"
        f"400.00,2026-02-30,{second_reference},bad date\n"
        f"400,2026-09-07,,no reference\n"
        f"400.00,2026-09-07,{second_reference},a note,and more\n"
        f"four hundred,2026-09-07,{second_reference},words\n"
        f'"1,000.00",2026-09-07,{second_reference},thousands\n'
    )

    report = app.import_remittance(FINANCE, text.encode())

    assert [(line.line, line.paid_on) for line in report.paid] == [(2, date(2026, 9, 7))]
    assert [(problem.line, problem.reason.split(" ")[:2]) for problem in report.reported] == [
        (3, ["the", "date"]),
        (4, ["the", "reference"]),
        (5, ["expected", "4"]),
        (6, ["the", "amount:"]),
        (7, ["the", "amount"]),
    ]
    assert report.reported[-1].reason == "the amount 1000.00 is not the 400.00 of the run line"


# ================================================================================================
# Races: two officers, one set of instalments
# ================================================================================================


def race(apps: list[FundingApplication], due_by: str) -> list[PaymentRun | Exception]:
    barrier = threading.Barrier(len(apps))
    results: list[PaymentRun | Exception] = [Exception("not run")] * len(apps)

    def create(index: int) -> None:
        barrier.wait()
        try:
            results[index] = apps[index].create_payment_run(FINANCE, due_by)
        except Conflict as refused:
            results[index] = refused

    threads = [threading.Thread(target=create, args=(index,)) for index in range(len(apps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_officers_creating_runs_at_once_never_put_an_instalment_in_two_runs(make_app):
    first = make_app()
    world(first)
    for _ in range(6):
        award(first)
    officers = [make_app(), make_app(), first]  # three processes: each decides on its own reads

    taken: list[tuple[str, int]] = []
    for due_by in ("2026-04-30", SEPTEMBER, "2027-03-31"):
        results = race(officers, due_by)
        runs = [result for result in results if isinstance(result, PaymentRun)]
        refusals = [result for result in results if not isinstance(result, PaymentRun)]
        assert runs, results
        assert all(isinstance(refused, NothingDue) for refused in refusals), refusals
        for run in runs:
            taken += sorted(run_keys(run))

    assert len(taken) == len(set(taken)) == 18
    numbers = [run.number for run in first.payment_runs(FINANCE, limit=10).items]
    assert numbers == list(range(len(numbers), 0, -1))
    assert instalments_reconcile(first)
    assert log_position(first) > 0
