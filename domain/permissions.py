"""Who may do what: DESIGN.md's role rules in one table, checked before anything else happens.

Commands are checked in two steps. ``check_role`` runs first, on the actor alone, so a role that is
never allowed learns nothing about any record. Scope checks (the school's own request, the lead's own
cluster) run once the record is loaded.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from domain.errors import NotFound, NotPermitted
from domain.values import Actor, ClusterId, Role, SchoolUrn

SCHOOL, LEAD, COUNCIL, FINANCE = Role.SCHOOL, Role.CLUSTER_LEAD, Role.COUNCIL, Role.FINANCE


class RequestPlace(Protocol):
    """What decides who may see a request: whose it is and which cluster it went to."""

    @property
    def id(self) -> UUID: ...

    @property
    def school_urn(self) -> SchoolUrn: ...

    @property
    def cluster_id(self) -> ClusterId: ...


COMMAND_ROLES: dict[str, frozenset[Role]] = {
    "register_cluster": frozenset({COUNCIL}),
    "add_school": frozenset({COUNCIL}),
    "remove_school": frozenset({COUNCIL}),
    "register_school": frozenset({COUNCIL}),
    "update_school": frozenset({COUNCIL}),
    "import_clusters": frozenset({COUNCIL}),
    "import_schools": frozenset({COUNCIL}),
    "allocate_budget": frozenset({FINANCE}),
    "allocate_council_fund": frozenset({FINANCE}),
    "submit_request": frozenset({SCHOOL}),
    "provide_evidence": frozenset({SCHOOL}),
    "withdraw": frozenset({SCHOOL}),
    "request_information": frozenset({LEAD}),
    "approve": frozenset({LEAD}),
    "decline": frozenset({LEAD}),
    "escalate": frozenset({LEAD}),
    "commission_service": frozenset({LEAD}),
    "decide_escalation": frozenset({COUNCIL}),
    "record_payment": frozenset({FINANCE}),
    # The money after a decision (issue 13): whoever approved an award holds, releases and lifts
    # holds on it (the lead for the cluster's, the council for its own); finance recovers and closes.
    "hold_instalment": frozenset({LEAD, COUNCIL}),
    "lift_hold": frozenset({LEAD, COUNCIL}),
    "release_award": frozenset({LEAD, COUNCIL}),
    "raise_recovery": frozenset({FINANCE}),
    "receive_recovery": frozenset({FINANCE}),
    "close_year": frozenset({FINANCE}),
    # Payment runs and the bank's remittance (issue 13): finance's alone, reads included.
    "create_payment_run": frozenset({FINANCE}),
    "cancel_payment_run": frozenset({FINANCE}),
    "import_remittance": frozenset({FINANCE}),
    "read_payment_runs": frozenset({FINANCE}),
    "read_request": frozenset({SCHOOL, LEAD, COUNCIL, FINANCE}),
    "read_cluster": frozenset({SCHOOL, LEAD, COUNCIL, FINANCE}),
    "read_schools": frozenset({SCHOOL, LEAD, COUNCIL, FINANCE}),
    "read_budget": frozenset({SCHOOL, LEAD, COUNCIL, FINANCE}),
    "read_council_fund": frozenset({COUNCIL, FINANCE}),
    "read_all_balances": frozenset({COUNCIL, FINANCE}),
    "read_decisions": frozenset({COUNCIL}),
    "reconcile": frozenset({COUNCIL, FINANCE}),
    "read_ledger": frozenset({FINANCE}),
    # A fund's year-end statement and its commitments by age (issue 13): finance and the council
    # any fund's, a lead its own cluster's budget's.
    "read_fund_statement": frozenset({LEAD, COUNCIL, FINANCE}),
    "read_commitments_by_age": frozenset({LEAD, COUNCIL, FINANCE}),
    "verify_audit": frozenset({COUNCIL}),
    # Policy (issue 14): the rules are read by everyone they apply to; the council and finance
    # change them, a large change needing a second person of either.
    "read_policy": frozenset({SCHOOL, LEAD, COUNCIL, FINANCE}),
    "change_policy": frozenset({COUNCIL, FINANCE}),
    # Provision maps (issue 12): the school keeps its own; its cluster's lead and the council read them.
    "open_provision_map": frozenset({SCHOOL}),
    "change_provision_map": frozenset({SCHOOL}),
    "publish_provision_map": frozenset({SCHOOL}),
    "read_provision_map": frozenset({SCHOOL, LEAD, COUNCIL}),
    # SEN Information Reports (issue 12): the school keeps its own, the council audits any, a lead
    # reads its cluster's. Reporting a broken link needs no role at all (the public listing).
    "record_sen_report": frozenset({SCHOOL}),
    "assess_sen_report": frozenset({SCHOOL, COUNCIL}),
    "read_sen_report": frozenset({SCHOOL, LEAD, COUNCIL}),
    "read_local_offer_overview": frozenset({COUNCIL}),
    "clear_broken_link_reports": frozenset({COUNCIL}),
    # The cluster's shared picture of need: its lead, and the council for any cluster.
    "read_needs_overview": frozenset({LEAD, COUNCIL}),
}


def check_role(actor: Actor, command: str) -> None:
    allowed = COMMAND_ROLES[command]
    if actor.role not in allowed:
        raise NotPermitted(f"the {actor.role.value} role may not {command.replace('_', ' ')}")


def check_is_the_school(actor: Actor, school_urn: SchoolUrn) -> None:
    if actor.school_urn != school_urn:
        raise NotPermitted("only the school itself may do this")


def check_leads_the_cluster(actor: Actor, cluster_id: ClusterId) -> None:
    if actor.cluster_id != cluster_id:
        raise NotPermitted("only the lead of this cluster may do this")


def check_may_read_request(actor: Actor, request: RequestPlace) -> None:
    """Council and finance read everything; a school its own requests; a lead its cluster's.

    A request the caller may not read is, to them, not there: the answer is the one an unknown
    id gets, word for word, for reads and commands alike, so nobody can probe which ids exist.
    """
    if actor.role is SCHOOL and actor.school_urn != request.school_urn:
        raise NotFound(f"request {request.id} not found")
    if actor.role is LEAD and actor.cluster_id != request.cluster_id:
        raise NotFound(f"request {request.id} not found")


def check_decided_the_award(actor: Actor, request: RequestPlace, funded_by: str | None) -> None:
    """The lead of the request's cluster manages a cluster award; the council manages its own.

    With no award yet (``funded_by`` None) nobody has made it, so neither is refused here: the
    command refuses the request's state instead (a 409, not a 403 that would blame the caller).
    """
    if funded_by is None:
        return
    if actor.role is LEAD and (funded_by != "cluster" or actor.cluster_id != request.cluster_id):
        raise NotPermitted("only the lead of the cluster that made this award may change it")
    if actor.role is COUNCIL and funded_by != "council":
        raise NotPermitted("the council changes only the awards it made; this one is the cluster's")


def check_may_read_budget(actor: Actor, cluster_id: ClusterId, actors_cluster: ClusterId | None) -> None:
    """A school reads its own cluster's budget (``actors_cluster``); a lead reads only its own."""
    if actor.role is SCHOOL and actors_cluster != cluster_id:
        raise NotPermitted("a school may read only its own cluster's budget")
    if actor.role is LEAD:
        check_leads_the_cluster(actor, cluster_id)


