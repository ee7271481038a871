"""Value objects and vocabularies of the funding domain: identifiers, the enums, actors, and the
lines and records that events carry.

Each value validates itself when made (against ``domain.limits``), so a malformed URN, year or
amount can never reach an aggregate or the event log. Money and written text have modules of their
own (``domain.money``, ``domain.text``). Enums are plain ``Enum`` (not ``str, Enum``): the library's
JSON transcoder would otherwise store them as bare strings and hand back ``str`` on reload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TypeVar

from domain import limits
from domain.academic_year import AcademicYear
from domain.copying import shared_when_copied
from domain.errors import InvalidValue
from domain.money import Money, parse_amount, sum_money
from domain.policy_pin import PolicyPin
from domain.text import check_identity, check_text

# ---------------------------------------------------------------------------------------------
# Identifiers
# ---------------------------------------------------------------------------------------------

_FINANCIAL_YEAR = re.compile(limits.FINANCIAL_YEAR_PATTERN)


@shared_when_copied
@dataclass(frozen=True, slots=True, order=True)
class FinancialYear:
    """An English public-sector financial year, 1 April to 31 March, written ``"2026-27"``."""

    start_year: int

    def __post_init__(self) -> None:
        first, last = limits.FIRST_FINANCIAL_YEAR, limits.LAST_FINANCIAL_YEAR
        if type(self.start_year) is not int or not first <= self.start_year <= last:
            raise InvalidValue(f"financial year must start between {first} and {last}, got {self.start_year!r}")

    @classmethod
    def parse(cls, value: FinancialYear | str) -> FinancialYear:
        if isinstance(value, FinancialYear):
            return value
        if not isinstance(value, str) or not _FINANCIAL_YEAR.fullmatch(value):
            raise InvalidValue(f'financial year must look like "2026-27", got {value!r}')
        first, second = int(value[:4]), int(value[5:])
        if second != (first + 1) % 100:
            raise InvalidValue(f"financial year {value!r}: the second part must be the year after the first")
        return cls(first)

    @classmethod
    def containing(cls, day: date) -> FinancialYear:
        return cls(day.year if day.month >= 4 else day.year - 1)

    @property
    def starts_on(self) -> date:
        return date(self.start_year, 4, 1)

    @property
    def ends_on(self) -> date:
        return date(self.start_year + 1, 3, 31)

    def __contains__(self, day: date) -> bool:
        if isinstance(day, datetime):
            day = day.date()
        return self.starts_on <= day <= self.ends_on

    def __str__(self) -> str:
        return f"{self.start_year}-{(self.start_year + 1) % 100:02d}"

    def __repr__(self) -> str:
        return f"FinancialYear('{self}')"


_URN = re.compile(limits.URN_PATTERN)


@shared_when_copied
@dataclass(frozen=True, slots=True, order=True)
class SchoolUrn:
    """A school's unique reference number: six digits."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _URN.fullmatch(self.value):
            raise InvalidValue(f"school URN must be {limits.URN_DIGITS} digits, got {self.value!r}")

    @classmethod
    def parse(cls, value: SchoolUrn | str) -> SchoolUrn:
        return value if isinstance(value, SchoolUrn) else cls(value)

    def __str__(self) -> str:
        return self.value


_CLUSTER_ID = re.compile(limits.CLUSTER_ID_PATTERN)


