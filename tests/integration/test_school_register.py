"""The school register on both stores: one school at a time, and whole files of clusters and schools.

An import is all rows or none: every bad row is reported by its line, and nothing is written; a
good file is saved in one transaction; importing it again changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from domain.clusters import SchoolMembership
from domain.errors import AlreadyExists, NotFound, NotPermitted, SchoolInAnotherCluster, StaleVersion
from domain.values import ClusterId, SchoolPhase, SchoolUrn
from funding_engine.application import FundingApplication, ImportRefused
from funding_engine.application.read_models import SchoolRow
from tests.support import (
    CLUSTER,
    COUNCIL,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_CLUSTER,
    OTHER_SCHOOL,
    SCHOOL,
    SECOND_SCHOOL,
    set_up_world,
)

SCHOOL_HEADER = "urn,name,phase,cluster_id\n"


def head(app: FundingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def schools_file(*rows: str) -> bytes:
    return (SCHOOL_HEADER + "".join(f"{row}\n" for row in rows)).encode()


def many_schools(count: int, cluster_id: str = CLUSTER) -> bytes:
    return schools_file(*(f"{910000 + n},School number {n},primary,{cluster_id}" for n in range(count)))


@pytest.fixture
def world(app: FundingApplication) -> FundingApplication:
    set_up_world(app, budget=None)
    return app


# -- one school at a time --------------------------------------------------------------------------


def test_registering_a_school_puts_it_on_the_register_in_its_cluster(world):
    school = world.register_school(COUNCIL, "900201", "Saltmarsh Infant School", "primary", CLUSTER)

    assert (school.name, school.phase, school.version) == ("Saltmarsh Infant School", SchoolPhase.PRIMARY, 1)
    assert world.cluster_of_school("900201") == ClusterId(CLUSTER)
    assert world.read_models.school(FINANCE, "900201") == SchoolRow(
        "900201", "Saltmarsh Infant School", "primary", CLUSTER, 1
    )
    assert "900201" in [str(urn) for urn in world.get_cluster(COUNCIL, CLUSTER).school_urns]


def test_a_school_already_in_its_cluster_is_registered_without_touching_its_membership(world):
    membership_before = world.repository.get(SchoolMembership.id_for(SchoolUrn(SCHOOL))).version

    world.register_school(COUNCIL, SCHOOL, "Northmere Primary School", "primary", CLUSTER)

    assert world.repository.get(SchoolMembership.id_for(SchoolUrn(SCHOOL))).version == membership_before
    assert world.read_models.school(HEAD, SCHOOL) == SchoolRow(
        SCHOOL, "Northmere Primary School", "primary", CLUSTER, 1
    )


def test_a_school_in_a_cluster_before_the_register_is_listed_with_no_name(world):
    row = world.read_models.school(LEAD, SECOND_SCHOOL)

    assert row == SchoolRow(SECOND_SCHOOL, None, None, CLUSTER, 0)
    assert not row.registered
    unregistered = world.read_models.schools(COUNCIL, registered=False).items
    assert [r.urn for r in unregistered] == sorted([SCHOOL, SECOND_SCHOOL, OTHER_SCHOOL])


def test_registering_a_school_that_is_in_another_cluster_is_refused_as_add_school_refuses_it(world):
    before = head(world)

    with pytest.raises(SchoolInAnotherCluster):
        world.register_school(COUNCIL, OTHER_SCHOOL, "Fenwick Academy", "secondary", CLUSTER)

    assert head(world) == before
    assert world.cluster_of_school(OTHER_SCHOOL) == ClusterId(OTHER_CLUSTER)


def test_a_school_is_registered_once(world):
    world.register_school(COUNCIL, "900201", "Saltmarsh Infant School", "primary", CLUSTER)

    with pytest.raises(AlreadyExists):
        world.register_school(COUNCIL, "900201", "Saltmarsh Infant School", "primary", CLUSTER)


def test_registering_into_a_cluster_that_does_not_exist_writes_nothing(world):
    before = head(world)

    with pytest.raises(NotFound):
        world.register_school(COUNCIL, "900201", "Saltmarsh Infant School", "primary", "no-such-cluster")

    assert head(world) == before


@pytest.mark.parametrize("who", [FINANCE, LEAD, HEAD], ids=["finance", "lead", "school"])
def test_only_the_council_registers_and_updates_schools_and_imports_files(world, who):
    with pytest.raises(NotPermitted):
        world.register_school(who, "900201", "Saltmarsh Infant School", "primary", CLUSTER)
    with pytest.raises(NotPermitted):
        world.update_school(who, SCHOOL, "Renamed", "primary", CLUSTER)
    with pytest.raises(NotPermitted):
        world.import_schools(who, many_schools(1))
    with pytest.raises(NotPermitted):
        world.import_clusters(who, b"cluster_id,name\nnew-cluster,New\n")


def test_updating_a_school_renames_it_and_a_new_cluster_moves_it(world):
    world.register_school(COUNCIL, SECOND_SCHOOL, "Northmere Juniors", "primary", CLUSTER)

    school = world.update_school(COUNCIL, SECOND_SCHOOL, "Northmere Academy", "all_through", OTHER_CLUSTER)

    assert (school.name, school.phase, school.version) == ("Northmere Academy", SchoolPhase.ALL_THROUGH, 2)
    assert world.cluster_of_school(SECOND_SCHOOL) == ClusterId(OTHER_CLUSTER)
    assert SchoolUrn(SECOND_SCHOOL) not in world.get_cluster(COUNCIL, CLUSTER).school_urns
    assert SchoolUrn(SECOND_SCHOOL) in world.get_cluster(COUNCIL, OTHER_CLUSTER).school_urns
    assert world.read_models.school(COUNCIL, SECOND_SCHOOL).cluster_id == OTHER_CLUSTER


def test_updating_with_a_stale_version_is_refused(world):
    world.register_school(COUNCIL, SCHOOL, "Northmere Primary School", "primary", CLUSTER)
    world.update_school(COUNCIL, SCHOOL, "Northmere Primary", "primary", CLUSTER, expected_version=1)

    with pytest.raises(StaleVersion):
        world.update_school(COUNCIL, SCHOOL, "Northmere", "primary", CLUSTER, expected_version=1)


def test_updating_a_school_the_register_does_not_hold_is_not_found(world):
    with pytest.raises(NotFound):
        world.update_school(COUNCIL, SECOND_SCHOOL, "Northmere Juniors", "primary", CLUSTER)


# -- searching the register ----------------------------------------------------------------------


def test_schools_are_listed_by_urn_filtered_by_cluster_and_searched_by_name_or_urn(world):
    world.import_schools(
        COUNCIL,
        schools_file(
            f"{SCHOOL},Northmere Primary School,primary,{CLUSTER}",
            f"{SECOND_SCHOOL},St Mary's 100% Juniors,primary,{CLUSTER}",
            f"{OTHER_SCHOOL},Fenwick High School,secondary,{OTHER_CLUSTER}",
        ),
    )
    models = world.read_models

    assert [r.urn for r in models.schools(HEAD, cluster_id=CLUSTER).items] == [SCHOOL, SECOND_SCHOOL]
    assert [r.urn for r in models.schools(LEAD, q="northmere").items] == [SCHOOL]
    assert [r.urn for r in models.schools(LEAD, q="HIGH").items] == [OTHER_SCHOOL]
    assert [r.urn for r in models.schools(LEAD, q="9001").items] == [OTHER_SCHOOL]
    # A LIKE wildcard typed in a search is a character to find, not a pattern.
    assert [r.urn for r in models.schools(LEAD, q="100%").items] == [SECOND_SCHOOL]
    assert models.schools(LEAD, q="_").items == []
    first = models.schools(FINANCE, limit=2)
    rest = models.schools(FINANCE, limit=2, cursor=first.next_cursor)
    assert [r.urn for r in first.items + rest.items] == [SCHOOL, SECOND_SCHOOL, OTHER_SCHOOL]
    assert rest.next_cursor is None


def test_a_school_the_engine_has_never_met_is_not_found(world):
    with pytest.raises(NotFound):
        world.read_models.school(COUNCIL, "999999")


# -- importing files: all rows or none ---------------------------------------------------------------


def test_importing_clusters_registers_new_ones_renames_changed_ones_and_leaves_the_rest(world):
    text = f"cluster_id,name\n{CLUSTER},Northmere Coast\n{OTHER_CLUSTER},Fenwick and the Broads\nwaveney-vale,Waveney\n"

    report = world.import_clusters(COUNCIL, text.encode())

    assert (report.registered, report.renamed, report.unchanged) == (1, 1, 1)
    names = {row.cluster_id: row.name for row in world.read_models.list_clusters(COUNCIL)}
    assert names == {CLUSTER: "Northmere Coast", OTHER_CLUSTER: "Fenwick and the Broads", "waveney-vale": "Waveney"}


def test_importing_schools_registers_each_in_its_cluster(world):
    report = world.import_schools(COUNCIL, many_schools(3))

    assert (report.registered, report.updated, report.moved, report.unchanged) == (3, 0, 0, 0)
    rows = world.read_models.schools(COUNCIL, cluster_id=CLUSTER, registered=True).items
    assert [(r.urn, r.name) for r in rows] == [(f"{910000 + n}", f"School number {n}") for n in range(3)]


def test_a_file_with_bad_rows_reports_every_one_by_line_and_writes_nothing(world):
    before = head(world)
    text = schools_file(
        f"900201,Saltmarsh Infant School,primary,{CLUSTER}",  # line 2: good
        f"12345,Short URN School,primary,{CLUSTER}",  # line 3
        f"900202,Unknown Phase School,kindergarten,{CLUSTER}",  # line 4
        "900203,Nowhere School,primary,no-such-cluster",  # line 5: well formed, not registered
        f"900201,Saltmarsh Again,primary,{CLUSTER}",  # line 6: repeats line 2
        "900204,Too Few Columns",  # line 7
        f"900205,,primary,{CLUSTER}",  # line 8
    )

    with pytest.raises(ImportRefused) as refused:
        world.import_schools(COUNCIL, text)

    lines = [(bad.line, bad.reason) for bad in refused.value.bad_rows]
    assert [line for line, _ in lines] == [3, 4, 5, 6, 7, 8]
    reasons = dict(lines)
    assert reasons[3] == "school URN must be 6 digits, got '12345'"
    assert "phase must be one of" in reasons[4]
    assert reasons[5] == "cluster no-such-cluster is not registered (import the clusters first)"
    assert reasons[6] == "URN 900201 is also on line 2"
    assert reasons[7] == "expected 4 values (urn,name,phase,cluster_id), found 2"
    assert reasons[8] == "name must not be blank"
    assert head(world) == before
    assert world.read_models.schools(COUNCIL, registered=True).items == []


@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (b"", None, "the file is empty"),
        (b"urn,name,cluster_id\n900201,A,x\n", 1, "the first line must be the header urn,name,phase,cluster_id"),
        (b"\xff\xfe\x00u", None, "the file is not UTF-8 text"),
        (b'urn,name,phase,cluster_id\n900201,"unclosed,primary,x\n', 2, "the file is not valid CSV"),
    ],
    ids=["empty", "no-header", "not-utf8", "bad-quoting"],
)
def test_a_file_that_is_not_a_register_is_refused_whole(world, data, line, reason):
    before = head(world)

    with pytest.raises(ImportRefused) as refused:
        world.import_schools(COUNCIL, data)

    (bad,) = refused.value.bad_rows
    assert bad.line == line
    assert bad.reason.startswith(reason)
    assert head(world) == before


def test_a_header_in_another_order_a_byte_order_mark_blank_lines_and_gias_phase_names_are_read(world):
    text = (
        f'\ufeffCluster_ID,URN,Name,Phase\r\n\r\n{CLUSTER},900201,"Saltmarsh, Infant School",Middle deemed primary\r\n'
    )
    text += f"{CLUSTER},900202,Saltmarsh Sixth Form,16 plus\r\n{CLUSTER},900203,Saltmarsh All Through,All-through\r\n"

    world.import_schools(COUNCIL, text.encode())

    rows = {r.urn: (r.name, r.phase) for r in world.read_models.schools(COUNCIL, registered=True).items}
    assert rows == {
        "900201": ("Saltmarsh, Infant School", "middle_deemed_primary"),
        "900202": ("Saltmarsh Sixth Form", "16_plus"),
        "900203": ("Saltmarsh All Through", "all_through"),
    }


def test_a_quoted_value_over_several_lines_is_reported_at_the_line_its_row_starts_on(world):
    text = schools_file(f'900201,"Saltmarsh\nInfant",primary,{CLUSTER}', f"bad,Next School,primary,{CLUSTER}")

    with pytest.raises(ImportRefused) as refused:
        world.import_schools(COUNCIL, text)

    assert [bad.line for bad in refused.value.bad_rows] == [4]


def test_importing_the_same_file_again_changes_nothing(world):
    text = many_schools(5)
    world.import_schools(COUNCIL, text)
    before = head(world)

    report = world.import_schools(COUNCIL, text)

    assert (report.registered, report.updated, report.moved, report.unchanged) == (0, 0, 0, 5)
    assert head(world) == before


def test_a_reimport_with_a_changed_name_updates_only_that_school(world):
    world.import_schools(COUNCIL, many_schools(3))
    before = head(world)
    text = many_schools(3).decode().replace("School number 1,", "Renamed School,").encode()

    report = world.import_schools(COUNCIL, text)

    assert (report.registered, report.updated, report.unchanged) == (0, 1, 2)
    assert head(world) == before + 1
    assert world.read_models.school(COUNCIL, "910001") == SchoolRow("910001", "Renamed School", "primary", CLUSTER, 2)


def test_a_reimport_that_puts_a_school_in_another_cluster_moves_it(world):
    world.import_schools(COUNCIL, schools_file(f"{SECOND_SCHOOL},Northmere Juniors,primary,{CLUSTER}"))

    report = world.import_schools(COUNCIL, schools_file(f"{SECOND_SCHOOL},Northmere Juniors,primary,{OTHER_CLUSTER}"))

    assert report.moved == 1
    assert world.cluster_of_school(SECOND_SCHOOL) == ClusterId(OTHER_CLUSTER)
    assert SchoolUrn(SECOND_SCHOOL) not in world.get_cluster(COUNCIL, CLUSTER).school_urns
    assert SchoolUrn(SECOND_SCHOOL) in world.get_cluster(COUNCIL, OTHER_CLUSTER).school_urns
    assert world.read_models.school(COUNCIL, SECOND_SCHOOL).cluster_id == OTHER_CLUSTER


def test_a_few_hundred_schools_are_saved_in_one_transaction_and_reconcile(world):
    before = head(world)

    world.import_schools(COUNCIL, many_schools(300))

    # 300 entries, 300 memberships started and joined, 300 schools added to the cluster: 1,200
    # events, at consecutive positions, written by one save.
    events = world.recorder.select_notifications(before + 1, 2000)
    assert len(events) == 1200
    assert [e.id for e in events] == list(range(before + 1, before + 1201))
    assert len(world.read_models.list_schools(COUNCIL, cluster_id=CLUSTER)) == 302
    assert world.read_models.reconcile(FINANCE, "2026-27").consistent


def test_an_import_that_loses_a_race_writes_none_of_its_rows_then_decides_again(world, make_app):
    """Another process changes one of the file's schools between the decision and the save: the
    store refuses the whole save (not the rows before it), and the import decides again."""
    other = make_app()
    text = many_schools(50, cluster_id=CLUSTER)
    save = world.save
    seen: dict[str, Any] = {}

    def save_after_a_rival(*aggregates: Any, **kwargs: Any) -> Any:
        if not seen:
            other.register_school(COUNCIL, "910049", "Registered elsewhere", "secondary", CLUSTER)
            seen["head"] = head(world)
            try:
                return save(*aggregates, **kwargs)
            except IntegrityError:
                seen["after_refusal"] = head(world)
                raise
        return save(*aggregates, **kwargs)

    world.save = save_after_a_rival
    try:
        report = world.import_schools(COUNCIL, text)
    finally:
        world.save = save

    assert seen["after_refusal"] == seen["head"]  # nothing of the file was written by the refused save
    assert (report.registered, report.updated) == (49, 1)
    assert world.read_models.school(COUNCIL, "910049").name == "School number 49"
    assert world.read_models.reconcile(FINANCE, "2026-27").consistent


def test_the_register_reconciles_with_the_log_after_moves_renames_and_removals(world):
    world.import_schools(COUNCIL, many_schools(3))
    world.update_school(COUNCIL, "910000", "Moved School", "secondary", OTHER_CLUSTER)
    world.remove_school(COUNCIL, CLUSTER, "910001")

    result = world.read_models.reconcile(FINANCE, "2026-27")

    assert result.consistent
    assert world.read_models.school(COUNCIL, "910001").cluster_id is None
    (schools,) = [table for table in result.tables if table.name == "schools"]
    assert schools.rows_checked == 6
