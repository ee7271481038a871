"""The ledger CSV writer on its own: every data field quoted, every line of a field made safe.

Finance opens this file in a spreadsheet. A field left unquoted with a bare carriage return in
it (Python 3.11 and 3.12's csv writer does that) splits into two rows there, and a line inside
a field that starts like a formula is one line break away from being run. The spreadsheet
itself is exercised in tests/integration/test_ledger_spreadsheet.py; these tests are the fast
version of the same promises.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from projections.queries import LEDGER_COLUMNS, LedgerRow
from projections.spreadsheets import write_ledger

HEADER = (
    "position,recorded_at,fund,cluster_id,financial_year,movement,request_id,"
    "amount,available_after,paid_after,reference,actor_sub"
)
# One quoted field ("" is a quote inside it; anything else, line breaks included, is text), and a
# record of them: what every data line of the file must be.
QUOTED = r'"(?:[^"]|"")*"'
RECORD = re.compile(rf"{QUOTED}(?:,{QUOTED})*\n")
LINE_BREAK = re.compile(r"\r\n|\r|\n")
FORMULA_STARTS = ("=", "+", "-", "@", "\t")


def movement(
    reference: str, *, amount: int = 10_000, actor_sub: str = "finance-officer-1", **changes: Any
) -> LedgerRow:
    row = LedgerRow(
        position=7,
        recorded_at="2026-05-01T09:30:00.000000Z",
        fund="cluster",
        cluster_id="northmere-coast",
        financial_year="2026-27",
        movement="payment",
        request_id="0f3c1a0e8e5b4a52b1a4d7f2a9c6e301",
        amount=amount,
        available_after=250_000,
        paid_after=10_000,
        reference=reference,
        actor_sub=actor_sub,
    )
    return row._replace(**changes)


def written(*rows: LedgerRow) -> str:
    out = io.StringIO()
    count = write_ledger(rows, out)
    assert count == len(rows)
    return out.getvalue()


def read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_the_header_line_is_written_as_before():
    assert written().split("\n")[0] == HEADER
    assert tuple(HEADER.split(",")) == LEDGER_COLUMNS


def test_every_field_of_every_movement_is_quoted():
    # Python 3.11's writer left "Acme\r=SUM(1+1)" and plain values unquoted; a spreadsheet then read
    # the bare carriage return as the end of a row.
    text = written(
        movement("Acme\r=SUM(1+1)"),
        movement("", request_id=None, movement="allocation", amount=-10_000),
        movement('say "hi"\nthen go'),
    )
    header, data = text.split("\n", 1)
    assert header == HEADER
    records = RECORD.findall(data)
    assert "".join(records) == data, data  # nothing between or around the quoted records
    assert len(records) == 3


def test_a_bare_carriage_return_stays_inside_its_field():
    rows = read(written(movement("Acme\r=SUM(1+1)"), movement("second")))

    assert [row["reference"] for row in rows] == ["Acme\r'=SUM(1+1)", "second"]


def test_every_line_of_a_field_that_starts_like_a_formula_gets_an_apostrophe():
    cases = {
        "=1+1": "'=1+1",
        "-2+3": "'-2+3",
        "+SUM(1,1)": "'+SUM(1,1)",
        "@SUM(1,1)": "'@SUM(1,1)",
        "\t=1+1": "'\t=1+1",
        'Acme\r=HYPERLINK("http://x","y")': 'Acme\r\'=HYPERLINK("http://x","y")',
        "note\n+SUM(1,1)": "note\n'+SUM(1,1)",
        "ref\r\n@SUM(1,1)": "ref\r\n'@SUM(1,1)",
        "=a\r-b\n+c\r\n@d": "'=a\r'-b\n'+c\r\n'@d",
        "\r=1+1": "'\r'=1+1",  # nor does a field start with a line break
        "\n\n-1": "'\n\n'-1",
        "a\r\rb": "a\r\rb",  # blank lines are left as written
        "  =1+1": "  =1+1",  # LibreOffice reads a leading space as text, not a formula
        'say "hi"\n=1+1': 'say "hi"\n\'=1+1',
        "plain text, with a comma": "plain text, with a comma",
        "'=already quoted": "'=already quoted",
    }
    rows = read(written(*(movement(text) for text in cases)))

    assert [row["reference"] for row in rows] == list(cases.values())


def test_every_text_column_is_guarded_not_only_the_reference():
    rows = read(written(movement("ok", actor_sub="officer\r=cmd|' /C calc'!A0")))

    assert rows[0]["actor_sub"] == "officer\r'=cmd|' /C calc'!A0"


def test_money_stays_a_plain_number_even_when_negative():
    rows = read(written(movement("adjustment", amount=-10_000, available_after=-5, paid_after=0)))

    assert (rows[0]["amount"], rows[0]["available_after"], rows[0]["paid_after"]) == ("-100.00", "-0.05", "0.00")


# Free text as check_text lets it through: printable characters, tabs and every kind of line break.
free_text = st.text(
    alphabet=st.one_of(
        st.sampled_from("=+-@\t\r\n '\"ab,"), st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])
    ),
    max_size=40,
)


@given(free_text)
def test_any_text_comes_back_line_for_line_with_only_an_apostrophe_added(text):
    (row,) = read(written(movement(text)))
    cell = row["reference"]

    # The guard adds characters but never a line break, so the lines still pair up.
    assert LINE_BREAK.findall(cell) == LINE_BREAK.findall(text)
    for index, (line, original) in enumerate(zip(LINE_BREAK.split(cell), LINE_BREAK.split(text), strict=True)):
        starts_with_a_break = index == 0 and original == "" and text != ""
        if original.startswith(FORMULA_STARTS) or starts_with_a_break:
            assert line == "'" + original
        else:
            assert line == original
        assert not line.startswith(FORMULA_STARTS)
