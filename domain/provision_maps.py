"""A school's provision map for one academic year, and the versions of it the school publishes.

The school keeps one map a year: lines of provision it edits and reviews as the year goes on.
Publishing freezes the map as it stands: the event carries the map's canonical content (the lines
as JSON with sorted keys, money in integer pence, dates ISO 8601) and the SHA-256 of that text, and
numbers the version 1, 2, 3... A published version is never changed by anything that follows:
later edits work on the draft, and the next publish makes the next version. Whoever cites a version
(spend evidence, an auditor years later) names (school, academic year, version, sha256) and can
fetch the very text that was hashed.

Never snapshotted: a map's history is a year of edits, and its lines are held by line number.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain import limits
from domain.academic_year import AcademicYear
from domain.errors import AlreadyExists, Conflict, InvalidValue, NotFound
from domain.funds import ID_NAMESPACE
from domain.money import Money, sum_money
from domain.provision_lines import LineReview, ProvisionMapLine, canonical_line
from domain.values import Actor, SchoolUrn

CONTENT_FORMAT = "provision-map/1"
"""Named inside every published version's content, so a later format can be told apart."""


def canonical_json(value: Any) -> str:
    """The one text a value hashes as: sorted keys, no spaces, UTF-8 as written."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_of(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    """One published version, as whoever cites it reads it: the frozen text, its hash, when and by whom."""

    school_urn: SchoolUrn
    academic_year: AcademicYear
    version: int
    content: str
    sha256: str
    published_at: datetime
    published_by: Actor

    @property
    def document(self) -> dict[str, Any]:
        """The content read back as JSON (the text itself is what the hash is over)."""
        parsed: dict[str, Any] = json.loads(self.content)
        return parsed

    def hash_holds(self) -> bool:
        """Whether the stored text still hashes to the recorded SHA-256."""
        return sha256_of(self.content) == self.sha256


class NothingToPublish(Conflict):
    """Publishing needs something new to publish, and lines to publish."""


class ProvisionMap(Aggregate):
    """A school's provision map for one academic year: its draft lines and published versions."""

    @staticmethod
    def id_for(school_urn: SchoolUrn, academic_year: AcademicYear) -> UUID:
        return uuid5(ID_NAMESPACE, f"provision-map/{school_urn}/{academic_year}")

    class Opened(Aggregate.Created):
        class_version = 1
        school_urn: SchoolUrn
        academic_year: AcademicYear
        actor: Actor

    class LineAdded(Aggregate.Event):
        class_version = 1
        line_number: int
        line: ProvisionMapLine
        actor: Actor

        def apply(self, provision_map: ProvisionMap) -> None:
            provision_map.lines[self.line_number] = self.line
            provision_map.reviews[self.line_number] = []
            provision_map.next_line_number = self.line_number + 1
            provision_map.changed_since_published = True

    class LineChanged(Aggregate.Event):
        class_version = 1
        line_number: int
        line: ProvisionMapLine
        actor: Actor

        def apply(self, provision_map: ProvisionMap) -> None:
            provision_map.lines[self.line_number] = self.line
            provision_map.changed_since_published = True

    class LineRemoved(Aggregate.Event):
        class_version = 1
        line_number: int
        actor: Actor

        def apply(self, provision_map: ProvisionMap) -> None:
            del provision_map.lines[self.line_number]
            del provision_map.reviews[self.line_number]
            provision_map.changed_since_published = True

    class LineReviewed(Aggregate.Event):
        class_version = 1
        line_number: int
        review: LineReview
        actor: Actor

        def apply(self, provision_map: ProvisionMap) -> None:
            provision_map.reviews[self.line_number] = [*provision_map.reviews[self.line_number], self.review]
            provision_map.changed_since_published = True

    class Published(Aggregate.Event):
        class_version = 1
        version_number: int
        content: str
        sha256: str
        actor: Actor

        def apply(self, provision_map: ProvisionMap) -> None:
            provision_map.published.append(
                PublishedVersion(
                    school_urn=provision_map.school_urn,
                    academic_year=provision_map.academic_year,
                    version=self.version_number,
                    content=self.content,
                    sha256=self.sha256,
                    published_at=self.timestamp,
                    published_by=self.actor,
                )
            )
            provision_map.changed_since_published = False

    def __init__(self, school_urn: SchoolUrn, academic_year: AcademicYear, actor: Actor) -> None:
        self.school_urn = school_urn
        self.academic_year = academic_year
        self.opened_by = actor
        # The draft: lines by their number (numbers are never reused), and each line's reviews.
        self.lines: dict[int, ProvisionMapLine] = {}
        self.reviews: dict[int, list[LineReview]] = {}
        self.next_line_number = 1
        self.published: list[PublishedVersion] = []
        self.changed_since_published = False

    @classmethod
    def open(cls, school_urn: SchoolUrn, academic_year: AcademicYear, actor: Actor) -> ProvisionMap:
        return cls._create(
            cls.Opened,
            id=cls.id_for(school_urn, academic_year),
            school_urn=school_urn,
            academic_year=academic_year,
            actor=actor,
        )

    # -- reading -------------------------------------------------------------------------------------

    @property
    def latest_published(self) -> PublishedVersion | None:
        return self.published[-1] if self.published else None

    @property
    def draft_version(self) -> int:
        """The number the draft will have when published."""
        return len(self.published) + 1

    @property
    def total_cost(self) -> Money:
        return sum_money(line.total_cost for line in self.lines.values())

    def published_version(self, version: int) -> PublishedVersion:
        if type(version) is not int or not 1 <= version <= len(self.published):
            raise NotFound(f"provision map {self.school_urn} {self.academic_year} has no published version {version}")
        return self.published[version - 1]

    def line(self, line_number: int) -> ProvisionMapLine:
        self.check_has_line(line_number)
        return self.lines[line_number]

    def canonical_content(self, version: int) -> str:
        """The draft as version ``version`` would hold it, in the one text that is hashed."""
        return canonical_json(
            {
                "format": CONTENT_FORMAT,
                "school_urn": str(self.school_urn),
                "academic_year": str(self.academic_year),
                "version": version,
                "lines": [canonical_line(n, line, self.reviews[n]) for n, line in self.lines.items()],
                "total_cost_pence": self.total_cost.pence,
            }
        )

    # -- guards ----------------------------------------------------------------------------------------

    def check_has_line(self, line_number: int) -> None:
        if line_number not in self.lines:
            raise NotFound(f"provision map {self.school_urn} {self.academic_year} has no line {line_number}")

    def check_room_for_a_line(self) -> None:
        if len(self.lines) >= limits.MAX_MAP_LINES:
            raise InvalidValue(f"a provision map holds at most {limits.MAX_MAP_LINES} lines")

    def check_runs_in_the_year(self, line: ProvisionMapLine) -> None:
        """A line may start before the year or run past it, but must overlap it."""
        year = self.academic_year
        if not line.overlaps(year.starts_on, year.ends_on):
            raise InvalidValue(
                f"the line must run during the academic year {year} "
                f"({year.starts_on.isoformat()} to {year.ends_on.isoformat()})"
            )

    def check_review_date(self, line_number: int, review: LineReview, today: date) -> None:
        if review.reviewed_on > today:
            raise InvalidValue("reviewed_on must not be in the future")
        if review.reviewed_on < self.lines[line_number].starts_on:
            raise InvalidValue("a line cannot be reviewed before it starts")
        if len(self.reviews[line_number]) >= limits.MAX_REVIEWS_PER_LINE:
            raise InvalidValue(f"a line holds at most {limits.MAX_REVIEWS_PER_LINE} reviews")

    def check_can_publish(self) -> None:
        if not self.lines:
            raise NothingToPublish("a provision map with no lines cannot be published")
        if self.published and not self.changed_since_published:
            raise NothingToPublish(f"nothing has changed since version {len(self.published)} was published")
        if len(self.published) >= limits.MAX_PUBLISHED_VERSIONS:
            raise NothingToPublish(f"a provision map has at most {limits.MAX_PUBLISHED_VERSIONS} published versions")

    # -- commands --------------------------------------------------------------------------------------

    def add_line(self, line: ProvisionMapLine, actor: Actor) -> int:
        self.check_room_for_a_line()
        self.check_runs_in_the_year(line)
        number = self.next_line_number
        self.trigger_event(self.LineAdded, line_number=number, line=line, actor=actor)
        return number

    def change_line(self, line_number: int, line: ProvisionMapLine, actor: Actor) -> None:
        self.check_has_line(line_number)
        self.check_runs_in_the_year(line)
        if self.lines[line_number] != line:  # the same line sent again changes nothing
            self.trigger_event(self.LineChanged, line_number=line_number, line=line, actor=actor)

    def remove_line(self, line_number: int, actor: Actor) -> None:
        self.check_has_line(line_number)
        self.trigger_event(self.LineRemoved, line_number=line_number, actor=actor)

    def review_line(self, line_number: int, review: LineReview, actor: Actor, *, today: date) -> None:
        self.check_has_line(line_number)
        self.check_review_date(line_number, review, today)
        self.trigger_event(self.LineReviewed, line_number=line_number, review=review, actor=actor)

    def publish(self, actor: Actor) -> PublishedVersion:
        self.check_can_publish()
        version = self.draft_version
        content = self.canonical_content(version)
        self.trigger_event(
            self.Published, version_number=version, content=content, sha256=sha256_of(content), actor=actor
        )
        return self.published[-1]


