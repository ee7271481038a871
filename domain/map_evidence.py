"""Spend evidence taken from a published provision map, and the warnings a lead reads beside it.

A school may cite one of its published map versions as its spend evidence (issue 12). The spend
lines are then not typed: they are the cited version's lines funded by the school's own notional
SEN budget, totalled by provision category, read from the version's frozen content (the text its
SHA-256 is over), so the evidence says exactly what the published map said.

The warnings are advice to the cluster lead, never refusals, and never stored: they are worked
out whenever the request is read, from the request and the cited version's content alone (and
the thresholds in force, until policy parameters exist), so an auditor reading the request years
later is shown the same cited content. Each warning is defined here, in one place:

- **Own spend per pupil below the threshold** (``own_spend_below_threshold``): the total cost of
  the cited version's lines funded by the notional SEN budget, divided by the number of pupils the
  request is for, is below the expected threshold (£6,000 by default: schools are expected to
  meet the first £6,000 of a pupil's additional support from their own budget). The map counts
  pupils per line, never who they are, so the pupils the request is for cannot be picked out of
  it; dividing the school's whole own spend by the request's pupils is the most generous reading
  (as if every pound went to them). If even that is below the threshold, the school cannot have
  spent the threshold on each of those pupils, so the warning never fires wrongly. (Dividing by
  the lines' pupil counts would count a pupil once per line and could fire on a school that did
  spend enough.)
- **A category of the top-up is not on the map** (``category_not_in_map``): a provision category
  in the request's planned provision appears on no line of the cited version, whoever funds it.
- **Reviews overdue** (``reviews_overdue``): a line in place (not planned) went more than the
  review interval (13 weeks by default, about a term) without a review, counted from the line's
  start or its latest review to the day the version was published, or to the line's end if it
  ended first. Published content is frozen, so "now" is the day of publication: a review made
  after it is in a later version, which the school can cite instead.
- **The cited text no longer matches its hash** (``hash_mismatch``): the stored content does not
  hash to the recorded SHA-256; whatever it says cannot be relied on.
- **The map's year is not the request's** (``map_year_outside_financial_year``): the cited map's
  academic year (1 September to 31 August) has no day in the request's financial year (1 April to
  31 March), so the spend it shows was not the school's in the year the top-up is for. Years
  that share even one day do overlap: a 2026-27 request may cite a 2025/26 map (April to August
  2026 are in both) or a 2026/27 one, but not a 2024/25 or a 2027/28 one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from domain.academic_year import AcademicYear
from domain.errors import InvalidValue
from domain.money import Money
from domain.provision_lines import FundingSource, LineStatus
from domain.provision_maps import PublishedVersion
from domain.values import FinancialYear, ProvisionCategory, ProvisionMapCitation, SpendLine

OWN_BUDGET = FundingSource.NOTIONAL_SEN_BUDGET.value


@dataclass(frozen=True, slots=True)
class EvidencePolicy:
    """The thresholds the warnings use (settings until policy parameters exist)."""

    own_spend_per_pupil: Money = Money(600_000)  # noqa: RUF009 (Money is immutable: one shared default is safe)
    review_interval_weeks: int = 13


@dataclass(frozen=True, slots=True)
class EvidenceWarning:
    code: str
    message: str


def _pounds(money: Money) -> str:
    """``£6,000.00``: a warning is read by people (through the API too), so written as they write money."""
    whole, part = divmod(abs(money.pence), 100)
    return f"{'-' if money.pence < 0 else ''}£{whole:,}.{part:02d}"


def citation_of(version: PublishedVersion) -> ProvisionMapCitation:
    return ProvisionMapCitation(version.school_urn, version.academic_year, version.version, version.sha256)


def check_citation_holds(citation: ProvisionMapCitation, version: PublishedVersion) -> None:
    """The cited hash is the version's, and its content still hashes to it."""
    if citation.sha256 != version.sha256:
        raise InvalidValue(
            f"provision_map.sha256 is not the SHA-256 of version {version.version} of school "
            f"{version.school_urn}'s {version.academic_year} provision map"
        )
    if not version.hash_holds():
        raise InvalidValue("the stored content of that provision map version no longer matches its SHA-256")


