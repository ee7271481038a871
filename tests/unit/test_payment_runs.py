"""Payment runs, the book of open runs, remittance rules, and the run file's settings: domain rules."""

from __future__ import annotations

import copy
from datetime import date
from uuid import UUID, uuid4

import pytest

from domain.awards import DEFAULT_TERMS, Award, InstalmentAmount
from domain.errors import InvalidValue
from domain.money import Money
from domain.payment_files import DEFAULT_HEADINGS, FIELDS, CostCentres, RunFileColumns
from domain.payment_runs import (
    RUN_BOOK_ID,
    InstalmentInOpenRun,
    InstalmentKey,
    LinePayment,
    NothingDue,
    PaymentRun,
    PaymentRunBook,
    RunLine,
    RunNotOpen,
    RunSelection,
    line_reference,
    parse_line_reference,
    run_reference,
)
from domain.remittances import Remittance, RemittanceProblem, why_not_payable
from domain.values import Actor, ClusterId, FinancialYear, RequestStatus, SchoolUrn

FINANCE = Actor.finance("finance-officer-1")
YEAR = FinancialYear.parse("2026-27")
CLUSTER = ClusterId("northmere-coast")
SELECTION = RunSelection(date(2026, 9, 30), None, None, None)
APPROVED = RequestStatus.CLUSTER_APPROVED


def line(number: int, request_id: UUID | None = None, instalment: int = 1, amount: str = "500.00") -> RunLine:
    return RunLine(
        number,
        request_id or uuid4(),
        instalment,
        Money.parse(amount),
        date(2026, 9, 1),
        YEAR,
        "cluster",
        CLUSTER,
        SchoolUrn("900001"),
        "Northmere Primary School",
        "CC-100",
    )


def a_run(*lines: RunLine) -> tuple[PaymentRunBook, PaymentRun]:
    book = PaymentRunBook.start(FINANCE)
    return book, book.open_run(SELECTION, list(lines or (line(1), line(2))), FINANCE)


def award() -> Award:
    """1,200.00 termly over 2026-27: 500.00 (summer), 400.00 (autumn), 300.00 (spring)."""
    return DEFAULT_TERMS.award_for(Money.parse("1200.00"), YEAR)


def replayed(aggregate):
    events = aggregate.collect_events()
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    return rebuilt


# ================================================================================================
# References
# ================================================================================================


def test_a_line_reference_names_its_run_and_line_and_fits_a_bacs_reference():
    reference = line_reference(12, 3)

    assert reference == "PR-000012-0003"
    assert run_reference(12) == "PR-000012"
    assert len(line_reference(999_999, 9_999)) <= 18
    assert parse_line_reference(reference) == (12, 3)


@pytest.mark.parametrize("text", [" pr-000012-0003 ", "PR-000012-0003\n"])
def test_a_reference_the_bank_printed_in_capitals_or_padded_still_reads(text):
    assert parse_line_reference(text) == (12, 3)


@pytest.mark.parametrize("text", ["", "PR-12-3", "PR-000012", "PR-000012-00003", "BACS-0001", "PR-00001A-0003"])
def test_anything_else_is_not_a_run_line_reference(text):
    assert parse_line_reference(text) is None


# ================================================================================================
# The book: numbering, and an instalment in one open run at most
# ================================================================================================


def test_runs_are_numbered_one_after_another_with_ids_from_their_numbers():
    book = PaymentRunBook.start(FINANCE)
    first = book.open_run(SELECTION, [line(1)], FINANCE)
    second = book.open_run(SELECTION, [line(1)], FINANCE)

    assert (first.number, second.number) == (1, 2)
    assert first.id == PaymentRun.id_for(1) and second.id == PaymentRun.id_for(2)
    assert book.id == RUN_BOOK_ID
    assert second.reference == "PR-000002"


def test_a_run_records_exactly_its_lines_and_the_book_takes_their_instalments():
    lines = [line(1), line(2, instalment=2)]
    book, run = a_run(*lines)

    assert run.lines == lines
    assert run.total == Money.parse("1000.00")
    assert run.status == "open"
    assert {book.run_holding(one.key) for one in lines} == {1}
    assert [type(event).__name__ for event in book.collect_events()] == ["Started", "RunOpened"]


def test_an_instalment_in_an_open_run_is_refused_a_second_run():
    taken = line(1)
    book, _ = a_run(taken)

    with pytest.raises(InstalmentInOpenRun, match="PR-000001"):
        book.open_run(SELECTION, [line(1), line(2, taken.request_id, taken.instalment)], FINANCE)
    assert book.last_number == 1


def test_a_run_with_nothing_in_it_is_not_made():
    book = PaymentRunBook.start(FINANCE)

    with pytest.raises(NothingDue, match="2026-09-30"):
        book.open_run(SELECTION, [], FINANCE)


@pytest.mark.parametrize(
    "lines",
    [
        [line(2)],  # not numbered from 1
        [line(1), line(1)],  # numbered twice
    ],
)
def test_lines_are_numbered_one_two_three(lines):
    with pytest.raises(InvalidValue, match="numbered"):
        PaymentRunBook.start(FINANCE).open_run(SELECTION, lines, FINANCE)


