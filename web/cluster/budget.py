"""The lead's budget and commissions pages: ``/cluster/budget`` and ``/cluster/commissions``.

The budget page draws two charts, each with its figures as a table beside it: the budget's
allocated, committed, commissioned and paid money as it grew month by month over the financial
year (from the finance ledger's movements, summed), and the committed money by what it pays for.
"Spend by category" here means what the cluster has committed: each top-up it approved, shared
across the categories of the request's planned provision in proportion to them (to the penny),
and each service it commissioned, under that service.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import Conflict, InvalidValue
from domain.formatting import pounds
from domain.values import Actor, FinancialYear, RequestStatus, Role
from funding_engine.application.calendar import current_financial_year, today_in_england
from funding_engine.application.read_models import DecisionRow, MovementTotalRow
from web.charts import Series, bar_chart, line_chart
from web.cluster.common import parse_year, refusal_on_form, schools_of, selected, year_options
from web.kit import Errors, Kit, money, parse_pounds
from web.labels import CATEGORIES, ENGLAND, SERVICES

MONTHS = ("Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar")
# Which figures of the budget each ledger movement moves, and which way, as the domain's events do
# (an adjustment is a negative allocation; a carry forward at the close leaves ``allocated``; a
# recovery takes back what was paid and its commitment). Forward commitments and income move none.
FIGURES_OF_MOVEMENT: dict[str, tuple[tuple[str, int], ...]] = {
    "allocation": (("allocated", 1),),
    "adjustment": (("allocated", 1),),
    "carry_forward_in": (("allocated", 1),),
    "year_close": (("allocated", -1),),
    "commitment": (("committed", 1),),
    "forward_covered": (("committed", 1),),
    "release": (("committed", -1),),
    "commission": (("commissioned", 1),),
    "payment": (("paid", 1),),
    "recovery": (("committed", -1), ("paid", -1)),
}
CHARTED = ("allocated", "committed", "commissioned", "paid")
COMMISSION_FIELDS = ("service", "provider", "amount", "school_urns", "description")
# A cluster's commissions and approvals in a year are tens, not thousands: read them a page at a time.
PAGE = 200


def month_index(moment: datetime, year: FinancialYear) -> int:
    """0 for April to 11 for March, in England's time; earlier moments count in April, later in March."""
    day = moment.astimezone(ENGLAND).date()
    if day < year.starts_on:
        return 0
    if day > year.ends_on:
        return 11
    return (day.month - 4) % 12


def months_begun(year: FinancialYear, today: date) -> int:
    """How many of the year's months have begun by ``today`` (0 before April, 12 once it is over)."""
    if today < year.starts_on:
        return 0
    if today > year.ends_on:
        return 12
    return (today.month - 4) % 12 + 1


def cumulative_by_month(
    totals: Iterable[MovementTotalRow], year: FinancialYear, today: date
) -> tuple[int, dict[str, list[int]]]:
    """Each charted figure at the end of each month that has begun (and the number of months shown)."""
    per_month = {figure: [0] * 12 for figure in CHARTED}
    seen = False
    for row in totals:
        figures = FIGURES_OF_MOVEMENT.get(row.movement, ())
        if not figures:
            continue
        seen = True
        at = datetime.fromisoformat(row.hour + ":00").replace(tzinfo=UTC)
        for figure, sign in figures:
            per_month[figure][month_index(at, year)] += sign * row.amount
    shown = max(months_begun(year, today), 1 if seen else 0)
    if seen:
        # Movements recorded after the last month shown (a date set early) still count in it.
        last = max(index for figure in CHARTED for index in range(12) if per_month[figure][index])
        shown = max(shown, last + 1)
    running: dict[str, list[int]] = {}
    for figure in CHARTED:
        total, values = 0, []
        for amount in per_month[figure][:shown]:
            total += amount
            values.append(total)
        running[figure] = values
    return shown, running


