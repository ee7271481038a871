"""Finance closes a year: a cluster's budget (``/finance/balances/{cluster_id}/close``) or the council
fund (``/finance/council-fund/close``), each for the ``financial_year`` asked.

The page shows what the close would record (committed but unpaid, released, available), what is
committed ahead of an allocation (which refuses a close), and the requests still waiting on the
year, each a link; then the carry-forward and the button. The post closes with the version the
page showed, so figures that moved meanwhile are shown again rather than closed on. A refusal
because requests still wait lists them, as the application names them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import FundingError, InvalidValue, NotFound, StaleVersion, YearNotClosable
from domain.formatting import pounds
from domain.limits import LAST_FINANCIAL_YEAR
from domain.values import Actor, ClusterId, FinancialYear, Role
from web.finance.common import chosen_year
from web.finance.forms import refusal_status
from web.kit import Errors, Kit, application_message, money, parse_pounds

STALE = "The figures changed while you had this page open. Check them, then close the year again."


def add_routes(pages: APIRouter, kit: Kit) -> None:
    application = kit.application
    read_models = application.read_models

    def cluster_of(text: str) -> ClusterId:
        try:
            return ClusterId.parse(text)
        except InvalidValue:
            raise NotFound(f"no cluster {text!r}") from None

    def close_page(
        request: Request,
        actor: Actor,
        cluster_id: ClusterId | None,
        year: FinancialYear,
        *,
        errors: Errors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
        waiting: list[str] | None = None,
    ) -> Response:
        if cluster_id is None:
            position = application.council_fund_year_end(actor, year)
            name, back = "The council fund", f"/finance/balances?financial_year={year}"
            action = "/finance/council-fund/close"
        else:
            position = application.budget_year_end(actor, cluster_id, year)
            clusters = read_models.list_clusters(actor)
            name = next((c.name for c in clusters if c.cluster_id == str(cluster_id)), str(cluster_id))
            back = f"/finance/balances/{cluster_id}?financial_year={year}"
            action = f"/finance/balances/{cluster_id}/close"
        next_year = FinancialYear(year.start_year + 1) if year.start_year < LAST_FINANCIAL_YEAR else None
        return kit.render(
            request,
            "finance/close_year.html",
            title=f"Close {year}: {name}",
            status=status,
            errors=errors,
            breadcrumbs=[(f"/finance/balances?financial_year={year}", f"Balances for {year}")]
            + ([(back, name)] if cluster_id is not None else []),
            values={"carry_forward": "0.00", **(values or {})},
            name=name,
            year=str(year),
            next_year=str(next_year) if next_year else None,
            position=position,
            waiting=waiting if waiting is not None else position.waiting,
            action=action,
            is_council_fund=cluster_id is None,
        )

    @pages.get("/finance/balances/{cluster_id}/close")
    def close_budget_form(request: Request, cluster_id: str, financial_year: str = "") -> Response:
        """What closing the cluster's budget for the year would record, and the form to close it."""
        actor = kit.actor(request, Role.FINANCE)
        errors = Errors()
        year = chosen_year(financial_year, errors)
        return close_page(request, actor, cluster_of(cluster_id), year, errors=errors, status=400 if errors else 200)

    @pages.get("/finance/council-fund/close")
    def close_fund_form(request: Request, financial_year: str = "") -> Response:
        """What closing the council fund for the year would record, and the form to close it."""
        actor = kit.actor(request, Role.FINANCE)
        errors = Errors()
        year = chosen_year(financial_year, errors)
        return close_page(request, actor, None, year, errors=errors, status=400 if errors else 200)

    @pages.post("/finance/balances/{cluster_id}/close")
    async def close_budget(request: Request, cluster_id: str) -> Response:
        actor = kit.actor(request, Role.FINANCE)
        form = await kit.form(request)
        return close(request, actor, cluster_of(cluster_id), form.fields)

    @pages.post("/finance/council-fund/close")
    async def close_fund(request: Request) -> Response:
        actor = kit.actor(request, Role.FINANCE)
        form = await kit.form(request)
        return close(request, actor, None, form.fields)

    def close(request: Request, actor: Actor, cluster_id: ClusterId | None, fields: dict[str, str]) -> Response:
        errors = Errors()
        values = {"carry_forward": fields.get("carry_forward", "").strip()}
        year = chosen_year(fields.get("financial_year", ""), errors, "carry_forward")
        pence = parse_pounds(
            values["carry_forward"], errors, "carry_forward", "the amount to carry forward", allow_zero=True
        )
        version_text = fields.get("version", "")
        version = (
            int(version_text) if version_text.isascii() and version_text.isdigit() and len(version_text) < 10 else None
        )
        if errors or pence is None:
            return close_page(request, actor, cluster_id, year, errors=errors, values=values, status=400)
        carried = pounds(pence)
        expected = version or None  # a year nobody has allocated has no version yet
        try:
            if cluster_id is None:
                application.close_council_fund_year(actor, year, carried, expected_version=expected)
            else:
                application.close_budget_year(actor, cluster_id, year, carried, expected_version=expected)
        except YearNotClosable as refusal:
            count = len(refusal.request_ids)
            waiting = "1 request still waits" if count == 1 else f"{count} requests still wait"
            errors.add("waiting", f"The year cannot close while {waiting} on it: each must be decided first")
            return close_page(
                request, actor, cluster_id, year, errors=errors, values=values, status=409, waiting=refusal.request_ids
            )
        except StaleVersion:
            errors.add("carry_forward", STALE)
            return close_page(request, actor, cluster_id, year, errors=errors, values=values, status=409)
        except NotFound:
            raise
        except FundingError as error:
            errors.add("carry_forward", application_message(error))
            return close_page(
                request, actor, cluster_id, year, errors=errors, values=values, status=refusal_status(error)
            )
        what = "The council fund" if cluster_id is None else f"The {cluster_id} budget"
        flash = f"{what} for {year} is closed"
        if pence:
            flash += f": {money(pence)} carried forward to {FinancialYear(year.start_year + 1)}"
        back = (
            f"/finance/balances?financial_year={year}"
            if cluster_id is None
            else f"/finance/balances/{cluster_id}?financial_year={year}"
        )
        return kit.redirect(back, flash=flash)
