"""What the lead reads beside a school's spend evidence, and the cluster's shared picture of need.

Both read published provision map versions, which never change, straight from the maps' logs.

- ``evidence_review``: the map version a request's evidence cites (its own-budget lines, whether
  its content still hashes to the cited SHA-256) and the warnings (``domain/map_evidence.py``).
  Anyone who may read the request may read what its evidence cites, as part of the request (the
  lead of the request's cluster even if the school has moved cluster since, finance too); the
  warnings are worked out on each read and never stored.
- ``needs_overview``: the cluster's schools' latest published versions for an academic year,
  added up with small numbers suppressed (``domain/needs_overview.py``). It is worked out on
  each read, not kept in a read model: a cluster has tens of schools, each one map a year (loaded
  from the aggregate cache after the first read). Measured roughly on SQLite with the demo's
  three-school cluster: 4 ms cold, 0.5 ms cached; a cluster of 30 schools with maps ten times the
  demo's size stays well under a page's budget. A read model would need its own projection and
  reconciliation for figures nobody decides on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.academic_year import AcademicYear
from domain.funding_request import FundingRequest
from domain.map_evidence import (
    EvidencePolicy,
    EvidenceWarning,
    evidence_warnings,
    own_budget_lines,
    own_budget_total,
)
from domain.money import Money
from domain.needs_overview import NeedsFigures, needs_figures
from domain.permissions import check_leads_the_cluster, check_role
from domain.policy import PolicyInForce
from domain.provision_maps import ProvisionMap, PublishedVersion
from domain.values import Actor, ClusterId, ProvisionMapCitation, Role, SchoolUrn
from funding_engine.application.calendar import ENGLAND
from funding_engine.application.history import History


@dataclass(frozen=True)
class CitedMap:
    """The published version a request's evidence cites, as read back now.

    ``version`` is None only if the log no longer holds it (a damaged store); ``hash_holds`` is
    whether its content still hashes to the SHA-256 the evidence cited.
    """

    citation: ProvisionMapCitation
    version: PublishedVersion | None
    hash_holds: bool
    own_budget_lines: list[dict[str, Any]]
    own_budget_total: Money


@dataclass(frozen=True)
class EvidenceReview:
    cited_map: CitedMap | None
    warnings: list[EvidenceWarning]


@dataclass(frozen=True)
class NeedsOverview:
    cluster_id: ClusterId
    academic_year: AcademicYear
    included: list[tuple[SchoolUrn, int]]  # (school, the version added up)
    not_published: list[SchoolUrn]
    figures: NeedsFigures


class Evidence(History):
    """Reading cited provision maps beside requests, and the cluster's needs overview."""

    def evidence_policy(self, cluster_id: ClusterId, policy: PolicyInForce | None = None) -> EvidencePolicy:
        """The warnings' thresholds: ``policy``'s, or the policy's in force for the cluster now."""
        policy = policy or self.policy_in_force(cluster_id)
        return EvidencePolicy(
            own_spend_per_pupil=policy.money("expected_own_spend_per_pupil"),
            review_interval_weeks=policy.number("provision_review_weeks"),
        )

    def evidence_review(self, actor: Actor, request_id: UUID, *, as_at: datetime | None = None) -> EvidenceReview:
        """The cited map and the warnings for the request now, or as it was at ``as_at``."""
        return self.evidence_review_of(self.get_request(actor, request_id, as_at=as_at))

    def evidence_review_of(self, request: FundingRequest, policy: PolicyInForce | None = None) -> EvidenceReview:
        """The same, for a request the caller has already read (``get_request``); ``policy`` gives the
        thresholds (default: the policy in force now)."""
        evidence = request.evidence
        if evidence is None or evidence.provision_map is None:
            return EvidenceReview(None, [])
        citation = evidence.provision_map
        found = self._find(
            ProvisionMap.id_for(citation.school_urn, citation.academic_year), ProvisionMap, to_change=False
        )
        version = None
        if found is not None and citation.version <= len(found.published):
            version = found.published[citation.version - 1]
        if version is None:
            missing = EvidenceWarning("cited_map_missing", "The cited provision map version cannot be found.")
            return EvidenceReview(CitedMap(citation, None, False, [], Money.zero()), [missing])
        holds = version.sha256 == citation.sha256 and version.hash_holds()
        document = version.document
        warnings = evidence_warnings(
            document=document,
            published_on=version.published_at.astimezone(ENGLAND).date(),
            hash_holds=holds,
            pupil_count=request.pupil_count,
            planned_categories=[line.category for line in request.planned_provision],
            academic_year=version.academic_year,
            financial_year=request.financial_year,
            policy=self.evidence_policy(request.cluster_id, policy),
        )
        lines = [dict(line) for line in own_budget_lines(document)]
        return EvidenceReview(CitedMap(citation, version, holds, lines, own_budget_total(document)), warnings)

    def needs_overview(
        self, actor: Actor, cluster_id: ClusterId | str, academic_year: AcademicYear | str
    ) -> NeedsOverview:
        """The cluster's schools' latest published maps for the year, added up and suppressed."""
        check_role(actor, "read_needs_overview")
        cluster_id, academic_year = ClusterId.parse(cluster_id), AcademicYear.parse(academic_year)
        if actor.role is Role.CLUSTER_LEAD:
            check_leads_the_cluster(actor, cluster_id)
        cluster = self.get_cluster(actor, cluster_id)
        included, not_published, documents = [], [], []
        for urn in sorted(cluster.school_urns, key=str):
            found = self._find(ProvisionMap.id_for(urn, academic_year), ProvisionMap, to_change=False)
            latest = found.latest_published if found is not None else None
            # A version whose text no longer hashes to its SHA-256 is left out, not trusted.
            if latest is None or not latest.hash_holds():
                not_published.append(urn)
                continue
            included.append((urn, latest.version))
            documents.append(latest.document)
        return NeedsOverview(cluster_id, academic_year, included, not_published, needs_figures(documents))
