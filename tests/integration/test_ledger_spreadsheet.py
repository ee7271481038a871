"""The finance ledger as finance sees it: exported, opened in a real spreadsheet program, read back.

Money movements whose allocation note, commission provider and payment reference hold hostile
text are exported by the application and downloaded over HTTP; LibreOffice Calc (headless)
converts each file to .xlsx exactly as it would open it for a finance officer (its CSV import
runs formulas and reads a bare carriage return as the end of a row), and openpyxl reads the cells.
Both stores.

Needs `soffice` (Debian: `apt-get install libreoffice-calc-nogui`); without it these tests skip,
except in CI (`CI=true`), where they fail: .ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.api.conftest import auth, client_for
from tests.conftest import STORES
from tests.support import CLUSTER, FINANCE, LEAD, SCHOOL, YEAR, approved_request, set_up_world, store_factory

# (text as entered, what the spreadsheet shows for it as a note or payment reference, and as a
# commission's provider, where the ledger writes "other: " before it). A line that starts like a
# formula shows an apostrophe in front; LibreOffice shows every kind of line break as "\n".
HOSTILE = [
    (
        'Acme\r=HYPERLINK("http://x","y")',
        'Acme\n\'=HYPERLINK("http://x","y")',
        'other: Acme\n\'=HYPERLINK("http://x","y")',
    ),
    ("Acme\r=SUM(1+1)", "Acme\n'=SUM(1+1)", "other: Acme\n'=SUM(1+1)"),
    ("note\n+SUM(1,1)", "note\n'+SUM(1,1)", "other: note\n'+SUM(1,1)"),
    ("ref\r\n@SUM(1,1)", "ref\n'@SUM(1,1)", "other: ref\n'@SUM(1,1)"),
    ("-2+3", "'-2+3", "other: -2+3"),
    ("=1+1", "'=1+1", "other: =1+1"),
    ("\t=1+1", "'\t=1+1", "other: \t=1+1"),
    ("\r=1+1", "'\n'=1+1", "other: \n'=1+1"),
    ('say "hi"\r=1+1', 'say "hi"\n\'=1+1', 'other: say "hi"\n\'=1+1'),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0", "other: =cmd|' /C calc'!A0"),
    ("a,b\n-1\r+1\r\n@1\n=1", "a,b\n'-1\n'+1\n'@1\n'=1", "other: a,b\n'-1\n'+1\n'@1\n'=1"),
    # Tried in LibreOffice: leading spaces make it text, so the guard leaves it as written.
    ("   =1+1", "   =1+1", "other:    =1+1"),
    ("ok\n   =1+1", "ok\n   =1+1", "other: ok\n   =1+1"),
]
HEADER = [
    "position", "recorded_at", "fund", "cluster_id", "financial_year", "movement", "request_id",
    "amount", "available_after", "paid_after", "reference", "actor_sub",
]  # fmt: skip
MONEY = ("amount", "available_after", "paid_after")
EXPORTS = ["application", "http"]


def soffice() -> str:
    path = shutil.which("soffice")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("soffice (LibreOffice Calc) must be installed in CI: spreadsheet tests may not skip there")
        pytest.skip("soffice is not installed (apt-get install libreoffice-calc-nogui): spreadsheet tests skipped")
    return path


def open_in_libreoffice(csv_files: list[Path], folder: Path) -> list[list[tuple[Any, ...]]]:
    """Each file's cells, as LibreOffice Calc opens it: one tuple of openpyxl cells per row."""
    out = folder / "xlsx"
    # Its own profile, so parallel runs (and a desktop LibreOffice) do not share a lock.
    profile = f"-env:UserInstallation={(folder / 'libreoffice-profile').as_uri()}"
    command = [soffice(), profile, "--headless", "--convert-to", "xlsx", "--outdir", str(out), *map(str, csv_files)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    sheets = []
    for csv_file in csv_files:
        converted = out / f"{csv_file.stem}.xlsx"
        assert done.returncode == 0 and converted.exists(), (done.returncode, done.stdout, done.stderr)
        sheets.append(list(openpyxl.load_workbook(converted).active.iter_rows()))
    return sheets


@dataclass
class Exported:
    texts: dict[str, str]  # export -> the CSV as written
    sheets: dict[str, list[tuple[Any, ...]]]  # export -> its rows of cells in the spreadsheet
    movements: int  # as counted by the writer
    expected: list[tuple[str, float, str | None]]  # movement, amount in pounds, reference as shown


def record_hostile_movements(app: Any) -> list[tuple[str, float, str | None]]:
    """Every kind of money movement, each hostile text in each free-text field; what each should show."""
    set_up_world(app, budget="5000.00")
    expected: list[tuple[str, float, str | None]] = [("allocation", 5000, "initial allocation")]
    for text, shown, shown_in_commission in HOSTILE:
        app.allocate_budget(FINANCE, CLUSTER, YEAR, "100.00", text)
        app.commission_service(
            LEAD, CLUSTER, YEAR, service="other", provider=text, amount="10.00",
            school_urns=[SCHOOL], description="A provider with a hostile name.",
        )  # fmt: skip
        expected += [("allocation", 100, shown), ("commission", 10, shown_in_commission)]
    request = approved_request(app, "1000.00")
    expected.append(("commitment", 1000, None))
    for text, shown, _ in HOSTILE:
        app.record_payment(FINANCE, request.id, "10.00", text)
        expected.append(("payment", 10, shown))
    app.allocate_budget(FINANCE, CLUSTER, YEAR, "-100.00", "-2+3")
    expected.append(("adjustment", -100, "'-2+3"))
    return expected


@pytest.fixture(scope="module", params=STORES)
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    # One world and one LibreOffice run per store: the tests below only read what it made.
    folder = tmp_path_factory.mktemp(f"ledger-spreadsheet-{request.param}")
    soffice()  # before building anything, so a missing program skips (or fails in CI) at once
    with store_factory(request.param, folder) as make:
        app = make()
        expected = record_hostile_movements(app)
        application_csv = folder / "application.csv"
        with application_csv.open("w", encoding="utf-8", newline="") as out:
            movements = app.read_models.write_ledger_csv(FINANCE, YEAR, out)
        with client_for(app) as client:
            response = client.get("/finance/ledger.csv", params={"financial_year": YEAR}, headers=auth(FINANCE))
        assert response.status_code == 200, response.text
        http_csv = folder / "http.csv"
        http_csv.write_bytes(response.content)
        files = {"application": application_csv, "http": http_csv}
        sheets = open_in_libreoffice(list(files.values()), folder)
        yield Exported(
            texts={name: path.read_bytes().decode("utf-8") for name, path in files.items()},
            sheets=dict(zip(files, sheets, strict=True)),
            movements=movements,
            expected=expected,
        )


def column(rows: list[tuple[Any, ...]], name: str) -> list[Any]:
    index = HEADER.index(name)
    return [row[index] for row in rows[1:]]


def test_the_http_download_is_the_file_the_application_writes(exported):
    assert exported.texts["http"] == exported.texts["application"]


@pytest.mark.parametrize("export", EXPORTS)
def test_no_cell_of_the_ledger_is_a_formula_in_the_spreadsheet(exported, export):
    formulas = [cell.coordinate for row in exported.sheets[export] for cell in row if cell.data_type == "f"]

    assert formulas == []


@pytest.mark.parametrize("export", EXPORTS)
def test_the_spreadsheet_has_the_header_and_one_row_per_money_movement(exported, export):
    rows = exported.sheets[export]

    assert exported.movements == len(exported.expected) == 1 + 3 * len(HOSTILE) + 1 + 1
    assert len(rows) == exported.movements + 1
    assert [cell.value for cell in rows[0]] == HEADER
    assert all(len(row) == len(HEADER) for row in rows)


@pytest.mark.parametrize("export", EXPORTS)
def test_hostile_text_reads_back_as_written_with_an_apostrophe_before_each_formula_line(exported, export):
    rows = exported.sheets[export]
    shown = list(zip(column(rows, "movement"), column(rows, "reference"), strict=True))

    assert [(movement.value, cell.value) for movement, cell in shown] == [(m, ref) for m, _, ref in exported.expected]
    assert all(cell.data_type == "s" for _, cell in shown if cell.value is not None)


@pytest.mark.parametrize("export", EXPORTS)
def test_money_cells_are_numbers_and_a_negative_adjustment_stays_negative(exported, export):
    rows = exported.sheets[export]

    for name in MONEY:
        assert all(cell.data_type == "n" and isinstance(cell.value, int | float) for cell in column(rows, name)), name
    assert [cell.value for cell in column(rows, "amount")] == [amount for _, amount, _ in exported.expected]
    assert [cell.value for cell in column(rows, "paid_after")][-1] == 10 * len(HOSTILE)
