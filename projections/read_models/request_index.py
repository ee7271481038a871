"""The request index: one row per funding request, for queues and searches.

A row is fixed at submission but for its progress (status, the time it entered it, the amounts
escalated, approved and paid, the last update and version). Each event moves the progress the way
the lifecycle says, in one place (``_Progress.follow``): in memory for a request submitted in the
same batch, and for an older one on its row read back once per batch, then written once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter
from typing import NamedTuple

from eventsourcing.domain import Aggregate

from domain.funding_request import TRANSITION_OF, FundingRequest
from domain.lifecycle import status_after_money
from domain.money import Money
from domain.values import RequestStatus
from projections.database import Cursor
from projections.projection import Projection
from projections.read_models.common import hex_id, iso
from projections.source import NotificationLike

R = FundingRequest


class RequestRow(NamedTuple):
    """A row of the request index: money in pence, times as ISO 8601 UTC text."""

    request_id: str  # 32 hex digits
    school_urn: str
    cluster_id: str
    financial_year: str
    status: str
    reason: str
    pupil_count: int
    amount_requested: int
    amount_escalated: int | None
    amount_approved: int
    amount_paid: int
    created_at: str
    updated_at: str
    status_since: str
    version: int
    amount_released: int


# Every column of the table, in the order the row has them.
REQUEST_INDEX_COLUMNS = RequestRow._fields


@dataclass(slots=True)
class _Progress:
    """The columns a request's later events change."""

    status: str
    status_since: str
    amount_escalated: int | None
    amount_approved: int
    amount_paid: int
    updated_at: str
    version: int
    amount_released: int

    @property
    def unpaid(self) -> Money:
        return Money(self.amount_approved - self.amount_paid - self.amount_released)

    @property
    def released(self) -> Money:
        return Money(self.amount_released)

    def follow(self, event: FundingRequest.Event, at: str) -> None:
        """What ``event`` does to the row: the status the lifecycle gives it, and the amount it carries."""
        self.updated_at, self.version = at, event.originator_version
        status = TRANSITION_OF[type(event)].leads_to
        if isinstance(event, (R.PaymentRecorded, R.AwardReleased)):
            if isinstance(event, R.PaymentRecorded):
                self.amount_paid += event.amount.pence
            else:
                self.amount_released += event.amount.pence
            status = status_after_money(RequestStatus(self.status), self)
        elif isinstance(event, (R.ClusterApproved, R.CouncilApproved)):
            self.amount_approved = event.amount.pence
        elif isinstance(event, R.Escalated):
            self.amount_escalated = event.amount.pence
        # Evidence given again while already evidenced keeps the clock of the evidenced state running.
        if status is not None and status.value != self.status:
            self.status, self.status_since = status.value, at


PROGRESS_COLUMNS = tuple(field.name for field in fields(_Progress))
_PROGRESS = attrgetter(*PROGRESS_COLUMNS)
_UPDATE = f"UPDATE request_index SET {', '.join(f'{c} = ?' for c in PROGRESS_COLUMNS)} WHERE request_id = ?"
# Rows read back per statement: well inside every store's limit on parameters.
READ_BACK_CHUNK = 500


@dataclass(frozen=True, slots=True)
class _Submission:
    """The columns fixed when a request is submitted."""

    request_id: str
    school_urn: str
    cluster_id: str
    financial_year: str
    reason: str
    pupil_count: int
    amount_requested: int
    created_at: str

    def row(self, progress: _Progress) -> RequestRow:
        return RequestRow(
            self.request_id,
            self.school_urn,
            self.cluster_id,
            self.financial_year,
            progress.status,
            self.reason,
            self.pupil_count,
            self.amount_requested,
            progress.amount_escalated,
            progress.amount_approved,
            progress.amount_paid,
            self.created_at,
            progress.updated_at,
            progress.status_since,
            progress.version,
            progress.amount_released,
        )


