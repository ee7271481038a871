"""The rows the instalments read model should hold, from the folded aggregates alone.

An instalment's row is the folded request's award, instalment by instalment (the aggregate has
already read an approval recorded before awards, and a payment recorded before payments named
instalments, its own way). Its payment run is the run whose line for it is paid or still awaiting
payment: a line withdrawn with its run names no run. Payment runs belong to no year, so the fold
keeps every one. No projection code is called.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from domain.funding_request import FundingRequest
from domain.payment_runs import InstalmentKey, PaymentRun
from projections.reconciliation.fold import Step

Row = tuple[Any, ...]


class InstalmentExpectations:
    def __init__(self) -> None:
        self.runs: dict[UUID, PaymentRun] = {}

    def observe(self, step: Step) -> None:
        if isinstance(step.aggregate, PaymentRun):
            self.runs.setdefault(step.aggregate.id, step.aggregate)

    def _runs_by_instalment(self) -> dict[InstalmentKey, int]:
        holding: dict[InstalmentKey, int] = {}
        for run in sorted(self.runs.values(), key=lambda run: run.number):
            for line in run.lines:
                if run.line_status(line.line) != "withdrawn":
                    holding[line.key] = run.number
        return holding

    def instalments(self, requests: Iterable[FundingRequest]) -> list[Row]:
        holding = self._runs_by_instalment()
        return [
            (
                f"{request.id.hex}-{instalment.number:04d}",
                request.id.hex,
                str(request.school_urn),
                str(request.cluster_id),
                request.funded_by,
                str(request.financial_year),
                str(instalment.financial_year),
                instalment.number,
                instalment.due_on.isoformat(),
                instalment.amount.pence,
                instalment.paid.pence,
                instalment.released.pence,
                instalment.held_until,
                holding.get(InstalmentKey(request.id, instalment.number)),
            )
            for request in requests
            if request.award is not None
            for instalment in request.award.instalments
        ]

    @staticmethod
    def instalment_requests(requests: Iterable[FundingRequest]) -> list[Row]:
        return [
            (request.id.hex, str(request.school_urn), str(request.cluster_id), str(request.financial_year))
            for request in requests
        ]
