"""``funding-engine clusters import`` and ``schools import``: a real subprocess on a fresh store."""

from __future__ import annotations

from pathlib import Path

from domain.schools import School
from domain.values import Actor, SchoolUrn
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from tests.test_cli import run

COUNCIL = Actor.council("council-officer-1")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def store(folder: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{folder / 'var' / 'funding.sqlite3'}")


def test_clusters_then_schools_are_imported_and_summarised(tmp_path):
    clusters = write(tmp_path, "clusters.csv", "cluster_id,name\nsaltmarsh,Saltmarsh\nheathland,Heathland\n")
    schools = write(
        tmp_path,
        "schools.csv",
        "urn,name,phase,cluster_id\n930001,Saltmarsh Primary,primary,saltmarsh\n"
        "930002,Heath High,secondary,heathland\n",
    )

    first = run(["clusters", "import", str(clusters), "--as", "officer-7"], tmp_path)
    second = run(["schools", "import", str(schools), "--as", "officer-7"], tmp_path)

    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"imported clusters from {clusters}: 2 registered, 0 renamed, 0 unchanged"
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == (f"imported schools from {schools}: 2 registered, 0 updated, 0 moved, 0 unchanged")
    with bootstrap(store(tmp_path)) as app:
        assert [(r.urn, r.name, r.cluster_id) for r in app.read_models.list_schools(COUNCIL)] == [
            ("930001", "Saltmarsh Primary", "saltmarsh"),
            ("930002", "Heath High", "heathland"),
        ]
        # The officer named with --as is who the register records.
        (registered,) = app.events.get(School.id_for(SchoolUrn("930001")))
        assert isinstance(registered, School.Registered)
        assert registered.actor == Actor.council("officer-7")


def test_a_file_with_bad_rows_is_listed_on_stderr_by_line_exits_1_and_changes_nothing(tmp_path):
    write_clusters = write(tmp_path, "clusters.csv", "cluster_id,name\nsaltmarsh,Saltmarsh\n")
    assert run(["clusters", "import", str(write_clusters)], tmp_path).returncode == 0
    schools = write(
        tmp_path,
        "schools.csv",
        "urn,name,phase,cluster_id\n930001,Saltmarsh Primary,primary,saltmarsh\n"
        "93000X,Bad URN,primary,saltmarsh\n930003,Nowhere,primary,heathland\n",
    )

    result = run(["schools", "import", str(schools)], tmp_path)

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"funding-engine: {schools} was not imported: 2 problems; nothing was changed."
    assert lines[1].startswith("  line 3: urn")
    assert lines[2] == "  line 4: cluster heathland is not registered (import the clusters first)"
    with bootstrap(store(tmp_path)) as app:
        assert app.read_models.list_schools(COUNCIL) == []


def test_importing_the_same_file_twice_reports_every_row_unchanged(tmp_path):
    clusters = write(tmp_path, "clusters.csv", "cluster_id,name\nsaltmarsh,Saltmarsh\n")
    run(["clusters", "import", str(clusters)], tmp_path)

    again = run(["clusters", "import", str(clusters)], tmp_path)

    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith("0 registered, 0 renamed, 1 unchanged")


def test_a_file_that_cannot_be_read_is_one_line(tmp_path):
    result = run(["schools", "import", str(tmp_path / "missing.csv")], tmp_path)

    assert result.returncode == 1
    assert result.stderr.startswith(f"funding-engine: cannot read {tmp_path / 'missing.csv'}: ")
    assert len(result.stderr.splitlines()) == 1