def own_budget_lines(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The version's lines funded by the school's notional SEN budget, as the content holds them."""
    return [line for line in document["lines"] if line["funded_by"] == OWN_BUDGET]


def own_budget_total(document: Mapping[str, Any]) -> Money:
    return Money(sum(int(line["total_cost_pence"]) for line in own_budget_lines(document)))


def spend_from_map(version: PublishedVersion) -> list[SpendLine]:
    """The spend evidence a version gives: its own-budget lines totalled by category, in the
    categories' order, each noting the map lines it adds up (a category costing nothing is left out)."""
    by_category: dict[str, tuple[int, list[int]]] = {}
    for line in own_budget_lines(version.document):
        pence, numbers = by_category.get(line["category"], (0, []))
        by_category[line["category"]] = (pence + int(line["total_cost_pence"]), [*numbers, int(line["line_number"])])
    spend = []
    for category in ProvisionCategory:
        pence, numbers = by_category.get(category.value, (0, []))
        if pence > 0:
            word = "line" if len(numbers) == 1 else "lines"
            note = f"Provision map {version.academic_year} version {version.version}, {word} " + ", ".join(
                str(number) for number in numbers
            )
            spend.append(SpendLine(category, Money(pence), note))
    if not spend:
        raise InvalidValue(
            f"version {version.version} of the {version.academic_year} provision map has no costed line funded by "
            "the school's notional SEN budget, so it shows no spend of the school's own"
        )
    return spend


def _overdue_lines(document: Mapping[str, Any], published_on: date, interval: timedelta) -> list[int]:
    overdue = []
    for line in document["lines"]:
        if line["status"] != LineStatus.IN_PLACE.value:
            continue
        reviewed = [date.fromisoformat(review["reviewed_on"]) for review in line["reviews"]]
        since = max([date.fromisoformat(line["starts_on"]), *reviewed])
        until = min(published_on, date.fromisoformat(line["ends_on"]))
        if until - since > interval:
            overdue.append(int(line["line_number"]))
    return overdue


def years_overlap(academic_year: AcademicYear, financial_year: FinancialYear) -> bool:
    """Do the two years share at least one day?"""
    return academic_year.starts_on <= financial_year.ends_on and financial_year.starts_on <= academic_year.ends_on


def evidence_warnings(
    *,
    document: Mapping[str, Any],
    published_on: date,
    hash_holds: bool,
    pupil_count: int,
    planned_categories: Iterable[ProvisionCategory],
    academic_year: AcademicYear,
    financial_year: FinancialYear,
    policy: EvidencePolicy,
) -> list[EvidenceWarning]:
    """The warnings for a request citing a version (see the module's docstring for each rule)."""
    warnings = []
    if not hash_holds:
        warnings.append(
            EvidenceWarning(
                "hash_mismatch",
                "The cited provision map's stored content does not match its SHA-256: do not rely on it.",
            )
        )
    if not years_overlap(academic_year, financial_year):
        warnings.append(
            EvidenceWarning(
                "map_year_outside_financial_year",
                f"The cited map is for the academic year {academic_year} (1 September {academic_year.start_year} "
                f"to 31 August {academic_year.start_year + 1}), which has no day in the request's financial year "
                f"{financial_year} (1 April {financial_year.start_year} to 31 March {financial_year.start_year + 1}).",
            )
        )
    threshold = policy.own_spend_per_pupil
    own = own_budget_total(document)
    if own.pence < threshold.pence * pupil_count:
        per_pupil = Money(own.pence // pupil_count)
        warnings.append(
            EvidenceWarning(
                "own_spend_below_threshold",
                f"The school's own spend on the cited map is {_pounds(per_pupil)} for each of the {pupil_count} "
                f"pupils the request is for, below the expected {_pounds(threshold)} a pupil.",
            )
        )
    on_map = {line["category"] for line in document["lines"]}
    warnings.extend(
        EvidenceWarning(
            "category_not_in_map",
            f"The top-up asks for {category.value.replace('_', ' ')}, which is on no line of the cited map.",
        )
        for category in dict.fromkeys(planned_categories)
        if category.value not in on_map
    )
    interval = timedelta(weeks=policy.review_interval_weeks)
    overdue = _overdue_lines(document, published_on, interval)
    if overdue:
        word = "Line" if len(overdue) == 1 else "Lines"
        warnings.append(
            EvidenceWarning(
                "reviews_overdue",
                f"{word} {', '.join(map(str, overdue))} of the cited map went more than "
                f"{policy.review_interval_weeks} weeks in place without a review.",
            )
        )
    return warnings
