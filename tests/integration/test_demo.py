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
