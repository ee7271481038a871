"""The words people read for the domain's codes: statuses as GOV.UK tags, reasons, categories and
decision kinds. Every page says a code the same way because they all come from here."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from jinja2 import Environment

from domain.awards import RecoveryReason, ReleaseReason
from domain.schedules import ScheduleKind
from domain.values import (
    CommissionedService,
    DecisionKind,
    DeclineReasonCode,
    ProvisionCategory,
    RequestStatus,
    SchoolPhase,
    TopUpReason,
)

ENGLAND = ZoneInfo("Europe/London")

# status: (label, GOV.UK tag colour class)
STATUS_TAGS: dict[str, tuple[str, str]] = {
    RequestStatus.SUBMITTED.value: ("Submitted", "govuk-tag--blue"),
    RequestStatus.EVIDENCED.value: ("Evidence added", "govuk-tag--light-blue"),
    RequestStatus.INFORMATION_REQUESTED.value: ("Information requested", "govuk-tag--yellow"),
    RequestStatus.CLUSTER_APPROVED.value: ("Approved by cluster", "govuk-tag--green"),
    RequestStatus.CLUSTER_DECLINED.value: ("Declined by cluster", "govuk-tag--red"),
    RequestStatus.ESCALATED.value: ("Escalated to council", "govuk-tag--purple"),
    RequestStatus.COUNCIL_APPROVED.value: ("Approved by council", "govuk-tag--green"),
    RequestStatus.COUNCIL_DECLINED.value: ("Declined by council", "govuk-tag--red"),
    RequestStatus.WITHDRAWN.value: ("Withdrawn", "govuk-tag--grey"),
    RequestStatus.PAID.value: ("Paid", "govuk-tag--turquoise"),
    RequestStatus.RELEASED.value: ("Released", "govuk-tag--grey"),
}
REASONS = {
    TopUpReason.INCREASE_IN_NUMBERS.value: "Increase in pupils with SEND",
    TopUpReason.COMPLEX_NEEDS.value: "Pupils with complex needs",
}
CATEGORIES = {
    ProvisionCategory.PERSONAL_CARE.value: "Personal care",
    ProvisionCategory.ASSISTIVE_TECHNOLOGY.value: "Assistive technology",
    ProvisionCategory.SPECIALIST_TUITION.value: "Specialist tuition",
    ProvisionCategory.NOTE_TAKERS.value: "Note takers",
    ProvisionCategory.INTERPRETERS.value: "Interpreters",
    ProvisionCategory.ONE_TO_ONE_AND_SMALL_GROUP_SUPPORT.value: "One-to-one and small group support",
    ProvisionCategory.HABILITATION_INDEPENDENT_LIVING.value: "Habilitation and independent living",
    ProvisionCategory.ACCESSIBLE_INFORMATION.value: "Accessible information",
    ProvisionCategory.THERAPIES.value: "Therapies",
    ProvisionCategory.OTHER.value: "Other",
}
SERVICES = {
    CommissionedService.EDUCATIONAL_PSYCHOLOGY.value: "Educational psychology",
    CommissionedService.CAMHS.value: "CAMHS",
    CommissionedService.SPECIALIST_TEACHING.value: "Specialist teaching",
    CommissionedService.THERAPY_SERVICES.value: "Therapy services",
    CommissionedService.SUPPORTED_EMPLOYMENT.value: "Supported employment",
    CommissionedService.OTHER.value: "Other",
}
DECLINE_REASONS = {
    DeclineReasonCode.INSUFFICIENT_EVIDENCE.value: "Not enough evidence",
    DeclineReasonCode.NEEDS_MET_WITHIN_SCHOOL_RESOURCES.value: "Needs can be met within the school's resources",
    DeclineReasonCode.NOT_ELIGIBLE.value: "Not eligible",
    DeclineReasonCode.OTHER.value: "Other",
}
DECISION_KINDS = {
    DecisionKind.INFORMATION_REQUEST.value: "Information requested",
    DecisionKind.CLUSTER_APPROVAL.value: "Approved by cluster",
    DecisionKind.CLUSTER_DECLINE.value: "Declined by cluster",
    DecisionKind.ESCALATION.value: "Escalated to council",
    DecisionKind.COUNCIL_APPROVAL.value: "Approved by council",
    DecisionKind.COUNCIL_DECLINE.value: "Declined by council",
    DecisionKind.WITHDRAWAL.value: "Withdrawn",
    DecisionKind.COMMISSION.value: "Service commissioned",
}

# How an award is paid, and why money comes back from one (issue 13).
SCHEDULES = {
    ScheduleKind.TERMLY.value: "Termly",
    ScheduleKind.MONTHLY.value: "Monthly",
    ScheduleKind.SINGLE.value: "Single payment",
}
RELEASE_REASONS = {
    ReleaseReason.PUPIL_LEFT.value: "The pupil left",
    ReleaseReason.PROVISION_ENDED.value: "The provision ended",
    ReleaseReason.UNDERSPEND.value: "Underspend",
    ReleaseReason.OTHER.value: "Other",
}
RECOVERY_REASONS = {
    RecoveryReason.PUPIL_LEFT.value: "The pupil left",
    RecoveryReason.PROVISION_ENDED.value: "The provision ended",
    RecoveryReason.UNDERSPEND.value: "Underspend",
    RecoveryReason.OVERPAYMENT.value: "Overpayment",
    RecoveryReason.OTHER.value: "Other",
}


def when(moment: datetime | str | None) -> str:
    """A moment as people in England read it: ``3 March 2027, 2:05pm``."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(ENGLAND)
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B %Y}, {hour}:{local.minute:02d}{'am' if local.hour < 12 else 'pm'}"


def waited(since: datetime | str, now: datetime | None = None) -> str:
    """How long since ``since``, in whole days (``Today``, ``1 day``, ``12 days``)."""
    if isinstance(since, str):
        since = datetime.fromisoformat(since)
    days = ((now or datetime.now(UTC)) - since).days
    if days < 1:
        return "Today"
    return "1 day" if days == 1 else f"{days} days"


PHASES = {
    SchoolPhase.NURSERY.value: "Nursery",
    SchoolPhase.PRIMARY.value: "Primary",
    SchoolPhase.MIDDLE_DEEMED_PRIMARY.value: "Middle deemed primary",
    SchoolPhase.MIDDLE_DEEMED_SECONDARY.value: "Middle deemed secondary",
    SchoolPhase.SECONDARY.value: "Secondary",
    SchoolPhase.ALL_THROUGH.value: "All-through",
    SchoolPhase.SIXTEEN_PLUS.value: "16 plus",
    SchoolPhase.NOT_APPLICABLE.value: "Not applicable",
}


def short_reference(request_id: str) -> str:
    """The first 8 hex digits people quote on the phone (the page shows the whole id too)."""
    return request_id.replace("-", "")[:8].upper()


def install_labels(environment: Environment) -> None:
    environment.globals.update(
        status_tags=STATUS_TAGS,
        reasons=REASONS,
        categories=CATEGORIES,
        services=SERVICES,
        decline_reasons=DECLINE_REASONS,
        decision_kinds=DECISION_KINDS,
        phases=PHASES,
        schedules=SCHEDULES,
        release_reasons=RELEASE_REASONS,
        recovery_reasons=RECOVERY_REASONS,
    )
    environment.filters.update(when=when, waited=waited, reference=short_reference)
