"""SEN Information Reports: a school records where its report is published and assesses it against
the checklist; a council officer audits any school's; anyone may report a broken link.

The school is the actor's own (a school records and self-assesses only its own report, as it
submits only its own requests). Dates are checked against today in England. Reporting a broken
link needs no sign-in, so it takes no actor and nothing about who reported it; it is rate-limited
per client (an IP address the adapter passes in) and overall, in this process's memory
(``funding_engine.rate_limits``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from domain import limits
from domain.errors import NotFound
from domain.permissions import check_is_the_school, check_may_read_sen_report, check_role
from domain.sen_report_checklist import AssessmentKind
from domain.sen_reports import ReportDates, SenInformationReport, check_broken_link_note, check_report_url
from domain.values import Actor, Role, SchoolUrn
from funding_engine.application.calendar import today_in_england
from funding_engine.application.clusters import Clusters
from funding_engine.application.engine import Decision
from funding_engine.rate_limits import SlidingWindowLimit
from funding_engine.settings import Settings


class SenReports(Clusters):
    """The schools' SEN Information Reports (the public Local Offer lists them)."""

    def __init__(self, settings: Settings, env: Mapping[str, str] | None = None) -> None:
        super().__init__(settings, env)
        self.broken_link_limit = SlidingWindowLimit(
            per_client=limits.BROKEN_LINK_REPORTS_PER_CLIENT_PER_HOUR, overall=limits.BROKEN_LINK_REPORTS_PER_HOUR
        )

    @staticmethod
    def today() -> date:
        """The date reports are checked against (tests move it)."""
        return today_in_england()

    def record_sen_report(
        self,
        actor: Actor,
        school_urn: SchoolUrn | str,
        url: str,
        published_on: date | str,
        next_review_on: date | str,
        *,
        expected_version: int | None = None,
    ) -> SenInformationReport:
        """Register the school's report, or change its address or dates (the school itself)."""
        check_role(actor, "record_sen_report")
        school_urn = SchoolUrn.parse(school_urn)
        check_is_the_school(actor, school_urn)
        check_report_url(url)
        dates = ReportDates.check(published_on, next_review_on, today=self.today())

        def decide() -> Decision[SenInformationReport]:
            report = self._find(SenInformationReport.id_for(school_urn), SenInformationReport)
            self._check_version(report, expected_version)
            if report is None:
                return (SenInformationReport.register(school_urn, url, dates, actor),)
            report.update(url, dates, actor)
            return (report,)

        return self._run_command(decide, SenInformationReport.id_for(school_urn))

    def assess_sen_report(
        self,
        actor: Actor,
        school_urn: SchoolUrn | str,
        ratings: Mapping[str, str],
        notes: Mapping[str, str] | None = None,
    ) -> SenInformationReport:
        """Rate every checklist item: the school's self-assessment, or a council officer's audit."""
        check_role(actor, "assess_sen_report")
        school_urn = SchoolUrn.parse(school_urn)
        if actor.role is Role.SCHOOL:
            check_is_the_school(actor, school_urn)
        kind = AssessmentKind.SELF_ASSESSMENT if actor.role is Role.SCHOOL else AssessmentKind.AUDIT

        def decide() -> Decision[SenInformationReport]:
            report = self._report(school_urn)
            report.assess(kind, dict(ratings), dict(notes or {}), actor)
            return (report,)

        return self._run_command(decide, SenInformationReport.id_for(school_urn))

    def report_broken_link(self, client: str, school_urn: SchoolUrn | str, note: str | None = None) -> None:
        """Anyone says a school's report link does not work (no sign-in; ``client`` is only counted)."""
        school_urn = SchoolUrn.parse(school_urn)
        note = check_broken_link_note(note)
        self.broken_link_limit.acquire(client)

        def decide() -> Decision[SenInformationReport]:
            report = self._report(school_urn)
            report.report_broken_link(note)
            return (report,)

        self._run_command(decide, SenInformationReport.id_for(school_urn))

    def clear_broken_link_reports(self, actor: Actor, school_urn: SchoolUrn | str) -> SenInformationReport:
        """The council has followed up the school's broken-link reports."""
        check_role(actor, "clear_broken_link_reports")
        school_urn = SchoolUrn.parse(school_urn)

        def decide() -> Decision[SenInformationReport]:
            report = self._report(school_urn)
            report.clear_broken_link_reports(actor)
            return (report,)

        return self._run_command(decide, SenInformationReport.id_for(school_urn))

    def get_sen_report(self, actor: Actor, school_urn: SchoolUrn | str) -> SenInformationReport:
        """A school's report with its latest assessments: the school's own, its cluster lead's, any for the council."""
        check_role(actor, "read_sen_report")
        school_urn = SchoolUrn.parse(school_urn)
        cluster = self.cluster_of_school(school_urn) if actor.role is Role.CLUSTER_LEAD else None
        check_may_read_sen_report(actor, school_urn, cluster)
        return self._report(school_urn)

    def _report(self, school_urn: SchoolUrn) -> SenInformationReport:
        report = self._find(SenInformationReport.id_for(school_urn), SenInformationReport)
        if report is None:
            raise NotFound(f"no SEN Information Report for school {school_urn}")
        return report