class RequestIndex(Projection):
    """One row per funding request, for queues and searches."""

    name = "request_index"
    tables = ("request_index",)

    def __init__(self) -> None:
        self._reset()

    def create_statements(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS request_index (
                request_id TEXT PRIMARY KEY,
                school_urn TEXT NOT NULL,
                cluster_id TEXT NOT NULL,
                financial_year TEXT NOT NULL,
                status TEXT NOT NULL,
                reason TEXT NOT NULL,
                pupil_count BIGINT NOT NULL,
                amount_requested BIGINT NOT NULL,
                amount_escalated BIGINT,
                amount_approved BIGINT NOT NULL DEFAULT 0,
                amount_paid BIGINT NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                status_since TEXT NOT NULL,
                version BIGINT NOT NULL,
                amount_released BIGINT NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX IF NOT EXISTS request_index_by_cluster ON request_index (cluster_id, created_at, request_id)",
            "CREATE INDEX IF NOT EXISTS request_index_by_school ON request_index (school_urn, created_at, request_id)",
            "CREATE INDEX IF NOT EXISTS request_index_by_status ON request_index (status, created_at, request_id)",
            # A cluster lead's queue (one cluster, one status, oldest first): without it PostgreSQL
            # walked the cluster's whole history for the few open requests, 1.8x slower at a
            # million events than at ten thousand (bench/growth.py, "open queue").
            (
                "CREATE INDEX IF NOT EXISTS request_index_by_cluster_status ON request_index "
                "(cluster_id, status, created_at, request_id)"
            ),
            "CREATE INDEX IF NOT EXISTS request_index_by_created ON request_index (created_at, request_id)",
        ]

    def begin_batch(self, cursor: Cursor) -> None:
        self._reset()

    def _reset(self) -> None:
        # Requests submitted in this batch, in order (a request submitted twice still fails on its
        # key), and the progress of each, which its later events in the batch move.
        self._submitted: list[tuple[_Submission, _Progress]] = []
        self._new: dict[str, _Progress] = {}
        # Later events of requests submitted before this batch, in log order: their rows are read
        # back together at the end, moved, and written once.
        self._later: dict[str, list[tuple[FundingRequest.Event, str]]] = {}

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Aggregate.Event | None) -> None:
        if not isinstance(event, R.Event):
            return
        request_id, at = hex_id(event.originator_id), iso(event.timestamp)
        if isinstance(event, R.Submitted):
            self._submit(request_id, event, at)
            return
        progress = self._new.get(request_id)
        if progress is not None:
            progress.follow(event, at)
        else:
            self._later.setdefault(request_id, []).append((event, at))

    def _submit(self, request_id: str, event: FundingRequest.Submitted, at: str) -> None:
        status = TRANSITION_OF[type(event)].leads_to or RequestStatus.SUBMITTED
        submission = _Submission(
            request_id,
            str(event.school_urn),
            str(event.cluster_id),
            str(event.financial_year),
            event.reason.value,
            event.pupil_count,
            event.amount_requested.pence,
            at,
        )
        progress = _Progress(status.value, at, None, 0, 0, at, event.originator_version, 0)
        self._new[request_id] = progress
        self._submitted.append((submission, progress))

    def end_batch(self, cursor: Cursor) -> None:
        rows = [submission.row(progress) for submission, progress in self._submitted]
        cursor.insert_rows("request_index", REQUEST_INDEX_COLUMNS, rows)
        if self._later:
            progress = self._read_back(cursor, list(self._later))
            updates = []
            for request_id, events in self._later.items():
                moved = progress.get(request_id)
                if moved is None:
                    continue  # as an UPDATE of a row that is not there: nothing
                for event, at in events:
                    moved.follow(event, at)
                updates.append((*_PROGRESS(moved), request_id))
            if updates:
                cursor.executemany(_UPDATE, updates)
        self._reset()

    @staticmethod
    def _read_back(cursor: Cursor, request_ids: list[str]) -> dict[str, _Progress]:
        progress: dict[str, _Progress] = {}
        for start in range(0, len(request_ids), READ_BACK_CHUNK):
            chunk = request_ids[start : start + READ_BACK_CHUNK]
            cursor.execute(
                f"SELECT request_id, {', '.join(PROGRESS_COLUMNS)} FROM request_index "
                f"WHERE request_id IN ({', '.join('?' for _ in chunk)})",
                chunk,
            )
            for request_id, *columns in cursor.fetchall():
                progress[request_id] = _Progress(*columns)
        return progress
