"""What an SEN Information Report must contain: the checklist a school or a council officer assesses.

A school's governing body or proprietor must prepare a report containing "SEN information"
(Children and Families Act 2014, section 69(2)). Section 69(3) says what that is:

- (a) information prescribed about the implementation of the school's SEN policy: prescribed by
  regulation 51 of the Special Educational Needs and Disability Regulations 2014 (SI 2014/1530) as
  the information in its Schedule 1 (thirteen paragraphs; paragraph 3 has seven parts);
- (b) four items about disabled pupils, in the Act itself: admissions, less favourable treatment,
  facilities for access, and the accessibility plan. The plan is the one made under paragraph 3 of
  Schedule 10 to the Equality Act 2010; the duty to report on it is section 69(3)(b)(iv) of the 2014
  Act, so that is the reference each item carries here.

Each item's ``wording`` is the legislation's own text (of the version as made, as published on
legislation.gov.uk), so an auditor can hold a rating against the words it rates. ``checked`` says
whether that wording was compared with the published text when it was written down here; the
items not yet compared are marked so, and are the ones to check before the list is relied on.
Keys are stored in events: never rename one.

What the checked items were compared with, word for word:

- Schedule 1, paragraphs 1 to 6 (with 3(a) to 3(g)):
  https://www.legislation.gov.uk/uksi/2014/1530/schedules/made?view=plain (as made) and
  https://legislation.gov.uk/uksi/2014/1530/schedule/1 (revised; "no known outstanding effects").
- Section 69(3)(b)(i) to (iv): https://www.legislation.gov.uk/ukpga/2014/6/section/69?view=plain.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from domain.errors import InvalidValue

SCHEDULE_1 = "The Special Educational Needs and Disability Regulations 2014 (SI 2014/1530), Schedule 1"
SECTION_69 = "Children and Families Act 2014, section 69(3)(b)"


class Rating(Enum):
    """How well a report covers one item."""

    MET = "met"
    PARTLY_MET = "partly_met"
    NOT_MET = "not_met"


class AssessmentKind(Enum):
    """Who assessed: the school itself, or a council officer auditing it."""

    SELF_ASSESSMENT = "self_assessment"
    AUDIT = "audit"


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    key: str
    reference: str  # "Schedule 1, paragraph 3(a)", as a reader cites it
    short_title: str  # what a page shows as the item's name
    wording: str
    checked: bool  # compared word for word with legislation.gov.uk's text


# Paragraph 3's opening words, then each of its parts (whose closing "; and" is written as a full stop).
_P3 = (
    "Information about the school's policies for making provision for pupils with special educational needs "
    "whether or not pupils have EHC Plans, including"
)

CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem(
        "schedule_1_paragraph_1",
        "Schedule 1, paragraph 1",
        "Kinds of special educational needs provided for",
        "The kinds of special educational needs for which provision is made at the school.",
        True,
    ),
    ChecklistItem(
        "schedule_1_paragraph_2",
        "Schedule 1, paragraph 2",
        "Identification and assessment policies",
        "Information, in relation to mainstream schools and maintained nursery schools, about the school's "
        "policies for the identification and assessment of pupils with special educational needs.",
        True,
    ),
    ChecklistItem(
        "schedule_1_paragraph_3a",
        "Schedule 1, paragraph 3(a)",
        "Evaluating the effectiveness of provision",
        f"{_P3}: how the school evaluates the effectiveness of its provision for such pupils.",
        True,
    ),
    ChecklistItem(
        "schedule_1_paragraph_3b",
        "Schedule 1, paragraph 3(b)",
        "Assessing and reviewing progress",
        f"{_P3}: the school's arrangements for assessing and reviewing the progress of pupils with special "
        "educational needs.",
        True,
    ),
    ChecklistItem(
        "schedule_1_paragraph_3c",
        "Schedule 1, paragraph 3(c)",
        "Approach to teaching",
        f"{_P3}: the school's approach to teaching pupils with special educational needs.",
        True,
    ),
    ChecklistItem(
        "schedule_1_paragraph_3d",
        "Schedule 1, paragraph 3(d)",
        "Adapting the curriculum and environment",
        f"{_P3}: how the school adapts the curriculum and learning environment for pupils with special "
        "educational needs.",
        True,
    ),
    ChecklistItem(
        "schedule_1_paragraph_3e",
        "Schedule 1, paragraph 3(e)",
        "Additional support for learning",
        f"{_P3}: additional support for learning that is available to pupils with special educational needs.",
        True,
    ),
    ChecklistItem(
        "schedule_1_paragraph_3f",
        "Schedule 1, paragraph 3(f)",
        "Inclusion in the school's activities",
        f"{_P3}: how the school enables pupils with special educational needs to engage in the activities of "
        "the school (including physical activities) together with children who do not have special "
        "educational needs.",
        True,
    ),
    ChecklistItem(
        "schedule_1_paragraph_3g",
        "Schedule 1, paragraph 3(g)",
        "Emotional, mental and social development",
        f"{_P3}: support that is available for improving the emotional, mental and social development of "
        "pupils with special educational needs.",
        True,
    ),
    ChecklistItem(
        "schedule_1_paragraph_4",
        "Schedule 1, paragraph 4",
        "The SEN co-ordinator's name and contact details",
        "In relation to mainstream schools and maintained nursery schools, the name and contact details of "
        "the SEN co-ordinator.",
        True,
    ),
    ChecklistItem(
        "schedule_1_paragraph_5",
        "Schedule 1, paragraph 5",
        "Staff expertise and training",
        "Information about the expertise and training of staff in relation to children and young people with "
        "special educational needs and about how specialist expertise will be secured.",
        True,
    ),
    ChecklistItem(
        "schedule_1_paragraph_6",
        "Schedule 1, paragraph 6",
        "Securing equipment and facilities",
        "Information about how equipment and facilities to support children and young people with special "
        "educational needs will be secured.",
        True,
    ),
    # Paragraphs 7 to 13 are written as recalled and marked unchecked until someone compares them with
    # legislation.gov.uk: every copy of the Schedule found so far stops inside paragraph 7, after
    # "...about, and involving such parents in, the educ", which agrees with paragraph 7 below as far as
    # it goes. Paragraph 11's "clause 32" is the likeliest slip: a made instrument cites the Act's sections.
    ChecklistItem(
        "schedule_1_paragraph_7",
        "Schedule 1, paragraph 7",
        "Consulting and involving parents",
        "The arrangements for consulting parents of children with special educational needs about, and "
        "involving such parents in, the education of their child.",
        False,
    ),
    ChecklistItem(
        "schedule_1_paragraph_8",
        "Schedule 1, paragraph 8",
        "Consulting and involving young people",
        "The arrangements for consulting young people with special educational needs about, and involving "
        "them in, their education.",
        False,
    ),
    ChecklistItem(
        "schedule_1_paragraph_9",
        "Schedule 1, paragraph 9",
        "Complaints",
        "Any arrangements made by the governing body or the proprietor relating to the treatment of "
        "complaints from parents of pupils with special educational needs concerning the provision made at "
        "the school.",
        False,
    ),
    ChecklistItem(
        "schedule_1_paragraph_10",
        "Schedule 1, paragraph 10",
        "Involving health, social care, local authority and voluntary services",
        "How the governing body involves other bodies, including health and social services bodies, local "
        "authority support services and voluntary organisations, in meeting the needs of pupils with special "
        "educational needs and in supporting the families of such pupils.",
        False,
    ),
    ChecklistItem(
        "schedule_1_paragraph_11",
        "Schedule 1, paragraph 11",
        "Support services for parents",
        "The contact details of support services for the parents of pupils with special educational needs, "
        "including those for arrangements made in accordance with clause 32.",
        False,
    ),
    ChecklistItem(
        "schedule_1_paragraph_12",
        "Schedule 1, paragraph 12",
        "Transitions and preparing for adulthood",
        "The school's arrangements for supporting pupils with special educational needs in a transfer between "
        "phases of education or in preparation for adulthood and independent living.",
        False,
    ),
    ChecklistItem(
        "schedule_1_paragraph_13",
        "Schedule 1, paragraph 13",
        "Where the Local Offer is published",
        "Information on where the local authority's local offer is published.",
        False,
    ),
    ChecklistItem(
        "section_69_3_b_i",
        "Section 69(3)(b)(i)",
        "Admission of disabled pupils",
        "Information as to the arrangements for the admission of disabled persons as pupils at the school.",
        True,
    ),
    ChecklistItem(
        "section_69_3_b_ii",
        "Section 69(3)(b)(ii)",
        "Preventing less favourable treatment",
        "Information as to the steps taken to prevent disabled pupils from being treated less favourably than "
        "other pupils.",
        True,
    ),
    ChecklistItem(
        "section_69_3_b_iii",
        "Section 69(3)(b)(iii)",
        "Facilities for access",
        "Information as to the facilities provided to assist access to the school by disabled pupils.",
        True,
    ),
    ChecklistItem(
        "section_69_3_b_iv",
        "Section 69(3)(b)(iv)",
        "The accessibility plan",
        "Information as to the plan prepared by the governing body or proprietor under paragraph 3 of "
        "Schedule 10 to the Equality Act 2010 (accessibility plan).",
        True,
    ),
)

ITEMS: dict[str, ChecklistItem] = {item.key: item for item in CHECKLIST}
SCHEDULE_1_ITEMS = tuple(item for item in CHECKLIST if item.key.startswith("schedule_1_"))
SECTION_69_ITEMS = tuple(item for item in CHECKLIST if item.key.startswith("section_69_"))


def source_of(item: ChecklistItem) -> str:
    """The instrument an item comes from, in full."""
    return SCHEDULE_1 if item in SCHEDULE_1_ITEMS else SECTION_69


def check_ratings(ratings: object) -> dict[str, Rating]:
    """A rating for every item of the checklist, and nothing else: an assessment is of the whole report."""
    if not isinstance(ratings, dict):
        raise InvalidValue("ratings must map each checklist item to met, partly_met or not_met")
    unknown = sorted(str(key) for key in ratings if key not in ITEMS)
    if unknown:
        raise InvalidValue(f"ratings name items that are not on the checklist: {', '.join(unknown[:5])}")
    missing = [item.key for item in CHECKLIST if item.key not in ratings]
    if missing:
        raise InvalidValue(f"ratings must rate every checklist item; missing: {', '.join(missing[:5])}")
    checked: dict[str, Rating] = {}
    for item in CHECKLIST:
        value = ratings[item.key]
        if isinstance(value, Rating):
            checked[item.key] = value
            continue
        try:
            checked[item.key] = Rating(value)
        except ValueError:
            raise InvalidValue(f"ratings.{item.key} must be one of: met, partly_met, not_met; got {value!r}") from None
    return checked
