"""A clearly fictional year of top-up funding, loaded through the application like real use.

Three clusters on an imaginary coast, their schools (URNs in the unused 99xxxx range), budgets,
a council fund, a commissioned service, funding requests in every status and each school's
published provision map (``demo_provision_maps``), which the cluster-approved request's evidence
cites, and the money after the decisions (``demo_money``: a closed previous year, schedules, payment
runs, a release and a recovery), so a new user sees a believable store. No pupil is described
beyond a count and a needs summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from domain.academic_year import AcademicYear
from domain.funding_request import FundingRequest
from domain.map_evidence import citation_of
from domain.sen_report_checklist import CHECKLIST
from domain.sen_reports import a_year_after
from domain.values import Actor, FinancialYear, RequestStatus
from funding_engine.application import FundingApplication
from funding_engine.demo_money import (
    approve_for_the_academic_year,
    close_last_year,
    paid_then_recovered,
    paid_then_released,
    run_what_is_due,
    this_years_allocation,
)
from funding_engine.demo_policy import change_the_policy
from funding_engine.demo_provision_maps import load_provision_maps

COUNCIL = Actor.council("demo-council-officer")
FINANCE = Actor.finance("demo-finance-officer")

CLUSTERS: dict[str, tuple[str, list[str], str]] = {
    # cluster id: (name, school URNs, budget for the year)
    "northmere-coast": ("Northmere Coast (fictional)", ["990001", "990002", "990003"], "60000.00"),
    "fenwick-broads": ("Fenwick Broads (fictional)", ["990101", "990102", "990103"], "45000.00"),
    "marshfield-vale": ("Marshfield Vale (fictional)", ["990201", "990202"], "8000.00"),
}
COUNCIL_FUND = "100000.00"
# The register's entry for each school (issue 12): a fictional name and its phase of education.
SCHOOLS: dict[str, tuple[str, str]] = {
    "990001": ("Northmere Primary School (fictional)", "primary"),
    "990002": ("Saltings Infant and Nursery School (fictional)", "primary"),
    "990003": ("Northmere High School (fictional)", "secondary"),
    "990101": ("Fenwick Staithe Primary Academy (fictional)", "primary"),
    "990102": ("Reedham Marsh Middle School (fictional)", "middle_deemed_secondary"),
    "990103": ("Fenwick Broads Sixth Form (fictional)", "16_plus"),
    "990201": ("Marshfield Vale All-Through School (fictional)", "all_through"),
    "990202": ("Little Marshfield Nursery School (fictional)", "nursery"),
}


def lead(cluster_id: str) -> Actor:
    return Actor.cluster_lead(f"demo-lead-{cluster_id}", cluster_id)


def school(urn: str) -> Actor:
    return Actor.school(f"demo-senco-{urn}", urn)


EVIDENCE: dict[str, Any] = {
    "notional_sen_budget": "18500.00",
    "spend": [
        {"category": "one_to_one_and_small_group_support", "amount": "12400.00", "note": "three teaching assistants"},
        {"category": "therapies", "amount": "3800.00", "note": "speech and language therapy sessions"},
        {"category": "assistive_technology", "amount": "2300.00", "note": "communication aids"},
    ],
    "documents": [{"name": "sen-spend-summary.pdf", "sha256": "5" * 64}],
}


@dataclass(frozen=True)
class Story:
    """One fictional request and how far through the lifecycle it goes."""

    urn: str
    amount: str
    reason: str
    pupils: int
    needs: str
    provision: str
    goes_to: RequestStatus
    cites_map: bool = False  # its evidence cites the school's published provision map (issue 12)


STORIES = [
    Story(
        "990001",
        "4200.00",
        "complex_needs",
        1,
        "A pupil with profound hearing loss needs an interpreter in lessons.",
        "interpreters",
        RequestStatus.SUBMITTED,
    ),
    Story(
        "990002",
        "6500.00",
        "increase_in_numbers",
        4,
        "Four more pupils with autism joined Year 3 this term.",
        "one_to_one_and_small_group_support",
        RequestStatus.EVIDENCED,
    ),
    Story(
        "990003",
        "3100.00",
        "complex_needs",
        1,
        "Physical disability; needs personal care support at lunchtime.",
        "personal_care",
        RequestStatus.INFORMATION_REQUESTED,
    ),
    Story(
        "990001",
        "8000.00",
        "increase_in_numbers",
        5,
        "Five pupils with speech and language needs in Reception.",
        "therapies",
        RequestStatus.CLUSTER_APPROVED,
        cites_map=True,
    ),
    Story(
        "990101",
        "5400.00",
        "complex_needs",
        2,
        "Two pupils with visual impairment need braille resources.",
        "accessible_information",
        RequestStatus.PAID,
    ),
    Story(
        "990002",
        "3000.00",
        "complex_needs",
        1,
        "A pupil with cerebral palsy needs a trained assistant for mobility.",
        "personal_care",
        RequestStatus.RELEASED,
    ),
    Story(
        "990102",
        "2500.00",
        "increase_in_numbers",
        2,
        "Two pupils with moderate learning difficulties.",
        "specialist_tuition",
        RequestStatus.CLUSTER_DECLINED,
    ),
    Story(
        "990103",
        "1900.00",
        "complex_needs",
        1,
        "A pupil needing a note-taker in Year 10 exams.",
        "note_takers",
        RequestStatus.WITHDRAWN,
    ),
    Story(
        "990201",
        "9500.00",
        "complex_needs",
        1,
        "A pupil with complex medical and communication needs.",
        "one_to_one_and_small_group_support",
        RequestStatus.ESCALATED,
    ),
    Story(
        "990202",
        "12000.00",
        "increase_in_numbers",
        6,
        "Six pupils with social, emotional and mental health needs.",
        "therapies",
        RequestStatus.COUNCIL_APPROVED,
    ),
    Story(
        "990201",
        "15000.00",
        "complex_needs",
        2,
        "Two pupils needing residential habilitation training.",
        "habilitation_independent_living",
        RequestStatus.COUNCIL_DECLINED,
    ),
]


def demo_actors() -> list[tuple[str, Actor]]:
    """One user of each kind, for ready-made tokens in development mode."""
    return [
        ("council officer", COUNCIL),
        ("finance officer", FINANCE),
        ("lead, northmere-coast", lead("northmere-coast")),
        ("lead, marshfield-vale", lead("marshfield-vale")),
        ("school 990001 (northmere-coast)", school("990001")),
        ("school 990201 (marshfield-vale)", school("990201")),
    ]


def is_loaded(app: FundingApplication) -> bool:
    return any(row.cluster_id in CLUSTERS for row in app.read_models.list_clusters(COUNCIL))


def load(app: FundingApplication, year: FinancialYear, say: Callable[[str], None] = print) -> list[FundingRequest]:
    for cluster_id, (name, urns, _) in CLUSTERS.items():
        app.register_cluster(COUNCIL, cluster_id, name)
        for urn in urns:
            app.add_school(COUNCIL, cluster_id, urn)
            school_name, phase = SCHOOLS[urn]
            app.register_school(COUNCIL, urn, school_name, phase, cluster_id)
    totals: dict[str | None, str] = {cluster_id: budget for cluster_id, (_, _, budget) in CLUSTERS.items()}
    totals[None] = COUNCIL_FUND
    close_last_year(app, year, totals, lead, FINANCE, say)
    for fund, total in totals.items():
        amount = this_years_allocation(fund, total)
        if fund is None:
            app.allocate_council_fund(FINANCE, year, amount, "exceptional circumstances fund")
        else:
            app.allocate_budget(FINANCE, fund, year, amount, "delegated SEN funding for the year")
    say(f"registered {len(CLUSTERS)} clusters, allocated their {year} budgets and the council fund")

    app.commission_service(
        lead("northmere-coast"),
        "northmere-coast",
        year,
        service="educational_psychology",
        provider="Coastline Educational Psychology (fictional)",
        amount="7500.00",
        school_urns=["990001", "990002", "990003"],
        description="Twenty days of educational psychologist time shared across the cluster.",
    )
    say("commissioned an educational psychology service for Northmere Coast")

    # The maps come first, so that a request's evidence can cite its school's published map.
    urns = [urn for _, school_urns, _ in CLUSTERS.values() for urn in school_urns]
    load_provision_maps(app, year, urns, school, say)

    requests = [tell(app, story, year) for story in STORIES]
    say(f"told {len(requests)} funding-request stories, one for each status")
    run_what_is_due(app, FINANCE, year, say)
    publish_sen_reports(app)
    say("registered the schools' SEN Information Reports (one overdue for review, one missing)")
    change_the_policy(app, COUNCIL, FINANCE, say)
    return requests


def cited_evidence(app: FundingApplication, urn: str, year: FinancialYear) -> dict[str, Any]:
    """Evidence citing the school's latest published map for the academic year the demo year starts in."""
    head = school(urn)
    academic_year = AcademicYear(year.start_year)
    latest = app.provision_map(head, urn, academic_year).latest_published
    if latest is None:
        raise RuntimeError("the demo publishes every school's map before telling the stories")
    return {
        "notional_sen_budget": EVIDENCE["notional_sen_budget"],
        "documents": EVIDENCE["documents"],
        "provision_map": citation_of(latest),
    }


