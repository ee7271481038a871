"""Who may do what: the role rules from DESIGN.md, written out here independently of COMMAND_ROLES."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from uuid import UUID, uuid4

import pytest

from domain.errors import NotFound, NotPermitted
from domain.permissions import (
    COMMAND_ROLES,
    check_decided_the_award,
    check_is_the_school,
    check_leads_the_cluster,
    check_may_read_budget,
    check_may_read_request,
    check_role,
    request_listing_filters,
)
from domain.values import Actor, ClusterId, Role, SchoolUrn

CLUSTER = ClusterId("northmere-coast")
OTHER_CLUSTER = ClusterId("fenwick-broads")
SCHOOL = SchoolUrn("900001")
SECOND_SCHOOL = SchoolUrn("900002")  # same cluster as SCHOOL
OTHER_SCHOOL = SchoolUrn("900101")  # in OTHER_CLUSTER

HEAD = Actor.school("senco-900001", SCHOOL)
LEAD = Actor.cluster_lead("lead-northmere", CLUSTER)
OTHER_LEAD = Actor.cluster_lead("lead-fenwick", OTHER_CLUSTER)
COUNCIL = Actor.council("council-officer-1")
FINANCE = Actor.finance("finance-officer-1")

ACTORS = {Role.SCHOOL: HEAD, Role.CLUSTER_LEAD: LEAD, Role.COUNCIL: COUNCIL, Role.FINANCE: FINANCE}
EVERYONE = {"school", "cluster_lead", "council", "finance"}

# DESIGN.md "Rules" and API.md's "who" columns, written out by hand.
WHO_MAY = {
    # reference data: the council
    "register_cluster": {"council"},
    "add_school": {"council"},
    "remove_school": {"council"},
    # the school register (issue 12): the council sets it up, by hand or from a file
    "register_school": {"council"},
    "update_school": {"council"},
    "import_clusters": {"council"},
    "import_schools": {"council"},
    # only finance allocates budgets and records payments
    "allocate_budget": {"finance"},
    "allocate_council_fund": {"finance"},
    "record_payment": {"finance"},
    # issue 13: finance recovers paid money and closes years; whoever made an award holds and releases it
    "raise_recovery": {"finance"},
    "receive_recovery": {"finance"},
    "close_year": {"finance"},
    "hold_instalment": {"cluster_lead", "council"},
    "lift_hold": {"cluster_lead", "council"},
    "release_award": {"cluster_lead", "council"},
    # issue 13: finance alone lists what is due, makes and cancels payment runs and imports remittances
    "create_payment_run": {"finance"},
    "cancel_payment_run": {"finance"},
    "import_remittance": {"finance"},
    "read_payment_runs": {"finance"},
    # only the school itself submits, evidences and withdraws
    "submit_request": {"school"},
    "provide_evidence": {"school"},
    "withdraw": {"school"},
    # only the lead requests information, approves, declines, escalates and commissions
    "request_information": {"cluster_lead"},
    "approve": {"cluster_lead"},
    "decline": {"cluster_lead"},
    "escalate": {"cluster_lead"},
    "commission_service": {"cluster_lead"},
    # only the council decides an escalation
    "decide_escalation": {"council"},
    # reads: scope narrows them later
    "read_request": EVERYONE,
    "read_cluster": EVERYONE,
    "read_schools": EVERYONE,  # names and phases are public (the Local Offer lists them)
    "read_budget": EVERYONE,
    "read_council_fund": {"council", "finance"},
    "read_all_balances": {"council", "finance"},
    # API.md "Audit and finance"
    "read_decisions": {"council"},
    "verify_audit": {"council"},
    # policy (issue 14): everyone reads the rules; the council and finance change them
    "read_policy": {"school", "cluster_lead", "council", "finance"},
    "change_policy": {"council", "finance"},
    "reconcile": {"council", "finance"},
    "read_ledger": {"finance"},
    # issue 13: a fund's year-end statement and commitments by age; a lead's narrowed to its cluster
    "read_fund_statement": {"cluster_lead", "council", "finance"},
    "read_commitments_by_age": {"cluster_lead", "council", "finance"},
    # issue 12: the school keeps its provision maps; its cluster's lead and the council read them
    "open_provision_map": {"school"},
    "change_provision_map": {"school"},
    "publish_provision_map": {"school"},
    "read_provision_map": {"school", "cluster_lead", "council"},
    # issue 12: the school keeps its SEN Information Report; the council audits any; its lead reads it
    "record_sen_report": {"school"},
    "assess_sen_report": {"school", "council"},
    "read_sen_report": {"school", "cluster_lead", "council"},
    "read_local_offer_overview": {"council"},
    "clear_broken_link_reports": {"council"},
    "read_needs_overview": {"cluster_lead", "council"},
}

CASES = [
    pytest.param(command, role, role.value in WHO_MAY[command], id=f"{command}-{role.value}")
    for command, role in itertools.product(sorted(WHO_MAY), Role)
]


def test_every_command_in_the_role_table_is_covered_here():
    assert set(COMMAND_ROLES) == set(WHO_MAY)


@pytest.mark.parametrize(("command", "role", "allowed"), CASES)
def test_role_may_or_may_not_run_command(command, role, allowed):
    actor = ACTORS[role]
    if allowed:
        check_role(actor, command)
    else:
        with pytest.raises(NotPermitted, match=role.value):
            check_role(actor, command)


# ---------------------------------------------------------------------------------------------
# Scope
# ---------------------------------------------------------------------------------------------


def test_the_school_itself_passes_the_school_check():
    check_is_the_school(HEAD, SCHOOL)


def test_another_school_fails_the_school_check():
    with pytest.raises(NotPermitted):
        check_is_the_school(HEAD, SECOND_SCHOOL)


@pytest.mark.parametrize("actor", [LEAD, COUNCIL, FINANCE], ids=lambda actor: actor.role.value)
def test_no_one_but_a_school_passes_the_school_check(actor):
    with pytest.raises(NotPermitted):
        check_is_the_school(actor, SCHOOL)


def test_the_clusters_lead_passes_the_lead_check():
    check_leads_the_cluster(LEAD, CLUSTER)


def test_another_clusters_lead_fails_the_lead_check():
    with pytest.raises(NotPermitted):
        check_leads_the_cluster(OTHER_LEAD, CLUSTER)


@pytest.mark.parametrize("actor", [HEAD, COUNCIL, FINANCE], ids=lambda actor: actor.role.value)
def test_no_one_but_a_lead_passes_the_lead_check(actor):
    with pytest.raises(NotPermitted):
        check_leads_the_cluster(actor, CLUSTER)


@dataclass(frozen=True)
class Place:
    school_urn: SchoolUrn
    cluster_id: ClusterId
    id: UUID = field(default_factory=uuid4)


def test_a_school_may_read_its_own_request():
    check_may_read_request(HEAD, Place(SCHOOL, CLUSTER))


def test_another_schools_request_is_not_found_for_a_school_even_in_its_cluster():
    place = Place(SECOND_SCHOOL, CLUSTER)
    with pytest.raises(NotFound) as refused:
        check_may_read_request(HEAD, place)
    # Word for word what an unknown id gets, so existence cannot be probed.
    assert str(refused.value) == f"request {place.id} not found"


def test_a_lead_may_read_a_request_in_its_cluster():
    check_may_read_request(LEAD, Place(SECOND_SCHOOL, CLUSTER))


def test_a_request_in_another_cluster_is_not_found_for_a_lead():
    place = Place(OTHER_SCHOOL, OTHER_CLUSTER)
    with pytest.raises(NotFound) as refused:
        check_may_read_request(LEAD, place)
    assert str(refused.value) == f"request {place.id} not found"


@pytest.mark.parametrize(("actor", "funded_by"), [(LEAD, "cluster"), (COUNCIL, "council")], ids=["lead", "council"])
def test_whoever_made_an_award_manages_it(actor, funded_by):
    check_decided_the_award(actor, Place(SCHOOL, CLUSTER), funded_by)


@pytest.mark.parametrize(
    ("actor", "funded_by"),
    [(LEAD, "council"), (OTHER_LEAD, "cluster"), (COUNCIL, "cluster")],
    ids=["lead, council's award", "another cluster's lead", "council, cluster's award"],
)
def test_nobody_else_manages_an_award(actor, funded_by):
    with pytest.raises(NotPermitted):
        check_decided_the_award(actor, Place(SCHOOL, CLUSTER), funded_by)


@pytest.mark.parametrize("actor", [LEAD, COUNCIL], ids=lambda actor: actor.role.value)
def test_a_request_with_no_award_yet_is_left_to_the_commands_state_check(actor):
    """Holding an instalment of a request not yet approved is a conflict of state, not a refusal of the caller."""
    check_decided_the_award(actor, Place(SCHOOL, CLUSTER), None)


@pytest.mark.parametrize("actor", [COUNCIL, FINANCE], ids=lambda actor: actor.role.value)
@pytest.mark.parametrize(("school", "cluster"), [(SCHOOL, CLUSTER), (OTHER_SCHOOL, OTHER_CLUSTER)])
def test_council_and_finance_may_read_any_request(actor, school, cluster):
    check_may_read_request(actor, Place(school, cluster))


def test_a_school_may_read_its_own_clusters_budget():
    check_may_read_budget(HEAD, CLUSTER, actors_cluster=CLUSTER)


def test_a_school_may_not_read_another_clusters_budget():
    with pytest.raises(NotPermitted):
        check_may_read_budget(HEAD, OTHER_CLUSTER, actors_cluster=CLUSTER)


def test_a_school_in_no_cluster_may_read_no_budget():
    with pytest.raises(NotPermitted):
        check_may_read_budget(HEAD, CLUSTER, actors_cluster=None)


def test_a_lead_may_read_its_own_clusters_budget():
    check_may_read_budget(LEAD, CLUSTER, actors_cluster=None)


def test_a_lead_may_not_read_another_clusters_budget():
    with pytest.raises(NotPermitted):
        check_may_read_budget(LEAD, OTHER_CLUSTER, actors_cluster=None)


def test_a_lead_may_not_read_another_clusters_budget_whatever_cluster_is_passed_for_it():
    with pytest.raises(NotPermitted):
        check_may_read_budget(LEAD, OTHER_CLUSTER, actors_cluster=OTHER_CLUSTER)


@pytest.mark.parametrize("actor", [COUNCIL, FINANCE], ids=lambda actor: actor.role.value)
@pytest.mark.parametrize("cluster", [CLUSTER, OTHER_CLUSTER])
def test_council_and_finance_may_read_any_budget(actor, cluster):
    check_may_read_budget(actor, cluster, actors_cluster=None)


def test_a_schools_listing_is_narrowed_to_its_own_requests():
    assert request_listing_filters(HEAD, None, None) == (None, SCHOOL)
    assert request_listing_filters(HEAD, CLUSTER, SCHOOL) == (CLUSTER, SCHOOL)


def test_a_school_may_not_list_another_schools_requests():
    with pytest.raises(NotPermitted, match="only its own requests"):
        request_listing_filters(HEAD, None, SECOND_SCHOOL)


def test_a_leads_listing_is_narrowed_to_its_clusters_requests():
    assert request_listing_filters(LEAD, None, SECOND_SCHOOL) == (CLUSTER, SECOND_SCHOOL)
    assert request_listing_filters(LEAD, CLUSTER, None) == (CLUSTER, None)


def test_a_lead_may_not_list_another_clusters_requests():
    with pytest.raises(NotPermitted, match="only the cluster's requests"):
        request_listing_filters(LEAD, OTHER_CLUSTER, None)


@pytest.mark.parametrize("actor", [COUNCIL, FINANCE])
@pytest.mark.parametrize(("cluster", "school"), [(None, None), (OTHER_CLUSTER, OTHER_SCHOOL)])
def test_council_and_finance_list_with_the_filters_they_give(actor, cluster, school):
    assert request_listing_filters(actor, cluster, school) == (cluster, school)
