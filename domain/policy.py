"""The rules' own values as a record: the council's policy, and a cluster's where it overrides it.

A parameter (``domain/policy_parameters.py``) changes by an event carrying the value, the date it
takes effect, the reason and who made it. A change large enough to matter waits for a second
person (council or finance, not whoever proposed it) before it counts. Nothing is ever edited:
what was in force at any moment is read back from the log.

Which changes are in force is a function of two things only: the policy's version (which changes
had been made or approved) and a date (which of them had taken effect). A decision records both
(``PolicyPin``), so replaying it years later reads exactly the values it was decided by.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate

from domain.errors import Conflict, InvalidValue, NotFound, NotPermitted
from domain.funds import ID_NAMESPACE
from domain.money import Money
from domain.policy_parameters import PARAMETERS, ParameterSpec, needs_second_person, spec_of
from domain.policy_pin import PolicyPin
from domain.schedules import TermShares
from domain.text import check_text
from domain.values import Actor, ClusterId

ENGLAND = ZoneInfo("Europe/London")
# A change may be set to take effect up to this far ahead; a later date is more likely a typing slip.
FURTHEST_AHEAD = timedelta(days=2 * 366)


def date_in_england(moment: datetime) -> date:
    return moment.astimezone(ENGLAND).date()


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """One change to one parameter, and where it stands."""

    number: int
    parameter: str
    value: str
    effective_from: date
    reason: str
    proposed_by: Actor
    proposed_at: datetime
    needs_second_person: bool
    approved_by: Actor | None = None
    approved_at: datetime | None = None
    approved_in_version: int | None = None
    rejected_by: Actor | None = None
    rejected_at: datetime | None = None
    rejection_reason: str = ""

    @property
    def status(self) -> str:
        if self.rejected_by is not None:
            return "rejected"
        return "awaiting_second_person" if self.approved_by is None else "approved"

    def in_force(self, version: int, on: date) -> bool:
        made = self.approved_in_version is not None and self.approved_in_version <= version
        return made and self.effective_from <= on


class Policy(Aggregate):
    """The council's policy (``cluster_id`` None) or one cluster's overrides."""

    class Opened(Aggregate.Created):
        class_version = 1
        cluster_id: ClusterId | None
        actor: Actor

    class ChangeMade(Aggregate.Event):
        """A change small enough to need no second person: it counts at once."""

        class_version = 1
        number: int
        parameter: str
        value: str
        effective_from: date
        reason: str
        actor: Actor

        def apply(self, policy: Policy) -> None:
            policy.add_change(self, needs_second_person=False)
            policy.approve(self.number, self.actor, self.timestamp, self.originator_version)
            policy.stamp(self.timestamp)

    class ChangeProposed(Aggregate.Event):
        """A change that counts only once a second person approves it."""

        class_version = 1
        number: int
        parameter: str
        value: str
        effective_from: date
        reason: str
        actor: Actor

        def apply(self, policy: Policy) -> None:
            policy.add_change(self, needs_second_person=True)
            policy.stamp(self.timestamp)

    class ChangeApproved(Aggregate.Event):
        class_version = 1
        number: int
        actor: Actor

        def apply(self, policy: Policy) -> None:
            policy.approve(self.number, self.actor, self.timestamp, self.originator_version)
            policy.stamp(self.timestamp)

    class ChangeRejected(Aggregate.Event):
        class_version = 1
        number: int
        reason: str
        actor: Actor

        def apply(self, policy: Policy) -> None:
            old = policy.changes[self.number - 1]
            policy.changes = [
                *policy.changes[: self.number - 1],
                _replace(old, rejected_by=self.actor, rejected_at=self.timestamp, rejection_reason=self.reason),
                *policy.changes[self.number :],
            ]
            policy.stamp(self.timestamp)

    def __init__(self, cluster_id: ClusterId | None, actor: Actor) -> None:
        self.cluster_id = cluster_id
        self.opened_by = actor
        self.changes: list[PolicyChange] = []
        self.event_times: list[datetime] = []

    @staticmethod
    def id_for(cluster_id: ClusterId | None) -> UUID:
        return uuid5(ID_NAMESPACE, "policy:council" if cluster_id is None else f"policy:cluster:{cluster_id}")

    @classmethod
    def open(cls, cluster_id: ClusterId | None, actor: Actor) -> Policy:
        return cls._create(cls.Opened, id=cls.id_for(cluster_id), cluster_id=cluster_id, actor=actor)

    @property
    def label(self) -> str:
        return "the council's policy" if self.cluster_id is None else f"{self.cluster_id}'s policy"

    # -- applying events -------------------------------------------------------------------------

    def stamp(self, at: datetime) -> None:
        # When each event after the first happened, so the version at any moment can be read back.
        self.event_times = [*self.event_times, at]

    def add_change(self, event: ChangeMade | ChangeProposed, *, needs_second_person: bool) -> None:
        change = PolicyChange(
            event.number,
            event.parameter,
            event.value,
            event.effective_from,
            event.reason,
            event.actor,
            event.timestamp,
            needs_second_person,
        )
        self.changes = [*self.changes, change]

    def approve(self, number: int, actor: Actor, at: datetime, version: int) -> None:
        old = self.changes[number - 1]
        approved = _replace(old, approved_by=actor, approved_at=at, approved_in_version=version)
        self.changes = [*self.changes[: number - 1], approved, *self.changes[number:]]

    # -- commands --------------------------------------------------------------------------------

    def change(
        self,
        parameter: str,
        value: str,
        effective_from: date,
        reason: str,
        actor: Actor,
        *,
        replaces: str,
        threshold_percent: int,
        today: date,
    ) -> PolicyChange:
        """Change ``parameter``; ``replaces`` is the value in force now where this policy applies,
        and ``threshold_percent`` the second-person threshold in force now."""
        spec = spec_of(parameter)
        if self.cluster_id is not None and not spec.cluster_may_set:
            raise InvalidValue(f"{spec.name} is set by the council's policy only; a cluster cannot override it")
        canonical = spec.canonical(value)
        check_text(reason, field="reason")
        if type(effective_from) is not date:
            raise InvalidValue("effective_from must be a date")
        if effective_from < today:
            raise InvalidValue(f"a change cannot take effect in the past: effective_from is before {today}")
        if effective_from > today + FURTHEST_AHEAD:
            raise InvalidValue("a change takes effect at most two years ahead")
        if canonical == replaces:
            raise InvalidValue(f"{spec.name} is already {canonical}")
        waiting = [c.number for c in self.changes if c.parameter == spec.name and c.status == "awaiting_second_person"]
        if waiting:
            raise Conflict(
                f"change {waiting[0]} to {spec.name} is awaiting a second person: approve or reject it first"
            )
        second = needs_second_person(spec, replaces, canonical, threshold_percent)
        event_class = self.ChangeProposed if second else self.ChangeMade
        number = len(self.changes) + 1
        self.trigger_event(
            event_class,
            number=number,
            parameter=spec.name,
            value=canonical,
            effective_from=effective_from,
            reason=reason,
            actor=actor,
        )
        return self.changes[-1]

    def approve_change(self, number: int, actor: Actor) -> PolicyChange:
        change = self._waiting(number)
        if change.proposed_by.sub == actor.sub:
            raise NotPermitted("a change that needs a second person is approved by someone other than its proposer")
        self.trigger_event(self.ChangeApproved, number=number, actor=actor)
        return self.changes[number - 1]

    def reject_change(self, number: int, reason: str, actor: Actor) -> PolicyChange:
        """A second person turns the change down, or its proposer withdraws it."""
        change = self._waiting(number)
        check_text(reason, field="reason")
        self.trigger_event(self.ChangeRejected, number=change.number, reason=reason, actor=actor)
        return self.changes[number - 1]

    def _waiting(self, number: object) -> PolicyChange:
        if type(number) is not int or not 1 <= number <= len(self.changes):
            raise NotFound(f"{self.label} has no change {number}")
        change = self.changes[number - 1]
        if change.status != "awaiting_second_person":
            raise Conflict(f"change {number} is {change.status.replace('_', ' ')}, not awaiting a second person")
        return change

    # -- what is in force ------------------------------------------------------------------------

    def in_force(self, version: int, on: date) -> dict[str, PolicyChange]:
        """Each parameter's change in force: the one that took effect last (the later-numbered on a
        tie), among those made by ``version`` and effective by ``on``."""
        found: dict[str, PolicyChange] = {}
        for change in self.changes:
            if change.in_force(version, on):
                current = found.get(change.parameter)
                if current is None or change.effective_from >= current.effective_from:
                    found[change.parameter] = change
        return found

    def version_at(self, moment: datetime) -> int:
        """The policy's version as it stood at ``moment`` (0 before it existed)."""
        if self.created_on > moment:
            return 0
        return 1 + sum(1 for at in self.event_times if at <= moment)


