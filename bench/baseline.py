"""The floor we measure against: the same storage work with the bare ``eventsourcing`` library.

Plain aggregates whose events carry the same facts as ours as plain JSON values: no value types,
no validation, no permissions, no transcodings of our own, no read models. The application has
the same snapshot intervals and aggregate cache as ``FundingApplication``, and each workflow step
does the same ``repository.get`` calls and the same ``save`` of the same aggregates together as
our command does, with optimistic retries on a lost race. What ours costs beyond this is what
our own code costs.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate, event
from eventsourcing.persistence import IntegrityError

from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget
from funding_engine.application import FundingApplication

NAMESPACE = uuid.UUID("6f1c7f1e-3b52-4d5a-9a53-0be7c4000000")


class BareMembership(Aggregate):
    @event("Started")
    def __init__(self, school_urn: str) -> None:
        self.school_urn = school_urn
        self.cluster_id: str | None = None

    @staticmethod
    def create_id(school_urn: str) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"membership/{school_urn}")

    @event("Joined")
    def join(self, cluster_id: str, actor: dict[str, Any]) -> None:
        self.cluster_id = cluster_id


class BareBudget(Aggregate):
    @event("Opened")
    def __init__(self, cluster_id: str, financial_year: int, actor: dict[str, Any]) -> None:
        self.cluster_id = cluster_id
        self.financial_year = financial_year
        self.allocated = 0
        self.committed = 0

    @staticmethod
    def create_id(cluster_id: str, financial_year: int, actor: dict[str, Any] | None = None) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"budget/{cluster_id}/{financial_year}")

    @event("FundsAllocated")
    def allocate(self, amount: int, note: str, actor: dict[str, Any]) -> None:
        self.allocated += amount

    @event("FundsCommitted")
    def commit(self, request_id: str, amount: int, actor: dict[str, Any]) -> None:
        self.committed += amount


class BareRequest(Aggregate):
    @event("Submitted")
    def __init__(
        self,
        school_urn: str,
        cluster_id: str,
        financial_year: int,
        amount_requested: int,
        reason: str,
        pupil_count: int,
        needs_summary: str,
        planned_provision: list[dict[str, Any]],
        actor: dict[str, Any],
    ) -> None:
        self.cluster_id = cluster_id
        self.financial_year = financial_year
        self.status = "submitted"

    @event("SpendEvidenceProvided")
    def provide_evidence(
        self,
        notional_sen_budget: int,
        spend: list[dict[str, Any]],
        documents: list[dict[str, Any]],
        actor: dict[str, Any],
    ) -> None:
        self.status = "evidenced"

    @event("ClusterApproved")
    def approve(self, amount: int, reason: str, conditions: str, actor: dict[str, Any]) -> None:
        self.status = "approved"


class BareApplication(Application):
    name = "BareEngine"
    # The product's own intervals, so both sides replay the same number of events after a snapshot.
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
        BareBudget: FundingApplication.snapshotting_intervals[ClusterBudget],
        BareRequest: FundingApplication.snapshotting_intervals[FundingRequest],
    }
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "5000"}

    def find(self, aggregate_id: uuid.UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def save_retrying(self, decide: Any) -> Any:
        for _ in range(30):
            aggregates = decide()
            try:
                self.save(*aggregates)
            except IntegrityError:
                continue
            return aggregates[0]
        raise RuntimeError("kept losing races")

    # The three steps of the top-up workflow, with the same reads and saves as ours.

    def submit(
        self, school_urn: str, financial_year: int, amount: int, provision: list[dict[str, Any]], actor: dict[str, Any]
    ) -> uuid.UUID:
        def decide() -> list[Aggregate]:
            membership = self.find(BareMembership.create_id(school_urn))
            return [
                BareRequest(
                    school_urn,
                    membership.cluster_id,
                    financial_year,
                    amount,
                    "complex_needs",
                    1,
                    "needs summary",
                    provision,
                    actor,
                )
            ]

        return self.save_retrying(decide).id

    def provide_evidence(
        self,
        request_id: uuid.UUID,
        notional: int,
        spend: list[dict[str, Any]],
        documents: list[dict[str, Any]],
        actor: dict[str, Any],
    ) -> None:
        def decide() -> list[Aggregate]:
            request = self.find(request_id)
            request.provide_evidence(notional, spend, documents, actor)
            return [request]

        self.save_retrying(decide)

    def approve(self, request_id: uuid.UUID, amount: int, actor: dict[str, Any]) -> None:
        peek = self.find(request_id)
        budget_id = BareBudget.create_id(peek.cluster_id, peek.financial_year)

        def decide() -> list[Aggregate]:
            request = self.find(request_id)
            budget = self.find(budget_id)
            request.approve(amount, "approved", "", actor)
            budget.commit(str(request_id), amount, actor)
            return [request, budget]

        self.save_retrying(decide)


def bare_application(env: Mapping[str, str]) -> BareApplication:
    return BareApplication(env=env)
