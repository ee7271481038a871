"""The domain's errors: one small hierarchy, so each edge (HTTP, CLI) maps them in one place.

Every business rule raises a specific subclass, never a bare ``Exception`` and never ``assert``
(which ``python -O`` strips). The HTTP status each family maps to is noted for integrators.
"""

from __future__ import annotations


class FundingError(Exception):
    """Base of every error the engine raises on purpose."""


class InvalidValue(FundingError, ValueError):
    """A value is malformed or out of range (HTTP 422 ``validation-error``)."""


class AmountNotAllowed(InvalidValue):
    """An amount breaks a limit set by the request itself, e.g. approving more than was asked."""


class NotPermitted(FundingError):
    """The actor's role or scope does not allow this (HTTP 403, or 404 where existence would leak)."""


class NotFound(FundingError):
    """No such request, cluster, budget or fund (HTTP 404)."""


class Conflict(FundingError):
    """The current state does not allow the command (HTTP 409 ``conflict``)."""


class InvalidTransition(Conflict):
    """The request's status does not allow this command."""


class AlreadyExists(Conflict):
    """Something with this identity already exists."""


class SchoolInAnotherCluster(Conflict):
    """A school belongs to at most one cluster at a time."""


class SchoolNotInCluster(Conflict):
    """The school is not a member of the cluster (or of any cluster)."""


class EvidenceRequired(Conflict):
    """A cluster lead cannot approve before the school has shown its own SEN spend."""


class EscalationNotAllowed(Conflict):
    """Escalation is for requests the cluster cannot afford."""


class PaymentExceedsApproved(Conflict):
    """Payments never exceed the approved amount."""


class InsufficientFunds(Conflict):
    """The budget or fund would go below zero available (HTTP 409 ``insufficient-funds``)."""


class PolicyLimitExceeded(Conflict):
    """A limit of the policy in force (a cap) refuses it (HTTP 409 ``policy-limit``)."""


class YearClosed(Conflict):
    """The financial year's budget or fund is closed: nothing more is allocated or committed on it."""


class YearNotClosable(Conflict):
    """Requests still wait on the year; ``request_ids`` names them."""

    def __init__(self, message: str, request_ids: list[str]) -> None:
        super().__init__(message)
        self.request_ids = request_ids


class ConcurrencyConflict(Conflict):
    """Other writers kept changing the same aggregates; the command gave up after bounded retries."""


class StaleVersion(FundingError):
    """The caller expected an older version of the aggregate (HTTP 412 ``precondition-failed``)."""
