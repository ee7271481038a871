"""Finance's reports on a fund's year: the year-end statement of a cluster's budget
(``/finance/balances/{cluster_id}/statement``) or of the council fund (``/finance/council-fund/statement``),
each also as CSV; every fund's statement in one list (``/finance/reports/statements``); and the year's
committed-but-unpaid money by the age of its awards (``/finance/reports/commitments-by-age``).

The figures are the application's (``ReadModels.budget_statement`` and friends); the pages only
lay them out and say in words what each is.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import InvalidValue, NotFound
from domain.formatting import pounds
from domain.limits import FIRST_FINANCIAL_YEAR, LAST_FINANCIAL_YEAR
from domain.values import Actor, ClusterId, FinancialYear, Role
from funding_engine.application.fund_reports import AGE_BANDS, FundCommitments, YearEndStatement
from web.finance.common import YEAR_FIELD, chosen_year, year_items, year_options
from web.kit import Errors, Kit

# How old an award is, by band, in the words the page uses.
BAND_NAMES = {
    "months_0_3": "Under 3 months",
    "months_3_6": "3 to 6 months",
    "months_6_12": "6 to 12 months",
    "months_over_12": "Over 12 months",
}
# The statement's money in the CSV, in the API's names and order (``committed_unpaid_at_close`` is
# empty while the year is open, as the API's is null).
CSV_MONEY = (
    "carried_in", "opening_allocation", "allocations", "committed", "forward_commitments", "commissioned", "paid",
    "released", "recovered", "income", "committed_unpaid_at_close", "carried_forward", "available",
)  # fmt: skip


@dataclass(frozen=True)
class FundLine:
    """A fund of the year, as the list of statements shows it."""

    name: str
    href: str
    statement: YearEndStatement


@dataclass(frozen=True)
class AgeLine:
    """A fund's unpaid commitments as the commitments-by-age table shows them."""

    name: str
    commitments: FundCommitments


def statement_csv(statement: YearEndStatement) -> str:
    """The statement as a two-row CSV: the API's field names, then the amounts in pounds (``1234.50``)."""
    values: dict[str, str] = {
        "financial_year": statement.financial_year,
        "fund": statement.fund,
        "cluster_id": statement.cluster_id or "",
        "closed": "yes" if statement.closed else "no",
    }
    for name in CSV_MONEY:
        pence = statement.unpaid_at_close if name == "committed_unpaid_at_close" else getattr(statement, name)
        values[name] = "" if pence is None else pounds(pence)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(values.keys())
    writer.writerow(values.values())
    return out.getvalue()