def _replace(change: PolicyChange, **changes: object) -> PolicyChange:
    return replace(change, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class PolicyInForce:
    """Every parameter's value as a decision reads it, with where each came from."""

    pin: PolicyPin
    values: Mapping[str, str]
    sources: Mapping[str, tuple[str, PolicyChange] | None] = field(default_factory=dict)

    @classmethod
    def of(cls, council: Policy | None, cluster: Policy | None, pin: PolicyPin) -> PolicyInForce:
        values = {name: spec.default for name, spec in PARAMETERS.items()}
        sources: dict[str, tuple[str, PolicyChange] | None] = dict.fromkeys(PARAMETERS)
        for scope, policy, version in (
            ("council", council, pin.council_version),
            ("cluster", cluster, pin.cluster_version),
        ):
            if policy is None or version == 0:
                continue
            for name, change in policy.in_force(version, pin.on).items():
                if scope == "council" or PARAMETERS[name].cluster_may_set:
                    values[name], sources[name] = change.value, (scope, change)
        return cls(pin, values, sources)

    @classmethod
    def defaults(cls, on: date) -> PolicyInForce:
        return cls.of(None, None, PolicyPin(0, 0, on))

    def spec(self, name: str) -> ParameterSpec:
        return PARAMETERS[name]

    def money(self, name: str) -> Money:
        return Money.parse(self.values[name])

    def number(self, name: str) -> int:
        return int(self.values[name])

    @property
    def award_cap(self) -> Money:
        return self.money("award_cap")

    @property
    def council_term_cap(self) -> Money:
        return self.money("council_term_cap")

    @property
    def instalment_shares(self) -> TermShares:
        return TermShares.parse(self.values["instalment_shares"])

    def source_text(self, name: str) -> str:
        """Where a value came from, for a refusal or a page: "the default" or "council policy change 3"."""
        source = self.sources.get(name)
        if source is None:
            return "the default"
        scope, change = source
        return f"{scope} policy change {change.number}, in force from {change.effective_from.isoformat()}"
