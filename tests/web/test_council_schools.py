"""The council's school register in process, on both stores: the list and its search, registering and
editing a school, and uploading register files (a bad file reported by line, with nothing imported)."""

from __future__ import annotations

from typing import Any

from funding_engine import demo
from funding_engine.application import FundingApplication
from tests.web.pages import csrf_from, post_form, signed_in

CLUSTERS_CSV = b"cluster_id,name\nsaltmarsh,Saltmarsh\nheathland,Heathland\n"


def head(app: FundingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def upload(client: Any, kind: str | None, name: str, content: bytes) -> Any:
    token = csrf_from(client.get("/council/schools").text)
    data = {"csrf_token": token, **({"kind": kind} if kind else {})}
    return client.post("/council/schools/import", data=data, files={"file": (name, content, "text/csv")})


def test_the_council_imports_clusters_then_schools_and_finds_them(app):
    client = signed_in(app, "council officer")
    assert "No schools are registered yet" in client.get("/council/schools").text

    first = upload(client, "clusters", "clusters.csv", CLUSTERS_CSV)
    schools = (
        b"urn,name,phase,cluster_id\n930001,Saltmarsh Primary,Primary,saltmarsh\n"
        b"930002,Heath High,Secondary,heathland\n930003,Heath Sixth Form,16 plus,heathland\n"
    )
    second = upload(client, "schools", "schools.csv", schools)

    assert first.status_code == 303 and second.status_code == 303
    listing = client.get("/council/schools")
    assert "schools.csv imported: 3 registered, 0 updated, 0 moved, 0 unchanged" in listing.text
    assert all(name in listing.text for name in ("Saltmarsh Primary", "Heath High", "16 plus"))
    heathland = client.get("/council/schools?cluster_id=heathland").text
    assert "Heath High" in heathland and "Saltmarsh Primary" not in heathland
    found = client.get("/council/schools?q=primary").text
    assert "Saltmarsh Primary" in found and "Heath High" not in found
    # The cluster's page names its schools from the register.
    assert "Heath Sixth Form" in client.get("/council/clusters/heathland").text


def test_a_file_with_a_bad_row_is_reported_by_line_and_nothing_is_imported(app):
    client = signed_in(app, "council officer")
    upload(client, "clusters", "clusters.csv", CLUSTERS_CSV)
    before = head(app)
    bad = (
        b"urn,name,phase,cluster_id\n930001,Saltmarsh Primary,primary,saltmarsh\n930002,Heath High,college,heathland\n"
    )

    answer = upload(client, "schools", "schools.csv", bad)

    assert answer.status_code == 400
    assert "There is a problem" in answer.text and "<title>Error: " in answer.text
    assert "Line 3: phase must be one of" in answer.text  # the summary, linked to the table's row
    assert 'href="#bad-row-0"' in answer.text and 'id="bad-row-0"' in answer.text
    assert "Problems in schools.csv: nothing was imported" in answer.text
    assert head(app) == before
    assert app.read_models.list_schools(demo.COUNCIL) == []


def test_an_upload_without_a_kind_or_a_file_says_what_is_missing(app):
    client = signed_in(app, "council officer")
    before = head(app)

    answer = upload(client, None, "", b"")

    assert answer.status_code == 400
    assert "Select what the file lists" in answer.text and "Select a CSV file" in answer.text
    assert head(app) == before


def test_an_upload_without_the_forms_token_changes_nothing(app):
    client = signed_in(app, "council officer")
    before = head(app)

    answer = client.post(
        "/council/schools/import", data={"kind": "clusters"}, files={"file": ("c.csv", CLUSTERS_CSV, "text/csv")}
    )

    assert answer.status_code == 403
    assert head(app) == before


def test_the_council_registers_a_school_and_then_renames_and_moves_it(app):
    client = signed_in(app, "council officer")
    upload(client, "clusters", "clusters.csv", CLUSTERS_CSV)
    fields = {"urn": "930001", "name": "Saltmarsh Primary", "phase": "primary", "cluster_id": "saltmarsh"}

    registered = post_form(client, "/council/schools", "/council/schools", fields)
    edited = post_form(
        client,
        "/council/schools/930001",
        "/council/schools/930001",
        {"name": "Saltmarsh Academy", "phase": "all_through", "cluster_id": "heathland"},
    )

    assert registered.status_code == 303 and edited.status_code == 303
    page = client.get("/council/schools/930001")
    assert "Saltmarsh Academy saved" in page.text
    row = app.read_models.school(demo.COUNCIL, "930001")
    assert (row.name, row.phase, row.cluster_id, row.version) == ("Saltmarsh Academy", "all_through", "heathland", 2)


def test_a_school_in_a_cluster_before_the_register_is_registered_from_its_page(app):
    client = signed_in(app, "council officer")
    upload(client, "clusters", "clusters.csv", CLUSTERS_CSV)
    app.add_school(demo.COUNCIL, "saltmarsh", "930009")
    assert "Not registered" in client.get("/council/schools").text
    assert "before the school register existed" in client.get("/council/schools/930009").text

    answer = post_form(
        client,
        "/council/schools/930009",
        "/council/schools/930009",
        {"name": "Saltmarsh Juniors", "phase": "primary", "cluster_id": "saltmarsh"},
    )

    assert answer.status_code == 303
    assert app.read_models.school(demo.COUNCIL, "930009").name == "Saltmarsh Juniors"


def test_refusals_keep_what_was_typed_and_change_nothing(app):
    client = signed_in(app, "council officer")
    upload(client, "clusters", "clusters.csv", CLUSTERS_CSV)
    post_form(
        client,
        "/council/schools",
        "/council/schools",
        {"urn": "930001", "name": "Saltmarsh Primary", "phase": "primary", "cluster_id": "saltmarsh"},
    )
    app.add_school(demo.COUNCIL, "heathland", "930002")
    before = head(app)
    typed = {"phase": "primary", "cluster_id": "saltmarsh"}
    cases = [
        (dict.fromkeys(("urn", "name", "phase", "cluster_id"), ""), ["the school&#39;s URN", "the school&#39;s name"]),
        ({**typed, "urn": "93", "name": "Typed School"}, ['value="93"', "Typed School"]),
        ({**typed, "urn": "930001", "name": "Again"}, ["already registered"]),
        ({**typed, "urn": "930002", "name": "Elsewhere"}, ["already in cluster heathland"]),
        ({**typed, "urn": "930003", "name": "Odd", "phase": "college"}, ["Phase must be one of"]),
    ]  # fmt: skip
    for data, shown in cases:
        answer = post_form(client, "/council/schools", "/council/schools", data)
        assert answer.status_code == 400, (data, answer.status_code)
        assert "There is a problem" in answer.text
        for text in shown:
            assert text in answer.text, (data, text)
    assert client.get("/council/schools/999999").status_code == 404
    assert client.get("/council/schools/not-a-urn").status_code == 404
    assert client.get("/council/schools?q=" + "x" * 201).status_code == 400
    assert head(app) == before


def test_other_roles_cannot_see_the_register_pages(demo_app):
    app = demo_app
    for label in ("school 990001 (northmere-coast)", "lead, northmere-coast", "finance officer"):
        client = signed_in(app, label)
        assert client.get("/council/schools").status_code in (403, 404), label