class SchoolProvisionMaps(Aggregate):
    """The academic years a school has opened a map for, saved with each opening.

    A school's maps are listed from it, without scanning the log; opening two years at once
    collides on its version, so no year is ever left out.
    """

    @staticmethod
    def id_for(school_urn: SchoolUrn) -> UUID:
        return uuid5(ID_NAMESPACE, f"provision-maps/{school_urn}")

    class Started(Aggregate.Created):
        class_version = 1
        school_urn: SchoolUrn

    class YearOpened(Aggregate.Event):
        class_version = 1
        academic_year: AcademicYear
        actor: Actor

        def apply(self, index: SchoolProvisionMaps) -> None:
            index.academic_years = sorted([*index.academic_years, self.academic_year])

    def __init__(self, school_urn: SchoolUrn) -> None:
        self.school_urn = school_urn
        self.academic_years: list[AcademicYear] = []

    @classmethod
    def start(cls, school_urn: SchoolUrn) -> SchoolProvisionMaps:
        return cls._create(cls.Started, id=cls.id_for(school_urn), school_urn=school_urn)

    def year_opened(self, academic_year: AcademicYear, actor: Actor) -> None:
        if academic_year in self.academic_years:
            raise AlreadyExists(f"school {self.school_urn} already has a provision map for {academic_year}")
        self.trigger_event(self.YearOpened, academic_year=academic_year, actor=actor)
