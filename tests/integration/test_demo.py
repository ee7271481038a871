from domain.values import RequestStatus
from funding_engine import demo
from tests.support import YEAR


def test_the_demo_year_has_a_request_in_every_status(app):
    requests = demo.load(app, demo.FinancialYear.parse(YEAR), say=lambda _: None)
    assert {request.status for request in requests} == set(RequestStatus)


def test_the_demo_is_detected_once_loaded(app):
    assert not demo.is_loaded(app)
    demo.load(app, demo.FinancialYear.parse(YEAR), say=lambda _: None)
    assert demo.is_loaded(app)


def test_every_demo_school_is_on_the_register_with_a_fictional_name_a_phase_and_its_cluster(app):
    demo.load(app, demo.FinancialYear.parse(YEAR), say=lambda _: None)

    rows = app.read_models.list_schools(demo.COUNCIL)

    clusters = {urn: cluster_id for cluster_id, (_, urns, _) in demo.CLUSTERS.items() for urn in urns}
    assert [(row.urn, row.name, row.phase, row.cluster_id) for row in rows] == [
        (urn, name, phase, clusters[urn]) for urn, (name, phase) in sorted(demo.SCHOOLS.items())
    ]
    assert all(row.registered and "(fictional)" in str(row.name) for row in rows)


def test_the_demo_requests_evidence_cites_the_schools_published_maps(app):
    requests = demo.load(app, demo.FinancialYear.parse(YEAR), say=lambda _: None)

    cited = [request for request in requests if request.evidence and request.evidence.provision_map]
    assert {(str(r.school_urn), r.status) for r in cited} == {("990001", RequestStatus.CLUSTER_APPROVED)}
    for request in cited:
        review = app.evidence_review(demo.lead("northmere-coast"), request.id)
        assert review.cited_map.hash_holds and review.cited_map.citation.version == 1
        assert "own_spend_below_threshold" in [warning.code for warning in review.warnings]
    typed = [request for request in requests if request.evidence and not request.evidence.provision_map]
    assert typed, "typed evidence stays in the demo, shown as not from a provision map"
