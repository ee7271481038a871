"""Funding requests: a school's submission, evidence and withdrawal; the lead's and the council's
decisions on it; and finance's payments.

Each decision that commits money saves the request with its budget (or the council fund) in one
transaction, under the locks of both, so the available balance never goes below zero. The budget
or fund to lock is learnt from a first read of the request (``_peek_request``), which only reads
fields that never change after submission; the decision re-reads everything under the locks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from domain.academic_year import AcademicYear
from domain.awards import AwardTerms
from domain.council_terms import CouncilTermAwards, SchoolTerm
from domain.errors import InvalidValue, NotFound, SchoolNotInCluster
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund
from domain.map_evidence import check_citation_holds, spend_from_map
from domain.money import Money, parse_amount
from domain.permissions import check_is_the_school, check_leads_the_cluster, check_may_read_request, check_role
from domain.provision_maps import ProvisionMap, PublishedVersion
from domain.schedules import AwardPeriod, ScheduleKind
from domain.values import (
    Actor,
    CouncilDecision,
    DeclineReasonCode,
    EvidenceDocument,
    FinancialYear,
    ProvisionLine,
    ProvisionMapCitation,
    SchoolUrn,
    SpendLine,
    TopUpReason,
    parse_enum,
)
from funding_engine.application.calendar import today_in_england
from funding_engine.application.engine import Decision
from funding_engine.application.policies import Policies


class Requests(Policies):
    """A funding request's lifecycle, one method per step of DESIGN.md's diagram.

    Every decision reads the policy in force for the request's cluster at that moment (the
    council's own for the council's decisions) and pins it on the decision.
    """

    def submit_request(
        self,
        actor: Actor,
        *,
        school_urn: SchoolUrn | str,
        financial_year: FinancialYear | str,
        amount_requested: Money | str,
        reason: TopUpReason | str,
        pupil_count: int,
        needs_summary: str,
        planned_provision: Iterable[ProvisionLine | Mapping[str, Any]],
        request_id: UUID | None = None,
    ) -> FundingRequest:
        check_role(actor, "submit_request")
        school_urn, year = SchoolUrn.parse(school_urn), FinancialYear.parse(financial_year)
        amount = parse_amount(amount_requested, field="amount_requested")
        reason = parse_enum(TopUpReason, reason, field="reason")
        provision = [_provision_line(line) for line in planned_provision]
        check_is_the_school(actor, school_urn)

        def decide() -> Decision[FundingRequest]:
            cluster_id = self.cluster_of_school(school_urn)
            if cluster_id is None:
                raise SchoolNotInCluster(f"school {school_urn} is not in a cluster, so it has nobody to apply to")
            budget = self._find(ClusterBudget.id_for(cluster_id, year), ClusterBudget, to_change=False)
            if budget is not None:
                budget.check_open()
            return (
                FundingRequest.submit(
                    school_urn=school_urn,
                    cluster_id=cluster_id,
                    financial_year=year,
                    amount_requested=amount,
                    reason=reason,
                    pupil_count=pupil_count,
                    needs_summary=needs_summary,
                    planned_provision=provision,
                    actor=actor,
                    request_id=request_id,
                ),
            )

        # A new id cannot clash with another writer, so there is nothing to lock.
        return self._run_command(decide)

    def provide_evidence(
        self,
        actor: Actor,
        request_id: UUID,
        *,
        notional_sen_budget: Money | str,
        spend: Iterable[SpendLine | Mapping[str, Any]] = (),
        documents: Iterable[EvidenceDocument | Mapping[str, Any]] = (),
        provision_map: ProvisionMapCitation | Mapping[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> FundingRequest:
        """Typed ``spend`` lines, or a ``provision_map`` citation of one of the school's published
        map versions, whose own-budget lines become the spend (``domain/map_evidence.py``)."""
        check_role(actor, "provide_evidence")
        notional = parse_amount(notional_sen_budget, field="notional_sen_budget")
        spend_lines = [_spend_line(line) for line in spend]
        document_list = [_document(document) for document in documents]
        citation = None if provision_map is None else _citation(provision_map)
        if citation is not None and spend_lines:
            raise InvalidValue(
                "the spend comes from the cited provision map: send spend lines or provision_map, not both"
            )

        def decide() -> Decision[FundingRequest]:
            request = self._request_for_school(actor, request_id, expected_version)
            lines = spend_lines
            if citation is not None:
                # Before the map is looked at: another school's maps are not this school's to probe.
                request.check_may_follow(FundingRequest.SpendEvidenceProvided, "add spend evidence to")
                request.check_cites_own_map(citation)
                version = self._cited_version(citation)
                check_citation_holds(citation, version)
                lines = spend_from_map(version)
            request.provide_evidence(notional, lines, document_list, actor, provision_map=citation)
            return (request,)

        return self._run_command(decide, request_id)

    def request_information(
        self, actor: Actor, request_id: UUID, question: str, *, expected_version: int | None = None
    ) -> FundingRequest:
        check_role(actor, "request_information")

        def decide() -> Decision[FundingRequest]:
            request = self._request_for_lead(actor, request_id, expected_version)
            request.request_information(question, actor, self.policy_in_force(request.cluster_id))
            return (request,)

        return self._run_command(decide, request_id)

    def approve(
        self,
        actor: Actor,
        request_id: UUID,
        amount: Money | str,
        reason: str,
        conditions: str = "",
        *,
        award_period: AwardPeriod | Mapping[str, Any] | None = None,
        schedule: ScheduleKind | str | None = None,
        held_instalments: Iterable[tuple[int, str] | Mapping[str, Any]] = (),
        expected_version: int | None = None,
    ) -> FundingRequest:
        """Approve, committing the award on the cluster's budget for each financial year its period
        touches (one or two), in one save with the request."""
        check_role(actor, "approve")
        amount = parse_amount(amount)
        terms = self.award_terms(award_period, schedule, held_instalments)
        peeked = self._peek_request(request_id)
        years = _award_years(terms, peeked.financial_year)
        cluster_id = peeked.cluster_id
        budget_ids = {year: ClusterBudget.id_for(peeked.cluster_id, year) for year in years}

        def decide() -> Decision[FundingRequest]:
            request = self._request_for_lead(actor, request_id, expected_version)
            budget, *later = [
                self._find(budget_id, ClusterBudget) or ClusterBudget.open(request.cluster_id, year, actor)
                for year, budget_id in budget_ids.items()
            ]
            next_budget = later[0] if later else None
            policy = self.policy_in_force(cluster_id)
            shared = terms.with_shares(policy.instalment_shares)
            request.approve(amount, reason, conditions or "", actor, budget, shared, next_budget, policy)
            return (request, budget, later[0]) if later else (request, budget)

        return self._run_command(decide, request_id, *budget_ids.values())

    def award_terms(
        self,
        award_period: AwardPeriod | Mapping[str, Any] | None,
        schedule: ScheduleKind | str | None,
        held_instalments: Iterable[tuple[int, str] | Mapping[str, Any]],
    ) -> AwardTerms:
        """An approval's terms as given, with the default term shares: a decision takes the policy's
        in force when it is made (``AwardTerms.with_shares``)."""
        period = None if award_period is None else AwardPeriod.parse(award_period)
        kind = ScheduleKind.TERMLY if schedule is None else parse_enum(ScheduleKind, schedule, field="schedule")
        holds = tuple(_hold(hold) for hold in held_instalments)
        return AwardTerms(period, kind, holds)

    def decline(
        self,
        actor: Actor,
        request_id: UUID,
        reason_code: DeclineReasonCode | str,
        reason: str,
        *,
        expected_version: int | None = None,
    ) -> FundingRequest:
        check_role(actor, "decline")
        code = parse_enum(DeclineReasonCode, reason_code, field="reason_code")

        def decide() -> Decision[FundingRequest]:
            request = self._request_for_lead(actor, request_id, expected_version)
            request.decline(code, reason, actor, self.policy_in_force(request.cluster_id))
            return (request,)

        return self._run_command(decide, request_id)

    def escalate(
        self,
        actor: Actor,
        request_id: UUID,
        amount: Money | str,
        exceptional_circumstances: str,
        *,
        expected_version: int | None = None,
    ) -> FundingRequest:
        check_role(actor, "escalate")
        amount = parse_amount(amount)

        def decide() -> Decision[FundingRequest]:
            request = self._request_for_lead(actor, request_id, expected_version)
            budget = self._find(ClusterBudget.id_for(request.cluster_id, request.financial_year), ClusterBudget)
            request.escalate(amount, exceptional_circumstances, actor, budget, self.policy_in_force(request.cluster_id))
            return (request,)

        return self._run_command(decide, request_id)

    def decide_escalation(
        self,
        actor: Actor,
        request_id: UUID,
        decision: CouncilDecision | str,
        reason: str,
        amount: Money | str | None = None,
        *,
        award_period: AwardPeriod | Mapping[str, Any] | None = None,
        schedule: ScheduleKind | str | None = None,
        held_instalments: Iterable[tuple[int, str] | Mapping[str, Any]] = (),
        expected_version: int | None = None,
    ) -> FundingRequest:
        check_role(actor, "decide_escalation")
        decision = parse_enum(CouncilDecision, decision, field="decision")
        approved_amount = None if amount is None else parse_amount(amount)
        terms = self.award_terms(award_period, schedule, held_instalments)
        if decision is CouncilDecision.DECLINE and approved_amount is not None:
            raise InvalidValue("a council decline carries no amount")
        if decision is CouncilDecision.DECLINE and (award_period is not None or schedule is not None or terms.holds):
            raise InvalidValue("a council decline has no award period, schedule or held instalments")
        years = _award_years(terms, self._peek_request(request_id).financial_year)
        fund_ids = {year: CouncilFund.id_for(year) for year in years}
        # The council decides by its own policy; an approval counts in this term's tally, against its cap.
        # One day for both, so the tally locked and the day pinned are always the same term's.
        today = today_in_england()
        term = SchoolTerm.containing(today)
        tally_id = CouncilTermAwards.id_for(term)

        def decide() -> Decision[FundingRequest]:
            request = self._request(request_id, expected_version)
            policy = self.policy_in_force(on=today)
            if decision is CouncilDecision.DECLINE:
                request.decline_as_council(reason, actor, policy)
                return (request,)
            fund, *later = [
                self._find(fund_id, CouncilFund) or CouncilFund.open(year, actor) for year, fund_id in fund_ids.items()
            ]
            tally = self._find(tally_id, CouncilTermAwards) or CouncilTermAwards.open(term)
            request.approve_as_council(
                approved_amount,
                reason,
                actor,
                fund,
                terms.with_shares(policy.instalment_shares),
                later[0] if later else None,
                policy,
                tally,
            )
            return (request, fund, tally, later[0]) if later else (request, fund, tally)

        return self._run_command(decide, request_id, *fund_ids.values(), tally_id)

    def withdraw(
        self, actor: Actor, request_id: UUID, reason: str, *, expected_version: int | None = None
    ) -> FundingRequest:
        check_role(actor, "withdraw")

        def decide() -> Decision[FundingRequest]:
            request = self._request_for_school(actor, request_id, expected_version)
            request.withdraw(reason, actor)
            return (request,)

        return self._run_command(decide, request_id)

    def _cited_version(self, citation: ProvisionMapCitation) -> PublishedVersion:
        """The published version a citation names. Published versions never change, so it is read
        without a lock (and without a copy); a version not (yet) published is a bad citation."""
        map_id = ProvisionMap.id_for(citation.school_urn, citation.academic_year)
        provision_map = self._find(map_id, ProvisionMap, to_change=False)
        if provision_map is None or not 1 <= citation.version <= len(provision_map.published):
            raise InvalidValue(
                f"school {citation.school_urn} has no published version {citation.version} "
                f"of its {citation.academic_year} provision map"
            )
        return provision_map.published[citation.version - 1]

    # -- loading a request for a command ----------------------------------------------------------

    def _request(
        self, request_id: UUID, expected_version: int | None = None, *, to_change: bool = True
    ) -> FundingRequest:
        if not isinstance(request_id, UUID):
            raise NotFound("no such funding request")
        request = self._get(request_id, FundingRequest, f"request {request_id}", to_change=to_change)
        self._check_version(request, expected_version)
        return request

    def _peek_request(self, request_id: UUID) -> FundingRequest:
        """A first read to learn which budget or fund to lock; the decision re-reads under the lock."""
        return self._request(request_id, to_change=False)

    def _request_for_school(self, actor: Actor, request_id: UUID, expected_version: int | None) -> FundingRequest:
        request = self._request(request_id)
        # Commands answer as reads do: another school's request is not found, not forbidden.
        check_may_read_request(actor, request)
        check_is_the_school(actor, request.school_urn)
        self._check_version(request, expected_version)
        return request

    def _request_for_lead(self, actor: Actor, request_id: UUID, expected_version: int | None) -> FundingRequest:
        request = self._request(request_id)
        check_may_read_request(actor, request)
        check_leads_the_cluster(actor, request.cluster_id)
        self._check_version(request, expected_version)
        return request


def _award_years(terms: AwardTerms, year: FinancialYear) -> list[FinancialYear]:
    """The financial years an award on ``terms`` may touch: the request's, and the next if its period
    runs into it. A period that is no good is refused by the domain, with the request's year."""
    if terms.period is None or terms.period.starts_on not in year:
        return [year]
    return terms.period.financial_years()


