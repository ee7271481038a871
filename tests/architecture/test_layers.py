"""The layers as DESIGN.md draws them: imports point inwards, and a wrong one fails here.

The rules and the checker are in ``tests/architecture/layers.py``; this module runs them on the
source tree, and on small trees written for the purpose, to show that each rule can fail.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.architecture.layers import OUR_PACKAGES, RULES, SOURCE_ROOT, all_imports, source_files, violations


def test_every_import_points_the_way_the_layers_allow():
    broken = violations()

    if broken:
        listed = "\n".join(str(violation) for violation in broken)
        pytest.fail(
            f"{len(broken)} imports break the layering (file:line: who imports what: the rule):\n{listed}",
            pytrace=False,
        )


def test_the_checker_reads_every_package_of_the_source_tree():
    read = {path.relative_to(SOURCE_ROOT).parts[0] for path in source_files(SOURCE_ROOT)}
    present = {package for package in OUR_PACKAGES if (SOURCE_ROOT / package).is_dir()}
    imported_by_domain = [found.imported for found in all_imports() if found.importer.startswith("domain.")]

    assert read == present >= {"domain", "projections", "funding_engine", "api", "tests"}
    # The domain's one library import is seen, so the domain's rule has something to judge.
    assert any(module.startswith("eventsourcing.domain") for module in imported_by_domain)


# ================================================================================================
# The checker catches what it should, in a tree written for each case
# ================================================================================================


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in path.relative_to(root).parents:
            if folder != Path("."):
                (root / folder / "__init__.py").touch()
        path.write_text(textwrap.dedent(source))


# Modules the cases import by ``from package import module``, which reads as the module only if it exists.
NEIGHBOURS = {"funding_engine/cli/commands.py": "", "funding_engine/dev_mode.py": "", "projections/queries.py": ""}

# (file, its source, the start of the rule it breaks, or None where the import is allowed)
CASES = [
    ("domain/rules.py", "import json\nfrom eventsourcing.domain import Aggregate\n", None),
    ("domain/rules.py", "from eventsourcing.application import Application\n", "domain imports only"),
    ("domain/rules.py", "from eventsourcing import utils\n", "domain imports only"),
    ("domain/rules.py", "import pydantic\n", "domain imports only"),
    ("domain/rules.py", "def later():\n    from funding_engine import settings\n", "domain imports only"),
    ("projections/balances.py", "from domain.values import Money\nimport psycopg\n", None),
    ("projections/balances.py", "from funding_engine.base import EngineApplication\n", "projections imports nothing"),
    ("projections/balances.py", "from api import schemas\n", "projections imports nothing"),
    ("funding_engine/application/budgets.py", "from domain.funds import Fund\nfrom projections import queries\n", None),
    (
        "funding_engine/application/budgets.py",
        "def f():\n    from api.auth import issue\n",
        "funding_engine, outside its entry points",
    ),
    (
        "funding_engine/application/budgets.py",
        "from funding_engine import cli\n",
        "funding_engine, outside its entry points",
    ),
    (
        "funding_engine/read.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import web.app\n",
        "funding_engine, outside its entry points",
    ),
    ("funding_engine/cli/commands.py", "from api.app import create_app\nAPP = 'api.app:create_app'\n", None),
    (
        "funding_engine/cli/commands.py",
        "def token():\n    from api.auth import issue_token\n",
        "an entry point uses an adapter only",
    ),
    ("funding_engine/server.py", "from api.deps import AppDep\n", "an entry point uses an adapter only"),
    (
        "api/routes/budgets.py",
        "from ..deps import AppDep\nfrom funding_engine.application import FundingApplication\n",
        None,
    ),
    ("api/routes/budgets.py", "from projections.queries import encode_cursor\n", "api imports, of ours, only"),
    ("api/routes/budgets.py", "from ... import projections\n", "api imports, of ours, only"),
    (
        "api/routes/budgets.py",
        "import importlib\nq = importlib.import_module('projections.queries')\n",
        "api imports, of ours, only",
    ),
    ("api/server.py", "from funding_engine.bootstrap import bootstrap\n", "api imports, of ours, only"),
    ("api/server.py", "from funding_engine import cli\n", "api imports, of ours, only"),
    ("api/app.py", "import web.app\n", "api imports, of ours, only"),
    ("web/app.py", "from domain.values import Money\nfrom funding_engine.settings import Settings\n", None),
    ("web/app.py", "from api.schemas import BudgetResponse\n", "web imports, of ours, only"),
    ("web/app.py", "from funding_engine.dev_mode import start\n", "web imports, of ours, only"),
    ("funding_engine/demo.py", "import bench.fill\n", "product code never imports bench"),
    ("bench/fill.py", "from tests.support import HEAD\n", "nothing but tests imports tests"),
    ("api/deps.py", "from tests import support\n", "nothing but tests imports tests"),
    ("tests/test_x.py", "import api.app\nimport bench.fill\nfrom tests.support import HEAD\n", None),
]


@pytest.mark.parametrize(("name", "source", "rule"), CASES, ids=[f"{case[0]}:{case[2]}" for case in CASES])
def test_the_checker_reports_a_wrong_import_with_its_file_line_and_rule(tmp_path, name, source, rule):
    write_tree(tmp_path, {**NEIGHBOURS, name: source})

    found = [violation for violation in violations(tmp_path) if str(violation.found.path) == name]

    if rule is None:
        assert found == []
    else:
        assert found, f"{name} should break a rule: {source!r}"
        last_line = len(source.splitlines())
        assert all(violation.rule.text.startswith(rule) for violation in found), [str(v) for v in found]
        assert str(found[0]).startswith(f"{name}:{last_line}: ")
        assert rule in str(found[0])


def test_every_rule_has_a_case_that_breaks_it():
    broken = {rule for _, _, rule in CASES if rule is not None}

    assert [rule.text for rule in RULES if not any(rule.text.startswith(prefix) for prefix in broken)] == []
