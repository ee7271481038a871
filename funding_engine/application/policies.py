"""The policy in force, and changing it: the council's policy, and a cluster's overrides.

Council officers and finance change a parameter with a reason and the date it takes effect; a
change large enough to matter waits for a second person. Every command that decides reads the
policy in force at that moment (``policy_in_force``) and the decision pins it, so the values a
decision was taken under can be read back years later (``policy_as_pinned``).

Working days count England's bank holidays, from the ``holidays`` package (maintained, and
updated as the government announces extra ones).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cached_property

import holidays

from domain.errors import InvalidValue, NotFound
from domain.permissions import check_role
from domain.policy import Policy, PolicyChange, PolicyInForce, date_in_england
from domain.policy_parameters import PARAMETERS, spec_of
from domain.policy_pin import PolicyPin
from domain.values import Actor, ClusterId
from domain.working_days import WorkingDays
from funding_engine.application.calendar import today_in_england
from funding_engine.application.clusters import Clusters
from funding_engine.application.engine import Decision

# Years of bank holidays the calendar knows: from the first financial year the engine accepts to
# well past any deadline a decision made now could have.
FIRST_CALENDAR_YEAR, LAST_CALENDAR_YEAR = 2000, 2100


class Policies(Clusters):
    """The policy's record, what is in force, and the changes to it."""

    @cached_property
    def working_days(self) -> WorkingDays:
        england = holidays.country_holidays(
            "GB", subdiv="ENG", years=range(FIRST_CALENDAR_YEAR, LAST_CALENDAR_YEAR + 1)
        )
        return WorkingDays.with_holidays(england.keys())

    # -- reading -----------------------------------------------------------------------------------

    def policy_in_force(
        self, cluster_id: ClusterId | None = None, *, at: datetime | None = None, on: date | None = None
    ) -> PolicyInForce:
        """What a decision now (or at ``at``) reads: the council's policy with ``cluster_id``'s overrides.
        ``on``: the day whose changes count, with the policy as recorded now (default: today in England,
        or the day a command already took as today)."""
        council = self._find(Policy.id_for(None), Policy, to_change=False)
        cluster = None if cluster_id is None else self._find(Policy.id_for(cluster_id), Policy, to_change=False)
        if at is None:
            pin = PolicyPin(_version(council), _version(cluster), on or today_in_england())
        else:
            pin = PolicyPin(_version_at(council, at), _version_at(cluster, at), date_in_england(at))
        return PolicyInForce.of(council, cluster, pin)

    def policy_as_pinned(self, pin: PolicyPin, cluster_id: ClusterId | None) -> PolicyInForce:
        """The values a decision pinned ``pin`` read, from each policy as it stood at its version."""
        council = self._policy_at(None, pin.council_version)
        cluster = None if cluster_id is None else self._policy_at(cluster_id, pin.cluster_version)
        return PolicyInForce.of(council, cluster, pin)

    def read_policy(
        self, actor: Actor, cluster_id: ClusterId | str | None = None, *, as_of: datetime | None = None
    ) -> tuple[PolicyInForce, Policy | None]:
        """The policy in force (now, or at ``as_of``) for the council or one cluster, and that
        policy's record of changes (None while it has none). Everyone who decides or is decided
        about may read it: the rules are not a secret."""
        check_role(actor, "read_policy")
        cluster = None if cluster_id is None else ClusterId.parse(cluster_id)
        if cluster is not None:
            self._check_cluster_exists(cluster)
        if as_of is not None and as_of.tzinfo is None:
            raise InvalidValue("as_of must carry a time zone")
        in_force = self.policy_in_force(cluster, at=as_of)
        return in_force, self._find(Policy.id_for(cluster), Policy, to_change=False)

    # -- changing ----------------------------------------------------------------------------------

    def change_policy(
        self,
        actor: Actor,
        *,
        parameter: str,
        value: str,
        effective_from: date,
        reason: str,
        cluster_id: ClusterId | str | None = None,
        expected_version: int | None = None,
    ) -> PolicyChange:
        """Change one parameter of the council's policy (or a cluster's override of it) from a date.
        A change moving a value by more than the second-person threshold waits for a second person."""
        check_role(actor, "change_policy")
        cluster = None if cluster_id is None else ClusterId.parse(cluster_id)
        spec = spec_of(parameter)
        policy_id = Policy.id_for(cluster)
        if cluster is not None:
            self._check_cluster_exists(cluster)

        def decide() -> Decision[Policy]:
            policy = self._find(policy_id, Policy)
            self._check_version(policy, expected_version)
            if policy is None:
                policy = Policy.open(cluster, actor)
            now = self.policy_in_force(cluster)
            # What the change replaces is what would otherwise be in force on its first day.
            replaces = self.policy_in_force(cluster, on=max(effective_from, now.pin.on)).values[spec.name]
            policy.change(
                spec.name,
                value,
                effective_from,
                reason,
                actor,
                replaces=replaces,
                threshold_percent=now.number("second_person_threshold_percent"),
                today=now.pin.on,
            )
            return (policy,)

        policy = self._run_command(decide, policy_id)
        return policy.changes[-1]

    def approve_policy_change(
        self, actor: Actor, number: int, *, cluster_id: ClusterId | str | None = None
    ) -> PolicyChange:
        """A second person (council or finance, not the proposer) approves a waiting change."""
        check_role(actor, "change_policy")
        return self._decide_on_change(actor, number, cluster_id, None)

    def reject_policy_change(
        self, actor: Actor, number: int, reason: str, *, cluster_id: ClusterId | str | None = None
    ) -> PolicyChange:
        """A waiting change is turned down (or withdrawn by its proposer), with a reason."""
        check_role(actor, "change_policy")
        return self._decide_on_change(actor, number, cluster_id, reason)

    def _decide_on_change(
        self, actor: Actor, number: int, cluster_id: ClusterId | str | None, rejection: str | None
    ) -> PolicyChange:
        cluster = None if cluster_id is None else ClusterId.parse(cluster_id)
        policy_id = Policy.id_for(cluster)

        def decide() -> Decision[Policy]:
            policy = self._find(policy_id, Policy)
            if policy is None:
                raise NotFound(f"{'the council' if cluster is None else cluster} has no policy changes")
            if rejection is None:
                policy.approve_change(number, actor)
            else:
                policy.reject_change(number, rejection, actor)
            return (policy,)

        policy = self._run_command(decide, policy_id)
        return policy.changes[number - 1] if type(number) is int else policy.changes[-1]

    # -- helpers -----------------------------------------------------------------------------------

    def _policy_at(self, cluster: ClusterId | None, version: int) -> Policy | None:
        if version == 0:
            return None
        policy: Policy | None = self.repository.get(Policy.id_for(cluster), version=version)
        return policy if isinstance(policy, Policy) else None


def _version(policy: Policy | None) -> int:
    return 0 if policy is None else policy.version


def _version_at(policy: Policy | None, moment: datetime) -> int:
    return 0 if policy is None else policy.version_at(moment)


__all__ = ["PARAMETERS", "Policies"]
