"""The council's register of clusters in process, on both stores: registering, adding and removing
schools, each refusal shown on the form with what was typed, and nothing changed by a refusal."""

from __future__ import annotations

from funding_engine import demo
from funding_engine.application import FundingApplication
from tests.web.pages import csrf_from, post_form, signed_in


def head(app: FundingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def test_the_council_registers_a_cluster_and_moves_schools(app):
    client = signed_in(app, "council officer")
    page = client.get("/council/clusters")
    assert page.status_code == 200 and "No clusters are registered yet" in page.text
    answer = post_form(
        client, "/council/clusters", "/council/clusters", {"cluster_id": "north-coast", "name": "North Coast"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/council/clusters/north-coast"
    shown = client.get("/council/clusters/north-coast")
    assert "Cluster North Coast registered" in shown.text and "No schools are in this cluster yet" in shown.text

    for urn in ("990001", "990002"):
        answer = post_form(
            client, "/council/clusters/north-coast", "/council/clusters/north-coast/schools", {"school_urn": urn}
        )
        assert answer.status_code == 303
    assert [str(urn) for urn in app.get_cluster(demo.COUNCIL, "north-coast").school_urns] == ["990001", "990002"]
    listing = client.get("/council/clusters")
    assert "North Coast" in listing.text and ">2<" in listing.text.replace(" ", "")

    token = csrf_from(client.get("/council/clusters/north-coast").text)
    removed = client.post("/council/clusters/north-coast/schools/990002/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    assert [str(urn) for urn in app.get_cluster(demo.COUNCIL, "north-coast").school_urns] == ["990001"]


def test_refusals_keep_what_was_typed_and_change_nothing(app):
    client = signed_in(app, "council officer")
    post_form(client, "/council/clusters", "/council/clusters", {"cluster_id": "north-coast", "name": "North Coast"})
    post_form(
        client, "/council/clusters/north-coast", "/council/clusters/north-coast/schools", {"school_urn": "990001"}
    )
    post_form(client, "/council/clusters", "/council/clusters", {"cluster_id": "south-vale", "name": "South Vale"})
    before = head(app)

    cases = [
        (
            "/council/clusters",
            {"cluster_id": "", "name": ""},
            ["Enter the cluster&#39;s short name", "Enter the cluster&#39;s name"],
        ),
        ("/council/clusters", {"cluster_id": "North Coast!", "name": "Typed name"}, ["Typed name", "North Coast!"]),
        (
            "/council/clusters",
            {"cluster_id": "north-coast", "name": "Again"},
            ["A cluster called north-coast already exists"],
        ),
        ("/council/clusters/south-vale/schools", {"school_urn": "99"}, ['value="99"']),
        ("/council/clusters/south-vale/schools", {"school_urn": ""}, ["Enter the school&#39;s URN"]),
        ("/council/clusters/south-vale/schools", {"school_urn": "990001"}, ["990001"]),  # in another cluster
    ]
    for action, data, shown in cases:
        page_url = action.removesuffix("/schools")
        answer = post_form(client, page_url, action, data)
        assert answer.status_code == 400, (action, data, answer.status_code)
        assert "There is a problem" in answer.text and "<title>Error: " in answer.text
        for text in shown:
            assert text in answer.text, (data, text)
    assert client.get("/council/clusters/no-such-cluster").status_code == 404
    assert client.get("/council/clusters/NOT%20AN%20ID").status_code == 404
    token = csrf_from(client.get("/council/clusters").text)
    assert (
        client.post("/council/clusters/south-vale/schools/990001/remove", data={"csrf_token": token}).status_code == 409
    )
    assert client.post("/council/clusters/south-vale/schools/9/remove", data={"csrf_token": token}).status_code == 404
    assert head(app) == before
