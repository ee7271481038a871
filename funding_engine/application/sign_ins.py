"""Sign-ins and sign-outs: recorded as events (``domain.sign_ins``), read back by the council.

Recording needs no role: whoever the identity provider (or, in development, the demo list) has
just vouched for signs in as themselves. Reading the record is the council's audit work, so it
takes the audit permission.

The council's listing reads the event log itself, newest first, filtered by the two events'
topics in the database: it is an audit trail read now and then, not a page of the daily work, so
it keeps no read model of its own.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.errors import InvalidValue
from domain.permissions import check_role
from domain.sign_ins import SignInSession
from domain.values import Actor
from funding_engine.application.engine import Decision, EngineApplication

SIGN_IN_TOPICS = (get_topic(SignInSession.SignedIn), get_topic(SignInSession.SignedOut))
# How far back one look at the log reaches; a quiet stretch costs one more look per this many events.
_WINDOW = 5000
MAX_LISTED = 500


@dataclass(frozen=True)
class SignInEntry:
    """One sign-in or sign-out, as the council reads it."""

    position: int  # in the event log
    session_id: UUID
    at: datetime
    event: str  # "signed in" or "signed out"
    actor: Actor
    method: str | None  # how they signed in ("oidc", "dev"); None on a sign-out
    reason: str | None  # why the session ended; None on a sign-in


class SignIns(EngineApplication):
    """Recording sign-ins and sign-outs, and the council's record of them."""

    def record_sign_in(self, actor: Actor, method: str) -> UUID:
        """A new session for ``actor``; its id goes in the session cookie."""

        def decide() -> Decision[SignInSession]:
            return (SignInSession.sign_in(actor, method),)

        session = self._run_command(decide)
        return session.id

    def record_sign_out(self, actor: Actor, session_id: UUID, reason: str) -> None:
        """End ``actor``'s session ``session_id``; one already ended, or never recorded, is left as it is."""

        def decide() -> Decision[SignInSession]:
            session = self._find(session_id, SignInSession)
            if session is None:
                raise _NothingToEnd
            session.sign_out(actor, reason)
            return (session,)

        with contextlib.suppress(_NothingToEnd):
            self._run_command(decide, session_id)

    def sign_ins(self, actor: Actor, *, limit: int = 100, before: int | None = None) -> list[SignInEntry]:
        """The newest ``limit`` sign-ins and sign-outs (before log position ``before``), newest first."""
        check_role(actor, "verify_audit")
        if not 1 <= limit <= MAX_LISTED:
            raise InvalidValue(f"limit must be from 1 to {MAX_LISTED}")
        if before is not None and before < 1:
            raise InvalidValue("before must be a log position (1 or more)")
        recorder: Any = self.recorder
        stop = int(recorder.max_notification_id() or 0)
        if before is not None:
            stop = min(stop, before - 1)
        entries: list[SignInEntry] = []
        while stop > 0 and len(entries) < limit:
            start = max(1, stop - _WINDOW + 1)
            found = recorder.select_notifications(start, _WINDOW, stop=stop, topics=SIGN_IN_TOPICS)
            for notification in reversed(found):
                entries.append(self._entry(notification))
                if len(entries) == limit:
                    break
            stop = start - 1
        return entries

    def _entry(self, notification: Any) -> SignInEntry:
        event = self.mapper.to_domain_event(notification)
        if isinstance(event, SignInSession.SignedIn):
            kind, method, reason = "signed in", event.method, None
        elif isinstance(event, SignInSession.SignedOut):
            kind, method, reason = "signed out", None, event.reason
        else:  # pragma: no cover - the database filtered by these two topics
            raise TypeError(f"not a sign-in event: {type(event).__qualname__}")
        return SignInEntry(
            position=int(notification.id),
            session_id=event.originator_id,
            at=event.timestamp,
            event=kind,
            actor=event.actor,
            method=method,
            reason=reason,
        )


class _NothingToEnd(Exception):
    """The session is not in the log (a cookie from before sessions were recorded, or another store)."""
