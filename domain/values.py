"""Value objects and vocabularies of the funding domain.

Each value validates itself when made, so a malformed URN, year or amount can never reach an
aggregate or the event log. Enums are plain ``Enum`` (not ``str, Enum``): the library's JSON
transcoder would otherwise store them as bare strings and hand back ``str`` on reload.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

from domain.errors import InvalidValue
from domain.formatting import pounds

V = TypeVar("V")


def _shared_when_copied(cls: type[V]) -> type[V]:
    """A frozen value whose fields are all immutable is its own copy.

    The library deep-copies every cached aggregate it hands to a command; without this, copying
    a request's amounts, actors and decision record field by field was most of a cached read.
    Not for values that hold a list (``SpendEvidence``): those are copied as usual.
    """
    cls.__copy__ = lambda self: self  # type: ignore[attr-defined]
    cls.__deepcopy__ = lambda self, memo: self  # type: ignore[attr-defined]
    return cls


# ---------------------------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------------------------

_MONEY_PATTERN = re.compile(r"^-?[0-9]{1,16}(\.[0-9]{1,2})?\Z")


@_shared_when_copied
@dataclass(frozen=True, slots=True, order=True)
class Money:
    """Pounds sterling held as integer pence. Never a float, anywhere."""

    pence: int

    # Larger than any council's whole budget; anything beyond is a typo or an attack.
    LIMIT_PENCE = 10**14

    def __post_init__(self) -> None:
        if type(self.pence) is not int:  # bool is an int subclass and is refused too
            raise InvalidValue(f"money must be whole pence, got {type(self.pence).__name__}")
        if abs(self.pence) > Money.LIMIT_PENCE:
            raise InvalidValue("money amount is absurdly large")

    @classmethod
    def parse(cls, value: Money | str | Decimal) -> Money:
        """Reads ``"1500.00"``, ``"1500.5"``, ``"1500"`` or a Decimal with at most 2 dp."""
        if isinstance(value, Money):
            return value
        if isinstance(value, float):
            raise InvalidValue("money must not be a float; send a string such as \"1500.00\"")
        if isinstance(value, str):
            if not _MONEY_PATTERN.match(value):
                raise InvalidValue(
                    f"money must be a decimal string with at most 2 decimal places, got {value!r}"
                )
            value = Decimal(value)
        if not isinstance(value, Decimal):
            raise InvalidValue(f"money must be a string such as \"1500.00\", got {type(value).__name__}")
        try:
            exponent = value.as_tuple().exponent
            if not isinstance(exponent, int) or exponent < -2:
                raise InvalidValue(f"money has more than 2 decimal places: {value}")
            pence = int((value * 100).to_integral_exact())
        except (InvalidOperation, OverflowError, ValueError) as error:
            raise InvalidValue(f"not a money amount: {value}") from error
        return cls(pence)

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    def __str__(self) -> str:
        return pounds(self.pence)

    def __repr__(self) -> str:
        return f"Money('{self}')"

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.pence + other.pence)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.pence - other.pence)

    def __neg__(self) -> Money:
        return Money(-self.pence)

    @property
    def is_positive(self) -> bool:
        return self.pence > 0

    @property
    def is_negative(self) -> bool:
        return self.pence < 0


MAX_AMOUNT = Money(10_000_000_00)
"""The largest single amount any command accepts (10,000,000.00)."""


def parse_amount(value: Money | str | Decimal, *, field: str = "amount", allow_negative: bool = False) -> Money:
    """An amount for a command: never zero, positive unless allowed, at most ``MAX_AMOUNT``."""
    try:
        amount = Money.parse(value)
    except InvalidValue as error:
        raise InvalidValue(f"{field}: {error}") from None
    if amount.pence == 0:
        raise InvalidValue(f"{field} must not be zero")
    if amount.is_negative and not allow_negative:
        raise InvalidValue(f"{field} must be positive")
    if abs(amount.pence) > MAX_AMOUNT.pence:
        raise InvalidValue(f"{field} must be at most {MAX_AMOUNT}")
    return amount


def sum_money(amounts: Any) -> Money:
    return Money(sum(amount.pence for amount in amounts))


# ---------------------------------------------------------------------------------------------
# Identifiers
# ---------------------------------------------------------------------------------------------

_YEAR_PATTERN = re.compile(r"^([0-9]{4})-([0-9]{2})\Z")


@_shared_when_copied
@dataclass(frozen=True, slots=True, order=True)
class FinancialYear:
    """An English public-sector financial year, 1 April to 31 March, written ``"2026-27"``."""

    start_year: int

    def __post_init__(self) -> None:
        if type(self.start_year) is not int or not 2000 <= self.start_year <= 2098:
            raise InvalidValue(f"financial year must start between 2000 and 2098, got {self.start_year!r}")

    @classmethod
    def parse(cls, value: FinancialYear | str) -> FinancialYear:
        if isinstance(value, FinancialYear):
            return value
        match = _YEAR_PATTERN.match(value) if isinstance(value, str) else None
        if match is None:
            raise InvalidValue(f"financial year must look like \"2026-27\", got {value!r}")
        first, second = int(match.group(1)), int(match.group(2))
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


_URN_PATTERN = re.compile(r"^[0-9]{6}\Z")


@_shared_when_copied
@dataclass(frozen=True, slots=True, order=True)
class SchoolUrn:
    """A school's unique reference number: six digits."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _URN_PATTERN.match(self.value):
            raise InvalidValue(f"school URN must be 6 digits, got {self.value!r}")

    @classmethod
    def parse(cls, value: SchoolUrn | str) -> SchoolUrn:
        return value if isinstance(value, SchoolUrn) else cls(value)

    def __str__(self) -> str:
        return self.value


_SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}\Z")


@_shared_when_copied
@dataclass(frozen=True, slots=True, order=True)
class ClusterId:
    """A cluster's slug, e.g. ``"northmere-coast"``."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _SLUG_PATTERN.match(self.value):
            raise InvalidValue(
                f"cluster id must be a lower-case slug of 2-63 letters, digits and hyphens, got {self.value!r}"
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


ENUMS: tuple[type[Enum], ...] = (
    Role,
    ProvisionCategory,
    CommissionedService,
    TopUpReason,
    DeclineReasonCode,
    CouncilDecision,
    RequestStatus,
    DecisionKind,
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
# Free text and counts
# ---------------------------------------------------------------------------------------------

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# A lone surrogate is not a character: it cannot be encoded as UTF-8, so no store can hold it.
_SURROGATES = re.compile(r"[\ud800-\udfff]")

SHORT_TEXT = 200
LONG_TEXT = 4000


def check_text(value: str, *, field: str, max_length: int = LONG_TEXT, required: bool = True) -> str:
    """Free text as written, refusing blanks (when required), control characters and essays."""
    if not isinstance(value, str):
        raise InvalidValue(f"{field} must be text")
    if required and not value.strip():
        raise InvalidValue(f"{field} must not be blank")
    if len(value) > max_length:
        raise InvalidValue(f"{field} must be at most {max_length} characters")
    if _CONTROL_CHARACTERS.search(value):
        raise InvalidValue(f"{field} must not contain control characters")
    if _SURROGATES.search(value):
        raise InvalidValue(f"{field} must be valid Unicode text (it contains a lone surrogate)")
    return value


# An identity is compared, logged and shown to auditors: it must read as it compares. Control
# characters (Cc), format characters such as the bidirectional overrides and isolates, zero-width
# joiners and marks (Cf), line and paragraph separators (Zl, Zp) and lone surrogates (Cs) can make
# two different ids look alike or reorder what a log line shows.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def check_identity(value: str, *, field: str) -> str:
    """A staff id as a token carries it: short text with nothing invisible or reordering in it."""
    check_text(value, field=field, max_length=SHORT_TEXT)
    if value.isascii() and value.isprintable():  # the usual case, and none of those categories
        return value
    for character in value:
        if unicodedata.category(character) in _INVISIBLE_CATEGORIES:
            raise InvalidValue(
                f"{field} must not contain control, formatting or bidirectional characters "
                f"(it contains U+{ord(character):04X})"
            )
    return value


MAX_PUPIL_COUNT = 2000


def check_pupil_count(value: int) -> int:
    if type(value) is not int or not 1 <= value <= MAX_PUPIL_COUNT:
        raise InvalidValue(f"pupil_count must be a whole number from 1 to {MAX_PUPIL_COUNT}")
    return value


# ---------------------------------------------------------------------------------------------
# Compound values carried by events
# ---------------------------------------------------------------------------------------------


@_shared_when_copied
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


@_shared_when_copied
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


@_shared_when_copied
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
            check_text(note, field="spend.note", max_length=SHORT_TEXT * 5, required=False),
        )


_SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}\Z")


@_shared_when_copied
@dataclass(frozen=True, slots=True)
class EvidenceDocument:
    """A supporting document, by name and content hash only; the file itself is held by the school."""

    name: str
    sha256: str

    def __post_init__(self) -> None:
        check_text(self.name, field="documents.name", max_length=SHORT_TEXT)
        if not isinstance(self.sha256, str) or not _SHA256_PATTERN.match(self.sha256):
            raise InvalidValue("documents.sha256 must be 64 lower-case hex digits")


@dataclass(frozen=True, slots=True)
class SpendEvidence:
    """What the school showed of its own SEN spend before asking for more."""

    notional_sen_budget: Money
    spend: list[SpendLine]
    documents: list[EvidenceDocument]
    provided_by: Actor
    provided_at: datetime

    @property
    def total_spent(self) -> Money:
        return sum_money(line.amount for line in self.spend)


@_shared_when_copied
@dataclass(frozen=True, slots=True)
class Decision:
    """One entry of a request's decision record, as an auditor reads it."""

    kind: DecisionKind
    actor: Actor
    decided_at: datetime
    reason: str
    amount: Money | None = None
    reason_code: DeclineReasonCode | None = None