def request_listing_filters(
    actor: Actor, cluster_id: ClusterId | None, school_urn: SchoolUrn | None
) -> tuple[ClusterId | None, SchoolUrn | None]:
    """The cluster and school filters a listing of requests runs with for ``actor``.

    A school lists only its own requests, a lead only its cluster's: their filter is narrowed to
    that, and a filter naming another school or cluster is refused. Council and finance list any.
    """
    if actor.role is SCHOOL:
        if school_urn not in (None, actor.school_urn):
            raise NotPermitted("a school may list only its own requests")
        return cluster_id, actor.school_urn
    if actor.role is LEAD:
        if cluster_id not in (None, actor.cluster_id):
            raise NotPermitted("a cluster lead may list only the cluster's requests")
        return actor.cluster_id, school_urn
    return cluster_id, school_urn


def check_may_read_provision_map(actor: Actor, school_urn: SchoolUrn, schools_cluster: ClusterId | None) -> None:
    """The school reads its own maps, the lead of the school's cluster (as it is now) and the council any.

    A school's maps are not secret from it, and the URN is in the address anyway: another school or
    another cluster's lead is refused (403), not told the map is missing.
    """
    if actor.role is SCHOOL and actor.school_urn != school_urn:
        raise NotPermitted("a school may read only its own provision maps")
    if actor.role is LEAD and (schools_cluster is None or actor.cluster_id != schools_cluster):
        raise NotPermitted("a cluster lead may read only the provision maps of the cluster's schools")


def may_read_provision_map_draft(actor: Actor, school_urn: SchoolUrn) -> bool:
    """Only the school sees its draft; its lead and the council see what it has published."""
    return actor.role is SCHOOL and actor.school_urn == school_urn


def check_may_read_sen_report(actor: Actor, school_urn: SchoolUrn, schools_cluster: ClusterId | None) -> None:
    """The council reads any school's report; a school its own; a lead those of its cluster's schools.

    Out of scope is not found, as for requests: the answer an unregistered report gets.
    """
    if actor.role is SCHOOL and actor.school_urn != school_urn:
        raise NotFound(f"no SEN Information Report for school {school_urn}")
    if actor.role is LEAD and (schools_cluster is None or actor.cluster_id != schools_cluster):
        raise NotFound(f"no SEN Information Report for school {school_urn}")
