"""Value objects: each one refuses a malformed value when made, so none can reach an aggregate."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum

import pytest

from domain.errors import InvalidValue
from domain.limits import LONG_TEXT
from domain.money import MAX_AMOUNT, Money, parse_amount, sum_money
from domain.text import check_text
from domain.values import (
    ENUMS,
    Actor,
    ClusterId,
    CommissionedService,
    CouncilDecision,
    DeclineReasonCode,
    EvidenceDocument,
    FinancialYear,
    ProvisionCategory,
    ProvisionLine,
    RequestStatus,
    Role,
    SchoolUrn,
    SpendLine,
    TopUpReason,
    check_pupil_count,
    parse_enum,
)

# ---------------------------------------------------------------------------------------------
# Money: parsing and printing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pence"),
    [
        ("1500.00", 150000),
        ("1500.5", 150050),
        ("1500", 150000),
        ("0.01", 1),
        ("0.10", 10),
        ("-12.30", -1230),
        ("9999999.99", 999999999),
        ("10000000.00", 1000000000),
    ],
)
def test_money_parses_a_decimal_string_to_exact_pence(text, pence):
    assert Money.parse(text) == Money(pence)


@pytest.mark.parametrize(
    ("text", "printed"),
    [("1500.00", "1500.00"), ("1500.5", "1500.50"), ("1500", "1500.00"), ("0.07", "0.07"), ("-0.07", "-0.07")],
)
def test_money_prints_exactly_two_decimal_places(text, printed):
    assert str(Money.parse(text)) == printed


def test_money_printed_with_two_places_round_trips_exactly():
    generator = random.Random(20260401)
    values = [0, 1, -1, 99, 100, 101, -100, 10**14, -(10**14)]
    values += [generator.randint(-(10**12), 10**12) for _ in range(2000)]
    for pence in values:
        printed = str(Money(pence))
        assert Money.parse(printed) == Money(pence), printed
        assert Decimal(printed) == Decimal(pence) / 100


def test_money_parses_a_decimal_with_at_most_two_places():
    assert Money.parse(Decimal("12.34")) == Money(1234)
    assert Money.parse(Decimal(12)) == Money(1200)


def test_money_parse_returns_a_money_unchanged():
    amount = Money(4250)
    assert Money.parse(amount) is amount


@pytest.mark.parametrize("value", [1.5, 0.1, 1500.0, float("nan"), float("inf")])
def test_money_refuses_floats(value):
    with pytest.raises(InvalidValue, match="float"):
        Money.parse(value)


def test_money_refuses_float_pence():
    with pytest.raises(InvalidValue):
        Money(150.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [True, False])
def test_money_refuses_bools(value: bool) -> None:
    with pytest.raises(InvalidValue):
        Money(value)
    with pytest.raises(InvalidValue):
        Money.parse(value)  # type: ignore[arg-type]


def test_money_parse_refuses_bare_integers():
    # Money crosses the wire as a string; an integer is a client mistake, not "pounds".
    with pytest.raises(InvalidValue):
        Money.parse(1500)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["1.001", "0.005", "1500.000", "-3.141"])
def test_money_refuses_more_than_two_decimal_places_in_a_string(value):
    with pytest.raises(InvalidValue):
        Money.parse(value)


@pytest.mark.parametrize("value", [Decimal("1.001"), Decimal("0.005"), Decimal("1.000")])
def test_money_refuses_more_than_two_decimal_places_in_a_decimal(value):
    with pytest.raises(InvalidValue):
        Money.parse(value)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_money_refuses_decimal_specials(value):
    with pytest.raises(InvalidValue):
        Money.parse(value)


@pytest.mark.parametrize(
    "value",
    [
        "1,000.00",
        "1e3",
        "1E3",
        ".5",
        "5.",
        " 5",
        "5 ",
        "+5",
        "5\n",
        "\n5",
        "",
        "-",
        "£5",
        "5p",
        "--5",
        "5.-1",
        "0x10",
        "1_000",
        "NaN",
        "Infinity",
        "1 000",
        "١٢٣",  # Arabic-Indic digits
        "１２３",  # full-width digits
    ],
)
def test_money_refuses_malformed_strings(value):
    with pytest.raises(InvalidValue):
        Money.parse(value)


def test_money_accepts_its_limit():
    assert Money(Money.LIMIT_PENCE).pence == 10**14
    assert Money(-Money.LIMIT_PENCE).pence == -(10**14)


@pytest.mark.parametrize("pence", [10**14 + 1, -(10**14) - 1, 10**30])
def test_money_refuses_absurd_sizes(pence):
    with pytest.raises(InvalidValue, match="absurdly large"):
        Money(pence)


@pytest.mark.parametrize("value", ["1000000000000.01", "9999999999999999", "-9999999999999999.99"])
def test_money_refuses_absurd_sizes_when_parsing_a_string(value):
    with pytest.raises(InvalidValue):
        Money.parse(value)


@pytest.mark.parametrize("value", ["99999999999999999", "1" + "0" * 40])
def test_money_refuses_strings_with_too_many_digits(value):
    with pytest.raises(InvalidValue):
        Money.parse(value)


def test_money_refuses_absurd_sizes_when_parsing_a_decimal():
    with pytest.raises(InvalidValue):
        Money.parse(Decimal("1E+30"))


def test_money_refuses_other_types():
    for value in (None, [1], b"15.00"):
        with pytest.raises(InvalidValue):
            Money.parse(value)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Money: arithmetic
# ---------------------------------------------------------------------------------------------


def test_money_adds_exactly_where_floats_do_not():
    assert 0.1 + 0.2 != 0.3  # the trap Money exists to avoid
    assert Money.parse("0.10") + Money.parse("0.20") == Money.parse("0.30")


def test_money_subtracts_exactly():
    assert Money.parse("1000.00") - Money.parse("999.99") == Money.parse("0.01")
    assert Money.parse("0.01") - Money.parse("0.02") == Money.parse("-0.01")


def test_money_negates():
    assert -Money.parse("12.50") == Money.parse("-12.50")
    assert -(-Money(7)) == Money(7)  # noqa: B002 - negation applied twice on purpose, not a decrement


def test_money_knows_its_sign():
    assert Money(1).is_positive and not Money(1).is_negative
    assert Money(-1).is_negative and not Money(-1).is_positive
    assert not Money.zero().is_positive and not Money.zero().is_negative


def test_money_orders_by_amount():
    assert Money.parse("0.99") < Money.parse("1.00") < Money.parse("1.01")
    assert Money.parse("-5.00") < Money.zero()
    assert max(Money(5), Money(500), Money(50)) == Money(500)


def test_money_does_not_mix_with_numbers():
    with pytest.raises(TypeError):
        Money(100) + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(100) - Decimal(1)  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(100) < 200  # type: ignore[operator]


def test_money_arithmetic_refuses_results_beyond_the_limit():
    with pytest.raises(InvalidValue):
        Money(Money.LIMIT_PENCE) + Money(1)


def test_adding_a_penny_ten_thousand_times_makes_exactly_one_hundred_pounds():
    total = Money.zero()
    penny = Money.parse("0.01")
    for _ in range(10_000):
        total = total + penny
    assert total == Money.parse("100.00")
    assert str(total) == "100.00"


def test_a_random_mix_of_adds_and_subtracts_matches_integer_arithmetic_to_the_penny():
    generator = random.Random(424242)
    total, expected_pence = Money.zero(), 0
    for _ in range(5_000):
        pence = generator.randint(1, 250_000_00)
        amount = Money.parse(f"{pence // 100}.{pence % 100:02d}")
        if generator.random() < 0.5:
            total, expected_pence = total + amount, expected_pence + pence
        else:
            total, expected_pence = total - amount, expected_pence - pence
        assert total.pence == expected_pence
    assert Decimal(str(total)) == Decimal(expected_pence) / 100


def test_sum_money_totals_exactly():
    amounts = [Money.parse("33.33")] * 3 + [Money.parse("0.01")]
    assert sum_money(amounts) == Money.parse("100.00")
    assert sum_money([]) == Money.zero()


# ---------------------------------------------------------------------------------------------
# parse_amount: the rule for every amount a command accepts
# ---------------------------------------------------------------------------------------------


def test_parse_amount_accepts_a_positive_amount():
    assert parse_amount("1500.00") == Money(150000)


@pytest.mark.parametrize("value", ["0", "0.00", "-0.00", "0.0"])
def test_parse_amount_refuses_zero(value):
    with pytest.raises(InvalidValue, match="zero"):
        parse_amount(value)


def test_parse_amount_refuses_zero_even_when_negatives_are_allowed():
    with pytest.raises(InvalidValue, match="zero"):
        parse_amount("0.00", allow_negative=True)


def test_parse_amount_refuses_a_zero_money():
    with pytest.raises(InvalidValue):
        parse_amount(Money.zero())


@pytest.mark.parametrize("value", ["-0.01", "-1500.00"])
def test_parse_amount_refuses_negatives(value):
    with pytest.raises(InvalidValue, match="positive"):
        parse_amount(value)


def test_parse_amount_accepts_a_negative_when_allowed():
    assert parse_amount("-250.00", allow_negative=True) == Money(-25000)


def test_parse_amount_accepts_exactly_ten_million():
    assert parse_amount("10000000.00") == MAX_AMOUNT == Money(10_000_000_00)


@pytest.mark.parametrize("value", ["10000000.01", "99999999.99", "1000000000000.00"])
def test_parse_amount_refuses_more_than_ten_million(value):
    with pytest.raises(InvalidValue, match="at most"):
        parse_amount(value)


def test_parse_amount_refuses_a_negative_beyond_ten_million_even_when_negatives_are_allowed():
    assert parse_amount("-10000000.00", allow_negative=True) == -MAX_AMOUNT
    with pytest.raises(InvalidValue):
        parse_amount("-10000000.01", allow_negative=True)


def test_parse_amount_names_the_field_in_its_error():
    with pytest.raises(InvalidValue, match=r"^amount_requested: "):
        parse_amount("1e3", field="amount_requested")
    with pytest.raises(InvalidValue, match=r"^amount_requested must not be zero"):
        parse_amount("0", field="amount_requested")


def test_parse_amount_refuses_a_float():
    with pytest.raises(InvalidValue):
        parse_amount(12.5)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# FinancialYear
# ---------------------------------------------------------------------------------------------


def test_financial_year_parses_the_usual_form():
    year = FinancialYear.parse("2026-27")
    assert year.start_year == 2026
    assert str(year) == "2026-27"


def test_financial_year_runs_from_first_of_april_to_thirty_first_of_march():
    year = FinancialYear.parse("2026-27")
    assert year.starts_on == date(2026, 4, 1)
    assert year.ends_on == date(2027, 3, 31)


@pytest.mark.parametrize(
    ("day", "inside"),
    [
        (date(2026, 4, 1), True),
        (date(2026, 12, 25), True),
        (date(2027, 3, 31), True),
        (date(2026, 3, 31), False),
        (date(2027, 4, 1), False),
        (datetime(2027, 3, 31, 23, 59, 59, tzinfo=UTC), True),
        (datetime(2027, 4, 1, 0, 0, tzinfo=UTC), False),
    ],
)
def test_financial_year_contains_the_days_it_spans(day, inside):
    assert (day in FinancialYear.parse("2026-27")) is inside


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2026, 4, 1), "2026-27"),
        (date(2026, 3, 31), "2025-26"),
        (date(2027, 3, 31), "2026-27"),
        (date(2027, 1, 1), "2026-27"),
        (date(2026, 12, 31), "2026-27"),
    ],
)
def test_financial_year_containing_a_day(day, year):
    assert FinancialYear.containing(day) == FinancialYear.parse(year)


@pytest.mark.parametrize(
    "value",
    [
        "2026-28",
        "2026-26",
        "2027-26",
        "2026/27",
        "26-27",
        "2026-2027",
        "2026-7",
        "2026 -27",
        " 2026-27",
        "2026-27 ",
        "2026-27\n",
        "2026–27",  # en dash
        "",
        "2026",
        "٢٠٢٦-٢٧",  # Arabic-Indic digits
    ],
)
def test_financial_year_refuses_malformed_years(value):
    with pytest.raises(InvalidValue):
        FinancialYear.parse(value)


@pytest.mark.parametrize("value", [2026, None, date(2026, 4, 1)])
def test_financial_year_refuses_non_strings(value: object) -> None:
    with pytest.raises(InvalidValue):
        FinancialYear.parse(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["2000-01", "2098-99"])
def test_financial_year_accepts_the_edges_of_its_range(value):
    assert str(FinancialYear.parse(value)) == value


def test_financial_year_ending_in_a_new_century_prints_two_digits():
    assert FinancialYear.parse("2098-99").ends_on == date(2099, 3, 31)


@pytest.mark.parametrize("value", ["1999-00", "2099-00"])
def test_financial_year_refuses_century_crossing_years_outside_its_range(value):
    # The second part wraps correctly ("00" follows "1999"), but the year is out of range.
    with pytest.raises(InvalidValue, match="between 2000 and 2098"):
        FinancialYear.parse(value)


@pytest.mark.parametrize("value", ["2000-00", "2099-99", "1999-99"])
def test_financial_year_refuses_a_wrong_second_part_across_a_century(value):
    with pytest.raises(InvalidValue):
        FinancialYear.parse(value)


@pytest.mark.parametrize("start_year", [1999, 2099, True, "2026"])
def test_financial_year_refuses_a_start_year_out_of_range_or_of_the_wrong_type(start_year: object) -> None:
    with pytest.raises(InvalidValue):
        FinancialYear(start_year)  # type: ignore[arg-type]


def test_financial_years_order_by_start():
    assert FinancialYear.parse("2025-26") < FinancialYear.parse("2026-27")


# ---------------------------------------------------------------------------------------------
# SchoolUrn and ClusterId
# ---------------------------------------------------------------------------------------------


def test_school_urn_is_six_digits():
    assert str(SchoolUrn("900001")) == "900001"
    assert SchoolUrn.parse("000123") == SchoolUrn("000123")


@pytest.mark.parametrize(
    "value",
    ["90001", "9000011", "90000a", " 900001", "900001 ", "900001\n", "", "9000-1", "٩٠٠٠٠١", "９０００７１"],
)
def test_school_urn_refuses_anything_but_six_ascii_digits(value):
    with pytest.raises(InvalidValue):
        SchoolUrn(value)


@pytest.mark.parametrize("value", [900001, None])
def test_school_urn_refuses_non_strings(value: object) -> None:
    with pytest.raises(InvalidValue):
        SchoolUrn(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["northmere-coast", "a1", "9-lives", "ab", "a" + "b" * 62])
def test_cluster_id_accepts_a_lower_case_slug(value):
    assert str(ClusterId(value)) == value


@pytest.mark.parametrize(
    "value",
    [
        "a",
        "-northmere",
        "Northmere",
        "north_mere",
        "north mere",
        "north.mere",
        "a" + "b" * 63,
        "",
        "northmere\n",
        "café-cluster",
    ],
)
def test_cluster_id_refuses_anything_but_a_slug(value):
    with pytest.raises(InvalidValue):
        ClusterId(value)


def test_cluster_id_refuses_non_strings():
    with pytest.raises(InvalidValue):
        ClusterId(12345)  # type: ignore[arg-type]


def test_cluster_id_parse_returns_an_id_unchanged():
    cluster = ClusterId("fenwick-broads")
    assert ClusterId.parse(cluster) is cluster
    assert ClusterId.parse("fenwick-broads") == cluster


# ---------------------------------------------------------------------------------------------
# Vocabularies
# ---------------------------------------------------------------------------------------------


def test_parse_enum_reads_a_known_value():
    assert parse_enum(TopUpReason, "complex_needs", field="reason") is TopUpReason.COMPLEX_NEEDS


def test_parse_enum_returns_a_member_unchanged():
    assert parse_enum(Role, Role.FINANCE, field="role") is Role.FINANCE


@pytest.mark.parametrize("value", ["Complex_Needs", "complex needs", "COMPLEX_NEEDS", "", "complex_needs ", None, 1])
def test_parse_enum_refuses_unknown_values(value):
    with pytest.raises(InvalidValue, match="reason must be one of: increase_in_numbers, complex_needs"):
        parse_enum(TopUpReason, value, field="reason")


def test_parse_enum_refuses_a_member_of_another_vocabulary():
    with pytest.raises(InvalidValue):
        parse_enum(CouncilDecision, DeclineReasonCode.OTHER, field="decision")


@pytest.mark.parametrize("enum_class", ENUMS, ids=lambda enum_class: enum_class.__name__)
def test_vocabularies_are_plain_enums_not_strings(enum_class):
    assert issubclass(enum_class, Enum)
    assert not issubclass(enum_class, str)
    for member in enum_class:
        assert member != member.value


def test_provision_categories_are_the_designed_ones():
    assert {category.value for category in ProvisionCategory} == {
        "personal_care",
        "assistive_technology",
        "specialist_tuition",
        "note_takers",
        "interpreters",
        "one_to_one_and_small_group_support",
        "habilitation_independent_living",
        "accessible_information",
        "therapies",
        "other",
    }


def test_commissioned_services_are_the_designed_ones():
    assert {service.value for service in CommissionedService} == {
        "educational_psychology",
        "camhs",
        "specialist_teaching",
        "therapy_services",
        "supported_employment",
        "other",
    }


def test_top_up_reasons_and_decline_codes_are_the_designed_ones():
    assert {reason.value for reason in TopUpReason} == {"increase_in_numbers", "complex_needs"}
    assert {code.value for code in DeclineReasonCode} == {
        "insufficient_evidence",
        "needs_met_within_school_resources",
        "not_eligible",
        "other",
    }


def test_request_statuses_are_the_designed_ones():
    assert {status.value for status in RequestStatus} == {
        "submitted",
        "evidenced",
        "information_requested",
        "cluster_approved",
        "cluster_declined",
        "escalated",
        "council_approved",
        "council_declined",
        "withdrawn",
        "paid",
        "released",
    }


def test_roles_are_the_four_in_the_token():
    assert {role.value for role in Role} == {"school", "cluster_lead", "council", "finance"}


# ---------------------------------------------------------------------------------------------
# Actor
# ---------------------------------------------------------------------------------------------


def test_actor_factories_scope_each_role():
    school = Actor.school("senco-900001", "900001")
    lead = Actor.cluster_lead("lead-northmere", "northmere-coast")
    assert (school.role, school.school_urn, school.cluster_id) == (Role.SCHOOL, SchoolUrn("900001"), None)
    assert (lead.role, lead.school_urn, lead.cluster_id) == (Role.CLUSTER_LEAD, None, ClusterId("northmere-coast"))
    assert Actor.council("council-officer-1").role is Role.COUNCIL
    assert Actor.finance("finance-officer-1").role is Role.FINANCE


def test_a_school_actor_needs_a_school_urn():
    with pytest.raises(InvalidValue, match="school_urn"):
        Actor("senco-900001", Role.SCHOOL)


def test_a_school_actor_needs_a_urn_value_not_a_bare_string():
    with pytest.raises(InvalidValue):
        Actor("senco-900001", Role.SCHOOL, school_urn="900001")  # type: ignore[arg-type]


def test_a_cluster_lead_needs_a_cluster_id():
    with pytest.raises(InvalidValue, match="cluster_id"):
        Actor("lead-northmere", Role.CLUSTER_LEAD)


@pytest.mark.parametrize("role", [Role.CLUSTER_LEAD, Role.COUNCIL, Role.FINANCE])
def test_only_a_school_actor_has_a_school_urn(role):
    cluster = ClusterId("northmere-coast") if role is Role.CLUSTER_LEAD else None
    with pytest.raises(InvalidValue, match="only a school actor"):
        Actor("staff-1", role, school_urn=SchoolUrn("900001"), cluster_id=cluster)


@pytest.mark.parametrize("role", [Role.SCHOOL, Role.COUNCIL, Role.FINANCE])
def test_only_a_cluster_lead_has_a_cluster_id(role):
    urn = SchoolUrn("900001") if role is Role.SCHOOL else None
    with pytest.raises(InvalidValue, match="only a cluster lead"):
        Actor("staff-1", role, school_urn=urn, cluster_id=ClusterId("northmere-coast"))


def test_an_actor_role_must_be_a_role():
    with pytest.raises(InvalidValue):
        Actor("council-officer-1", "council")  # type: ignore[arg-type]


@pytest.mark.parametrize("sub", ["", "   ", "x" * 201, "officer\x00one"])
def test_an_actor_needs_a_sensible_staff_id(sub):
    with pytest.raises(InvalidValue):
        Actor.council(sub)


@pytest.mark.parametrize(
    "character",
    [
        "\u202e",  # right-to-left override
        "\u202a",  # left-to-right embedding
        "\u2066",  # left-to-right isolate
        "\u2069",  # pop directional isolate
        "\u200f",  # right-to-left mark
        "\u200b",  # zero-width space
        "\u200d",  # zero-width joiner
        "\ufeff",  # byte order mark
        "\u00ad",  # soft hyphen
        "\U000e0041",  # tag latin capital letter A
        "\x00",
        "\x1b",
        "\t",
        "\n",
        "\r",
        "\x85",
        "\u2028",  # line separator
        "\u2029",  # paragraph separator
        "\ud800",  # a lone surrogate
    ],
)
def test_an_actors_staff_id_has_no_control_formatting_or_bidirectional_characters(character):
    with pytest.raises(InvalidValue, match="sub must"):
        Actor.council(f"council{character}officer")


@pytest.mark.parametrize("sub", ["council-officer-1", "zoë.o'brien@county.example", "研究員-7", "a b"])
def test_an_actors_staff_id_may_be_any_visible_text(sub):
    assert Actor.council(sub).sub == sub


def test_an_actor_refuses_a_malformed_scope():
    with pytest.raises(InvalidValue):
        Actor.school("senco", "90001")
    with pytest.raises(InvalidValue):
        Actor.cluster_lead("lead", "Northmere Coast")


# ---------------------------------------------------------------------------------------------
# Free text and counts
# ---------------------------------------------------------------------------------------------


def test_check_text_returns_the_text_as_written():
    assert check_text("  Needs daily support.  ", field="reason") == "  Needs daily support.  "


def test_check_text_allows_line_breaks_and_tabs():
    text = "First paragraph.\r\n\tSecond paragraph.\n"
    assert check_text(text, field="needs_summary") == text


@pytest.mark.parametrize("value", ["", " ", "\n\t ", "\r\n"])
def test_check_text_refuses_blanks(value):
    with pytest.raises(InvalidValue, match="reason must not be blank"):
        check_text(value, field="reason")


def test_check_text_allows_blanks_when_not_required():
    assert check_text("", field="conditions", required=False) == ""


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\x9b"])
def test_check_text_refuses_control_characters(character):
    with pytest.raises(InvalidValue, match="control characters"):
        check_text(f"Reason{character}text", field="reason")


def test_check_text_refuses_control_characters_even_when_not_required():
    with pytest.raises(InvalidValue):
        check_text("\x1b[31m", field="note", required=False)


def test_check_text_refuses_over_long_text():
    assert check_text("a" * LONG_TEXT, field="reason") == "a" * LONG_TEXT
    with pytest.raises(InvalidValue, match=f"at most {LONG_TEXT}"):
        check_text("a" * (LONG_TEXT + 1), field="reason")


def test_check_text_honours_a_smaller_limit():
    assert check_text("a" * 10, field="reference", max_length=10)
    with pytest.raises(InvalidValue):
        check_text("a" * 11, field="reference", max_length=10)


@pytest.mark.parametrize("value", [None, 5, b"bytes", ["a"]])
def test_check_text_refuses_non_text(value: object) -> None:
    with pytest.raises(InvalidValue, match="must be text"):
        check_text(value, field="reason")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [1, 2, 2000])
def test_pupil_count_accepts_one_to_two_thousand(value):
    assert check_pupil_count(value) == value


@pytest.mark.parametrize("value", [0, -1, 2001, True, 2.0, "2"])
def test_pupil_count_refuses_anything_else(value: object) -> None:
    with pytest.raises(InvalidValue):
        check_pupil_count(value)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Compound values
# ---------------------------------------------------------------------------------------------

SHA = "0123456789abcdef" * 4


def test_evidence_document_takes_a_name_and_a_lower_case_sha256():
    document = EvidenceDocument("sen-spend-2026.pdf", SHA)
    assert (document.name, document.sha256) == ("sen-spend-2026.pdf", SHA)


@pytest.mark.parametrize(
    "sha256",
    [SHA.upper(), SHA[:63], SHA + "0", "g" * 64, SHA[:63] + " ", SHA + "\n", "", "sha256:" + SHA[:57]],
)
def test_evidence_document_refuses_a_malformed_sha256(sha256):
    with pytest.raises(InvalidValue, match="sha256"):
        EvidenceDocument("sen-spend-2026.pdf", sha256)


def test_evidence_document_refuses_a_sha256_that_is_not_text():
    with pytest.raises(InvalidValue):
        EvidenceDocument("sen-spend-2026.pdf", bytes.fromhex(SHA))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "  ", "x" * 201, "file\x00.pdf"])
def test_evidence_document_needs_a_sensible_name(name):
    with pytest.raises(InvalidValue):
        EvidenceDocument(name, SHA)


def test_provision_line_parses_its_category_and_amount():
    line = ProvisionLine.parse("therapies", "1200.00")
    assert line == ProvisionLine(ProvisionCategory.THERAPIES, Money(120000))


@pytest.mark.parametrize(("category", "amount"), [("massage", "10.00"), ("therapies", "0"), ("therapies", "-5.00")])
def test_provision_line_refuses_unknown_categories_and_non_positive_amounts(category, amount):
    with pytest.raises(InvalidValue):
        ProvisionLine.parse(category, amount)


def test_spend_line_keeps_an_optional_note():
    assert SpendLine.parse("note_takers", "300.00").note == ""
    assert SpendLine.parse("note_takers", "300.00", "two terms").note == "two terms"


def test_spend_line_refuses_an_over_long_note():
    with pytest.raises(InvalidValue):
        SpendLine.parse("note_takers", "300.00", "x" * 1001)
