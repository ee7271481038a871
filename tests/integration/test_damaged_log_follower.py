"""The background follower meets a damaged event: it says so once, in one line, and keeps trying."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from funding_engine import read_side as read_side_module
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from tests.integration.tampering import Intruder
from tests.support import CLUSTER, FINANCE, YEAR, log_position, set_up_world


def test_a_damaged_event_is_logged_once_in_one_line_however_often_the_follower_retries(
    app, database_url, caplog, monkeypatch
):
    set_up_world(app)
    app.read_side.make_fresh()
    monkeypatch.setattr(read_side_module, "FOLLOWER_RETRY_SECONDS", 0.01)
    attempts: list[int] = []
    original = app.read_side.projector.catch_up
    # The follower must not read the event before it is damaged: it wakes 20 ms after the
    # allocation, and writing the damage can take longer than that on a busy machine.
    damage_written = threading.Event()

    def counted(*args: Any, **kwargs: Any) -> int:
        damage_written.wait(60)
        attempts.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(app.read_side.projector, "catch_up", counted)
    app.allocate_budget(FINANCE, CLUSTER, YEAR, "1.00", "to be damaged")
    damaged = log_position(app)
    with Intruder(database_url).cursor() as cursor:
        cursor.execute("UPDATE {events} SET state = ? WHERE {position} = ?", (b"{not json", damaged))
    damage_written.set()

    caplog.set_level(logging.ERROR, logger="funding_engine.read_side")
    app.allocate_council_fund(FINANCE, YEAR, "1.00", "wakes the follower")  # another aggregate
    deadline = time.monotonic() + 60
    while len(attempts) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)

    assert len(attempts) >= 5  # it kept trying ...
    records = [record for record in caplog.records if record.name == "funding_engine.read_side"]
    # ... and said so once, naming the position, without a traceback.
    assert [record.getMessage() for record in records] == [
        f"read models stopped before a damaged event: the event log cannot be read at position {damaged}: "
        + records[0].getMessage().split(f"position {damaged}: ", 1)[1]
    ]
    assert records[0].exc_info is None


def test_a_command_on_an_aggregate_with_a_damaged_event_says_so_over_http(app, database_url):
    from tests.api.conftest import assert_problem, auth, client_for

    set_up_world(app)
    app.allocate_budget(FINANCE, CLUSTER, YEAR, "1.00", "to be damaged")
    damaged = log_position(app)
    with Intruder(database_url).cursor() as cursor:
        cursor.execute("UPDATE {events} SET state = ? WHERE {position} = ?", (b"{not json", damaged))
    restarted = bootstrap(Settings(database_url=database_url))  # nothing cached: it reads the log
    try:
        with client_for(restarted) as client:
            response = client.post(
                f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations", json={"amount": "5.00"}, headers=auth(FINANCE)
            )
    finally:
        restarted.close()
    body = assert_problem(response, 409, "log-unreadable")
    assert "cannot be decoded" in body["detail"] and "Traceback" not in body["detail"]
