"""The council's audit: the chain over the log, every snapshot against its events, and anchors.

What each check proves, and what it needs kept outside the database, is set out in the README
("What the audit chain proves, and what it does not").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable
from uuid import UUID

from domain.errors import InvalidValue
from domain.permissions import check_role
from domain.values import Actor
from funding_engine.application.engine import EngineApplication
from funding_engine.storage.snapshots import SnapshotAudit, audit_snapshots
from projections.audit_anchors import Anchor, AnchorCheck, check_anchors, read_anchors, take_anchor, write_anchor
from projections.audit_chain import Verification, verify


@runtime_checkable
class _TableRecorder(Protocol):
    """The library's SQLite and PostgreSQL recorders: each keeps its events in one named table."""

    events_table_name: str


@dataclass(frozen=True)
class AuditReport:
    chain: Verification
    snapshots: SnapshotAudit
    anchors: list[AnchorCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.snapshots.ok and all(check.ok for check in self.anchors)

    # The chain's own figures, as `audit verify` has always reported them.
    @property
    def events_checked(self) -> int:
        return self.chain.events_checked

    @property
    def head(self) -> str:
        return self.chain.head

    @property
    def first_bad_position(self) -> int | None:
        return self.chain.first_bad_position


class Audit(EngineApplication):
    """The council's audit checks over the stores and the audit chain's read model."""

    def verify_audit_chain(self, actor: Actor, anchors: Path | None = None) -> AuditReport:
        """Rehash the log against the chain, check every snapshot, and compare with the anchors
        in ``anchors`` (a file or folder; default: the configured anchor folder, if any)."""
        check_role(actor, "verify_audit")
        read_side = self.read_side
        # The chain alone: it hashes stored bytes, so a log with an event nobody can decode is
        # still checked (catching up the other read models would stop at that event).
        database = self.fresh_read_models(["audit_chain"])
        source = anchors or self.audit_anchor_dir
        read = read_anchors(source) if source is not None else []
        watch = {item.anchor.position for item in read if item.anchor is not None}
        chain = verify(database, read_side.projector.source, read_side.audit_key, watch=watch)
        checked = check_anchors(read, chain.links_at, chain.log_head, chain.ok, read_side.audit_key)
        return AuditReport(chain, self.audit_snapshots(actor), checked)

    def audit_snapshots(self, actor: Actor) -> SnapshotAudit:
        """Every stored snapshot against a fold of its aggregate's events."""
        check_role(actor, "verify_audit")
        if self.snapshots is None:
            return SnapshotAudit(0, [])
        recorder = self.snapshots.recorder
        if not isinstance(recorder, _TableRecorder):  # pragma: no cover - both stores' recorders name it
            raise TypeError(f"cannot list the snapshots kept by {type(recorder).__name__}")
        table = recorder.events_table_name
        with self.read_side.database.reading() as cursor:
            cursor.execute(f"SELECT DISTINCT originator_id FROM {table} ORDER BY originator_id")
            ids = [value if isinstance(value, UUID) else UUID(str(value)) for (value,) in cursor.fetchall()]
        return audit_snapshots(self.snapshots, self.events, ids)

    def anchor_audit_chain(self, actor: Actor, target: Path | None = None) -> tuple[Anchor, Path]:
        """Write the chain's head to ``target`` (a file or folder; default: the configured folder)."""
        check_role(actor, "verify_audit")
        folder = target or self.audit_anchor_dir
        if folder is None:
            raise AnchorTargetMissing(
                "say where to write the anchor (--to FILE|DIR, or FUNDING_ENGINE_AUDIT_ANCHOR_DIR)"
            )
        database = self.fresh_read_models(["audit_chain"])  # the chain alone, as verify does
        anchor = take_anchor(database, self.read_side.audit_key)
        return anchor, write_anchor(anchor, folder)


class AnchorTargetMissing(InvalidValue):
    """Nowhere to write an anchor."""