# -- SEN Information Reports (issue 12) --------------------------------------------------------------

# URN: days before today the report was published (a review a year later), or None: not registered.
# 990003's review date has passed; 990103 has no report, so the council's Local Offer page shows both.
SEN_REPORTS: dict[str, int | None] = {
    "990001": 60,
    "990002": 120,
    "990003": 400,
    "990101": 30,
    "990102": 200,
    "990103": None,
    "990201": 90,
    "990202": 10,
}


def publish_sen_reports(app: FundingApplication) -> None:
    """Each demo school's report on its (fictional) website, dated from today, with assessments."""
    today = app.today()
    for urn, days_ago in SEN_REPORTS.items():
        if days_ago is None:
            continue
        published = today - timedelta(days=days_ago)
        url = f"https://www.school-{urn}.example.org/send-information-report"
        app.record_sen_report(school(urn), urn, url, published, a_year_after(published) - timedelta(days=1))
    all_met = {item.key: "met" for item in CHECKLIST}
    # The school thinks its report is complete; the council's audit finds two gaps.
    app.assess_sen_report(school("990001"), "990001", all_met)
    app.assess_sen_report(
        COUNCIL,
        "990001",
        {**all_met, "schedule_1_paragraph_13": "not_met", "section_69_3_b_iv": "partly_met"},
        {
            "schedule_1_paragraph_13": "The report does not say where the county's Local Offer is published.",
            "section_69_3_b_iv": "The accessibility plan is named but not linked.",
        },
    )
    app.assess_sen_report(school("990201"), "990201", {**all_met, "schedule_1_paragraph_8": "partly_met"})
    app.report_broken_link("demo", "990102", "The page says it cannot be found.")


