"""Whose key is it: a key replays only to the caller who made it, after the caller is authorised.

Also: one Authorization header per request, what a key's record holds, and when it expires.
"""

from __future__ import annotations

import json

import pytest

from domain.values import Actor
from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.idempotency import TABLE, IdempotencyClaim
from funding_engine.settings import Settings
from tests.api.conftest import assert_problem, auth, token, writes_nothing
from tests.support import CLUSTER, COUNCIL, HEAD, SCHOOL, SECOND_SCHOOL, log_position, submission

JSON = {"content-type": "application/json"}


def test_a_key_never_replays_another_schools_answer_though_both_tokens_share_a_sub(world, client):
    # Before --sub was required, every school's token from `funding-engine token` had sub "school-cli".
    first_school, second_school = Actor.school("school-cli", SCHOOL), Actor.school("school-cli", SECOND_SCHOOL)
    key = {"Idempotency-Key": "same-key"}
    mine = client.post("/requests", json=submission(), headers={**auth(first_school), **key})
    assert mine.status_code == 201
    with writes_nothing(world):
        theirs = client.post("/requests", json=submission(), headers={**auth(second_school), **key})
    # The second school asks for the first school's request (same body): it is refused as it would be
    # without the key, and never sees the first school's answer.
    assert_problem(theirs, 403, "forbidden")
    assert mine.json()["id"] not in theirs.text
    assert "idempotent-replayed" not in theirs.headers


def test_a_role_the_route_never_allows_is_refused_before_any_replay(world, client):
    school, lead = Actor.school("shared-sub", SCHOOL), Actor.cluster_lead("shared-sub", CLUSTER)
    key = {"Idempotency-Key": "shared-sub-key"}
    first = client.post("/requests", json=submission(), headers={**auth(school), **key})
    assert first.status_code == 201
    with writes_nothing(world):
        replay_attempt = client.post("/requests", json=submission(), headers={**auth(lead), **key})
    assert_problem(replay_attempt, 403, "forbidden")
    assert first.json()["id"] not in replay_attempt.text


def test_the_same_caller_gets_the_first_answer_back(world, client):
    key = {"Idempotency-Key": "mine-again"}
    first = client.post("/requests", json=submission(), headers={**auth(HEAD), **key})
    with writes_nothing(world):
        again = client.post("/requests", json=submission(), headers={**auth(HEAD), **key})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("method, path", [("POST", "/requests"), ("GET", "/requests"), ("GET", "/balances")])
def test_two_authorization_headers_are_a_400_and_change_nothing(world, client, method, path):
    # One layer used to read the first header and another the last: refuse the request instead.
    headers = [("Authorization", f"Bearer {token(HEAD)}"), ("Authorization", f"Bearer {token(COUNCIL)}")]
    with writes_nothing(world):
        response = client.request(method, path, json=submission() if method == "POST" else None, headers=headers)
    body = assert_problem(response, 400, "bad-request")
    assert body["detail"] == "send one Authorization header, not 2"


def test_two_idempotency_key_headers_are_a_400_and_change_nothing(world, client):
    headers = [("Authorization", f"Bearer {token(HEAD)}"), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    with writes_nothing(world):
        response = client.post("/requests", json=submission(), headers=headers)
    assert_problem(response, 400, "bad-request")


def test_a_commit_whose_answer_was_never_given_is_answered_again_without_acting(world, client):
    # The state a server leaves when it dies between committing and answering (the server tests
    # do it with kill -9): the key is recorded with the events, and no answer is.
    body = json.dumps(submission()).encode()
    claim = IdempotencyClaim.of(HEAD, "POST", "/requests", "died-before-answering", body)
    with world.idempotently(claim):
        made = world.submit_request(HEAD, **submission())
    position = log_position(world)

    headers = {**auth(HEAD), **JSON, "Idempotency-Key": "died-before-answering"}
    retry = client.post("/requests", content=body, headers=headers)
    again = client.post("/requests", content=body, headers=headers)

    assert log_position(world) == position
    assert retry.status_code == again.status_code == 201
    assert retry.json()["id"] == again.json()["id"] == str(made.id)
    assert retry.json() == again.json()
    assert retry.headers["idempotent-replayed"] == again.headers["idempotent-replayed"] == "true"


def test_a_key_record_holds_only_what_a_repeat_needs(world, client):
    bearer = token(HEAD)
    body = submission(needs_summary="Pupils need a quiet room and a trained assistant every morning.")
    response = client.post(
        "/requests", json=body, headers={"Authorization": f"Bearer {bearer}", "Idempotency-Key": "k-3141592653"}
    )
    assert response.status_code == 201
    with world.read_side.database.reading() as cursor:
        cursor.execute(f"SELECT * FROM {TABLE}")
        rows = cursor.fetchall()
    assert len(rows) == 1
    stored = json.dumps([str(value) for value in rows[0]])
    # Hashes of the scope and body, the committed aggregate and version, and the answer: no key,
    # no identity, no token, and no request body other than what the answer itself shows.
    for secret in ("k-3141592653", HEAD.sub, bearer, json.dumps(body)):
        assert secret not in stored
    with world.read_side.database.reading() as cursor:
        # Both stores' execute() answers with the driver's cursor, which names the columns.
        empty = cursor.execute(f"SELECT * FROM {TABLE} WHERE 1 = 0")
        columns = [column[0] for column in empty.description]
    assert columns == [
        "scope", "fingerprint", "recorded_at", "aggregate_id", "aggregate_version", "status", "headers", "body"
    ]  # fmt: skip


def test_a_key_expires_and_then_acts_again(world, client):
    headers = {**auth(HEAD), "Idempotency-Key": "yesterday"}
    first = client.post("/requests", json=submission(), headers=headers)
    # A day and a minute pass (the default lifetime is 24 hours).
    with world.read_side.database.transaction() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET recorded_at = recorded_at - ?", (24 * 3600 + 60,))
    position = log_position(world)
    again = client.post("/requests", json=submission(), headers=headers)
    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]
    assert log_position(world) > position
    # ... and the new answer is the one repeats now get.
    with writes_nothing(world):
        third = client.post("/requests", json=submission(), headers=headers)
    assert third.json() == again.json()


def test_expired_records_are_swept(world, client):
    for key in ("old-1", "old-2"):
        client.post("/requests", json=submission(), headers={**auth(HEAD), "Idempotency-Key": key})
    with world.read_side.database.transaction() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET recorded_at = recorded_at - ?", (25 * 3600,))
    assert world.idempotency.purge_expired() == 2
    with world.read_side.database.reading() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}")
        assert cursor.fetchone()[0] == 0


def test_the_lifetime_of_a_key_is_a_setting(database_url, monkeypatch):
    monkeypatch.setenv("FUNDING_ENGINE_IDEMPOTENCY_TTL_HOURS", "2")
    app: FundingApplication = bootstrap(Settings(database_url=database_url))
    try:
        assert app.idempotency is not None and app.idempotency.ttl_seconds == 2 * 3600
    finally:
        app.close()