def test_one_instalment_on_two_lines_of_a_run_is_refused():
    once = line(1)
    with pytest.raises(InvalidValue, match="one line"):
        PaymentRunBook.start(FINANCE).open_run(SELECTION, [once, line(2, once.request_id)], FINANCE)


def test_a_run_selection_names_a_known_funder():
    with pytest.raises(InvalidValue, match="funded_by"):
        RunSelection(date(2026, 9, 30), "academy", None, None)


# ================================================================================================
# Paying lines, cancelling runs
# ================================================================================================


def test_paying_a_line_records_when_and_frees_its_instalment_from_the_book():
    first, second = line(1), line(2)
    book, run = a_run(first, second)
    remittance_id = uuid4()

    run.pay_lines([LinePayment(1, date(2026, 9, 7))], remittance_id, FINANCE, book)

    assert run.paid_on(1) == date(2026, 9, 7)
    assert run.line_status(1) == "paid" and run.line_status(2) == "awaiting"
    assert run.status == "open"
    assert book.run_holding(first.key) is None and book.run_holding(second.key) == 1
    (_, paid_event) = run.collect_events()
    assert isinstance(paid_event, PaymentRun.LinesPaid) and paid_event.remittance_id == remittance_id


def test_a_run_whose_every_line_is_paid_is_paid():
    book, run = a_run(line(1))

    run.pay_lines([LinePayment(1, date(2026, 9, 7))], uuid4(), FINANCE, book)

    assert run.status == "paid" and run.awaiting == []


def test_a_paid_line_is_not_paid_again():
    book, run = a_run(line(1), line(2))
    run.pay_lines([LinePayment(1, date(2026, 9, 7))], uuid4(), FINANCE, book)

    with pytest.raises(RunNotOpen, match="already paid on 2026-09-07"):
        run.pay_lines([LinePayment(1, date(2026, 9, 8))], uuid4(), FINANCE, book)
    with pytest.raises(InvalidValue, match="paid once"):
        run.pay_lines([LinePayment(2, date(2026, 9, 8))] * 2, uuid4(), FINANCE, book)
    with pytest.raises(InvalidValue, match="no line 3"):
        run.pay_lines([LinePayment(3, date(2026, 9, 8))], uuid4(), FINANCE, book)


def test_cancelling_withdraws_the_unpaid_lines_and_frees_them_for_another_run():
    paid, unpaid = line(1), line(2)
    book, run = a_run(paid, unpaid)
    run.pay_lines([LinePayment(1, date(2026, 9, 7))], uuid4(), FINANCE, book)

    run.cancel("The bank refused the file.", FINANCE, book)

    assert run.status == "cancelled"
    assert run.line_status(1) == "paid" and run.line_status(2) == "withdrawn"
    cancelled = run.collect_events()[-1]
    assert isinstance(cancelled, PaymentRun.Cancelled) and cancelled.withdrawn == [unpaid.key]
    assert book.run_holding(unpaid.key) is None
    again = book.open_run(SELECTION, [line(1, unpaid.request_id, unpaid.instalment)], FINANCE)
    assert again.number == 2


def test_a_withdrawn_line_cannot_be_paid():
    book, run = a_run(line(1))
    run.cancel("Never sent.", FINANCE, book)

    with pytest.raises(RunNotOpen, match="cancelled"):
        run.pay_lines([LinePayment(1, date(2026, 9, 7))], uuid4(), FINANCE, book)


def test_a_run_is_cancelled_once_and_not_when_everything_is_paid():
    book, run = a_run(line(1))
    run.cancel("Never sent.", FINANCE, book)
    with pytest.raises(RunNotOpen, match="already cancelled"):
        run.cancel("Again.", FINANCE, book)

    book, paid = a_run(line(1))
    paid.pay_lines([LinePayment(1, date(2026, 9, 7))], uuid4(), FINANCE, book)
    with pytest.raises(RunNotOpen, match="nothing to cancel"):
        paid.cancel("Too late.", FINANCE, book)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201, "line\x00break"])
def test_a_cancellation_gives_a_reason(reason):
    book, run = a_run(line(1))
    with pytest.raises(InvalidValue, match="reason"):
        run.cancel(reason, FINANCE, book)
    assert run.status == "open"


def test_replaying_a_runs_and_the_books_events_rebuilds_them():
    book, run = a_run(line(1), line(2))
    run.pay_lines([LinePayment(2, date(2026, 9, 7))], uuid4(), FINANCE, book)
    run.cancel("Line one bounced.", FINANCE, book)
    expected_book, expected_run = copy.deepcopy(vars(book)), copy.deepcopy(vars(run))

    assert vars(replayed(run)) == {**expected_run, "_pending_events": []}
    assert vars(replayed(book)) == {**expected_book, "_pending_events": []}


# ================================================================================================
# What a remittance line may pay
# ================================================================================================


def award_run() -> tuple[PaymentRunBook, PaymentRun]:
    """A run of one line: instalment 2 (400.00) of ``award()``."""
    return a_run(line(1, instalment=2, amount="400.00"))


