"""Award periods and instalment schedules: pro rata by days, to the penny, the remainder on the last.

Beside the worked examples, a property compares ``instalments_for`` with an oracle that shares no
code with it: it walks the period a day at a time, counts the days of each term or month it covers,
and divides the amount by those counts.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import AmountNotAllowed, InvalidValue
from domain.money import MAX_AMOUNT, Money
from domain.schedules import DEFAULT_SHARES, AwardPeriod, ScheduleKind, TermShares, instalments_for
from domain.values import FinancialYear

FY = FinancialYear.parse
TERMLY, MONTHLY, SINGLE = ScheduleKind.TERMLY, ScheduleKind.MONTHLY, ScheduleKind.SINGLE
ACADEMIC_YEAR = AwardPeriod(date(2026, 9, 1), date(2027, 8, 31))


def pence(instalments) -> list[int]:
    return [instalment.amount.pence for instalment in instalments]


def due(instalments) -> list[date]:
    return [instalment.due_on for instalment in instalments]


# ---------------------------------------------------------------------------------------------
# Term shares and award periods
# ---------------------------------------------------------------------------------------------


def test_term_shares_default_to_norfolks_four_three_five():
    assert (DEFAULT_SHARES.autumn, DEFAULT_SHARES.spring, DEFAULT_SHARES.summer) == (4, 3, 5)
    assert TermShares.parse(" 2, 2 ,2") == TermShares(2, 2, 2)
    assert str(TermShares.parse(str(DEFAULT_SHARES))) == "4,3,5"


@pytest.mark.parametrize("text", ["4,3", "4,3,5,1", "4,0,5", "4,-3,5", "4,3.5,5", "a,b,c", ""])
def test_term_shares_are_three_positive_whole_numbers(text):
    with pytest.raises(InvalidValue):
        TermShares.parse(text)


def test_an_award_period_may_not_end_before_it_starts():
    with pytest.raises(InvalidValue, match="end before"):
        AwardPeriod(date(2026, 9, 2), date(2026, 9, 1))


def test_an_award_period_is_at_most_a_year_long():
    AwardPeriod(date(2026, 9, 1), date(2027, 8, 31))  # 365 days: a year
    with pytest.raises(InvalidValue, match="at most a year"):
        AwardPeriod(date(2026, 9, 1), date(2027, 9, 1))


def test_a_year_from_29_february_ends_on_28_february():
    AwardPeriod(date(2028, 2, 29), date(2029, 2, 28))  # 366 days, all of one leap year
    with pytest.raises(InvalidValue, match="at most a year"):
        AwardPeriod(date(2028, 2, 29), date(2029, 3, 1))


def test_an_award_period_is_read_from_iso_dates_and_nothing_else():
    assert AwardPeriod.parse({"starts_on": "2026-09-01", "ends_on": "2027-08-31"}) == ACADEMIC_YEAR
    for bad in (
        {"starts_on": "2026-09-01"},
        {"starts_on": "2026-09-01", "ends_on": "2027-08-31", "extra": 1},
        {"starts_on": "2026-9-1", "ends_on": "2027-08-31"},
        {"starts_on": "2026-02-30", "ends_on": "2027-08-31"},
        {"starts_on": 20260901, "ends_on": "2027-08-31"},
        "2026-09-01 to 2027-08-31",
    ):
        with pytest.raises(InvalidValue):
            AwardPeriod.parse(bad)  # type: ignore[arg-type]


def test_an_academic_year_touches_two_financial_years_and_a_financial_year_one():
    assert ACADEMIC_YEAR.financial_years() == [FY("2026-27"), FY("2027-28")]
    assert AwardPeriod.whole_year(FY("2026-27")).financial_years() == [FY("2026-27")]


# ---------------------------------------------------------------------------------------------
# Termly
# ---------------------------------------------------------------------------------------------


def test_termly_over_a_whole_academic_year_pays_exactly_four_three_and_five_twelfths():
    instalments = instalments_for(Money(1_200_000), ACADEMIC_YEAR, TERMLY)
    assert pence(instalments) == [400_000, 300_000, 500_000]
    assert due(instalments) == [date(2026, 9, 1), date(2027, 1, 1), date(2027, 4, 1)]
    assert [i.number for i in instalments] == [1, 2, 3]
    # Autumn and spring are paid from the year the award starts in, summer from the next.
    assert [i.financial_year for i in instalments] == [FY("2026-27"), FY("2026-27"), FY("2027-28")]


def test_termly_shares_of_an_amount_twelve_does_not_divide_round_down_and_the_summer_term_takes_the_rest():
    instalments = instalments_for(Money(10_000), ACADEMIC_YEAR, TERMLY)  # 100.00
    # 4/12 of 100.00 is 33.333..., 3/12 is 25.00; the last term takes what is left.
    assert pence(instalments) == [3_333, 2_500, 4_167]


def test_termly_over_a_whole_financial_year_starts_with_the_summer_term():
    instalments = instalments_for(Money(1_200_000), AwardPeriod.whole_year(FY("2026-27")), TERMLY)
    assert due(instalments) == [date(2026, 4, 1), date(2026, 9, 1), date(2027, 1, 1)]
    assert pence(instalments) == [500_000, 400_000, 300_000]
    assert {i.financial_year for i in instalments} == {FY("2026-27")}


def test_other_term_shares_divide_the_year_their_way():
    instalments = instalments_for(Money(900_000), ACADEMIC_YEAR, TERMLY, TermShares(1, 1, 1))
    assert pence(instalments) == [300_000, 300_000, 300_000]


def test_a_part_term_weighs_its_share_by_the_days_it_covers():
    # From 15 October: 78 of the autumn term's 122 days, then spring and summer whole.
    period = AwardPeriod(date(2026, 10, 15), date(2027, 8, 31))
    autumn, spring, summer = Fraction(4 * 78, 122), Fraction(3), Fraction(5)
    total = autumn + spring + summer
    amount = 1_000_000
    instalments = instalments_for(Money(amount), period, TERMLY)
    first, second = int(amount * autumn / total), int(amount * spring / total)
    assert pence(instalments) == [first, second, amount - first - second]
    assert due(instalments) == [date(2026, 10, 15), date(2027, 1, 1), date(2027, 4, 1)]


def test_a_part_term_at_the_end_weighs_its_days_too():
    # Autumn whole (4) and the first 31 of spring's 90 days (3 x 31/90).
    period = AwardPeriod(date(2026, 9, 1), date(2027, 1, 31))
    instalments = instalments_for(Money(100_000), period, TERMLY)
    total = 4 + Fraction(3 * 31, 90)
    assert pence(instalments) == [int(100_000 * 4 / total), 100_000 - int(100_000 * 4 / total)]


def test_spring_has_ninety_one_days_in_a_leap_year():
    both = AwardPeriod(date(2027, 12, 1), date(2028, 1, 31))  # 31 of autumn's 122; 31 of spring's 91
    instalments = instalments_for(Money(1_000_000), both, TERMLY)
    autumn, spring = Fraction(4 * 31, 122), Fraction(3 * 31, 91)
    first = int(1_000_000 * autumn / (autumn + spring))
    assert pence(instalments) == [first, 1_000_000 - first]


# ---------------------------------------------------------------------------------------------
# Monthly
# ---------------------------------------------------------------------------------------------


def test_monthly_over_a_whole_year_pays_twelve_instalments_on_the_first_of_each_month():
    instalments = instalments_for(Money(1_200_000), AwardPeriod.whole_year(FY("2026-27")), MONTHLY)
    assert pence(instalments) == [100_000] * 12
    assert due(instalments) == [date(2026 + (m < 4), m, 1) for m in [4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]]


def test_monthly_part_months_are_pro_rata_by_days_on_roll():
    # 16 of September's 30 days, all of October, 10 of November's 30: weights 16/30, 1, 10/30.
    period = AwardPeriod(date(2026, 9, 15), date(2026, 11, 10))
    instalments = instalments_for(Money(56_000), period, MONTHLY)
    assert pence(instalments) == [16_000, 30_000, 10_000]
    assert due(instalments) == [date(2026, 9, 15), date(2026, 10, 1), date(2026, 11, 1)]


def test_a_day_of_february_weighs_a_twenty_ninth_in_a_leap_year_and_a_twenty_eighth_otherwise():
    leap = instalments_for(Money(2_900), AwardPeriod(date(2028, 2, 1), date(2028, 3, 1)), MONTHLY)
    common = instalments_for(Money(2_900), AwardPeriod(date(2027, 2, 1), date(2027, 3, 1)), MONTHLY)
    # February whole (1) and 1 of March's 31 days: the whole of February weighs 1 either way.
    first = int(2_900 * Fraction(31, 32))
    assert pence(leap) == pence(common) == [first, 2_900 - first]
    one_day_leap = instalments_for(Money(3_000), AwardPeriod(date(2028, 2, 29), date(2028, 3, 1)), MONTHLY)
    first = int(3_000 * Fraction(1, 29) / (Fraction(1, 29) + Fraction(1, 31)))
    assert pence(one_day_leap) == [first, 3_000 - first]


def test_monthly_instalments_across_1_april_belong_to_the_financial_year_of_their_month():
    instalments = instalments_for(Money(20_000), AwardPeriod(date(2027, 3, 1), date(2027, 4, 30)), MONTHLY)
    assert pence(instalments) == [10_000, 10_000]
    assert [i.financial_year for i in instalments] == [FY("2026-27"), FY("2027-28")]


# ---------------------------------------------------------------------------------------------
# Single, one day, tiny amounts, refusals
# ---------------------------------------------------------------------------------------------


def test_a_single_payment_is_all_of_it_on_the_first_day_even_for_a_period_across_two_years():
    (instalment,) = instalments_for(Money(123_456), ACADEMIC_YEAR, SINGLE)
    assert (instalment.number, instalment.due_on, instalment.amount) == (1, date(2026, 9, 1), Money(123_456))
    assert instalment.financial_year == FY("2026-27")


@pytest.mark.parametrize("kind", list(ScheduleKind))
def test_a_period_of_one_day_is_one_instalment_of_the_whole_amount(kind):
    (instalment,) = instalments_for(Money(77_777), AwardPeriod(date(2027, 3, 31), date(2027, 3, 31)), kind)
    assert (instalment.due_on, instalment.amount, instalment.financial_year) == (
        date(2027, 3, 31),
        Money(77_777),
        FY("2026-27"),
    )


def test_one_penny_over_twelve_months_is_one_instalment_of_one_penny_in_the_last_month():
    (instalment,) = instalments_for(Money(1), AwardPeriod.whole_year(FY("2026-27")), MONTHLY)
    assert (instalment.number, instalment.due_on, instalment.amount) == (1, date(2027, 3, 1), Money(1))


def test_eleven_pence_over_twelve_months_leaves_out_the_months_that_round_to_nothing():
    instalments = instalments_for(Money(11), AwardPeriod.whole_year(FY("2026-27")), MONTHLY)
    assert sum(pence(instalments)) == 11
    assert all(p > 0 for p in pence(instalments))
    assert [i.number for i in instalments] == list(range(1, len(instalments) + 1))


@pytest.mark.parametrize("amount", [0, -1])
def test_an_award_amount_must_be_positive(amount):
    with pytest.raises(AmountNotAllowed):
        instalments_for(Money(amount), ACADEMIC_YEAR, TERMLY)


# ---------------------------------------------------------------------------------------------
# The property: an independent day-by-day oracle
# ---------------------------------------------------------------------------------------------


def _part_key(day: date, kind: ScheduleKind) -> tuple[int, int]:
    """Which term (year, 0..2) or month (year, month) a day belongs to."""
    if kind is MONTHLY:
        return day.year, day.month
    return day.year, (1 if day.month <= 3 else 2 if day.month <= 8 else 3)


def _days_in_part(key: tuple[int, int], kind: ScheduleKind) -> int:
    year = key[0]
    day, count = date(year, 1, 1), 0
    while day.year == year:
        count += _part_key(day, kind) == key
        day += timedelta(days=1)
    return count


def oracle(amount: int, period: AwardPeriod, kind: ScheduleKind, shares: TermShares) -> list[tuple[date, int, int]]:
    """(due on, pence, financial year) of each instalment, worked out a day at a time."""
    if kind is SINGLE:
        return [(period.starts_on, amount, FinancialYear.containing(period.starts_on).start_year)]
    covered: dict[tuple[int, int], list[date]] = {}
    day = period.starts_on
    while day <= period.ends_on:
        covered.setdefault(_part_key(day, kind), []).append(day)
        day += timedelta(days=1)
    share = {1: shares.spring, 2: shares.summer, 3: shares.autumn}
    weights = {
        key: Fraction(len(days), _days_in_part(key, kind)) * (1 if kind is MONTHLY else share[key[1]])
        for key, days in covered.items()
    }
    total = sum(weights.values())
    keys = list(covered)
    amounts = [amount * weights[key] // total for key in keys[:-1]]
    amounts.append(amount - sum(amounts))
    result = []
    for key, pence_due in zip(keys, amounts, strict=True):
        days = covered[key]
        # No term or month crosses 1 April: all its days are in one financial year.
        years = {FinancialYear.containing(d).start_year for d in days}
        assert len(years) == 1
        if pence_due:
            result.append((days[0], int(pence_due), years.pop()))
    return result


periods = st.builds(
    lambda start, length: AwardPeriod(start, start + timedelta(days=length)),
    st.dates(date(2025, 4, 1), date(2032, 3, 31)),
    st.integers(0, 364),
)
amounts = st.one_of(st.integers(1, 30), st.integers(1, 10_000_000), st.integers(1, MAX_AMOUNT.pence))
shares = st.builds(TermShares, st.integers(1, 12), st.integers(1, 12), st.integers(1, 12))


@given(amount=amounts, period=periods, kind=st.sampled_from(ScheduleKind), term_shares=shares)
def test_instalments_always_add_up_to_the_amount_exactly_and_match_a_day_by_day_count(
    amount, period, kind, term_shares
):
    instalments = instalments_for(Money(amount), period, kind, term_shares)

    assert sum(pence(instalments)) == amount
    assert all(p > 0 for p in pence(instalments))
    assert [i.number for i in instalments] == list(range(1, len(instalments) + 1))
    assert due(instalments) == sorted(set(due(instalments)))
    assert all(period.starts_on <= d <= period.ends_on for d in due(instalments))
    assert {i.financial_year for i in instalments} <= set(period.financial_years())
    expected = oracle(amount, period, kind, term_shares)
    assert [(i.due_on, i.amount.pence, i.financial_year.start_year) for i in instalments] == expected