@shared_when_copied
@dataclass(frozen=True, slots=True, order=True)
class ClusterId:
    """A cluster's slug, e.g. ``"northmere-coast"``."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _CLUSTER_ID.fullmatch(self.value):
            raise InvalidValue(
                f"cluster id must be a lower-case slug of {limits.CLUSTER_ID_MIN_LENGTH}-{limits.CLUSTER_ID_MAX_LENGTH}"
                f" letters, digits and hyphens, got {self.value!r}"
            )

    @classmethod
    def parse(cls, value: ClusterId | str) -> ClusterId:
        return value if isinstance(value, ClusterId) else cls(value)

    def __str__(self) -> str:
        return self.value


# ---------------------------------------------------------------------------------------------
# Vocabularies
# ---------------------------------------------------------------------------------------------


class Role(Enum):
    SCHOOL = "school"
    CLUSTER_LEAD = "cluster_lead"
    COUNCIL = "council"
    FINANCE = "finance"


class ProvisionCategory(Enum):
    PERSONAL_CARE = "personal_care"
    ASSISTIVE_TECHNOLOGY = "assistive_technology"
    SPECIALIST_TUITION = "specialist_tuition"
    NOTE_TAKERS = "note_takers"
    INTERPRETERS = "interpreters"
    ONE_TO_ONE_AND_SMALL_GROUP_SUPPORT = "one_to_one_and_small_group_support"
    HABILITATION_INDEPENDENT_LIVING = "habilitation_independent_living"
    ACCESSIBLE_INFORMATION = "accessible_information"
    THERAPIES = "therapies"
    OTHER = "other"


class CommissionedService(Enum):
    EDUCATIONAL_PSYCHOLOGY = "educational_psychology"
    CAMHS = "camhs"
    SPECIALIST_TEACHING = "specialist_teaching"
    THERAPY_SERVICES = "therapy_services"
    SUPPORTED_EMPLOYMENT = "supported_employment"
    OTHER = "other"


class TopUpReason(Enum):
    INCREASE_IN_NUMBERS = "increase_in_numbers"
    COMPLEX_NEEDS = "complex_needs"


class DeclineReasonCode(Enum):
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"
    NEEDS_MET_WITHIN_SCHOOL_RESOURCES = "needs_met_within_school_resources"
    NOT_ELIGIBLE = "not_eligible"
    OTHER = "other"


class CouncilDecision(Enum):
    APPROVE = "approve"
    DECLINE = "decline"


class RequestStatus(Enum):
    SUBMITTED = "submitted"
    EVIDENCED = "evidenced"
    INFORMATION_REQUESTED = "information_requested"
    CLUSTER_APPROVED = "cluster_approved"
    CLUSTER_DECLINED = "cluster_declined"
    ESCALATED = "escalated"
    COUNCIL_APPROVED = "council_approved"
    COUNCIL_DECLINED = "council_declined"
    WITHDRAWN = "withdrawn"
    PAID = "paid"
    # Nothing of the award is left to pay, and some of it was released rather than paid.
    RELEASED = "released"


class DecisionKind(Enum):
    """What the decision log records: every decision about a request or a budget."""

    INFORMATION_REQUEST = "information_request"
    CLUSTER_APPROVAL = "cluster_approval"
    CLUSTER_DECLINE = "cluster_decline"
    ESCALATION = "escalation"
    COUNCIL_APPROVAL = "council_approval"
    COUNCIL_DECLINE = "council_decline"
    WITHDRAWAL = "withdrawal"
    COMMISSION = "commission"


class SchoolPhase(Enum):
    """A school's phase of education, as the DfE's Get Information about Schools register names them."""

    NURSERY = "nursery"
    PRIMARY = "primary"
    MIDDLE_DEEMED_PRIMARY = "middle_deemed_primary"
    MIDDLE_DEEMED_SECONDARY = "middle_deemed_secondary"
    SECONDARY = "secondary"
    ALL_THROUGH = "all_through"
    SIXTEEN_PLUS = "16_plus"
    NOT_APPLICABLE = "not_applicable"


ENUMS: tuple[type[Enum], ...] = (
    Role,
    ProvisionCategory,
    CommissionedService,
    TopUpReason,
    DeclineReasonCode,
    CouncilDecision,
    RequestStatus,
    DecisionKind,
    SchoolPhase,
)

E = TypeVar("E", bound=Enum)


def parse_enum(enum_class: type[E], value: E | str, *, field: str) -> E:
    if isinstance(value, enum_class):
        return value
    try:
        return enum_class(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_class)
        raise InvalidValue(f"{field} must be one of: {allowed}; got {value!r}") from None


# ---------------------------------------------------------------------------------------------
# Counts
# ---------------------------------------------------------------------------------------------


def check_pupil_count(value: int) -> int:
    fewest, most = limits.MIN_PUPIL_COUNT, limits.MAX_PUPIL_COUNT
    if type(value) is not int or not fewest <= value <= most:
        raise InvalidValue(f"pupil_count must be a whole number from {fewest} to {most}")
    return value


# ---------------------------------------------------------------------------------------------
# Compound values carried by events
# ---------------------------------------------------------------------------------------------


@shared_when_copied
@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a staff id (``sub``) and a role, scoped to a school or cluster where the role is."""

    sub: str
    role: Role
    school_urn: SchoolUrn | None = None
    cluster_id: ClusterId | None = None

    def __post_init__(self) -> None:
        check_identity(self.sub, field="sub")
        if not isinstance(self.role, Role):
            raise InvalidValue(f"role must be a Role, got {self.role!r}")
        if self.role is Role.SCHOOL and not isinstance(self.school_urn, SchoolUrn):
            raise InvalidValue("a school actor needs a school_urn")
        if self.role is Role.CLUSTER_LEAD and not isinstance(self.cluster_id, ClusterId):
            raise InvalidValue("a cluster lead needs a cluster_id")
        if self.role is not Role.SCHOOL and self.school_urn is not None:
            raise InvalidValue("only a school actor has a school_urn")
        if self.role is not Role.CLUSTER_LEAD and self.cluster_id is not None:
            raise InvalidValue("only a cluster lead has a cluster_id")

    @classmethod
    def school(cls, sub: str, urn: SchoolUrn | str) -> Actor:
        return cls(sub, Role.SCHOOL, school_urn=SchoolUrn.parse(urn))

    @classmethod
    def cluster_lead(cls, sub: str, cluster_id: ClusterId | str) -> Actor:
        return cls(sub, Role.CLUSTER_LEAD, cluster_id=ClusterId.parse(cluster_id))

    @classmethod
    def council(cls, sub: str) -> Actor:
        return cls(sub, Role.COUNCIL)

    @classmethod
    def finance(cls, sub: str) -> Actor:
        return cls(sub, Role.FINANCE)


