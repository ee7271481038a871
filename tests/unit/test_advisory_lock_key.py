"""Every process sharing a PostgreSQL database must take the same advisory lock for the same thing.

The numbers are pinned: the servers and projection workers of one deployment agree only while the
formula stays as it is (bootstrap's table creation and each projection's worker both use it).
"""

from __future__ import annotations

import pytest

from projections.database import advisory_lock_key


@pytest.mark.parametrize(
    ("schema", "name", "key"),
    [
        ("public", "create-tables", 4661716409235050508),
        ("tenant_a", "create-tables", 5495847707848236071),
        ("public", "request_index", 5092333761804301423),
    ],
)
def test_the_lock_key_for_a_name_in_a_schema_never_changes(schema, name, key):
    assert advisory_lock_key(schema, name) == key
