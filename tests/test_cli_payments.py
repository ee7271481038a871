"""``funding-engine payments run``, ``file`` and ``remittance``: a real subprocess on a fresh store."""

from __future__ import annotations

import csv
from pathlib import Path
from uuid import UUID

from domain.funding_request import FundingRequest
from domain.money import Money, sum_money
from domain.values import Actor
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from tests.support import CLUSTER, COUNCIL, LEAD, SCHOOL, evidenced_request, set_up_world
from tests.test_cli import run


def store(folder: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{folder / 'var' / 'funding.sqlite3'}")


def two_awards(folder: Path) -> list[str]:
    """Two awards of 1200.00, termly over 2026-27: 500.00 due in April, 400.00 in September each."""
    with bootstrap(store(folder)) as app:
        set_up_world(app, budget="10000.00")
        app.register_school(COUNCIL, SCHOOL, "Northmere Primary School", "primary", CLUSTER)
        ids = []
        for _ in range(2):
            request = evidenced_request(
                app, amount_requested="1200.00", planned_provision=[{"category": "therapies", "amount": "1200.00"}]
            )
            app.approve(
                LEAD, request.id, "1200.00", "Seen.", award_period={"starts_on": "2026-04-01", "ends_on": "2027-03-31"}
            )
            ids.append(request.id.hex)
        return ids


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


def test_a_run_is_created_and_its_file_written(tmp_path):
    two_awards(tmp_path)
    out = tmp_path / "run.csv"

    result = run(["payments", "run", "--due-by", "2026-09-30", "--out", str(out), "--as", "officer-3"], tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["created payment run PR-000001: 4 lines, 1800.00 in all", f"wrote {out}"]
    lines = read_csv(out)
    assert [line["line_reference"] for line in lines] == [f"PR-000001-000{n}" for n in range(1, 5)]
    assert {line["payee_name"] for line in lines} == {"Northmere Primary School"}
    again = tmp_path / "again.csv"
    assert run(["payments", "file", "1", "--out", str(again)], tmp_path).returncode == 0
    assert again.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_nothing_due_is_one_line_exit_1_and_no_run(tmp_path):
    two_awards(tmp_path)

    result = run(["payments", "run", "--due-by", "2026-03-31", "--out", str(tmp_path / "run.csv")], tmp_path)

    assert result.returncode == 1
    assert result.stderr.strip() == ("funding-engine: nothing is due by 2026-03-31 that is not paid, held or in a run")


def test_a_run_is_not_made_for_a_file_that_cannot_be_written(tmp_path):
    two_awards(tmp_path)

    result = run(["payments", "run", "--due-by", "2026-09-30", "--out", str(tmp_path / "no" / "run.csv")], tmp_path)

    assert result.returncode == 1
    assert "does not exist; no run was made" in result.stderr
    with bootstrap(store(tmp_path)) as app:
        assert app.payment_runs(Actor.finance("f")).items == []


def test_a_bad_date_is_refused_before_anything_runs(tmp_path):
    result = run(["payments", "run", "--due-by", "30/09/2026", "--out", "run.csv"], tmp_path)

    assert result.returncode == 2
    assert "must be a date such as 2026-09-30" in result.stderr


def test_a_remittance_is_imported_and_the_lines_it_did_not_record_are_listed(tmp_path):
    two_awards(tmp_path)
    out = tmp_path / "run.csv"
    assert run(["payments", "run", "--due-by", "2026-09-30", "--out", str(out)], tmp_path).returncode == 0
    lines = read_csv(out)
    remittance = tmp_path / "remittance.csv"
    remittance.write_text(
        "reference,amount,date\n"
        + "".join(f"{line['line_reference']},{line['amount']},2026-09-07\n" for line in lines[:3])
        + "PR-000001-0004,1.00,2026-09-07\nNOT-OURS,5.00,2026-09-07\n",
        encoding="utf-8",
    )

    result = run(["payments", "remittance", str(remittance), "--as", "officer-3"], tmp_path)
    again = run(["payments", "remittance", str(remittance)], tmp_path)

    assert result.returncode == 1
    total = sum_money(Money.parse(line["amount"]) for line in lines[:3])
    assert result.stdout.strip() == f"imported {remittance}: 5 lines, 3 paid ({total}), 2 not recorded"
    assert result.stderr.splitlines() == [
        f"  line 5: PR-000001-0004: the amount 1.00 is not the {lines[3]['amount']} of the run line",
        "  line 6: NOT-OURS: the reference matches no payment run line",
    ]
    assert again.returncode == 1
    assert again.stdout.strip().endswith("0 paid (0.00), 5 not recorded")
    assert again.stderr.count("already paid on 2026-09-07") == 3
    with bootstrap(store(tmp_path)) as app:
        paid = [
            event
            for line in lines[:3]
            for event in app.events.get(UUID(line["award_reference"]))
            if isinstance(event, FundingRequest.PaymentRecorded) and event.reference == line["line_reference"]
        ]
    assert len(paid) == 3 and {event.actor for event in paid} == {Actor.finance("officer-3")}


def test_a_remittance_that_is_not_one_is_refused_whole(tmp_path):
    two_awards(tmp_path)
    remittance = tmp_path / "remittance.csv"
    remittance.write_text("ref,value\nx,1\n", encoding="utf-8")

    result = run(["payments", "remittance", str(remittance)], tmp_path)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"funding-engine: {remittance} was not imported; nothing was recorded.",
        "  line 1: the first line must be a header with reference,amount,date (missing reference, amount, date)",
    ]
