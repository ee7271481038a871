"""The rows the SEN Information Reports read model should hold, from the folded aggregates alone.

A school's row comes from its membership (its cluster) and its report aggregate (address, dates,
latest assessments, open broken-link reports, version); each broken-link report's row from the
event that recorded it, cleared by the event that cleared it (the council's, or a new address).
No projection code is called.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.clusters import SchoolMembership
from domain.formatting import utc_text
from domain.sen_report_checklist import AssessmentKind, Rating
from domain.sen_reports import Assessment, SenInformationReport
from domain.values import SchoolUrn
from projections.reconciliation.fold import Step

Row = tuple[Any, ...]


def _counts(assessment: Assessment | None) -> Row:
    if assessment is None:
        return (None, None, None, None)
    return (utc_text(assessment.assessed_at), *(assessment.count(rating) for rating in Rating))


class SenReportExpectations:
    def __init__(self) -> None:
        self.memberships: dict[UUID, SchoolMembership] = {}
        self.reports: dict[UUID, SenInformationReport] = {}
        self.urls: dict[UUID, str] = {}  # each report's address before its latest event
        self.broken_links: dict[str, list[Any]] = {}

    def observe(self, step: Step) -> None:
        aggregate, event = step.aggregate, step.event
        if isinstance(aggregate, SchoolMembership):
            self.memberships.setdefault(aggregate.id, aggregate)
            return
        if not isinstance(aggregate, SenInformationReport):
            return
        self.reports.setdefault(aggregate.id, aggregate)
        urn = str(aggregate.school_urn)
        address_changed = aggregate.id in self.urls and self.urls[aggregate.id] != aggregate.url
        if isinstance(event, SenInformationReport.BrokenLinkReported):
            reference = f"{urn}/{event.originator_version:010d}"
            self.broken_links[reference] = [reference, urn, utc_text(event.timestamp), event.url, event.note, None]
        elif isinstance(event, SenInformationReport.BrokenLinkReportsCleared) or address_changed:
            for row in self.broken_links.values():
                if row[1] == urn and row[5] is None:
                    row[5] = utc_text(event.timestamp)
        self.urls[aggregate.id] = aggregate.url

    def sen_reports(self) -> list[Row]:
        clusters = {str(m.school_urn): m.cluster_id for m in self.memberships.values()}
        reports = {str(report.school_urn): report for report in self.reports.values()}
        rows = []
        for urn in sorted(set(clusters) | set(reports)):
            report, cluster = reports.get(urn), clusters.get(urn)
            membership_id = SchoolMembership.id_for(SchoolUrn(urn)).hex
            if report is None:
                rows.append((urn, membership_id, None, None if cluster is None else str(cluster), None, None, None,
                             *_counts(None), *_counts(None), 0, 0))  # fmt: skip
                continue
            rows.append((
                urn, membership_id, report.id.hex, None if cluster is None else str(cluster), report.url,
                report.published_on.isoformat(), report.next_review_on.isoformat(),
                *_counts(report.latest.get(AssessmentKind.SELF_ASSESSMENT)),
                *_counts(report.latest.get(AssessmentKind.AUDIT)),
                report.open_broken_links, report.version,
            ))  # fmt: skip
        return rows

    def sen_report_broken_links(self) -> list[Row]:
        return [tuple(row) for row in self.broken_links.values()]
