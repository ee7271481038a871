"""Every limit and pattern that input is checked against, stated once.

The domain's values check themselves against these when they are made, and the API's schemas are
built from them, so a limit changed here changes the domain's refusals, the API's 422s and the
published OpenAPI document together.

Patterns are written the way JSON Schema (and so pydantic and the OpenAPI document) reads them,
anchored with ``^...$``. Python's ``$`` also matches before a final newline, so Python code must
match them with ``re.fullmatch``, never ``re.match``.
"""

from __future__ import annotations

# -- money -------------------------------------------------------------------------------------------

MONEY_PATTERN = r"^-?[0-9]{1,16}(\.[0-9]{1,2})?$"
"""Pounds as text: an optional minus, whole pounds and at most 2 decimal places."""
MONEY_TEXT_LENGTH = 20
"""The longest text ``MONEY_PATTERN`` admits: a sign, 16 digits, a point and 2 decimals."""
MONEY_LIMIT_PENCE = 10**14
"""No money value is larger (either sign): more than any council's whole budget, so a typo or an attack."""
MAX_AMOUNT_PENCE = 10_000_000_00
"""The largest single amount any command accepts: 10,000,000.00."""

# -- identifiers -------------------------------------------------------------------------------------

URN_DIGITS = 6
URN_PATTERN = rf"^[0-9]{{{URN_DIGITS}}}$"
"""A school's unique reference number: six digits."""

CLUSTER_ID_MIN_LENGTH = 2
CLUSTER_ID_MAX_LENGTH = 63
CLUSTER_ID_PATTERN = rf"^[a-z0-9][a-z0-9-]{{{CLUSTER_ID_MIN_LENGTH - 1},{CLUSTER_ID_MAX_LENGTH - 1}}}$"
"""A cluster's slug: lower-case letters, digits and hyphens, not starting with a hyphen."""

FINANCIAL_YEAR_PATTERN = r"^[0-9]{4}-[0-9]{2}$"
"""``"2026-27"``; that the second part is the year after the first is checked by ``FinancialYear``."""
FIRST_FINANCIAL_YEAR = 2000
LAST_FINANCIAL_YEAR = 2098
"""Financial years start in these years: ``"2000-01"`` to ``"2098-99"`` (``"2099-00"`` would wrap round to 00)."""

SHA256_PATTERN = r"^[0-9a-f]{64}$"
"""A supporting document's content hash: 64 lower-case hex digits."""

# -- written text ------------------------------------------------------------------------------------

SHORT_TEXT = 200
"""Names, references, providers, staff ids."""
NOTE_TEXT = 1000
"""Optional notes on an allocation or a line of spend."""
LONG_TEXT = 4000
"""Reasons, questions, summaries, descriptions."""

CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
"""The characters no text may hold, as the body of a regex character class: C0 and C1 controls
except tab, line feed and carriage return, which written text uses."""
LONE_SURROGATES = r"\ud800-\udfff"
"""Not characters at all: no UTF-8 store can hold one, so no text may hold one either."""

REQUIRED_TEXT_PATTERN = rf"^[^{CONTROL_CHARACTERS}]*[^\s{CONTROL_CHARACTERS}][^{CONTROL_CHARACTERS}]*$"
"""Text that must be written: something other than space, and no control characters."""
OPTIONAL_TEXT_PATTERN = rf"^[^{CONTROL_CHARACTERS}]*$"
"""Text that may be empty: no control characters."""
TEXT_RULES = {
    REQUIRED_TEXT_PATTERN: "must not be blank or contain control characters",
    OPTIONAL_TEXT_PATTERN: "must not contain control characters",
}
"""What each text pattern asks for, in words: a refusal quotes these, never the pattern."""