def split_in_proportion(amount: int, weights: Sequence[tuple[str, int]]) -> dict[str, int]:
    """``amount`` pence shared across ``weights`` in proportion, adding up to it exactly.

    Each share is rounded down, and the pennies left go one each to the largest remainders (the
    first listed among equals): the largest remainder method.
    """
    total = sum(weight for _, weight in weights)
    if total <= 0:
        raise ValueError("weights must add up to more than zero")
    shares = {key: 0 for key, _ in weights}
    remainders: list[tuple[int, int, str]] = []
    for order, (key, weight) in enumerate(weights):
        share, remainder = divmod(amount * weight, total)
        shares[key] += share
        remainders.append((-remainder, order, key))
    left = amount - sum(shares.values())
    for _, _, key in sorted(remainders)[:left]:
        shares[key] += 1
    return shares


@dataclass(frozen=True)
class Commission:
    """A commission as the page shows it, from its decision-log row."""

    decided_at: str
    service: str
    provider: str
    schools: str
    amount: int
    description: str
    decided_by: str


def commission_of(row: DecisionRow) -> Commission:
    """The decision log writes a commission's details as ``service; provider: ...; schools: ...``."""
    service, _, rest = (row.details or "").partition("; provider: ")
    provider, _, schools = rest.rpartition("; schools: ")
    return Commission(row.decided_at, service, provider, schools, row.amount or 0, row.reason, row.actor_sub)


def all_commissions(kit: Kit, actor: Actor, year: FinancialYear) -> list[Commission]:
    rows: list[Commission] = []
    cursor: str | None = None
    while True:
        page = kit.application.read_models.commissions(actor, actor.cluster_id or "", year, limit=PAGE, cursor=cursor)
        rows.extend(commission_of(row) for row in page.items)
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


def committed_by_category(kit: Kit, actor: Actor, year: FinancialYear) -> list[tuple[str, int, int]]:
    """(category label, pence, how many top-ups) for what the cluster's own approvals committed."""
    amounts: dict[str, int] = {}
    counts: dict[str, int] = {}
    cursor: str | None = None
    approved = (RequestStatus.CLUSTER_APPROVED, RequestStatus.PAID)
    while True:
        page = kit.application.read_models.list_requests(
            actor, financial_year=year, statuses=approved, limit=PAGE, cursor=cursor
        )
        for row in page.items:
            # The planned provision is on the request itself; a paid request may be the council's.
            funding_request = kit.application.get_request(actor, UUID(row.request_id))
            if funding_request.funded_by != "cluster":
                continue
            weights: dict[str, int] = {}
            for line in funding_request.planned_provision:
                weights[line.category.value] = weights.get(line.category.value, 0) + line.amount.pence
            shares = split_in_proportion(funding_request.amount_approved.pence, list(weights.items()))
            for category, share in shares.items():
                amounts[category] = amounts.get(category, 0) + share
                counts[category] = counts.get(category, 0) + 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return [(CATEGORIES[code], amounts[code], counts[code]) for code in CATEGORIES if code in amounts]


