from domain.money import Money
from domain.values import RequestStatus
from tests.support import CLUSTER, FINANCE, LEAD, YEAR, evidenced_request, set_up_world


def test_an_approved_request_commits_its_amount_on_the_cluster_budget(app):
    set_up_world(app)
    request = evidenced_request(app)

    approved = app.approve(LEAD, request.id, "900.00", "Evidence shows the school's own funds are spent.")

    assert approved.status is RequestStatus.CLUSTER_APPROVED
    budget = app.get_budget(FINANCE, CLUSTER, YEAR)
    assert budget.committed == Money.parse("900.00")
    assert budget.available == Money.parse("4100.00")
