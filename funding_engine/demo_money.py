"""The demo's money after the decisions (issue 13), told through the application like real use.

- Last year is closed: the clusters' budgets and the council fund were allocated and spent in part,
  then finance closed them, carrying some unspent money forward into the demo year. The demo
  year's allocations are what is left of each figure in ``demo.CLUSTERS``, so the year's totals
  read the same as before the close existed.
- An academic-year award paid termly, its summer share committed ahead on next year's budget
  (which has no allocation yet) and its summer instalment held until a reviewed plan arrives.
- A monthly award whose first three months went out in a payment run the bank paid (its
  remittance imported), before the pupil left and the lead released the rest.
- A recovery on a paid award, raised and received.
- A second payment run, of what is due by the end of November, sent and awaiting the bank's remittance.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date

from domain.funding_request import FundingRequest
from domain.money import Money
from domain.payment_runs import PaymentRun
from domain.values import Actor, FinancialYear
from funding_engine.application import FundingApplication

# Cluster id (or None, the council fund): what last year carried forward into the demo year.
CARRIED_FORWARD: dict[str | None, str] = {
    "northmere-coast": "2000.00",
    "fenwick-broads": "1500.00",
    "marshfield-vale": "0.00",
    None: "10000.00",
}
HELD_CONDITION = "A reviewed provision plan for the summer term"


def this_years_allocation(cluster_id: str | None, total: str) -> Money:
    """What finance allocates in the demo year: the year's total less what last year carried in."""
    return Money.parse(total) - Money.parse(CARRIED_FORWARD[cluster_id])


def close_last_year(
    app: FundingApplication,
    year: FinancialYear,
    totals: dict[str | None, str],
    lead: Callable[[str], Actor],
    finance: Actor,
    say: Callable[[str], None],
) -> None:
    """Allocate and partly spend last year's funds, then close each, carrying ``CARRIED_FORWARD``."""
    last = FinancialYear(year.start_year - 1)
    for cluster_id, total in totals.items():
        if cluster_id is None:
            app.allocate_council_fund(finance, last, total, "exceptional circumstances fund")
        else:
            app.allocate_budget(finance, cluster_id, last, total, "delegated SEN funding for the year")
    app.commission_service(
        lead("northmere-coast"),
        "northmere-coast",
        last,
        service="specialist_teaching",
        provider="Coastline Specialist Teaching (fictional)",
        amount="9000.00",
        school_urns=["990001", "990002", "990003"],
        description="A specialist teacher for literacy one day a week, shared across the cluster.",
    )
    for cluster_id, carried in CARRIED_FORWARD.items():
        if cluster_id is None:
            app.close_council_fund_year(finance, last, carried)
        else:
            app.close_budget_year(finance, cluster_id, last, carried)
    say(f"closed {last}, carrying unspent money forward into {year}")


def approve_for_the_academic_year(
    app: FundingApplication, chair: Actor, finance: Actor, request: FundingRequest, amount: str, reason: str
) -> FundingRequest:
    """Termly from September to August: the summer share is committed ahead on next year's budget."""
    start = request.financial_year.start_year
    period = {"starts_on": f"{start}-09-01", "ends_on": f"{start + 1}-08-31"}
    held = [(3, HELD_CONDITION)]
    request = app.approve(
        chair, request.id, amount, reason, award_period=period, schedule="termly", held_instalments=held
    )
    autumn = request.current_award().instalment(1)
    return app.record_payment(finance, request.id, autumn.amount, f"BACS-{request.school_urn}-T1", instalment=1)


def paid_then_released(
    app: FundingApplication, chair: Actor, finance: Actor, request: FundingRequest, amount: str, reason: str
) -> FundingRequest:
    """Monthly from September; September to November paid in a run, then the pupil left."""
    start = request.financial_year.start_year
    period = {"starts_on": f"{start}-09-01", "ends_on": f"{start + 1}-03-31"}
    request = app.approve(chair, request.id, amount, reason, award_period=period, schedule="monthly")
    november = request.current_award().instalment(3).due_on
    run = app.create_payment_run(finance, november, cluster_id=str(request.cluster_id))
    app.import_remittance(finance, remittance_for(run, app.today()))
    return app.release_award(chair, request.id, "pupil_left", "The pupil moved to a school out of county.")


def paid_then_recovered(
    app: FundingApplication, chair: Actor, finance: Actor, request: FundingRequest, amount: str, reason: str
) -> FundingRequest:
    """Paid in full; the year's review found part unspent, which finance claimed back and received."""
    request = app.approve(chair, request.id, amount, reason)
    request = app.record_payment(finance, request.id, amount, f"BACS-{request.school_urn}-01")
    request = app.raise_recovery(
        finance,
        request.id,
        request.financial_year,
        "400.00",
        "underspend",
        "Braille resources cost less than planned; the school agreed to return the difference.",
    )
    return app.receive_recovery(finance, request.id, 1, "400.00", f"REC-{request.school_urn}-01")


def run_what_is_due(
    app: FundingApplication, finance: Actor, year: FinancialYear, say: Callable[[str], None]
) -> PaymentRun:
    """The end of November's run: the file went to the bank, and its remittance has not come back yet.
    A fixed day of the demo year, not today, so the demo reads the same whenever it is loaded."""
    run = app.create_payment_run(finance, date(year.start_year, 11, 30))
    say(f"created payment run {run.reference} of {len(run.lines)} instalments, awaiting the bank's remittance")
    return run


def remittance_for(run: PaymentRun, paid_on: date) -> bytes:
    """The bank's remittance for every line of ``run``, as the bank sends it: reference, amount, date."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reference", "amount", "date"])
    for line in run.lines:
        writer.writerow([run.line_reference(line.line), str(line.amount), paid_on.isoformat()])
    return out.getvalue().encode()
