"""The published contract states the domain's limits: each one comes from ``domain.limits``.

The API's schemas are built from ``domain.limits``; these tests fail if the API states a limit
or pattern the domain does not have, or leaves out one that clients rely on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from domain import limits
from tests.api.conftest import client_for, fresh_store

# The JSON Schema keywords that state a limit. The lower bounds are all "at least one" (a
# non-empty list, a positive count), which is no limit of its own.
LIMIT_KEYWORDS = ("pattern", "maxLength", "maxItems", "maximum", "default")
DOMAIN_LIMITS = {value for name, value in vars(limits).items() if name.isupper() and isinstance(value, (int, str))}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with fresh_store("sqlite", tmp_path_factory.mktemp("limits")) as make, client_for(make()) as client:
        return client.get("/openapi.json").json()


def stated_limits(node: Any, where: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every (place, keyword, value) in the document that states a limit on input."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in LIMIT_KEYWORDS and isinstance(value, (int, float, str)) and value != "":
                yield where, key, value
            yield from stated_limits(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from stated_limits(item, f"{where}/{index}")


def test_every_limit_the_contract_states_is_one_of_the_domains(spec):
    stated = list(stated_limits({"components": spec["components"], "paths": spec["paths"]}))
    assert stated, "the document states no limits at all"
    foreign = [(where, key, value) for where, key, value in stated if value not in DOMAIN_LIMITS]
    assert not foreign, foreign


def test_the_contract_states_the_limits_its_readers_rely_on(spec):
    values = {value for _, _, value in stated_limits(spec)}
    for limit in (
        limits.MONEY_PATTERN,
        limits.URN_PATTERN,
        limits.CLUSTER_ID_PATTERN,
        limits.FINANCIAL_YEAR_PATTERN,
        limits.REQUIRED_TEXT_PATTERN,
        limits.OPTIONAL_TEXT_PATTERN,
        limits.SHORT_TEXT,
        limits.LONG_TEXT,
        limits.NOTE_TEXT,
        limits.MAX_PUPIL_COUNT,
        limits.MAX_LINES,
        limits.MAX_COMMISSIONED_SCHOOLS,
        limits.MAX_PAGE_SIZE,
        limits.DEFAULT_PAGE_SIZE,
        limits.MAX_CURSOR_LENGTH,
    ):
        assert limit in values, limit


def test_a_refused_text_pattern_is_explained_in_words():
    assert set(limits.TEXT_RULES) == {limits.REQUIRED_TEXT_PATTERN, limits.OPTIONAL_TEXT_PATTERN}