def tell(app: FundingApplication, story: Story, year: FinancialYear) -> FundingRequest:
    head = school(story.urn)
    request = app.submit_request(
        head,
        school_urn=story.urn,
        financial_year=year,
        amount_requested=story.amount,
        reason=story.reason,
        pupil_count=story.pupils,
        needs_summary=story.needs,
        planned_provision=[{"category": story.provision, "amount": story.amount}],
    )
    goal = story.goes_to
    S = RequestStatus
    if goal is S.SUBMITTED:
        return request
    if goal is S.WITHDRAWN:
        return app.withdraw(head, request.id, "The pupil has moved to a special school.")
    if goal is S.INFORMATION_REQUESTED:
        return app.request_information(
            lead(request.cluster_id.value), request.id, "Please show this year's personal care spend by term."
        )
    request = app.provide_evidence(
        head, request.id, **(cited_evidence(app, story.urn, year) if story.cites_map else EVIDENCE)
    )
    chair = lead(request.cluster_id.value)
    if goal is S.EVIDENCED:
        return request
    if goal is S.CLUSTER_DECLINED:
        return app.decline(
            chair, request.id, "needs_met_within_school_resources", "The school's notional SEN budget covers this."
        )
    approval = "Spend evidence shows the school's own funds are used."
    if goal is S.RELEASED:
        return paid_then_released(app, chair, FINANCE, request, story.amount, approval)
    if goal is S.PAID:
        return paid_then_recovered(app, chair, FINANCE, request, story.amount, approval)
    if goal is S.CLUSTER_APPROVED:
        return approve_for_the_academic_year(app, chair, FINANCE, request, story.amount, approval)
    request = app.escalate(
        chair, request.id, story.amount, "The cluster's fund is spent; these needs arose after the budget was set."
    )
    if goal is S.COUNCIL_APPROVED:
        return app.decide_escalation(COUNCIL, request.id, "approve", "Exceptional circumstances are shown.")
    if goal is S.COUNCIL_DECLINED:
        return app.decide_escalation(COUNCIL, request.id, "decline", "Provision is available through the EHCP route.")
    return request
