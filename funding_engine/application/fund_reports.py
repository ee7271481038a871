"""Reports on a fund's year, from the read models: its year-end statement, and commitments by age.

Finance and the council read any fund's; a cluster's lead its own cluster's budget's (never the
council fund's). A budget's statement is read as the budget is (``budget_in_reach``), with the lead's
role added and the school's taken away; the council fund's as the council fund is.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime

from domain.errors import InvalidValue, NotPermitted
from domain.formatting import utc_text
from domain.permissions import check_role
from domain.values import Actor, ClusterId, FinancialYear, Role
from funding_engine.application.budgets import Budgets
from funding_engine.application.calendar import ENGLAND, today_in_england
from projections import fund_queries
from projections.fund_queries import AGE_BANDS, AgeBand, FundCommitments, YearEndStatement

__all__ = ["AGE_BANDS", "AgeBand", "CommitmentsByAge", "FundCommitments", "FundReports", "YearEndStatement"]

# The age bands' edges, in months before the day asked about (``AGE_BANDS``).
BAND_EDGES_IN_MONTHS = (3, 6, 12)


@dataclass(frozen=True, slots=True)
class CommitmentsByAge:
    """The year's unpaid commitments, fund by fund, by how long before ``as_of`` their awards were approved."""

    financial_year: FinancialYear
    as_of: date
    funds: list[FundCommitments]


class FundReports:
    """The year-end statements and commitments by age (a part of ``ReadModels``)."""

    _app: Budgets

    def budget_statement(
        self, actor: Actor, cluster_id: ClusterId | str, financial_year: FinancialYear | str
    ) -> YearEndStatement:
        """A cluster budget's year: zeros for a year nobody has allocated; an unknown cluster is not found."""
        check_role(actor, "read_fund_statement")
        cluster_id, year = self._app.budget_in_reach(actor, cluster_id, financial_year)
        return fund_queries.budget_statement(self._app.fresh_read_models(), str(cluster_id), str(year))

    def council_fund_statement(self, actor: Actor, financial_year: FinancialYear | str) -> YearEndStatement:
        """The council fund's year (council, finance)."""
        check_role(actor, "read_fund_statement")
        year = self._app.council_fund_in_reach(actor, financial_year)
        return fund_queries.council_fund_statement(self._app.fresh_read_models(), str(year))

    def commitments_by_age(
        self,
        actor: Actor,
        financial_year: FinancialYear | str,
        *,
        cluster_id: ClusterId | str | None = None,
        as_of: date | None = None,
    ) -> CommitmentsByAge:
        """Each fund's unpaid commitments for the year (held ones included), by the age of their awards.

        ``cluster_id`` keeps one cluster's budget (a filter, as on the request listing: one that names
        no cluster keeps nothing); a lead always sees only its own, and naming another cluster is
        refused. Ages are counted back from ``as_of`` (default: today in England).
        """
        check_role(actor, "read_commitments_by_age")
        year = FinancialYear.parse(financial_year)
        cluster = None if cluster_id is None else ClusterId.parse(cluster_id)
        if actor.role is Role.CLUSTER_LEAD:
            if cluster not in (None, actor.cluster_id):
                raise NotPermitted("a cluster lead may read only the cluster's own commitments")
            cluster = actor.cluster_id
        day = as_of or today_in_england()
        if type(day) is not date:
            raise InvalidValue("as_of must be a date such as 2027-03-31")
        edges = [utc_text(_midnight_in_england(months_before(day, months))) for months in BAND_EDGES_IN_MONTHS]
        funds = fund_queries.commitments_by_age(
            self._app.fresh_read_models(), str(year), edges, cluster_id=None if cluster is None else str(cluster)
        )
        return CommitmentsByAge(year, day, funds)


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the month's last day where it is shorter)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    if year < date.min.year:
        return date.min  # the calendar's first day: every award is younger than that
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _midnight_in_england(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ENGLAND).astimezone(UTC)