def test_a_remittance_line_for_the_lines_amount_of_a_payable_instalment_pays_it():
    _, run = award_run()

    assert why_not_payable(run, 1, Money.parse("400.00"), APPROVED, award()) is None


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("399.99", "the amount 399.99 is not the 400.00"), ("400.01", "the amount 400.01 is not the 400.00")],
)
def test_another_amount_than_the_lines_pays_nothing(amount, expected):
    _, run = award_run()

    assert expected in str(why_not_payable(run, 1, Money.parse(amount), APPROVED, award()))


def test_a_line_the_run_does_not_have_pays_nothing():
    _, run = award_run()

    assert why_not_payable(run, 2, Money.parse("400.00"), APPROVED, award()) == "payment run PR-000001 has no line 2"


def test_a_paid_or_withdrawn_line_pays_nothing():
    book, run = award_run()
    run.pay_lines([LinePayment(1, date(2026, 9, 7))], uuid4(), FINANCE, book)
    assert why_not_payable(run, 1, Money.parse("400.00"), APPROVED, award()) == "already paid on 2026-09-07"

    book, run = award_run()
    run.cancel("Never sent.", FINANCE, book)
    assert "was cancelled" in str(why_not_payable(run, 1, Money.parse("400.00"), APPROVED, award()))


def test_a_held_instalment_pays_nothing():
    _, run = award_run()
    held = award().holding(2, "a reviewed provision plan")

    assert why_not_payable(run, 1, Money.parse("400.00"), APPROVED, held) == (
        "instalment 2 is held until a reviewed provision plan"
    )


def test_a_released_instalment_pays_nothing():
    _, run = award_run()
    released = award().releasing(award().release_parts(Money.parse("700.00")))

    assert "instalment 2 was cancelled" in str(why_not_payable(run, 1, Money.parse("400.00"), APPROVED, released))
    whole = award().releasing(award().release_parts(None))
    assert why_not_payable(run, 1, Money.parse("400.00"), RequestStatus.RELEASED, whole) == (
        "the award is released: nothing of it is payable"
    )


def test_an_instalment_paid_by_hand_meanwhile_pays_nothing_more():
    _, run = award_run()
    partly = award().paying([InstalmentAmount(2, Money.parse("100.00"))])

    assert why_not_payable(run, 1, Money.parse("400.00"), APPROVED, partly) == "only 300.00 of instalment 2 is unpaid"


def test_a_remittance_is_recorded_only_when_it_paid_something():
    with pytest.raises(InvalidValue, match="paid something"):
        Remittance.record("ab" * 32, 1, [], [RemittanceProblem(2, "PR-000001-0001", "why")], FINANCE)


# ================================================================================================
# The run file's columns and cost centres (settings)
# ================================================================================================


def test_the_default_columns_are_every_field_in_order():
    columns = RunFileColumns.parse("{}")

    assert columns.fields == list(FIELDS)
    assert columns.headings == list(DEFAULT_HEADINGS.values())


def test_named_columns_come_first_in_the_settings_order_with_their_headings():
    columns = RunFileColumns.parse('{"amount": "Net Amount", "payee_urn": "Supplier Ref"}')

    assert columns.fields[:2] == ["amount", "payee_urn"]
    assert columns.headings[:2] == ["Net Amount", "Supplier Ref"]
    assert sorted(columns.fields) == sorted(FIELDS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[]", "JSON object"),
        ("not json", "JSON object"),
        ('{"pupil_name": "x"}', "names no field 'pupil_name'"),
        ('{"amount": 5}', "must be text"),
        ('{"amount": ""}', "must not be blank"),
        ('{"amount": "due_date"}', "both have the heading"),
    ],
)
def test_bad_column_settings_are_refused_with_the_reason(text, expected):
    with pytest.raises(InvalidValue, match=expected):
        RunFileColumns.parse(text)


def test_an_award_is_booked_to_its_clusters_cost_centre_or_the_councils():
    centres = CostCentres.parse('{"clusters": {"northmere-coast": "CC-100"}, "council": "CC-900"}')

    assert centres.for_award("cluster", CLUSTER) == "CC-100"
    assert centres.for_award("council", CLUSTER) == "CC-900"
    assert centres.for_award("cluster", ClusterId("fenwick-broads")) == "fenwick-broads"
    assert CostCentres.parse("{}").for_award("council", CLUSTER) == "council"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"clusters": []}', "clusters must be a JSON object"),
        ('{"clusters": {"Not A Slug": "CC"}}', "cluster id"),
        ('{"clusters": {"northmere-coast": 1}}', "must be text"),
        ('{"default": "CC"}', "not 'default'"),
        ('{"council": " "}', "must not be blank"),
    ],
)
def test_bad_cost_centre_settings_are_refused_with_the_reason(text, expected):
    with pytest.raises(InvalidValue, match=expected):
        CostCentres.parse(text)


def test_an_instalment_key_reads_as_its_request_and_number():
    request_id = uuid4()
    assert str(InstalmentKey(request_id, 3)) == f"{request_id.hex}/3"
