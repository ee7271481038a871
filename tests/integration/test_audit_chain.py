"""The tamper-evident audit chain over the stored event records, on SQLite and on PostgreSQL.

Tampering is done the way an intruder with database access would: straight on the event table
(SQLite ``stored_events``, where the notification id is the rowid; PostgreSQL
``fundingengine_events`` in the test's schema, keyed by ``notification_id``, state as bytea),
never through the application.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from projections.audit_chain import verify
from tests.integration.tampering import Intruder
from tests.integration.test_read_model_properties import notification_source, write_many_events
from tests.reference_chain import CHECKPOINT_EVERY, StoredChain, reference_checkpoints, reference_links
from tests.support import COUNCIL, FINANCE, LEAD, YEAR, evidenced_request, set_up_world

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "funding_engine.cli"]
BUDGET_ALLOCATION = 13  # set_up_world's log: 11 cluster and school events, then the budget opens (12) and is allocated


class StoredEvents:
    """The event table of a store, edited directly (no application, no library)."""

    def __init__(self, database_url: str) -> None:
        self.intruder = Intruder(database_url)

    def state(self, position: int) -> bytes:
        [(state,)] = self.intruder.execute("SELECT state FROM {events} WHERE {position} = ?", (position,))
        return bytes(state)

    def set_state(self, position: int, state: bytes) -> None:
        with self.intruder.cursor() as cursor:
            cursor.execute("UPDATE {events} SET state = ? WHERE {position} = ?", (state, position))
            assert cursor.rowcount == 1

    def delete(self, position: int) -> None:
        with self.intruder.cursor() as cursor:
            cursor.execute("DELETE FROM {events} WHERE {position} = ?", (position,))
            assert cursor.rowcount == 1


def chain_rows(app: FundingApplication) -> list[tuple[int, str]]:
    # What a query sees: commands leave the catching up to the background follower.
    app.read_side.make_fresh()
    with app.read_side.database.reading() as cursor:
        cursor.execute("SELECT position, hash FROM audit_chain ORDER BY position")
        return [(int(position), str(digest)) for position, digest in cursor.fetchall()]


def log_length(app: FundingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def cli(args: list[str], database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FUNDING_ENGINE_")}
    environment.update(PYTHONPATH=str(ROOT), FUNDING_ENGINE_DATABASE_URL=database_url, **env)
    return subprocess.run([*CLI, *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


@pytest.fixture
def world(app: FundingApplication) -> FundingApplication:
    """A short history: the world (13 events), then a request evidenced, approved and paid (19 in all)."""
    set_up_world(app, budget="5000.00")
    request = evidenced_request(app)
    app.approve(LEAD, request.id, "800.00", "Spend evidence shows the school's own funds are used.")
    app.record_payment(FINANCE, request.id, "800.00", "PAY-0001")
    # Chained, as the follower does within milliseconds of a command; tampering comes after.
    app.read_side.make_fresh()
    return app


# ================================================================================================
# An untouched store, and how the chain grows
# ================================================================================================


def test_an_untouched_store_verifies_every_event_up_to_the_recorded_head(world):
    result = world.verify_audit_chain(COUNCIL)

    assert result.ok is True
    assert result.events_checked == log_length(world) == 19
    assert result.head == chain_rows(world)[-1][1]
    assert result.first_bad_position is None


def test_the_chain_has_one_link_per_stored_event_in_log_order(world):
    rows = chain_rows(world)

    assert [position for position, _ in rows] == list(range(1, log_length(world) + 1))
    assert len({digest for _, digest in rows}) == len(rows)


def test_each_link_chains_on_the_previous_one_over_the_record_as_stored(world, database_url):
    # Expected links come from the reference written from docs/AUDIT_CHAIN.md, never from the product.
    expected = reference_links(StoredChain(database_url).records())

    assert chain_rows(world) == expected


def test_catching_up_after_a_command_reads_only_the_new_notifications(world, monkeypatch):
    world.read_side.make_fresh()
    source = world.read_side.projector.source
    original, reads = source.select, []

    def counting(after: int, limit: int) -> Any:
        batch = original(after, limit)
        reads.append((after, [notification.id for notification in batch]))
        return batch

    monkeypatch.setattr(source, "select", counting)
    before = log_length(world)
    world.allocate_budget(FINANCE, "northmere-coast", YEAR, "100.00", "top-up allocation")
    world.read_side.make_fresh()

    read = [position for _, positions in reads for position in positions]
    assert read == [before + 1]
    assert min(after for after, _ in reads) == before
    assert len(chain_rows(world)) == log_length(world) == before + 1


def test_the_chain_records_a_checkpoint_every_thousand_events(app, database_url):
    set_up_world(app)
    head = write_many_events(app, 400)
    app.read_side.projector.catch_up()

    with app.read_side.database.reading() as cursor:
        cursor.execute("SELECT position, hash FROM audit_checkpoints ORDER BY position")
        checkpoints = [(int(position), str(digest)) for position, digest in cursor.fetchall()]

    expected = reference_checkpoints(reference_links(StoredChain(database_url).records()))
    assert [position for position, _ in expected] == list(range(CHECKPOINT_EVERY, head + 1, CHECKPOINT_EVERY))
    assert len(expected) == 2 and checkpoints == expected


# ================================================================================================
# Tampering with stored events
# ================================================================================================


def insert_a_space(state: bytes) -> bytes:
    """One byte of whitespace after the opening brace: the JSON still means the same."""
    assert state.startswith(b"{")
    return b"{ " + state[1:]


def change_the_amount(state: bytes) -> bytes:
    """One digit of the allocated amount (5000.00 becomes 9000.00)."""
    assert state.count(b'"_data_":500000') == 1
    return state.replace(b'"_data_":500000', b'"_data_":900000')


@pytest.mark.parametrize("edit", [insert_a_space, change_the_amount], ids=["whitespace", "amount"])
def test_editing_one_stored_events_bytes_fails_verification_at_that_position(world, database_url, edit):
    events = StoredEvents(database_url)
    events.set_state(BUDGET_ALLOCATION, edit(events.state(BUDGET_ALLOCATION)))

    result = world.verify_audit_chain(COUNCIL)

    assert (result.ok, result.first_bad_position, result.events_checked) == (False, BUDGET_ALLOCATION, 12)


def test_editing_the_last_stored_event_fails_verification_at_that_position(world, database_url):
    events, last = StoredEvents(database_url), log_length(world)
    events.set_state(last, insert_a_space(events.state(last)))

    result = world.verify_audit_chain(COUNCIL)

    assert (result.ok, result.first_bad_position) == (False, last)


def test_deleting_a_stored_event_fails_verification_at_that_position(world, database_url):
    StoredEvents(database_url).delete(BUDGET_ALLOCATION)

    result = world.verify_audit_chain(COUNCIL)

    assert (result.ok, result.first_bad_position) == (False, BUDGET_ALLOCATION)


def test_deleting_the_last_stored_event_fails_verification_at_that_position(world, database_url):
    last = log_length(world)
    StoredEvents(database_url).delete(last)

    result = world.verify_audit_chain(COUNCIL)

    assert (result.ok, result.first_bad_position) == (False, last)


def test_swapping_two_stored_events_states_fails_verification_at_the_first(world, database_url):
    events, first, second = StoredEvents(database_url), 4, 7
    state_of_first, state_of_second = events.state(first), events.state(second)
    events.set_state(first, state_of_second)
    events.set_state(second, state_of_first)

    result = world.verify_audit_chain(COUNCIL)

    assert (result.ok, result.first_bad_position) == (False, first)


def test_putting_an_edited_event_back_as_it_was_verifies_again(world, database_url):
    events = StoredEvents(database_url)
    original = events.state(BUDGET_ALLOCATION)
    events.set_state(BUDGET_ALLOCATION, insert_a_space(original))
    assert world.verify_audit_chain(COUNCIL).ok is False

    events.set_state(BUDGET_ALLOCATION, original)

    assert world.verify_audit_chain(COUNCIL).ok is True


# ================================================================================================
# The command line
# ================================================================================================


def test_audit_verify_exits_0_and_prints_ok_for_an_untouched_store(world, database_url):
    result = cli(["audit", "verify"], database_url)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "ok: true",
        f"events_checked: {log_length(world)}",
        f"head: {chain_rows(world)[-1][1]}",
        "first_bad_position: null",
        f"snapshots_checked: {world.audit_snapshots(COUNCIL).checked}",
    ]


def test_audit_verify_exits_1_and_prints_the_first_bad_position_after_an_edit(world, database_url):
    events = StoredEvents(database_url)
    events.set_state(BUDGET_ALLOCATION, insert_a_space(events.state(BUDGET_ALLOCATION)))

    result = cli(["audit", "verify"], database_url)

    assert result.returncode == 1
    assert "ok: false" in result.stdout.splitlines()
    assert f"first_bad_position: {BUDGET_ALLOCATION}" in result.stdout.splitlines()


# ================================================================================================
# A keyed chain
# ================================================================================================


@pytest.fixture
def keyed(database_url: str) -> Iterator[FundingApplication]:
    app = bootstrap(Settings(database_url=database_url, audit_key="k7Rw2QpX9vLm4TzN8bYc1HdF6gJs3VeA5uKo0iPq"))
    try:
        set_up_world(app)
        app.read_side.make_fresh()  # chained before anyone tampers
        yield app
    finally:
        app.close()


def test_a_keyed_chain_differs_link_by_link_from_the_unkeyed_one(keyed, database_url):
    unkeyed = [digest for _, digest in reference_links(StoredChain(database_url).records())]

    keyed_links = [digest for _, digest in chain_rows(keyed)]

    assert len(keyed_links) == len(unkeyed) == log_length(keyed)
    assert not set(keyed_links) & set(unkeyed)


def test_a_keyed_chain_verifies_with_its_key(keyed):
    result = keyed.verify_audit_chain(COUNCIL)

    assert (result.ok, result.events_checked, result.first_bad_position) == (True, log_length(keyed), None)


def test_a_keyed_chain_does_not_verify_without_the_key(keyed):
    result = verify(keyed.read_side.database, notification_source(keyed), None)

    assert (result.ok, result.first_bad_position) == (False, 1)


def test_a_keyed_chain_still_catches_an_edit(keyed, database_url):
    events = StoredEvents(database_url)
    events.set_state(BUDGET_ALLOCATION, change_the_amount(events.state(BUDGET_ALLOCATION)))

    result = keyed.verify_audit_chain(COUNCIL)

    assert (result.ok, result.first_bad_position) == (False, BUDGET_ALLOCATION)


# ================================================================================================
# Tampering with the chain itself
# ================================================================================================


def test_cutting_the_newest_links_off_the_chain_does_not_hide_an_edit_after_them(world, database_url):
    events, cut = StoredEvents(database_url), BUDGET_ALLOCATION - 1
    events.set_state(BUDGET_ALLOCATION, change_the_amount(events.state(BUDGET_ALLOCATION)))
    with world.read_side.database.transaction() as cursor:
        cursor.execute("DELETE FROM audit_chain WHERE position > ?", (cut,))

    result = world.verify_audit_chain(COUNCIL)

    assert (result.ok, result.first_bad_position) == (False, BUDGET_ALLOCATION)
