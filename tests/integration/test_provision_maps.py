"""Provision maps through the application, on SQLite and on PostgreSQL.

Each refused command is checked to have written nothing; a published version is checked to come
back from the store byte for byte, in a process that has never seen it (a cold reload).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from domain.errors import AlreadyExists, InvalidValue, NotFound, NotPermitted, StaleVersion
from domain.provision_maps import NothingToPublish
from funding_engine.application import FundingApplication
from tests.support import (
    COUNCIL,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_HEAD,
    OTHER_LEAD,
    SCHOOL,
    SECOND_HEAD,
    log_position,
    set_up_world,
)
from tests.unit.test_provision_maps import line_fields

YEAR = "2026/27"


@pytest.fixture
def world(app: FundingApplication) -> FundingApplication:
    set_up_world(app, budget=None)
    app.open_provision_map(HEAD, SCHOOL, YEAR)
    return app


def published(app: FundingApplication, **overrides: Any) -> FundingApplication:
    app.add_provision_line(HEAD, SCHOOL, YEAR, line_fields(**overrides))
    app.publish_provision_map(HEAD, SCHOOL, YEAR)
    return app


def refused(app: FundingApplication, error: type[Exception], command: Callable[[], Any]) -> None:
    before = log_position(app)
    with pytest.raises(error):
        command()
    assert log_position(app) == before, "a refused command wrote to the log"


def test_a_school_opens_a_map_once_a_year(world):
    refused(world, AlreadyExists, lambda: world.open_provision_map(HEAD, SCHOOL, YEAR))
    world.open_provision_map(HEAD, SCHOOL, "2027/28")
    assert [str(year) for year in world.provision_map_years(HEAD, SCHOOL)] == ["2026/27", "2027/28"]


def test_the_school_adds_changes_reviews_and_removes_lines(world):
    added = world.add_provision_line(HEAD, SCHOOL, YEAR, line_fields())
    assert added.next_line_number - 1 == 1
    world.change_provision_line(HEAD, SCHOOL, YEAR, 1, line_fields(pupil_count=8))
    world.review_provision_line(
        HEAD, SCHOOL, YEAR, 1, impact="good", note="Most met targets.", reviewed_on="2026-10-15"
    )
    world.add_provision_line(HEAD, SCHOOL, YEAR, line_fields(description="Lego therapy"))
    world.remove_provision_line(HEAD, SCHOOL, YEAR, 2)
    view = world.provision_map(HEAD, SCHOOL, YEAR)
    assert view.draft is not None
    (line,) = view.draft
    assert (line.line_number, line.line.pupil_count, line.reviews[0].impact.value) == (1, 8, "good")


def test_a_review_without_a_date_is_dated_today(world):
    world.add_provision_line(HEAD, SCHOOL, YEAR, line_fields(starts_on="2026-01-05"))
    from funding_engine.application.calendar import today_in_england

    world.review_provision_line(HEAD, SCHOOL, YEAR, 1, impact="some")
    draft = world.provision_map(HEAD, SCHOOL, YEAR).draft
    assert draft is not None
    assert draft[0].reviews[0].reviewed_on == today_in_england()


def test_a_published_version_comes_back_from_the_store_unchanged_after_edits(world, make_app):
    published(world)
    first = world.published_provision_map(HEAD, SCHOOL, YEAR, 1)
    world.change_provision_line(HEAD, SCHOOL, YEAR, 1, line_fields(pupil_count=9))
    world.review_provision_line(HEAD, SCHOOL, YEAR, 1, impact="good", reviewed_on="2026-10-15")
    second = world.publish_provision_map(HEAD, SCHOOL, YEAR).latest_published
    assert second is not None and second.version == 2
    cold = make_app()  # another process: nothing cached
    again = cold.published_provision_map(COUNCIL, SCHOOL, YEAR, 1)
    assert (again.content, again.sha256, again.published_at, again.published_by) == (
        first.content,
        first.sha256,
        first.published_at,
        HEAD,
    )
    assert hashlib.sha256(again.content.encode("utf-8")).hexdigest() == first.sha256
    assert json.loads(again.content)["lines"][0]["pupil_count"] == 6
    assert json.loads(cold.published_provision_map(LEAD, SCHOOL, YEAR, 2).content)["lines"][0]["pupil_count"] == 9


def test_publishing_twice_with_nothing_changed_or_with_no_lines_is_refused(world):
    refused(world, NothingToPublish, lambda: world.publish_provision_map(HEAD, SCHOOL, YEAR))
    published(world)
    refused(world, NothingToPublish, lambda: world.publish_provision_map(HEAD, SCHOOL, YEAR))


def test_the_lead_and_the_council_see_only_what_is_published(world):
    refused(world, NotFound, lambda: world.provision_map(LEAD, SCHOOL, YEAR))
    assert world.provision_maps(COUNCIL, SCHOOL) == []
    published(world)
    world.add_provision_line(HEAD, SCHOOL, YEAR, line_fields(description="Draft only"))
    for reader in (LEAD, COUNCIL):
        view = world.provision_map(reader, SCHOOL, YEAR)
        assert view.draft is None and [v.version for v in view.published] == [1]
        (summary,) = world.provision_maps(reader, SCHOOL)
        assert summary.draft_version is None and summary.latest_published_version == 1
    (own,) = world.provision_maps(HEAD, SCHOOL)
    assert own.draft_version == 2 and own.sha256 == world.published_provision_map(HEAD, SCHOOL, YEAR, 1).sha256


@pytest.mark.parametrize("reader", [SECOND_HEAD, OTHER_HEAD, OTHER_LEAD, FINANCE])
def test_other_schools_other_leads_and_finance_may_not_read_a_map(world, reader):
    published(world)
    for read in (
        lambda: world.provision_map(reader, SCHOOL, YEAR),
        lambda: world.provision_maps(reader, SCHOOL),
        lambda: world.published_provision_map(reader, SCHOOL, YEAR, 1),
    ):
        refused(world, NotPermitted, read)


@pytest.mark.parametrize("actor", [SECOND_HEAD, LEAD, COUNCIL, FINANCE])
def test_only_the_school_itself_changes_its_map(world, actor):
    refused(world, NotPermitted, lambda: world.open_provision_map(actor, SCHOOL, "2027/28"))
    refused(world, NotPermitted, lambda: world.add_provision_line(actor, SCHOOL, YEAR, line_fields()))
    refused(world, NotPermitted, lambda: world.publish_provision_map(actor, SCHOOL, YEAR))


@pytest.mark.parametrize(
    "fields",
    [
        line_fields(cost="12.345"),
        line_fields(starts_on="2025-09-01", ends_on="2026-07-31"),
        line_fields(funded_by="school_commissioned"),
        {**line_fields(), "pupil_names": "never"},
        {key: value for key, value in line_fields().items() if key != "tier"},
    ],
)
def test_a_bad_line_is_refused_and_writes_nothing(world, fields):
    refused(world, InvalidValue, lambda: world.add_provision_line(HEAD, SCHOOL, YEAR, fields))


def test_a_map_not_opened_or_a_line_not_there_is_not_found(world):
    refused(world, NotFound, lambda: world.add_provision_line(HEAD, SCHOOL, "2030/31", line_fields()))
    refused(world, NotFound, lambda: world.change_provision_line(HEAD, SCHOOL, YEAR, 7, line_fields()))
    refused(world, NotFound, lambda: world.published_provision_map(HEAD, SCHOOL, YEAR, 1))


def test_a_stale_expected_version_is_refused(world):
    provision_map = world.add_provision_line(HEAD, SCHOOL, YEAR, line_fields())
    world.add_provision_line(HEAD, SCHOOL, YEAR, line_fields())
    refused(
        world,
        StaleVersion,
        lambda: world.publish_provision_map(HEAD, SCHOOL, YEAR, expected_version=provision_map.version),
    )


def test_two_schools_opening_years_at_once_lose_none(world, make_app):
    other = make_app()
    errors: list[BaseException] = []

    def open_year(app: FundingApplication, year: str) -> None:
        try:
            app.open_provision_map(HEAD, SCHOOL, year)
        except Exception as error:  # noqa: BLE001 - any failure is reported below
            errors.append(error)

    threads = [
        threading.Thread(target=open_year, args=(app, f"{2030 + n}/{31 + n}"))
        for n, app in enumerate([world, other] * 3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(world.provision_map_years(HEAD, SCHOOL)) == 7


def test_the_read_models_still_reconcile_with_provision_maps_in_the_log(world):
    published(world)
    world.add_provision_line(HEAD, SCHOOL, YEAR, line_fields(description="After publishing"))
    reconciliation = world.read_models.reconcile(COUNCIL, "2026-27")
    assert reconciliation.consistent, reconciliation
