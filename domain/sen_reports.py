"""A school's SEN Information Report: where it is published, when, when it is next reviewed, how
it was assessed against the checklist, and the broken links people have reported.

One ``SenInformationReport`` per school, its id derived from the URN, so registering a report
twice is the same aggregate and a school's report is found without an index. The report itself
lives on the school's website; the engine keeps its address and dates for the public Local Offer
listing, which links to it.

Rules (each a domain test):
- the address is an ``https`` URL of a named host, with no user name or password in it, at most
  ``SEN_REPORT_URL_MAX_LENGTH`` characters;
- a report is published on or before today, and not before 1 September 2014 (when section 69 of
  the Children and Families Act 2014 came fully into force);
- its next review falls after publication and **no more than a year after it**: the council expects
  a yearly review (the SEND Code of Practice asks for the information to be updated annually), so a
  later date is refused rather than warned about. A warning would still publish a review date the
  council does not accept, and the listing would not call the report overdue until that date;
- a report is overdue for review once its next-review date has passed;
- an assessment rates every checklist item (``domain.sen_report_checklist``) met, partly met or not
  met, with an optional note each; the school's own is a self-assessment, a council officer's an
  audit; it records the address and publication date of the report it assessed;
- a broken link is reported about a registered report, by anyone, with an optional short note and
  nothing else about who reported it; the council clears the reports once it has followed them up,
  and a new address clears them too (they were about the old one).

Dates are stored in events as ISO text (``"2026-09-01"``) and ratings as their values, so the
events need no transcoding of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain import limits
from domain.errors import InvalidValue
from domain.funds import ID_NAMESPACE
from domain.sen_report_checklist import CHECKLIST, AssessmentKind, Rating, check_ratings
from domain.text import check_text
from domain.values import Actor, SchoolUrn

EARLIEST_PUBLICATION = date(2014, 9, 1)
"""Section 69 of the Children and Families Act 2014 in force in full (S.I. 2014/889, art. 7(a))."""

_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^{_HOST_LABEL}(?:\.{_HOST_LABEL})+$")
_URL_FORBIDDEN = re.compile(rf"[\s{limits.CONTROL_CHARACTERS}{limits.LONE_SURROGATES}]")


def check_report_url(value: object) -> str:
    """An SEN Information Report's address: ``https://`` and a named host, as typed (never rewritten)."""
    if not isinstance(value, str) or not value:
        raise InvalidValue("url must be the report's address, starting https://")
    if len(value) > limits.SEN_REPORT_URL_MAX_LENGTH:
        raise InvalidValue(f"url must be at most {limits.SEN_REPORT_URL_MAX_LENGTH} characters")
    if _URL_FORBIDDEN.search(value):
        raise InvalidValue("url must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port  # a port that is not a number raises here
    except ValueError:
        raise InvalidValue("url is not a valid web address") from None
    if parts.scheme.lower() != "https":
        raise InvalidValue("url must start https:// (the report must be served securely)")
    if parts.username is not None or parts.password is not None:
        raise InvalidValue("url must not contain a user name or password")
    host = (parts.hostname or "").rstrip(".")
    if not _HOST.fullmatch(host) or host.replace(".", "").isdigit():
        raise InvalidValue("url must name the school website's host, like https://www.example-school.org.uk/send")
    if port is not None and port == 0:
        raise InvalidValue("url is not a valid web address")
    return value


def parse_day(value: date | str, *, field: str) -> date:
    """A calendar date, from ``date`` or ISO text (``"2026-09-01"``)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise InvalidValue(f'{field} must be a date like "2026-09-01", got {value!r}')
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidValue(f"{field} is not a real date: {value!r}") from None


def a_year_after(day: date) -> date:
    """The same date a year later (29 February is followed by 28 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


@dataclass(frozen=True, slots=True)
class ReportDates:
    published_on: date
    next_review_on: date

    @classmethod
    def check(cls, published_on: date | str, next_review_on: date | str, *, today: date) -> ReportDates:
        published = parse_day(published_on, field="published_on")
        review = parse_day(next_review_on, field="next_review_on")
        if published < EARLIEST_PUBLICATION:
            raise InvalidValue(f"published_on must be on or after {EARLIEST_PUBLICATION.isoformat()}")
        if published > today:
            raise InvalidValue("published_on must not be in the future: register the report once it is published")
        if review <= published:
            raise InvalidValue("next_review_on must be after published_on")
        if review > a_year_after(published):
            raise InvalidValue(
                "next_review_on must be no more than a year after published_on: the council expects the report"
                f" to be reviewed at least every year (by {a_year_after(published).isoformat()})"
            )
        return cls(published, review)


@dataclass(frozen=True, slots=True)
class Assessment:
    """One assessment of the report against the whole checklist, as the report then stood."""

    kind: AssessmentKind
    ratings: dict[str, Rating]
    notes: dict[str, str]
    report_url: str
    published_on: date
    assessed_by: Actor
    assessed_at: datetime

    def count(self, rating: Rating) -> int:
        return sum(1 for value in self.ratings.values() if value is rating)


def check_notes(notes: object) -> dict[str, str]:
    """A note per item where the assessor wrote one (blank notes are left out)."""
    if notes is None:
        return {}
    if not isinstance(notes, dict):
        raise InvalidValue("notes must map checklist items to text")
    known = {item.key for item in CHECKLIST}
    kept: dict[str, str] = {}
    for key, text in notes.items():
        if key not in known:
            raise InvalidValue(f"notes name an item that is not on the checklist: {str(key)[:60]!r}")
        check_text(text, field=f"notes.{key}", max_length=limits.NOTE_TEXT, required=False)
        if text.strip():
            kept[key] = text
    return kept


def check_broken_link_note(note: object) -> str:
    """What a visitor wrote about a broken link: optional, short, stripped of surrounding space."""
    if note is None:
        return ""
    if not isinstance(note, str):
        raise InvalidValue("note must be text")
    note = note.strip()
    check_text(note, field="note", max_length=limits.BROKEN_LINK_NOTE_MAX_LENGTH, required=False)
    return note


class SenInformationReport(Aggregate):
    """Where a school publishes its SEN Information Report, and what is known about it."""

    @staticmethod
    def id_for(school_urn: SchoolUrn) -> UUID:
        return uuid5(ID_NAMESPACE, f"sen-information-report/{school_urn}")

    class Registered(Aggregate.Created):
        class_version = 1
        school_urn: SchoolUrn
        url: str
        published_on: str
        next_review_on: str
        actor: Actor

    class Updated(Aggregate.Event):
        class_version = 1
        url: str
        published_on: str
        next_review_on: str
        actor: Actor

        def apply(self, report: SenInformationReport) -> None:
            if self.url != report.url:
                report.open_broken_links = 0
            report.url = self.url
            report.published_on = date.fromisoformat(self.published_on)
            report.next_review_on = date.fromisoformat(self.next_review_on)

    class Assessed(Aggregate.Event):
        class_version = 1
        kind: str  # an AssessmentKind's value
        ratings: dict[str, str]  # checklist item -> a Rating's value
        notes: dict[str, str]
        report_url: str
        published_on: str
        actor: Actor

        def apply(self, report: SenInformationReport) -> None:
            assessment = Assessment(
                AssessmentKind(self.kind),
                {key: Rating(value) for key, value in self.ratings.items()},
                dict(self.notes),
                self.report_url,
                date.fromisoformat(self.published_on),
                self.actor,
                self.timestamp,
            )
            report.latest[assessment.kind] = assessment

    class BrokenLinkReported(Aggregate.Event):
        """Someone (nobody is named: the public needs no sign-in) says the report's link is broken."""

        class_version = 1
        url: str  # the address they followed
        note: str

        def apply(self, report: SenInformationReport) -> None:
            report.open_broken_links += 1

    class BrokenLinkReportsCleared(Aggregate.Event):
        class_version = 1
        actor: Actor

        def apply(self, report: SenInformationReport) -> None:
            report.open_broken_links = 0

    def __init__(self, school_urn: SchoolUrn, url: str, published_on: str, next_review_on: str, actor: Actor) -> None:
        self.school_urn = school_urn
        self.url = url
        self.published_on = date.fromisoformat(published_on)
        self.next_review_on = date.fromisoformat(next_review_on)
        self.latest: dict[AssessmentKind, Assessment] = {}
        self.open_broken_links = 0

    @classmethod
    def register(cls, school_urn: SchoolUrn, url: str, dates: ReportDates, actor: Actor) -> SenInformationReport:
        check_report_url(url)
        return cls._create(
            cls.Registered,
            id=cls.id_for(school_urn),
            school_urn=school_urn,
            url=url,
            published_on=dates.published_on.isoformat(),
            next_review_on=dates.next_review_on.isoformat(),
            actor=actor,
        )

    def is_overdue(self, today: date) -> bool:
        return self.next_review_on < today

    def update(self, url: str, dates: ReportDates, actor: Actor) -> None:
        check_report_url(url)
        unchanged = (url, dates.published_on, dates.next_review_on) == (
            self.url,
            self.published_on,
            self.next_review_on,
        )
        if not unchanged:
            self.trigger_event(
                self.Updated,
                url=url,
                published_on=dates.published_on.isoformat(),
                next_review_on=dates.next_review_on.isoformat(),
                actor=actor,
            )

    def assess(self, kind: AssessmentKind, ratings: object, notes: object, actor: Actor) -> None:
        checked = check_ratings(ratings)
        kept = check_notes(notes)
        self.trigger_event(
            self.Assessed,
            kind=kind.value,
            ratings={key: rating.value for key, rating in checked.items()},
            notes=kept,
            report_url=self.url,
            published_on=self.published_on.isoformat(),
            actor=actor,
        )

    def report_broken_link(self, note: object) -> None:
        self.trigger_event(self.BrokenLinkReported, url=self.url, note=check_broken_link_note(note))

    def clear_broken_link_reports(self, actor: Actor) -> None:
        if self.open_broken_links:
            self.trigger_event(self.BrokenLinkReportsCleared, actor=actor)
