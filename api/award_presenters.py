"""An award and a year's close turned into response bodies (since issue 13): money as 2-dp strings,
dates as ISO dates."""

from __future__ import annotations

from api.award_schemas import (
    AwardPeriodResponse,
    AwardResponse,
    AwardTotalsResponse,
    InstalmentResponse,
    RecoveryResponse,
    YearCloseResponse,
)
from domain.awards import Award, Instalment, Recovery, next_year
from domain.funds import ClusterBudget, Fund
from domain.money import Money


def award(value: Award) -> AwardResponse:
    period = value.period
    return AwardResponse(
        period=None
        if period is None
        else AwardPeriodResponse(starts_on=period.starts_on.isoformat(), ends_on=period.ends_on.isoformat()),
        schedule=value.schedule,
        instalments=[_instalment(instalment) for instalment in value.instalments],
        recoveries=[_recovery(recovery) for recovery in value.recoveries],
        totals=AwardTotalsResponse(
            approved=str(value.approved),
            paid_out=str(value.paid_out),
            paid=str(value.paid),
            released=str(value.released),
            recovered=str(value.recovered),
            held=str(value.held),
            scheduled_unpaid=str(value.scheduled_unpaid),
            committed=str(value.committed),
        ),
    )


def _instalment(value: Instalment) -> InstalmentResponse:
    return InstalmentResponse(
        number=value.number,
        due_on=value.due_on.isoformat(),
        financial_year=str(value.financial_year),
        amount=str(value.amount),
        paid=str(value.paid),
        released=str(value.released),
        unpaid=str(value.unpaid),
        # A held instalment that was then paid off or released keeps its condition; it holds nothing.
        held_until=value.held_until if value.is_held else None,
    )


def _recovery(value: Recovery) -> RecoveryResponse:
    return RecoveryResponse(
        number=value.number,
        financial_year=str(value.financial_year),
        amount=str(value.amount),
        reason_code=value.reason_code,
        note=value.note,
        received=str(value.received),
        outstanding=str(value.outstanding),
    )


def year_close(fund: Fund, carried_forward: Money) -> YearCloseResponse:
    """A fund just closed, carrying ``carried_forward`` (which the close took off its allocation)."""
    carried_to = None
    if carried_forward.is_positive:
        carried_to = str(next_year(fund.financial_year))
    return YearCloseResponse(
        cluster_id=str(fund.cluster_id) if isinstance(fund, ClusterBudget) else None,
        financial_year=str(fund.financial_year),
        closed=fund.closed,
        committed_unpaid=str(fund.committed - fund.paid),
        released=str(fund.released),
        available_before=str(fund.available + carried_forward),
        carried_forward=str(carried_forward),
        carried_to=carried_to,
        available=str(fund.available),
        version=fund.version,
    )