def add_routes(pages: APIRouter, kit: Kit) -> None:
    read_models = kit.application.read_models

    def cluster_of(text: str) -> ClusterId:
        try:
            return ClusterId.parse(text)
        except InvalidValue:
            raise NotFound(f"no cluster {text!r}") from None

    def cluster_names(actor: Actor) -> dict[str, str]:
        return {row.cluster_id: row.name for row in read_models.list_clusters(actor)}

    def statement_page(request: Request, financial_year: str, cluster: str | None) -> Response:
        actor = kit.actor(request, Role.FINANCE)  # before the cluster: other roles learn nothing of it
        cluster_id = None if cluster is None else cluster_of(cluster)
        errors = Errors()
        year = chosen_year(financial_year, errors)
        if cluster_id is None:
            statement = read_models.council_fund_statement(actor, year)
            name, base = "The council fund", "/finance/council-fund"
            balances = f"/finance/balances?financial_year={year}"
        else:
            statement = read_models.budget_statement(actor, cluster_id, year)
            name = cluster_names(actor).get(str(cluster_id), str(cluster_id))
            base = f"/finance/balances/{cluster_id}"
            balances = f"{base}?financial_year={year}"
        previous = str(FinancialYear(year.start_year - 1)) if year.start_year > FIRST_FINANCIAL_YEAR else None
        following = str(FinancialYear(year.start_year + 1)) if year.start_year < LAST_FINANCIAL_YEAR else None
        return kit.render(
            request,
            "finance/statement.html",
            title=f"Year-end statement for {year}: {name}",
            status=400 if errors else 200,
            errors=errors,
            breadcrumbs=[(f"/finance/reports/statements?financial_year={year}", f"Year-end statements for {year}")],
            values={YEAR_FIELD: financial_year},
            year=str(year),
            previous_year=previous,
            next_year=following,
            years=year_items(year_options(kit.application, actor, year), year),
            name=name,
            is_council_fund=cluster_id is None,
            s=statement,
            balances_href=balances,
            close_href=f"{base}/close?financial_year={year}",
            csv_href=f"{base}/statement.csv?financial_year={year}",
        )

    def statement_download(request: Request, financial_year: str, cluster: str | None) -> Response:
        actor = kit.actor(request, Role.FINANCE)
        cluster_id = None if cluster is None else cluster_of(cluster)
        errors = Errors()
        year = chosen_year(financial_year, errors)
        base = "/finance/council-fund" if cluster_id is None else f"/finance/balances/{cluster_id}"
        if errors:  # the page says what is wrong with the year; a download cannot
            return kit.redirect(f"{base}/statement?financial_year={quote(financial_year)}")
        if cluster_id is None:
            statement = read_models.council_fund_statement(actor, year)
            filename = f"statement-council-fund-{year}.csv"
        else:
            statement = read_models.budget_statement(actor, cluster_id, year)
            filename = f"statement-{cluster_id}-{year}.csv"
        return Response(
            statement_csv(statement),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
        )

    @pages.get("/finance/balances/{cluster_id}/statement")
    def budget_statement(request: Request, cluster_id: str, financial_year: str = "") -> Response:
        """A cluster budget's year-end statement for the year."""
        return statement_page(request, financial_year, cluster_id)

    @pages.get("/finance/council-fund/statement")
    def council_fund_statement(request: Request, financial_year: str = "") -> Response:
        """The council fund's year-end statement for the year."""
        return statement_page(request, financial_year, None)

    @pages.get("/finance/balances/{cluster_id}/statement.csv")
    def budget_statement_csv(request: Request, cluster_id: str, financial_year: str = "") -> Response:
        return statement_download(request, financial_year, cluster_id)

    @pages.get("/finance/council-fund/statement.csv")
    def council_fund_statement_csv(request: Request, financial_year: str = "") -> Response:
        return statement_download(request, financial_year, None)

    @pages.get("/finance/reports/statements")
    def statements(request: Request, financial_year: str = "") -> Response:
        """Every fund's year-end position for the year, each linking to its statement."""
        actor = kit.actor(request, Role.FINANCE)
        errors = Errors()
        year = chosen_year(financial_year, errors)
        lines = [
            FundLine(
                "Council fund",
                f"/finance/council-fund/statement?financial_year={year}",
                read_models.council_fund_statement(actor, year),
            )
        ]
        for cluster_id, name in sorted(cluster_names(actor).items(), key=lambda item: item[1]):
            lines.append(
                FundLine(
                    name,
                    f"/finance/balances/{quote(cluster_id)}/statement?financial_year={year}",
                    read_models.budget_statement(actor, cluster_id, year),
                )
            )
        return kit.render(
            request,
            "finance/statements.html",
            title=f"Year-end statements for {year}",
            status=400 if errors else 200,
            errors=errors,
            values={YEAR_FIELD: financial_year},
            year=str(year),
            years=year_items(year_options(kit.application, actor, year), year),
            lines=lines,
        )

    @pages.get("/finance/reports/commitments-by-age")
    def commitments_by_age(request: Request, financial_year: str = "") -> Response:
        """The year's committed-but-unpaid money, fund by fund, by how long ago its awards were approved."""
        actor = kit.actor(request, Role.FINANCE)
        errors = Errors()
        year = chosen_year(financial_year, errors)
        report = read_models.commitments_by_age(actor, year)
        names = cluster_names(actor)
        lines = [AgeLine(_fund_name(fund, names), fund) for fund in report.funds]
        totals = [sum(line.commitments.bands[index].unpaid for line in lines) for index in range(len(AGE_BANDS))]
        return kit.render(
            request,
            "finance/commitments_by_age.html",
            title=f"Commitments by age for {year}",
            status=400 if errors else 200,
            errors=errors,
            values={YEAR_FIELD: financial_year},
            year=str(year),
            years=year_items(year_options(kit.application, actor, year), year),
            as_of=report.as_of,
            bands=[BAND_NAMES[band] for band in AGE_BANDS],
            lines=lines,
            totals=totals,
            total_unpaid=sum(line.commitments.unpaid for line in lines),
            total_held=sum(line.commitments.held for line in lines),
        )


def _fund_name(fund: FundCommitments, names: dict[str, str]) -> str:
    if fund.fund == "council":
        return "Council fund"
    return names.get(fund.cluster_id or "", fund.cluster_id or "")
