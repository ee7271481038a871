"""The funding request's lifecycle, stated once: where each event may happen, where it leads, and
which decision it records.

    submitted --evidence--> evidenced --approve--> cluster_approved --payments--> paid
       |  ^                  |  |  |
       |  +--evidence-- information_requested <--request_information
       +--decline/withdraw---+  +--escalate (cluster cannot afford it)--> escalated
                                                  council approve / decline --+
                                     council_approved --payments--> paid / council_declined

    an approved request's award: payments, held instalments and their release, and releases of
    what is unpaid, until nothing is left to pay (paid, or released if any of it was released);
    recoveries of what was paid, raised and received, then and afterwards

The aggregate (``domain/funding_request.py``) refuses a command whose event may not follow the
request's status, and moves to the status the event leads to; the read models (the request
index's statuses, the balances' ``pending`` and ``escalated``, the decision log's kinds) and
reconciliation read the same table. A new status or transition is written here and nowhere else.

Events are named as the aggregate names them (``FundingRequest.ClusterApproved`` is
``"ClusterApproved"``): the name is part of every stored event's topic, so it is as fixed as the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from domain.money import Money
from domain.values import DecisionKind, RequestStatus

S = RequestStatus

# What the school may still change and the cluster still decide: these count as ``pending``.
OPEN_STATUSES = frozenset({S.SUBMITTED, S.EVIDENCED, S.INFORMATION_REQUESTED})
# Escalated and not yet decided by the council: these count as ``escalated`` on the cluster's budget.
AWAITING_COUNCIL = frozenset({S.ESCALATED})
PAYABLE_STATUSES = frozenset({S.CLUSTER_APPROVED, S.COUNCIL_APPROVED})
FINAL_STATUSES = frozenset({S.CLUSTER_DECLINED, S.COUNCIL_DECLINED, S.WITHDRAWN, S.PAID, S.RELEASED})
# An award that paid anything can have money claimed back, however it ended.
RECOVERABLE_STATUSES = PAYABLE_STATUSES | {S.PAID, S.RELEASED}


@dataclass(frozen=True, slots=True)
class Transition:
    """What one kind of event does to a request."""

    allowed_from: frozenset[RequestStatus]  # the statuses it may follow (none: it creates the request)
    leads_to: RequestStatus | None  # None: the status stays (a payment: see ``status_after_payment``)
    records: DecisionKind | None = None  # the decision it records on the request


TRANSITIONS: dict[str, Transition] = {
    "Submitted": Transition(frozenset(), S.SUBMITTED),
    "SpendEvidenceProvided": Transition(OPEN_STATUSES, S.EVIDENCED),
    "InformationRequested": Transition(
        frozenset({S.SUBMITTED, S.EVIDENCED}), S.INFORMATION_REQUESTED, DecisionKind.INFORMATION_REQUEST
    ),
    "ClusterApproved": Transition(frozenset({S.EVIDENCED}), S.CLUSTER_APPROVED, DecisionKind.CLUSTER_APPROVAL),
    "ClusterDeclined": Transition(OPEN_STATUSES, S.CLUSTER_DECLINED, DecisionKind.CLUSTER_DECLINE),
    "Escalated": Transition(frozenset({S.EVIDENCED}), S.ESCALATED, DecisionKind.ESCALATION),
    "CouncilApproved": Transition(AWAITING_COUNCIL, S.COUNCIL_APPROVED, DecisionKind.COUNCIL_APPROVAL),
    "CouncilDeclined": Transition(AWAITING_COUNCIL, S.COUNCIL_DECLINED, DecisionKind.COUNCIL_DECLINE),
    "Withdrawn": Transition(OPEN_STATUSES, S.WITHDRAWN, DecisionKind.WITHDRAWAL),
    # The award's own events: the status stays, or for a payment or release, ``status_after_money``.
    "PaymentRecorded": Transition(PAYABLE_STATUSES, None),
    "InstalmentHeld": Transition(PAYABLE_STATUSES, None),
    "InstalmentHoldLifted": Transition(PAYABLE_STATUSES, None),
    "AwardReleased": Transition(PAYABLE_STATUSES, None),
    "RecoveryRaised": Transition(RECOVERABLE_STATUSES, None),
    "RecoveryReceived": Transition(RECOVERABLE_STATUSES, None),
}

# Decisions about a cluster's budget rather than a request, by the budget's event that records them.
BUDGET_DECISIONS: dict[str, DecisionKind] = {"ServiceCommissioned": DecisionKind.COMMISSION}

# The decisions the decision log shows: all but a withdrawal, which is the school's own act,
# recorded on its request but not a decision about it.
LOGGED_DECISIONS = frozenset(DecisionKind) - {DecisionKind.WITHDRAWAL}


class AwardFigures(Protocol):
    """What decides where a payment or release leaves a request: what is left, and what was released."""

    @property
    def unpaid(self) -> Money: ...

    @property
    def released(self) -> Money: ...


def status_after_money(status: RequestStatus, award: AwardFigures) -> RequestStatus:
    """Once nothing of the award is left to pay, a request is ``paid``, or ``released`` if any of it was."""
    if award.unpaid.is_positive:
        return status
    return S.RELEASED if award.released.is_positive else S.PAID


def leaves(statuses: frozenset[RequestStatus], transition: Transition) -> bool:
    """Whether the event always takes a request out of ``statuses`` (it may only follow one of them)."""
    return bool(transition.allowed_from) and transition.allowed_from <= statuses and transition.leads_to not in statuses


def enters(statuses: frozenset[RequestStatus], transition: Transition) -> bool:
    """Whether the event always brings a request into ``statuses`` from outside them."""
    return transition.leads_to in statuses and not transition.allowed_from & statuses
