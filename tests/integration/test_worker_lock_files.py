"""The worker's lock files beside a SQLite database: owner-only, and never through a symbolic link.

PostgreSQL workers hold advisory locks instead, which leave nothing on disk; these tests are about
the files, so they run on SQLite alone.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from projections.engine import ProjectionError


@pytest.fixture
def sqlite_app(tmp_path: Path):
    app = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'funding.sqlite3'}"))
    yield app
    app.close()


def lock_path(tmp_path: Path, name: str) -> Path:
    return tmp_path / f"funding.sqlite3.{name}.lock"


def test_a_workers_lock_files_are_readable_by_their_owner_only(sqlite_app, tmp_path):
    old_umask = os.umask(0o022)
    try:
        with sqlite_app.read_side.projector.holding(["decision_log"]):
            mode = stat.S_IMODE(lock_path(tmp_path, "decision_log").stat().st_mode)
    finally:
        os.umask(old_umask)
    assert mode == 0o600


def test_a_lock_file_left_readable_to_all_is_made_owner_only(sqlite_app, tmp_path):
    left = lock_path(tmp_path, "request_index")
    left.touch()
    left.chmod(0o666)
    with sqlite_app.read_side.projector.holding(["request_index"]):
        assert stat.S_IMODE(left.stat().st_mode) == 0o600


def test_a_lock_file_that_is_a_symbolic_link_is_refused_and_its_target_untouched(sqlite_app, tmp_path):
    victim = tmp_path / "precious.txt"
    victim.write_text("finance's own notes\n")
    victim.chmod(0o644)
    link = lock_path(tmp_path, "finance_ledger")
    link.symlink_to(victim)
    with (
        pytest.raises(ProjectionError, match="symbolic link"),
        sqlite_app.read_side.projector.holding(["finance_ledger"]),
    ):
        pass
    assert victim.read_text() == "finance's own notes\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


def test_a_dangling_symbolic_link_creates_nothing_at_its_target(sqlite_app, tmp_path):
    target = tmp_path / "should-not-appear"
    lock_path(tmp_path, "audit_chain").symlink_to(target)
    with pytest.raises(ProjectionError, match="symbolic link"), sqlite_app.read_side.projector.holding(["audit_chain"]):
        pass
    assert not target.exists()