@shared_when_copied
@dataclass(frozen=True, slots=True)
class ProvisionLine:
    """One line of planned provision: what kind, and how much of the top-up it needs."""

    category: ProvisionCategory
    amount: Money

    @classmethod
    def parse(cls, category: ProvisionCategory | str, amount: Money | str) -> ProvisionLine:
        return cls(
            parse_enum(ProvisionCategory, category, field="planned_provision.category"),
            parse_amount(amount, field="planned_provision.amount"),
        )


@shared_when_copied
@dataclass(frozen=True, slots=True)
class SpendLine:
    """How the school already spent its own notional SEN budget, by category."""

    category: ProvisionCategory
    amount: Money
    note: str = ""

    @classmethod
    def parse(cls, category: ProvisionCategory | str, amount: Money | str, note: str = "") -> SpendLine:
        return cls(
            parse_enum(ProvisionCategory, category, field="spend.category"),
            parse_amount(amount, field="spend.amount"),
            check_text(note, field="spend.note", max_length=limits.NOTE_TEXT, required=False),
        )


_SHA256 = re.compile(limits.SHA256_PATTERN)


@shared_when_copied
@dataclass(frozen=True, slots=True)
class EvidenceDocument:
    """A supporting document, by name and content hash only; the file itself is held by the school."""

    name: str
    sha256: str

    def __post_init__(self) -> None:
        check_text(self.name, field="documents.name", max_length=limits.SHORT_TEXT)
        if not isinstance(self.sha256, str) or not _SHA256.fullmatch(self.sha256):
            raise InvalidValue("documents.sha256 must be 64 lower-case hex digits")


@shared_when_copied
@dataclass(frozen=True, slots=True)
class ProvisionMapCitation:
    """One published version of a school's provision map, as spend evidence cites it (issue 12).

    The version is frozen in the map's log, so these four facts find the very text again years
    later, and the SHA-256 shows whether it is still the text that was cited.
    """

    school_urn: SchoolUrn
    academic_year: AcademicYear
    version: int
    sha256: str

    def __post_init__(self) -> None:
        if type(self.version) is not int or not 1 <= self.version <= limits.MAX_PUBLISHED_VERSIONS:
            raise InvalidValue(
                f"provision_map.version must be a whole number from 1 to {limits.MAX_PUBLISHED_VERSIONS}"
            )
        if not isinstance(self.sha256, str) or not _SHA256.fullmatch(self.sha256):
            raise InvalidValue("provision_map.sha256 must be 64 lower-case hex digits")


# Not shared when copied: its lists could be changed in place, so each copy gets its own.
@dataclass(frozen=True, slots=True)
class SpendEvidence:
    """What the school showed of its own SEN spend before asking for more.

    ``provision_map`` is the published map version the spend lines were taken from, or None for
    evidence typed in (all evidence given before issue 12 reads as typed in).
    """

    notional_sen_budget: Money
    spend: list[SpendLine]
    documents: list[EvidenceDocument]
    provided_by: Actor
    provided_at: datetime
    provision_map: ProvisionMapCitation | None = None

    @property
    def total_spent(self) -> Money:
        return sum_money(line.amount for line in self.spend)


@shared_when_copied
@dataclass(frozen=True, slots=True)
class Decision:
    """One entry of a request's decision record, as an auditor reads it."""

    kind: DecisionKind
    actor: Actor
    decided_at: datetime
    reason: str
    amount: Money | None = None
    reason_code: DeclineReasonCode | None = None
    policy: PolicyPin | None = None  # None: decided before policy was recorded (issue 14)
