"""Awards in reconciliation: the rows the awards read model should hold, and the awards' invariants.

The rows are read off the folded requests (the domain's own ``Award`` on each), sharing no code with
the projection. The invariants are checked on the folded aggregates once the log is folded to a
transaction's end (where a request and its funds were saved together):

- on every award, ``committed = paid + scheduled unpaid + held``, and no instalment has more paid
  or released than it was for, and no recovery more received than it claims;
- on every fund of the year, its figures equal the sum of its awards' shares for that year:
  committed and forward together are what the awards committed on it less what was released and
  what recoveries brought back while it was open, paid is what was paid from it less those
  recoveries, released is what its awards released, and recovered and income are what its
  awards' recoveries brought back, while it was open and once it was closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from domain.awards import Award
from domain.formatting import pounds, utc_text
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.money import Money, sum_money
from domain.values import DecisionKind, FinancialYear

Row = tuple[Any, ...]
APPROVALS = (DecisionKind.CLUSTER_APPROVAL, DecisionKind.COUNCIL_APPROVAL)


def award_rows(requests: Iterable[FundingRequest]) -> list[Row]:
    """A row of ``awards`` per approved request."""
    rows = []
    for request in requests:
        award = request.award
        if award is None or request.funded_by is None:
            continue
        approved_at = next(d.decided_at for d in reversed(request.decisions) if d.kind in APPROVALS)
        rows.append((
            request.id.hex, str(request.school_urn), str(request.cluster_id), str(request.financial_year),
            request.funded_by, ",".join(str(year) for year in award.financial_years()), utc_text(approved_at),
            award.approved.pence, award.paid_out.pence, award.released.pence, award.recovered.pence,
            award.held.pence, award.scheduled_unpaid.pence,
        ))  # fmt: skip
    return rows


def instalment_rows(requests: Iterable[FundingRequest]) -> list[Row]:
    """A row of ``awards_instalments`` per instalment of every approved request."""
    return [
        (f"{request.id.hex}/{i.number:03d}", request.id.hex, i.number, str(i.financial_year), i.due_on.isoformat(),
         i.amount.pence, i.paid.pence, i.released.pence, i.held_until)
        for request in requests
        if request.award is not None
        for i in request.award.instalments
    ]  # fmt: skip


@dataclass
class InvariantCheck:
    """One invariant, checked on each award or fund: how many were checked, and which break it."""

    name: str
    checked: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return not self.failures

    def check(self, holds: bool, what: str) -> None:
        self.checked += 1
        if not holds:
            self.failures.append(what)


AWARD_INVARIANT = "on every award: committed = paid + scheduled unpaid + held"
FUND_INVARIANT = "on every fund: its figures are the sum of its awards' shares"


def award_invariants(
    requests: Iterable[FundingRequest],
    funds: Iterable[Fund],
    year: FinancialYear,
    requests_before: Iterable[FundingRequest],
) -> list[InvariantCheck]:
    """The awards' invariants on the year's awards and funds (``requests_before``: the year before's,
    whose awards may commit on this year's funds too)."""
    per_award, per_fund = InvariantCheck(AWARD_INVARIANT), InvariantCheck(FUND_INVARIANT)
    mine = [request for request in requests if request.award is not None]
    for request in mine:
        problem = None if request.award is None else _award_problem(request.award)
        per_award.check(problem is None, f"request {request.id}: {problem}")
    spanning = [r for r in requests_before if r.award is not None and year in r.award.financial_years()]
    for fund in funds:
        shares = [(r.award, r) for r in (*mine, *spanning) if r.award is not None and _funded_by(r, fund)]
        problem = _fund_problem(fund, year, [award for award, _ in shares])
        per_fund.check(problem is None, f"{fund.label}: {problem}")
    return [per_award, per_fund]


def _award_problem(award: Award) -> str | None:
    if award.committed != award.paid + award.scheduled_unpaid + award.held:
        return (
            f"committed {award.committed} is not paid {award.paid} + scheduled unpaid {award.scheduled_unpaid} "
            f"+ held {award.held}"
        )
    for i in award.instalments:
        if i.unpaid.is_negative or i.paid.is_negative or i.released.is_negative:
            return f"instalment {i.number} has {i.paid} paid and {i.released} released of {i.amount}"
    for r in award.recoveries:
        if r.outstanding.is_negative or r.received.is_negative:
            return f"recovery {r.number} has {r.received} received of {r.amount}"
    return None


def _funded_by(request: FundingRequest, fund: Fund) -> bool:
    if isinstance(fund, CouncilFund):
        return request.funded_by == "council"
    return isinstance(fund, ClusterBudget) and request.funded_by == "cluster" and request.cluster_id == fund.cluster_id


def _fund_problem(fund: Fund, year: FinancialYear, awards: list[Award]) -> str | None:
    shares = sum_money(award.share_of(year) for award in awards)
    released = sum_money(i.released for award in awards for i in award.instalments if i.financial_year == year)
    received = sum_money(r.received for award in awards for r in award.recoveries if r.financial_year == year)
    paid_out = sum_money(award.paid_out_in(year) for award in awards)
    recovered_open = received - fund.income
    expected: dict[str, tuple[Money, Money]] = {
        "committed + forward": (fund.committed + fund.forward, shares - released - recovered_open),
        "paid": (fund.paid, paid_out - recovered_open),
        "released": (fund.released, released),
        "recovered": (fund.recovered, recovered_open),
    }
    wrong = [f"{name} {pounds(has.pence)}, the awards' {pounds(sums.pence)}" for name, (has, sums) in expected.items()
             if has != sums]  # fmt: skip
    return "; ".join(wrong) or None