def _hold(hold: tuple[int, str] | Mapping[str, Any]) -> tuple[int, str]:
    if isinstance(hold, tuple):
        return hold
    if not isinstance(hold, Mapping) or set(hold) != {"number", "condition"}:
        raise InvalidValue("a held instalment names its number and the condition it waits on")
    number, condition = hold["number"], hold["condition"]
    if type(number) is not int or not isinstance(condition, str):
        raise InvalidValue("a held instalment's number is a whole number and its condition is text")
    return number, condition


def _provision_line(line: ProvisionLine | Mapping[str, Any]) -> ProvisionLine:
    if isinstance(line, ProvisionLine):
        return line
    return ProvisionLine.parse(line.get("category", ""), line.get("amount", ""))


def _spend_line(line: SpendLine | Mapping[str, Any]) -> SpendLine:
    if isinstance(line, SpendLine):
        return line
    return SpendLine.parse(line.get("category", ""), line.get("amount", ""), line.get("note", ""))


def _citation(citation: ProvisionMapCitation | Mapping[str, Any]) -> ProvisionMapCitation:
    if isinstance(citation, ProvisionMapCitation):
        return citation
    fields = {"school_urn", "academic_year", "version", "sha256"}
    if not isinstance(citation, Mapping) or set(citation) != fields:
        raise InvalidValue("provision_map names school_urn, academic_year, version and sha256")
    return ProvisionMapCitation(
        SchoolUrn.parse(citation["school_urn"]),
        AcademicYear.parse(citation["academic_year"]),
        citation["version"],
        citation["sha256"],
    )


def _document(document: EvidenceDocument | Mapping[str, Any]) -> EvidenceDocument:
    if isinstance(document, EvidenceDocument):
        return document
    return EvidenceDocument(document.get("name", ""), document.get("sha256", ""))
