"""Sign-ins and sign-outs, kept in the event log so they are in the audit chain.

Each sign-in starts a ``SignInSession`` of its own (a fresh id), and its sign-out is the session's
second and last event. No two people, and no two sign-ins of one person, ever write to the same
aggregate, so signing in never waits on anyone else: a per-day or per-service record would make
every sign-in of the morning contend for one version number. The browser's signed session
cookie carries the session's id, so the sign-out (or the idle timeout the server notices when the
person comes back) lands on the session it ends.

The events' topics (``domain.sign_ins:SignInSession.SignedIn``, ``...SignedOut``) are the stored
format: never rename this module, the class or its events without an upcaster.
"""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.domain import Aggregate

from domain.errors import InvalidValue, NotPermitted
from domain.values import Actor

# How the person proved who they are: the council's identity provider, or the development demo list.
SIGN_IN_METHODS = ("oidc", "dev")
# Why a session ended: the person signed out, or the server noticed, when they came back, that
# they had been idle too long or that the session had reached its longest lifetime.
SIGNED_OUT = "signed out"
IDLE_TIMEOUT = "idle timeout"
SESSION_EXPIRED = "session expired"
SIGN_OUT_REASONS = (SIGNED_OUT, IDLE_TIMEOUT, SESSION_EXPIRED)


class SignInSession(Aggregate):
    """One person's session, from the moment they signed in until it ended."""

    class SignedIn(Aggregate.Created):
        class_version = 1
        actor: Actor  # who signed in: staff id, role, and the school or cluster the role is for
        method: str

    class SignedOut(Aggregate.Event):
        class_version = 1
        actor: Actor  # whose session ended (the same person; carried so the log reads on its own)
        reason: str

        def apply(self, session: SignInSession) -> None:
            session.ended_because = self.reason

    def __init__(self, actor: Actor, method: str) -> None:
        self.actor = actor
        self.method = method
        self.ended_because: str | None = None

    @classmethod
    def sign_in(cls, actor: Actor, method: str) -> SignInSession:
        if method not in SIGN_IN_METHODS:
            raise InvalidValue(f"sign-in method must be one of {', '.join(SIGN_IN_METHODS)}, got {method!r}")
        return cls._create(cls.SignedIn, id=uuid4(), actor=actor, method=method)

    def sign_out(self, actor: Actor, reason: str) -> None:
        """End the session; a session already ended stays as it ended (a second tab, a repeat)."""
        if reason not in SIGN_OUT_REASONS:
            raise InvalidValue(f"sign-out reason must be one of {', '.join(SIGN_OUT_REASONS)}, got {reason!r}")
        if actor.sub != self.actor.sub:
            raise NotPermitted("only the person signed in may end their session")
        if self.ended_because is None:
            self.trigger_event(self.SignedOut, actor=self.actor, reason=reason)
