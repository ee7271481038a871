"""What the Local Offer reads: the public listing of schools and their SEN Information Reports
(no sign-in), a lead's view of its cluster's schools, and the council's follow-up list.

The public listing is public by design: each row is a school, its cluster and where its report is
published, all of which the school itself publishes. Nothing in it names a pupil or a member of
staff, and broken-link reports (which the public writes) are shown to the council only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.errors import NotFound, NotPermitted
from domain.limits import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from domain.permissions import check_leads_the_cluster, check_role
from domain.values import Actor, ClusterId, Role, SchoolUrn
from funding_engine.application.sen_reports import SenReports
from projections import sen_report_queries as queries
from projections.queries import Page, clusters_page
from projections.sen_report_queries import BrokenLinkRow, NamedRow, SenReportRow

__all__ = ["BrokenLinkRow", "ListedSchool", "LocalOffer", "LocalOfferOverview", "SenReportRow"]


@dataclass(frozen=True)
class ListedSchool:
    """A school as the Local Offer shows it: its row, its name where known, and whether it is overdue."""

    row: SenReportRow
    name: str | None
    overdue: bool

    @property
    def school_urn(self) -> str:
        return self.row.school_urn

    @property
    def has_report(self) -> bool:
        return self.row.url is not None


@dataclass(frozen=True)
class LocalOfferOverview:
    """What the council follows up, each list by URN."""

    missing: list[ListedSchool]
    overdue: list[ListedSchool]
    not_met: list[ListedSchool]
    broken_links: list[BrokenLinkRow]


class LocalOffer:
    """The Local Offer's queries (``app.read_models.local_offer``)."""

    def __init__(self, app: SenReports) -> None:
        self._app = app

    def _listed(self, rows: list[NamedRow]) -> list[ListedSchool]:
        today = self._app.today().isoformat()
        return [
            ListedSchool(
                named.row, named.name, named.row.next_review_on is not None and named.row.next_review_on < today
            )
            for named in rows
        ]

    # -- public: no actor ---------------------------------------------------------------------------

    def schools(
        self,
        *,
        search: str | None = None,
        cluster_id: ClusterId | str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[ListedSchool]:
        """Every school and its report, by URN, for anyone: searched by URN or cluster, or in one cluster."""
        cluster = None if cluster_id is None else str(ClusterId.parse(cluster_id))
        page = queries.local_offer_page(
            self._app.fresh_read_models(), search=search, cluster_id=cluster, limit=limit, cursor=cursor
        )
        return Page(self._listed(page.items), page.next_cursor)

    def school(self, school_urn: SchoolUrn | str) -> ListedSchool:
        """One school and its report, for anyone; NotFound for a school the log does not know."""
        urn = str(SchoolUrn.parse(school_urn))
        row = queries.school_row(self._app.fresh_read_models(), urn)
        if row is None:
            raise NotFound(f"no school {urn}")
        return self._listed([row])[0]

    def clusters(self) -> list[tuple[str, str]]:
        """Every cluster's id and name, for anyone: the listing is searched by them."""
        database = self._app.fresh_read_models()
        found: list[tuple[str, str]] = []
        cursor: str | None = None
        while True:
            page = clusters_page(database, limit=MAX_PAGE_SIZE, cursor=cursor)
            found.extend((row.cluster_id, row.name) for row in page.items)
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    # -- signed in ----------------------------------------------------------------------------------

    def cluster_schools(self, actor: Actor, cluster_id: ClusterId | str) -> list[ListedSchool]:
        """Every school of a cluster with its report and assessment counts: its lead's, or the council's.

        A school reads only its own report (403 here); another cluster's lead is refused as for budgets."""
        check_role(actor, "read_sen_report")
        cluster = ClusterId.parse(cluster_id)
        if actor.role is Role.SCHOOL:
            raise NotPermitted("a school reads only its own SEN Information Report")
        if actor.role is Role.CLUSTER_LEAD:
            check_leads_the_cluster(actor, cluster)
        rows: list[NamedRow] = []
        cursor: str | None = None
        while True:
            page = queries.local_offer_page(
                self._app.fresh_read_models(), cluster_id=str(cluster), limit=500, cursor=cursor
            )
            rows.extend(page.items)
            if page.next_cursor is None:
                return self._listed(rows)
            cursor = page.next_cursor

    def overview(self, actor: Actor) -> LocalOfferOverview:
        """For the council: reports missing, overdue for review, assessed with items not met, and broken links."""
        check_role(actor, "read_local_offer_overview")
        database = self._app.fresh_read_models()
        today: date = self._app.today()
        listed = self._listed(queries.needing_attention(database, today.isoformat()))
        return LocalOfferOverview(
            missing=[school for school in listed if not school.has_report],
            overdue=[school for school in listed if school.overdue],
            not_met=[school for school in listed if _not_met(school.row)],
            broken_links=queries.open_broken_links(database),
        )


def _not_met(row: SenReportRow) -> bool:
    return any(counts is not None and counts.not_met > 0 for counts in (row.self_assessment, row.audit))