INVISIBLE_IN_STAFF_IDS = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode categories a staff id must not contain. An identity is compared, logged and shown to
auditors, so it must read as it compares: control characters (Cc), format characters such as the
bidirectional overrides and isolates, zero-width joiners and marks (Cf), line and paragraph
separators (Zl, Zp) and lone surrogates (Cs) can make two different ids look alike or reorder what
a log line shows."""

# -- counts and lists --------------------------------------------------------------------------------

MIN_PUPIL_COUNT = 1
MAX_PUPIL_COUNT = 2000
# An award's instalments and recoveries are numbered from 1; no real schedule comes near this.
MAX_INSTALMENT_NUMBER = 9999
"""Pupils a single top-up request may be for."""

MAX_LINES = 50
"""Lines in each list of a funding request: planned provision, spend, documents."""
MAX_COMMISSIONED_SCHOOLS = 200
"""Schools one commissioned service may name."""

MAX_IMPORT_ROWS = 5000
"""Rows one import of the school or cluster register may hold: every school of a large county."""
MAX_IMPORT_BYTES = 2_000_000
"""The largest register file an import reads: 5,000 rows of long names fit with room to spare."""

# -- what the HTTP API states about its own inputs ---------------------------------------------------

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_CURSOR_LENGTH = 500
"""A longer ``cursor`` is not one the server gave out."""
MAX_IDEMPOTENCY_KEY_LENGTH = 200

# -- provision maps (issue 12) -----------------------------------------------------------------------

ACADEMIC_YEAR_PATTERN = r"^[0-9]{4}/[0-9]{2}$"
"""An academic year as people write it: ``"2026/27"``."""
ACADEMIC_YEAR_PATH_PATTERN = r"^[0-9]{4}-[0-9]{2}$"
"""The same year in a URL path, where a slash cannot stand inside a segment: ``"2026-27"``."""
FIRST_ACADEMIC_YEAR = 2000
LAST_ACADEMIC_YEAR = 2098
"""Academic years start in these years, as financial years do."""

MAX_MAP_LINES = 200
"""Lines on one school's provision map for one year: a large secondary maps well under a hundred."""
MAX_PROVISION_PUPILS = 5000
"""Pupils one line of a provision map may count: a universal line can cover a whole large school."""
MAX_HOURS_PER_WEEK = 60
"""Hours a week on one line: more than a full-time post, so a larger figure is a typing mistake."""
MAX_WEEKS = 52
"""Weeks a line runs for in one academic year."""
MAX_REVIEWS_PER_LINE = 12
"""Reviews of one line: termly or half-termly reviews fit with room to spare."""
MAX_PUBLISHED_VERSIONS = 100
"""Published versions of one map: a school publishing weekly all year stays under it."""
HOURS_PATTERN = r"^[0-9]{1,2}(\.[0-9]{1,2})?$"
"""Hours a week as text: a whole number or at most 2 decimal places (``"2.5"``)."""
COST_PATTERN = r"^[0-9]{1,16}(\.[0-9]{1,2})?$"
"""A line's cost as text: pounds, never negative, at most 2 decimal places; zero is allowed."""
ISO_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
"""A calendar date: ``"2026-09-01"`` (that it is in the calendar is the domain's check)."""
# -- SEN Information Reports and the Local Offer (issue 12) ------------------------------------------

SEN_REPORT_URL_MAX_LENGTH = 2000
"""A report's address on the school's website: longer than any real page's, shorter than what
browsers and crawlers stop following (about 2,000 characters)."""
BROKEN_LINK_NOTE_MAX_LENGTH = 500
"""What anyone may write when reporting a broken link: a sentence or two, never a letter."""
BROKEN_LINK_REPORTS_PER_CLIENT_PER_HOUR = 5
"""Reports of broken links one client (an IP address) may make in an hour."""
BROKEN_LINK_REPORTS_PER_HOUR = 200
"""Reports of broken links all clients together may make in an hour, per server process."""
LOCAL_OFFER_SEARCH_MAX_LENGTH = 100
"""The public listing's search text: a school's name, a URN or a cluster's name is shorter."""

# -- policy (issue 14) -------------------------------------------------------------------------------

POLICY_VALUE_LENGTH = 40
"""A policy parameter's value as text: the largest money value, or shares like "4,3,5", is far shorter."""