def add_pages(pages: APIRouter, kit: Kit) -> None:
    @pages.get("/cluster/budget")
    def budget(request: Request, year: str = "") -> Response:
        """The budget's figures, how they grew over the year, and what the money is committed to."""
        actor = kit.actor(request, Role.CLUSTER_LEAD)
        errors = Errors()
        chosen = parse_year(year, errors, default=current_financial_year()) or current_financial_year()
        cluster_id = actor.cluster_id or ""
        read = kit.application.read_models
        balance = read.balance(actor, cluster_id, chosen)
        shown, running = cumulative_by_month(
            read.budget_movement_totals(actor, cluster_id, chosen), chosen, today_in_england()
        )
        months = list(MONTHS[:shown])
        categories = committed_by_category(kit, actor, chosen)
        commissioned: dict[str, int] = {}
        for commission in all_commissions(kit, actor, chosen):
            label = f"{SERVICES.get(commission.service, commission.service)} (commissioned)"
            commissioned[label] = commissioned.get(label, 0) + commission.amount
        spend = [(label, amount) for label, amount, _ in categories] + sorted(commissioned.items())
        names = {"allocated": "Allocated", "committed": "Committed", "commissioned": "Commissioned", "paid": "Paid"}
        over_year = None
        if shown:
            over_year = line_chart(
                chart_id="budget-over-year",
                title=f"{cluster_id}'s budget over {chosen}, month by month",
                description=(
                    f"Running totals at the end of each month from April to {MONTHS[shown - 1]}: "
                    + "; ".join(f"{names[figure]} {money(running[figure][-1])}" for figure in CHARTED)
                    + " by then. The table below the chart gives every month's figures."
                ),
                labels=MONTHS,
                series=[Series(names[figure], running[figure]) for figure in CHARTED],
            )
        by_category = None
        if spend:
            by_category = bar_chart(
                chart_id="spend-by-category",
                title=f"{cluster_id}'s committed spend by category, {chosen}",
                description="; ".join(f"{label} {money(amount)}" for label, amount in spend) + ".",
                bars=spend,
                value_text=money,
            )
        return kit.render(
            request,
            "cluster/budget.html",
            title="Budget",
            status=400 if errors else 200,
            errors=errors,
            values={"year": year},
            year=str(chosen),
            year_items=year_options(str(chosen)),
            balance=balance,
            figures=balance.figures,
            months=months,
            running=running,
            charted=CHARTED,
            figure_names=names,
            over_year=over_year,
            by_category=by_category,
            categories=categories,
            commissioned=sorted(commissioned.items()),
            spend_total=sum(amount for _, amount in spend),
        )

    def commissions_page(
        request: Request,
        actor: Actor,
        year: FinancialYear,
        *,
        errors: Errors | None = None,
        values: dict[str, str] | None = None,
        chosen_schools: Sequence[str] = (),
        status: int = 200,
    ) -> Response:
        cluster_id = actor.cluster_id or ""
        balance = kit.application.read_models.balance(actor, cluster_id, year)
        shown_values = values or {}
        return kit.render(
            request,
            "cluster/commissions.html",
            title="Commissions",
            status=status,
            errors=errors,
            values=shown_values,
            year=str(year),
            year_items=year_options(str(year)),
            commissions=all_commissions(kit, actor, year),
            available=balance.figures.available,
            service_items=selected(
                [{"value": code, "text": label} for code, label in SERVICES.items()], shown_values.get("service", "")
            ),
            school_items=[
                {"value": urn, "text": f"School {urn}", "checked": urn in chosen_schools}
                for urn in schools_of(kit, actor)
            ],
        )

    @pages.get("/cluster/commissions")
    def commissions(request: Request, year: str = "") -> Response:
        """The services the cluster commissioned this year, and the form to commission one."""
        actor = kit.actor(request, Role.CLUSTER_LEAD)
        errors = Errors()
        chosen = parse_year(year, errors, default=current_financial_year()) or current_financial_year()
        return commissions_page(request, actor, chosen, errors=errors, status=400 if errors else 200)

    @pages.post("/cluster/commissions")
    async def commission(request: Request) -> Response:
        actor = kit.actor(request, Role.CLUSTER_LEAD)
        form = await kit.form(request)
        errors = Errors()
        year = parse_year(form.get("year"), errors, default=current_financial_year()) or current_financial_year()
        service = form.get("service")
        if service not in SERVICES:
            errors.add("service", "Choose the service you are commissioning")
        provider = form.get("provider")
        if not provider:
            errors.add("provider", "Enter who provides the service")
        amount = parse_pounds(form.get("amount"), errors, "amount", "the cost")
        schools = [urn.strip() for urn in form.lists.get("school_urns", []) if urn.strip()]
        if not schools:
            errors.add("school_urns", "Choose at least one school the service is for")
        description = form.get("description")
        if not description:
            errors.add("description", "Describe what the service will do")
        status = 400
        if not errors and amount is not None:
            try:
                kit.application.commission_service(
                    actor,
                    actor.cluster_id or "",
                    year,
                    service=service,
                    provider=provider,
                    amount=pounds(amount),
                    school_urns=schools,
                    description=description,
                )
            except InvalidValue as error:
                refusal_on_form(errors, error, COMMISSION_FIELDS)
            except Conflict as error:
                status = 409
                refusal_on_form(errors, error, COMMISSION_FIELDS)
            else:
                flash = f"You commissioned {SERVICES[service]} from {provider} for {money(amount)}"
                return kit.redirect(f"/cluster/commissions?year={year}", flash=flash)
        return commissions_page(
            request, actor, year, errors=errors, values=form.fields, chosen_schools=schools, status=status
        )
