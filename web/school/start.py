"""Starting a request: a few questions, one page each, then check your answers and submit.

The answers so far (the draft) live in a signed, compressed cookie, so the pages need no store of
their own and work without JavaScript; a bad input re-renders its page with what was typed and
leaves the draft as it was. A summary of needs may be long (4,000 characters), so the cookie is
compressed; a draft that still would not fit a browser's 4 KB cookie is refused on the needs page.

The draft's id becomes the request's id. Submitting twice (the back button, a double click) finds
the request that id already names instead of making another: the check page posts the id, a
request already submitted under it is shown, not submitted again, and two posts racing each
other are one command under the application's idempotency claim (the second returns the first's
request).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import Conflict, FundingError, NotFound, NotPermitted
from domain.formatting import pounds
from domain.limits import LONG_TEXT, MAX_PUPIL_COUNT, MIN_PUPIL_COUNT
from domain.values import Actor, FinancialYear, Role
from funding_engine.application import IdempotencyClaim
from funding_engine.application.calendar import current_financial_year
from web.kit import Errors, Kit, application_message, parse_pounds
from web.labels import REASONS
from web.school.forms import (
    ADD_ANOTHER,
    BREADCRUMBS,
    Line,
    check_written,
    line_values,
    pounds_text,
    read_lines,
    row_count,
    rows_for,
)

DRAFT_COOKIE = "fe_draft"
DRAFT_SECONDS = 12 * 60 * 60
COOKIE_BYTES = 3800  # under the 4,096 bytes every browser keeps for one cookie, with its name and flags

NEW = "/school/requests/new"
CHECK = f"{NEW}/check"
STEPS = ("about", "pupils", "provision", "amount")
STEP_URLS = {"about": NEW, "pupils": f"{NEW}/pupils", "provision": f"{NEW}/provision", "amount": f"{NEW}/amount"}


@dataclass
class Draft:
    """The answers given so far, in pence and codes, as the request will carry them."""

    id: str
    sub: str
    school_urn: str
    started: float
    financial_year: str = ""
    reason: str = ""
    pupil_count: int | None = None
    needs_summary: str = ""
    provision: list[tuple[str, int]] = field(default_factory=list)
    amount: int | None = None

    def answered(self, step: str) -> bool:
        return {
            "about": bool(self.financial_year and self.reason),
            "pupils": bool(self.pupil_count and self.needs_summary),
            "provision": bool(self.provision),
            "amount": self.amount is not None,
        }[step]

    def next_url(self) -> str:
        """The first question not yet answered; check your answers once all are."""
        return next((STEP_URLS[step] for step in STEPS if not self.answered(step)), CHECK)

    @property
    def lines(self) -> list[Line]:
        return [Line(category, pence) for category, pence in self.provision]

    @property
    def provision_total(self) -> int:
        return sum(pence for _, pence in self.provision)


def years_offered() -> list[str]:
    """This financial year and the next: a school asks for money it will spend soon."""
    this_year = current_financial_year()
    return [str(this_year), str(FinancialYear(this_year.start_year + 1))]


class Drafts:
    """The draft cookie: signed with the server's key, compressed, for one school's staff member."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.key = hmac.new(kit.signer.key, b"draft", hashlib.sha256).digest()

    def _mac(self, body: str) -> str:
        digest = hmac.new(self.key, body.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def encode(self, draft: Draft) -> str:
        packed = zlib.compress(json.dumps(asdict(draft), separators=(",", ":")).encode("utf-8"), 9)
        body = base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")
        return f"{body}.{self._mac(body)}"

    def read(self, request: Request, actor: Actor) -> Draft | None:
        """The signed-in person's draft, or None (none, expired, altered, or someone else's)."""
        value = request.cookies.get(DRAFT_COOKIE, "")
        body, _, mac = value.partition(".")
        if not body or not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            payload: dict[str, Any] = json.loads(
                zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            )
            draft = Draft(**payload)
            draft.provision = [(str(category), int(pence)) for category, pence in draft.provision]
        except (ValueError, TypeError, zlib.error):
            return None
        if draft.sub != actor.sub or draft.school_urn != str(actor.school_urn):
            return None
        if not 0 <= time.time() - draft.started <= DRAFT_SECONDS:
            return None
        return draft

    def read_or_start(self, request: Request, actor: Actor) -> Draft:
        return self.read(request, actor) or Draft(uuid4().hex, actor.sub, str(actor.school_urn), time.time())

    def fits(self, draft: Draft) -> bool:
        return len(self.encode(draft)) <= COOKIE_BYTES

    def save_and_go(self, draft: Draft, url: str) -> Response:
        response = self.kit.redirect(url)
        self.kit.set_cookie(response, DRAFT_COOKIE, self.encode(draft), max_age=DRAFT_SECONDS)
        return response


def router(kit: Kit) -> APIRouter:
    pages = kit.router()
    drafts = Drafts(kit)

    def question(
        request: Request,
        template: str,
        title: str,
        draft: Draft,
        *,
        values: dict[str, str],
        errors: Errors | None = None,
        **context: object,
    ) -> Response:
        return kit.render(
            request,
            f"school/{template}",
            title=title,
            status=400 if errors else 200,
            breadcrumbs=BREADCRUMBS,
            errors=errors,
            values=values,
            draft=draft,
            **context,
        )

    # -- 1. the year and the reason -------------------------------------------------------------

    about_title = "What is the request for?"

    @pages.get(NEW)
    def about(request: Request) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        draft = drafts.read_or_start(request, actor)
        values = {"financial_year": draft.financial_year or years_offered()[0], "reason": draft.reason}
        return question(request, "question_about.html", about_title, draft, values=values, years=years_offered())

    @pages.post(NEW)
    async def about_answered(request: Request) -> Response:
        form = await kit.form(request)
        actor = kit.actor(request, Role.SCHOOL)
        draft = drafts.read_or_start(request, actor)
        values = {"financial_year": form.get("financial_year"), "reason": form.get("reason")}
        errors = Errors()
        if values["financial_year"] not in years_offered():
            errors.add("financial_year", "Select the financial year the funding is for")
        if values["reason"] not in REASONS:
            errors.add("reason", "Select why your school needs top-up funding")
        if errors:
            return question(
                request, "question_about.html", about_title, draft, values=values, errors=errors, years=years_offered()
            )
        draft.financial_year, draft.reason = values["financial_year"], values["reason"]
        return drafts.save_and_go(draft, draft.next_url())

    # -- 2. the pupils and their needs ----------------------------------------------------------

    pupils_title = "Which pupils is the funding for?"

    @pages.get(STEP_URLS["pupils"])
    def pupils(request: Request) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        draft = drafts.read_or_start(request, actor)
        values = {"pupil_count": str(draft.pupil_count or ""), "needs_summary": draft.needs_summary}
        return question(request, "question_pupils.html", pupils_title, draft, values=values)

    @pages.post(STEP_URLS["pupils"])
    async def pupils_answered(request: Request) -> Response:
        form = await kit.form(request)
        actor = kit.actor(request, Role.SCHOOL)
        draft = drafts.read_or_start(request, actor)
        values = {"pupil_count": form.get("pupil_count"), "needs_summary": form.get("needs_summary")}
        errors = Errors()
        count = parse_pupil_count(values["pupil_count"], errors)
        needs = check_written(
            values["needs_summary"], errors, "needs_summary", "a summary of the pupils' needs", LONG_TEXT
        )
        if not errors:
            draft.pupil_count, draft.needs_summary = count, needs
            if not drafts.fits(draft):
                errors.add("needs_summary", "The summary of needs is too long to keep between pages: shorten it")
        if errors:
            return question(request, "question_pupils.html", pupils_title, draft, values=values, errors=errors)
        return drafts.save_and_go(draft, draft.next_url())

    # -- 3. the planned provision ---------------------------------------------------------------

    provision_title = "What will the funding pay for?"

    @pages.get(STEP_URLS["provision"])
    def provision(request: Request) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        draft = drafts.read_or_start(request, actor)
        values = line_values(draft.lines)
        rows = rows_for(len(draft.provision))
        return question(request, "question_provision.html", provision_title, draft, values=values, rows=rows)

    @pages.post(STEP_URLS["provision"])
    async def provision_answered(request: Request) -> Response:
        form = await kit.form(request)
        actor = kit.actor(request, Role.SCHOOL)
        draft = drafts.read_or_start(request, actor)
        rows = row_count(form)
        errors = Errors()
        lines, values = read_lines(form, rows, errors)
        if form.get("action") == ADD_ANOTHER:
            return question(request, "question_provision.html", provision_title, draft, values=values, rows=rows)
        if not lines and not errors:
            errors.add("category-1", "Enter at least one line of planned provision")
        if errors:
            return question(
                request, "question_provision.html", provision_title, draft, values=values, errors=errors, rows=rows
            )
        draft.provision = [(line.category, line.pence) for line in lines]
        if not drafts.fits(draft):
            errors.add("category-1", "There are too many lines to keep between pages: combine some of them")
            return question(
                request, "question_provision.html", provision_title, draft, values=values, errors=errors, rows=rows
            )
        return drafts.save_and_go(draft, draft.next_url())

    # -- 4. the amount requested ----------------------------------------------------------------

    amount_title = "How much top-up funding are you asking for?"

    @pages.get(STEP_URLS["amount"])
    def amount(request: Request) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        draft = drafts.read_or_start(request, actor)
        # The planned provision's total is the usual answer; the school may ask for less or more.
        pence = draft.amount if draft.amount is not None else draft.provision_total
        values = {"amount_requested": pounds_text(pence) if pence else ""}
        return question(request, "question_amount.html", amount_title, draft, values=values)

    @pages.post(STEP_URLS["amount"])
    async def amount_answered(request: Request) -> Response:
        form = await kit.form(request)
        actor = kit.actor(request, Role.SCHOOL)
        draft = drafts.read_or_start(request, actor)
        values = {"amount_requested": form.get("amount_requested")}
        errors = Errors()
        pence = parse_pounds(values["amount_requested"], errors, "amount_requested", "the amount you are asking for")
        if pence is None:
            return question(request, "question_amount.html", amount_title, draft, values=values, errors=errors)
        draft.amount = pence
        return drafts.save_and_go(draft, draft.next_url())

    # -- check your answers, submit, confirmation -------------------------------------------------

    def check_page(request: Request, draft: Draft, errors: Errors | None = None, status: int = 400) -> Response:
        return kit.render(
            request,
            "school/check.html",
            title="Check your answers before submitting your request",
            status=status if errors else 200,
            breadcrumbs=BREADCRUMBS,
            errors=errors,
            draft=draft,
            step_urls=STEP_URLS,
        )

    @pages.get(CHECK)
    def check(request: Request) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        draft = drafts.read(request, actor)
        if draft is None or draft.next_url() != CHECK:
            return kit.redirect(draft.next_url() if draft else NEW)
        return check_page(request, draft)

    @pages.post(CHECK)
    async def submit(request: Request) -> Response:
        form = await kit.form(request)
        actor = kit.actor(request, Role.SCHOOL)
        try:
            request_id = UUID(hex=form.get("draft_id"))
        except ValueError:
            return kit.redirect(NEW)
        if submitted_already(kit, actor, request_id):
            return forget_draft(kit.redirect(confirmation_url(request_id)), kit)
        draft = drafts.read(request, actor)
        if draft is None or draft.id != request_id.hex or draft.next_url() != CHECK:
            # The answers expired, or belong to another draft: nothing is submitted unseen.
            return kit.redirect(draft.next_url() if draft else NEW)
        claim = IdempotencyClaim.of(actor, "POST", CHECK, request_id.hex, request_id.bytes)
        try:
            with kit.application.idempotently(claim):
                kit.application.submit_request(
                    actor,
                    school_urn=str(actor.school_urn),
                    financial_year=draft.financial_year,
                    amount_requested=pounds(draft.amount or 0),
                    reason=draft.reason,
                    pupil_count=draft.pupil_count or 0,
                    needs_summary=draft.needs_summary,
                    planned_provision=[
                        {"category": category, "amount": pounds(pence)} for category, pence in draft.provision
                    ],
                    request_id=request_id,
                )
        except (NotFound, NotPermitted):
            raise
        except FundingError as error:
            errors = Errors()
            errors.add("submit", application_message(error))
            return check_page(request, draft, errors, status=409 if isinstance(error, Conflict) else 400)
        return forget_draft(kit.redirect(confirmation_url(request_id)), kit)

    @pages.get("/school/requests/{request_id}/submitted")
    def submitted(request: Request, request_id: str) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        try:
            uuid = UUID(request_id)
        except ValueError:
            raise NotFound("no such request") from None
        funding_request = kit.application.get_request(actor, uuid)
        return kit.render(
            request,
            "school/submitted.html",
            title="Request submitted",
            breadcrumbs=BREADCRUMBS,
            request_id=uuid.hex,
            funding_request=funding_request,
        )

    return pages


def parse_pupil_count(text: str, errors: Errors) -> int | None:
    if not text:
        errors.add("pupil_count", "Enter how many pupils the funding is for")
        return None
    if not (text.isascii() and text.isdigit()) or not MIN_PUPIL_COUNT <= int(text) <= MAX_PUPIL_COUNT:
        errors.add(
            "pupil_count", f"The number of pupils must be a whole number from {MIN_PUPIL_COUNT} to {MAX_PUPIL_COUNT:,}"
        )
        return None
    return int(text)


def submitted_already(kit: Kit, actor: Actor, request_id: UUID) -> bool:
    """Whether this draft's request exists: it can only be one this school submitted, or no one's."""
    try:
        kit.application.get_request(actor, request_id)
    except NotFound:
        return False
    return True


def confirmation_url(request_id: UUID) -> str:
    return f"/school/requests/{request_id.hex}/submitted"


def forget_draft(response: Response, kit: Kit) -> Response:
    response.delete_cookie(DRAFT_COOKIE, path="/", secure=kit.secure_cookies, httponly=True, samesite="lax")
    return response
