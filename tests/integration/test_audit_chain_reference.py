"""The audit chain checked against an independent reference written from docs/AUDIT_CHAIN.md.

``tests/reference_chain.py`` reads the raw tables with its own SQL and recomputes every link as the
document describes; the engine's stored chain and ``verify_audit_chain`` must agree with it, link by
link and verdict by verdict, on SQLite and PostgreSQL, with and without an audit key. The auditor's
script printed in the document is run too, on exports made the way the document says, and must
print what ``audit verify`` prints.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings, SQLiteStore, parse_database_url
from projections.audit_chain import Verification
from tests.conftest import _drop_schema, postgres_base_url
from tests.integration.test_audit_chain import (
    BUDGET_ALLOCATION,
    StoredEvents,
    change_the_amount,
    insert_a_space,
)
from tests.reference_chain import EventRecord, ReferenceVerdict, StoredChain, reference_links
from tests.support import (
    COUNCIL,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_HEAD,
    OTHER_LEAD,
    OTHER_SCHOOL,
    YEAR,
    evidenced_request,
    set_up_world,
    submit,
)

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "AUDIT_CHAIN.md"
KEY = "k7Rw2QpX9vLm4TzN8bYc1HdF6gJs3VeA5uKo0iPq"  # one the settings accept as strong
STORES_AND_KEYS = [
    pytest.param(("sqlite", None), id="sqlite-unkeyed"),
    pytest.param(("sqlite", KEY), id="sqlite-keyed"),
    pytest.param(("postgres", None), id="postgres-unkeyed", marks=pytest.mark.postgres),
    pytest.param(("postgres", KEY), id="postgres-keyed", marks=pytest.mark.postgres),
]
# The history below writes 39 events: since issue 14 its council approval also opens and counts in
# the term tally (2 events).
LOG_LENGTH = 39


@dataclass
class History:
    app: FundingApplication
    database_url: str
    key: str | None


@pytest.fixture(scope="module", params=STORES_AND_KEYS)
def history(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """Every kind of event: budgets and the fund, approval and payment, escalation and council
    decisions, a decline, a withdrawal, a question and a commission; chained before anyone tampers.

    One store per kind and key for the whole module (a PostgreSQL schema and its tables cost most of
    a second); tests that tamper use ``tampered``, which puts the tables back afterwards."""
    kind, key = request.param
    if kind == "sqlite":
        url, cleanup = f"sqlite:///{tmp_path_factory.mktemp('history') / 'funding.sqlite3'}", None
    else:
        base = postgres_base_url()
        schema = f"test_{uuid.uuid4().hex[:16]}"
        url, cleanup = f"{base}{'&' if '?' in base else '?'}schema={schema}", (base, schema)
    app = bootstrap(Settings(database_url=url, audit_key=key))
    try:
        make_history(app)
        app.read_side.make_fresh()
        keep_a_copy(url)
        yield History(app, url, key)
    finally:
        app.close()
        if cleanup is not None:
            _drop_schema(*cleanup)


@pytest.fixture
def tampered(history: History) -> Iterator[History]:
    """The module's history, for a test that tampers with it; the tables are put back afterwards."""
    yield history
    put_the_copy_back(history.database_url)
    assert StoredChain(history.database_url).verdict(history.key).ok


def make_history(app: FundingApplication) -> None:
    set_up_world(app, budget="5000.00", council_fund="3000.00")
    paid = evidenced_request(app)
    app.approve(LEAD, paid.id, "800.00", "Spend evidence shows the school's own funds are used.")
    app.record_payment(FINANCE, paid.id, "800.00", "PAY-0001")
    escalated = evidenced_request(app, amount_requested="6000.00")
    app.escalate(LEAD, escalated.id, "4500.00", "A special school closed mid-year.")
    app.decide_escalation(COUNCIL, escalated.id, "approve", "Exceptional circumstances shown.", "2500.00")
    refused = evidenced_request(app, amount_requested="6000.00")
    app.escalate(LEAD, refused.id, "6000.00", "Three pupils arrived mid-year.")
    app.decide_escalation(COUNCIL, refused.id, "decline", "Not exceptional.")
    questioned = submit(app, HEAD, amount_requested="700.00")
    app.request_information(LEAD, questioned.id, "Please send the provision map.")
    app.withdraw(HEAD, questioned.id, "The pupil moved school.")
    declined = evidenced_request(app, OTHER_HEAD, school_urn=OTHER_SCHOOL, amount_requested="400.00")
    app.decline(OTHER_LEAD, declined.id, "insufficient_evidence", "The evidence covers one term only.")
    app.commission_service(
        LEAD,
        "northmere-coast",
        YEAR,
        service="camhs",
        provider="Coastal CAMHS Outreach",
        amount="450.00",
        school_urns=["900001"],
        description="Weekly CAMHS drop-in for the spring term.",
    )


