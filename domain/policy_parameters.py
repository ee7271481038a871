"""The policy's parameters: what each one means, its unit, its limits and the value a new policy starts with.

A parameter's value is stored as text in its canonical form ("10000.00", "20", "4,3,5"), so the log
reads the same to a person and to every later version of the code. The defaults are the values the
engine used before policy existed; a council that never changes its policy keeps deciding by them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from domain.errors import InvalidValue
from domain.limits import MAX_AMOUNT_PENCE, POLICY_VALUE_LENGTH
from domain.money import Money
from domain.schedules import TermShares


class Kind(Enum):
    MONEY = "money"
    NUMBER = "number"
    SHARES = "shares"


@dataclass(frozen=True, slots=True)
class ParameterSpec:
    name: str
    title: str
    kind: Kind
    unit: str
    default: str
    minimum: int  # pence for money
    maximum: int
    cluster_may_set: bool
    explanation: str

    def canonical(self, value: object) -> str:
        """``value`` checked against this parameter's kind and limits, in its stored form."""
        if not isinstance(value, str) or not value.strip():
            raise InvalidValue(f"{self.name}: give a value ({self.unit})")
        if len(value) > POLICY_VALUE_LENGTH:
            raise InvalidValue(f"{self.name}: a value is at most {POLICY_VALUE_LENGTH} characters")
        text = value.strip()
        if self.kind is Kind.SHARES:
            return str(TermShares.parse(text))
        if self.kind is Kind.MONEY:
            try:
                number = Money.parse(text).pence
            except InvalidValue:
                raise InvalidValue(f"{self.name} must be an amount in pounds, like 10000.00, got {text!r}") from None
        elif not text.isdigit() or len(text) > 9:
            raise InvalidValue(f"{self.name}: a whole number of {self.unit}, got {text!r}")
        else:
            number = int(text)
        if not self.minimum <= number <= self.maximum:
            raise InvalidValue(
                f"{self.name} must be between {self.shown(self.minimum)} and {self.shown(self.maximum)} {self.unit}"
            )
        return self.shown(number)

    def shown(self, number: int) -> str:
        return str(Money(number)) if self.kind is Kind.MONEY else str(number)

    def number(self, text: str) -> int:
        """A money or number value as an integer (pence for money), for comparing sizes."""
        return Money.parse(text).pence if self.kind is Kind.MONEY else int(text)


def _money(pounds: int) -> int:
    return pounds * 100


PARAMETERS: dict[str, ParameterSpec] = {
    spec.name: spec
    for spec in (
        ParameterSpec(
            "award_cap",
            "Largest single award",
            Kind.MONEY,
            "pounds",
            str(Money(MAX_AMOUNT_PENCE)),
            1,
            MAX_AMOUNT_PENCE,
            True,
            "No approval, by a cluster or by the council, may award more than this to one request.",
        ),
        ParameterSpec(
            "council_term_cap",
            "Council awards per term",
            Kind.MONEY,
            "pounds",
            str(Money(MAX_AMOUNT_PENCE)),
            1,
            MAX_AMOUNT_PENCE,
            False,
            "The council's exceptional-circumstances approvals decided in one school term add up to no more than this.",
        ),
        ParameterSpec(
            "escalation_threshold_percent",
            "Escalation threshold",
            Kind.NUMBER,
            "percent",
            "100",
            1,
            100,
            False,
            "A lead may escalate a request to the council only when the cluster's available money is "
            "below this percentage of the amount requested.",
        ),
        ParameterSpec(
            "expected_own_spend_per_pupil",
            "Expected own spend per pupil",
            Kind.MONEY,
            "pounds",
            "6000.00",
            0,
            _money(1_000_000),
            True,
            "Spend evidence below this much of the school's own money per pupil is flagged to the decider.",
        ),
        ParameterSpec(
            "provision_review_weeks",
            "Weeks between provision reviews",
            Kind.NUMBER,
            "weeks",
            "13",
            1,
            52,
            True,
            "A provision map line in place longer than this without a review is flagged to the decider.",
        ),
        ParameterSpec(
            "instalment_shares",
            "Termly instalment shares",
            Kind.SHARES,
            "autumn, spring, summer",
            "4,3,5",
            0,
            0,
            True,
            "How a termly award is shared between autumn, spring and summer (Norfolk's 4/12, 3/12, 5/12).",
        ),
        ParameterSpec(
            "decision_deadline_working_days",
            "Decision deadline",
            Kind.NUMBER,
            "working days",
            "20",
            1,
            260,
            True,
            "A request is decided within this many working days of its submission.",
        ),
        ParameterSpec(
            "letter_deadline_working_days",
            "Letter deadline",
            Kind.NUMBER,
            "working days",
            "5",
            1,
            260,
            True,
            "The school receives the decision letter within this many working days of the decision.",
        ),
        ParameterSpec(
            "reconsideration_window_working_days",
            "Reconsideration window",
            Kind.NUMBER,
            "working days",
            "20",
            1,
            260,
            False,
            "A school may ask for a decline or a partial award to be looked at again within this many "
            "working days of the decision; after that the decision is final.",
        ),
        ParameterSpec(
            "financial_records_retention_years",
            "Financial records kept for",
            Kind.NUMBER,
            "years",
            "7",
            1,
            100,
            False,
            "Budgets, payments and ledgers are kept this many years after their financial year ends "
            "(the current year and six more by default).",
        ),
        ParameterSpec(
            "case_records_retention_years",
            "Request records kept for",
            Kind.NUMBER,
            "years",
            "25",
            1,
            100,
            False,
            "A funding request's record is kept this many years after its last decision.",
        ),
        ParameterSpec(
            "second_person_threshold_percent",
            "Changes needing a second person",
            Kind.NUMBER,
            "percent",
            "10",
            0,
            1000,
            False,
            "A change moving a money or number parameter by more than this percentage of its value, "
            "any change to the instalment shares and any change to this threshold takes effect only "
            "once a second person approves it.",
        ),
    )
}


def spec_of(name: object) -> ParameterSpec:
    spec = PARAMETERS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise InvalidValue(f"there is no policy parameter {name!r}; the parameters are {', '.join(PARAMETERS)}")
    return spec


def needs_second_person(spec: ParameterSpec, current: str, new: str, threshold_percent: int) -> bool:
    """Whether changing ``spec`` from ``current`` to ``new`` is large enough to need a second person."""
    if spec.kind is Kind.SHARES or spec.name == "second_person_threshold_percent":
        return True
    before, after = spec.number(current), spec.number(new)
    # Integer arithmetic: |after - before| / before > threshold / 100, with nothing divided.
    return abs(after - before) * 100 > threshold_percent * before
