"""The SEN Information Reports read model: every school the log knows, its cluster and its report.

``sen_reports`` has one row per school that has joined a cluster or registered a report, so the
public Local Offer listing shows schools whose report is missing as well as those with one: its
cluster (from the school's membership), the report's address and dates, the latest
self-assessment's and the latest audit's counts of items met, partly met and not met, and how many
broken-link reports are open. ``sen_report_broken_links`` keeps each broken-link report (the
address followed, the note, when) and when it was cleared, for the council.

Dates are ISO text (``2026-09-01``), so "overdue" is a text comparison with today's date, done at
query time (it changes with the calendar, not with the log). A row's ``version`` is the report
aggregate's (0 while no report is registered).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from eventsourcing.domain import Aggregate

from domain.clusters import SchoolMembership
from domain.sen_report_checklist import AssessmentKind, Rating
from domain.sen_reports import SenInformationReport
from domain.values import SchoolUrn
from projections.database import Cursor
from projections.projection import Projection
from projections.read_models.common import hex_id, iso
from projections.source import NotificationLike

SEN_REPORTS_COLUMNS = (
    "school_urn", "membership_id", "report_id", "cluster_id", "url", "published_on", "next_review_on",
    "self_assessed_at", "self_met", "self_partly_met", "self_not_met",
    "audit_assessed_at", "audit_met", "audit_partly_met", "audit_not_met",
    "open_broken_links", "version",
)  # fmt: skip
BROKEN_LINKS_COLUMNS = ("report_ref", "school_urn", "reported_at", "url", "note", "cleared_at")

_PREFIX = {AssessmentKind.SELF_ASSESSMENT.value: "self", AssessmentKind.AUDIT.value: "audit"}


def broken_link_ref(school_urn: str, version: int) -> str:
    """A broken-link report's key: the school and the report aggregate's version that recorded it."""
    return f"{school_urn}/{version:010d}"


class AssessmentCounts(NamedTuple):
    assessed_at: str
    met: int
    partly_met: int
    not_met: int


class SenReportRow(NamedTuple):
    """A school as the Local Offer lists it (``url`` is None while its report is missing)."""

    school_urn: str
    cluster_id: str | None
    url: str | None
    published_on: str | None
    next_review_on: str | None
    self_assessment: AssessmentCounts | None
    audit: AssessmentCounts | None
    open_broken_links: int
    version: int


class BrokenLinkRow(NamedTuple):
    report_ref: str
    school_urn: str
    reported_at: str
    url: str
    note: str
    cleared_at: str | None


def counts(assessed_at: Any, met: Any, partly: Any, not_met: Any) -> AssessmentCounts | None:
    return None if assessed_at is None else AssessmentCounts(str(assessed_at), int(met), int(partly), int(not_met))


def sen_report_row(values: tuple[Any, ...]) -> SenReportRow:
    """A row read in ``SEN_REPORTS_COLUMNS`` order (the two aggregate ids are bookkeeping, left out)."""
    urn, _, _, cluster, url, published, review, *rest = values
    self_counts, audit_counts = counts(*rest[0:4]), counts(*rest[4:8])
    return SenReportRow(
        str(urn), cluster, url, published, review, self_counts, audit_counts, int(rest[8]), int(rest[9])
    )


class SenReports(Projection):
    """One row per known school; one per broken-link report."""

    name = "sen_reports"
    tables = ("sen_reports", "sen_report_broken_links")

    def __init__(self) -> None:
        self._handlers: dict[type, Callable[[Cursor, Any], None]] = {
            SchoolMembership.Started: self._membership_started,
            SchoolMembership.JoinedCluster: self._joined,
            SchoolMembership.LeftCluster: self._left,
            SenInformationReport.Registered: self._registered,
            SenInformationReport.Updated: self._updated,
            SenInformationReport.Assessed: self._assessed,
            SenInformationReport.BrokenLinkReported: self._broken_link,
            SenInformationReport.BrokenLinkReportsCleared: self._cleared,
        }

    def create_statements(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS sen_reports (
                school_urn TEXT PRIMARY KEY,
                membership_id TEXT NOT NULL UNIQUE,
                report_id TEXT UNIQUE,
                cluster_id TEXT,
                url TEXT,
                published_on TEXT,
                next_review_on TEXT,
                self_assessed_at TEXT,
                self_met BIGINT,
                self_partly_met BIGINT,
                self_not_met BIGINT,
                audit_assessed_at TEXT,
                audit_met BIGINT,
                audit_partly_met BIGINT,
                audit_not_met BIGINT,
                open_broken_links BIGINT NOT NULL,
                version BIGINT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS sen_reports_by_cluster ON sen_reports (cluster_id, school_urn)",
            """CREATE TABLE IF NOT EXISTS sen_report_broken_links (
                report_ref TEXT PRIMARY KEY,
                school_urn TEXT NOT NULL,
                reported_at TEXT NOT NULL,
                url TEXT NOT NULL,
                note TEXT NOT NULL,
                cleared_at TEXT
            )""",
            "CREATE INDEX IF NOT EXISTS sen_report_broken_links_open ON sen_report_broken_links (cleared_at)",
        ]

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Aggregate.Event | None) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(cursor, event)

    @staticmethod
    def _ensure(cursor: Cursor, school_urn: str) -> None:
        membership_id = SchoolMembership.id_for(SchoolUrn(school_urn)).hex
        cursor.execute(
            "INSERT INTO sen_reports (school_urn, membership_id, open_broken_links, version) VALUES (?, ?, 0, 0)"
            " ON CONFLICT (school_urn) DO NOTHING",
            (school_urn, membership_id),
        )

    def _membership_started(self, cursor: Cursor, event: SchoolMembership.Started) -> None:
        self._ensure(cursor, str(event.school_urn))

    def _joined(self, cursor: Cursor, event: SchoolMembership.JoinedCluster) -> None:
        cursor.execute(
            "UPDATE sen_reports SET cluster_id = ? WHERE membership_id = ?",
            (str(event.cluster_id), hex_id(event.originator_id)),
        )

    def _left(self, cursor: Cursor, event: SchoolMembership.LeftCluster) -> None:
        cursor.execute(
            "UPDATE sen_reports SET cluster_id = NULL WHERE membership_id = ?", (hex_id(event.originator_id),)
        )

    def _registered(self, cursor: Cursor, event: SenInformationReport.Registered) -> None:
        urn = str(event.school_urn)
        self._ensure(cursor, urn)
        cursor.execute(
            "UPDATE sen_reports SET report_id = ?, url = ?, published_on = ?, next_review_on = ?, version = ?"
            " WHERE school_urn = ?",
            (hex_id(event.originator_id), event.url, event.published_on, event.next_review_on,
             event.originator_version, urn),
        )  # fmt: skip

    def _urn_of(self, cursor: Cursor, event: Aggregate.Event) -> tuple[str, str]:
        """The school (and its report's address) a report event is about, found by the report's id."""
        cursor.execute("SELECT school_urn, url FROM sen_reports WHERE report_id = ?", (hex_id(event.originator_id),))
        urn, url = cursor.fetchone()
        return str(urn), str(url)

    def _updated(self, cursor: Cursor, event: SenInformationReport.Updated) -> None:
        urn, old_url = self._urn_of(cursor, event)
        if event.url != old_url:
            self._clear(cursor, urn, iso(event.timestamp))
        cursor.execute(
            "UPDATE sen_reports SET url = ?, published_on = ?, next_review_on = ?, version = ? WHERE school_urn = ?",
            (event.url, event.published_on, event.next_review_on, event.originator_version, urn),
        )

    def _assessed(self, cursor: Cursor, event: SenInformationReport.Assessed) -> None:
        urn, _ = self._urn_of(cursor, event)
        prefix = _PREFIX[event.kind]
        ratings = list(event.ratings.values())
        met, partly, not_met = (ratings.count(rating.value) for rating in Rating)
        cursor.execute(
            f"UPDATE sen_reports SET {prefix}_assessed_at = ?, {prefix}_met = ?, {prefix}_partly_met = ?,"
            f" {prefix}_not_met = ?, version = ? WHERE school_urn = ?",
            (iso(event.timestamp), met, partly, not_met, event.originator_version, urn),
        )

    def _broken_link(self, cursor: Cursor, event: SenInformationReport.BrokenLinkReported) -> None:
        urn, _ = self._urn_of(cursor, event)
        cursor.execute(
            "INSERT INTO sen_report_broken_links (report_ref, school_urn, reported_at, url, note, cleared_at)"
            " VALUES (?, ?, ?, ?, ?, NULL)",
            (broken_link_ref(urn, event.originator_version), urn, iso(event.timestamp), event.url, event.note),
        )
        cursor.execute(
            "UPDATE sen_reports SET open_broken_links = open_broken_links + 1, version = ? WHERE school_urn = ?",
            (event.originator_version, urn),
        )

    def _cleared(self, cursor: Cursor, event: SenInformationReport.BrokenLinkReportsCleared) -> None:
        urn, _ = self._urn_of(cursor, event)
        self._clear(cursor, urn, iso(event.timestamp))
        cursor.execute("UPDATE sen_reports SET version = ? WHERE school_urn = ?", (event.originator_version, urn))

    @staticmethod
    def _clear(cursor: Cursor, school_urn: str, when: str) -> None:
        cursor.execute(
            "UPDATE sen_report_broken_links SET cleared_at = ? WHERE school_urn = ? AND cleared_at IS NULL",
            (when, school_urn),
        )
        cursor.execute("UPDATE sen_reports SET open_broken_links = 0 WHERE school_urn = ?", (school_urn,))