def event_table(database_url: str) -> tuple[str, str]:
    """The event table and its position column (docs/AUDIT_CHAIN.md, section 1)."""
    if isinstance(parse_database_url(database_url), SQLiteStore):
        return "stored_events", "rowid"
    return "fundingengine_events", "notification_id"


def keep_a_copy(database_url: str) -> None:
    table, position = event_table(database_url)
    execute_on_the_store(
        database_url,
        f"CREATE TABLE copy_of_events AS SELECT {position} AS position, originator_id, originator_version, "
        f"topic, state FROM {table}",
        "CREATE TABLE copy_of_chain AS SELECT position, hash FROM audit_chain",
    )


def put_the_copy_back(database_url: str) -> None:
    table, position = event_table(database_url)
    execute_on_the_store(
        database_url,
        f"DELETE FROM {table}",
        f"INSERT INTO {table} ({position}, originator_id, originator_version, topic, state) "
        "SELECT position, originator_id, originator_version, topic, state FROM copy_of_events",
        "DELETE FROM audit_chain",
        "INSERT INTO audit_chain (position, hash) SELECT position, hash FROM copy_of_chain",
    )


def execute_on_the_store(database_url: str, *statements: str) -> None:
    """Statements run straight on the store, in one transaction, as an intruder would."""
    store = parse_database_url(database_url)
    if isinstance(store, SQLiteStore):
        connection = sqlite3.connect(store.path)
        try:
            with connection:
                for statement in statements:
                    connection.execute(statement)
        finally:
            connection.close()
        return
    import psycopg

    with psycopg.connect(store.conninfo(), options=f"-c search_path={store.schema}") as pg_connection:
        for statement in statements:
            pg_connection.execute(statement)


def verdict(result: Verification | ReferenceVerdict) -> tuple[bool, int, str, int | None]:
    return (result.ok, result.events_checked, result.head, result.first_bad_position)


# ================================================================================================
# The reference itself
# ================================================================================================


def test_the_reference_imports_no_hashing_code_of_the_product():
    tree = ast.parse((ROOT / "tests" / "reference_chain.py").read_text())
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}

    ours = {name for name in imported if name.split(".")[0] in ("projections", "api", "domain", "funding_engine")}
    # The store's location is all it takes from the product; nothing of the library either.
    assert ours == {"funding_engine.settings"}
    assert not [name for name in imported if name.startswith("eventsourcing")]


def test_the_reference_gives_the_documents_worked_example():
    text = DOCUMENT.read_text()
    state = b'{"name":"Northmere Coast"}'
    record = EventRecord(1, "ce92ca89-b651-57d9-b017-c740810303f3", 1, "domain.clusters:Cluster.Registered", state)
    unkeyed = re.search(r"link\(1\), no key\s+= ([0-9a-f]{64})", text)
    keyed = re.search(rf'link\(1\), key "{KEY}"\s+= ([0-9a-f]{{64}})', text)
    assert unkeyed and keyed

    assert reference_links([record]) == [(1, unkeyed.group(1))]
    assert reference_links([record], KEY) == [(1, keyed.group(1))]


# ================================================================================================
# The stored chain and verify against the reference
# ================================================================================================


def test_the_stored_chain_is_the_documented_chain_link_by_link(history):
    stored = StoredChain(history.database_url)
    records = stored.records()

    assert len(records) == history.app.recorder.max_notification_id() == LOG_LENGTH
    assert stored.links() == reference_links(records, history.key)
    assert stored.tracked() == LOG_LENGTH


def test_a_keyed_chain_shares_no_link_with_the_unkeyed_one(history):
    stored = StoredChain(history.database_url)
    other_key = None if history.key else KEY

    other_chain = reference_links(stored.records(), other_key)

    assert not {digest for _, digest in stored.links()} & {digest for _, digest in other_chain}


def test_verify_of_an_untouched_store_reports_the_documented_head_and_count(history):
    stored = StoredChain(history.database_url)
    links = reference_links(stored.records(), history.key)

    result = history.app.verify_audit_chain(COUNCIL)

    assert verdict(result) == (True, LOG_LENGTH, links[-1][1], None)
    assert verdict(result) == verdict(stored.verdict(history.key))


# ================================================================================================
# Tampering: the reference's verdict and verify's are the same
# ================================================================================================


def edit_an_amount(database_url: str) -> None:
    events = StoredEvents(database_url)
    events.set_state(BUDGET_ALLOCATION, change_the_amount(events.state(BUDGET_ALLOCATION)))


def edit_whitespace_of_the_last(database_url: str) -> None:
    events = StoredEvents(database_url)
    events.set_state(LOG_LENGTH, insert_a_space(events.state(LOG_LENGTH)))


def delete_a_record(database_url: str) -> None:
    StoredEvents(database_url).delete(BUDGET_ALLOCATION)


def swap_two_records(database_url: str) -> None:
    events = StoredEvents(database_url)
    first, second = events.state(4), events.state(7)
    events.set_state(4, second)
    events.set_state(7, first)


def unchain_a_record(database_url: str) -> None:
    """What an inserted record looks like: a record below the chain's head with no link."""
    execute_on_the_store(database_url, f"DELETE FROM audit_chain WHERE position = {BUDGET_ALLOCATION}")


def edit_a_link(database_url: str) -> None:
    execute_on_the_store(database_url, f"UPDATE audit_chain SET hash = '{'f' * 64}' WHERE position = 20")


def cut_the_chains_tail(database_url: str) -> None:
    execute_on_the_store(database_url, "DELETE FROM audit_chain WHERE position > 30")


TAMPERING: list[Callable[[str], None]] = [
    edit_an_amount,
    edit_whitespace_of_the_last,
    delete_a_record,
    swap_two_records,
    unchain_a_record,
    edit_a_link,
    cut_the_chains_tail,
]
FIRST_BAD = {
    edit_an_amount: BUDGET_ALLOCATION,
    edit_whitespace_of_the_last: LOG_LENGTH,
    delete_a_record: BUDGET_ALLOCATION,
    swap_two_records: 4,
    unchain_a_record: BUDGET_ALLOCATION,
    edit_a_link: 20,
    cut_the_chains_tail: 31,
}


@pytest.mark.parametrize("tamper", TAMPERING, ids=[tamper.__name__ for tamper in TAMPERING])
def test_after_tampering_verify_names_the_position_the_reference_names(tampered, tamper):
    tamper(tampered.database_url)

    expected = StoredChain(tampered.database_url).verdict(tampered.key)
    result = tampered.app.verify_audit_chain(COUNCIL)

    assert (expected.ok, expected.first_bad_position) == (False, FIRST_BAD[tamper])
    assert verdict(result) == verdict(expected)


# ================================================================================================
# The auditor's script printed in the document
# ================================================================================================


def fenced_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOCUMENT.read_text(), flags=re.DOTALL)


def run_the_documented_check(history: History, folder: Path, key: str | None) -> subprocess.CompletedProcess[str]:
    """The document's script, on the SQLite file itself or on exports made with the document's psql commands."""
    (script,) = [block for block in fenced_blocks("python") if "import hashlib" in block]
    (folder / "check_chain.py").write_text(script)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FUNDING_ENGINE_")}
    if key is not None:
        environment["FUNDING_ENGINE_AUDIT_KEY"] = key
    store = parse_database_url(history.database_url)
    if isinstance(store, SQLiteStore):
        command = [sys.executable, "check_chain.py", store.path]
        return subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=60)
    if shutil.which("psql") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("psql is needed in CI, to run the documented PostgreSQL export")
        pytest.skip("psql is not installed: the documented PostgreSQL export cannot run")
    (commands,) = [block for block in fenced_blocks("sh") if "psql" in block]
    # The document's own commands, with this store's connection and schema for its placeholders.
    shell = "\n".join(line for line in commands.splitlines() if not line.startswith("PGURL="))
    shell = shell.replace("python3 ", f"{sys.executable} ")
    environment.update(PGURL=store.conninfo(), SCHEMA=store.schema)
    command = ["bash", "-c", shell]
    return subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=60)


def printed(result: Verification) -> list[str]:
    """What ``audit verify`` prints for a verdict (funding_engine/cli/commands.py)."""
    return [
        f"ok: {'true' if result.ok else 'false'}",
        f"events_checked: {result.events_checked}",
        f"head: {result.head}",
        f"first_bad_position: {'null' if result.first_bad_position is None else result.first_bad_position}",
    ]


def test_the_documented_script_agrees_with_verify_on_an_untouched_store(history, tmp_path):
    checked = run_the_documented_check(history, tmp_path, history.key)

    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines() == printed(history.app.verify_audit_chain(COUNCIL))
    assert checked.stdout.splitlines()[1] == f"events_checked: {LOG_LENGTH}"


@pytest.mark.parametrize("tamper", [edit_an_amount, delete_a_record, cut_the_chains_tail], ids=lambda t: t.__name__)
def test_the_documented_script_finds_what_verify_finds(tampered, tmp_path, tamper):
    tamper(tampered.database_url)

    checked = run_the_documented_check(tampered, tmp_path, tampered.key)

    assert checked.returncode == 1, checked.stderr
    assert checked.stdout.splitlines() == printed(tampered.app.verify_audit_chain(COUNCIL))
    assert checked.stdout.splitlines()[3] == f"first_bad_position: {FIRST_BAD[tamper]}"


def test_the_documented_script_with_the_wrong_key_fails_at_the_first_event(history, tmp_path):
    checked = run_the_documented_check(history, tmp_path, None if history.key else KEY)

    assert checked.returncode == 1
    assert checked.stdout.splitlines()[3] == "first_bad_position: 1"
