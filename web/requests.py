"""The request page every role reads: ``/funding-requests/{id}``.

It shows the request, its planned provision, the school's spend evidence, its decisions and its
full timeline (and, since issue 12, the provision map version the evidence cites, with the
warnings beside it), each from the application as the signed-in person may read it (another school's
request is a 404, as in the API). ``?as_of=`` shows it as it was at a past moment, for auditors.
Below that, each role's module adds what that role can do here (``actions_<role>.html``), with
whatever extra figures it registers in ``kit.request_page_extras``.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import NotFound
from domain.values import Actor, ProvisionMapCitation, Role
from web.kit import Errors, Kit
from web.labels import ENGLAND, when

# What each event is called on a timeline.
EVENT_NAMES = {
    "Submitted": "Request submitted",
    "SpendEvidenceProvided": "Spend evidence added",
    "InformationRequested": "Information requested",
    "ClusterApproved": "Approved by the cluster",
    "ClusterDeclined": "Declined by the cluster",
    "Escalated": "Escalated to the council",
    "CouncilApproved": "Approved by the council",
    "CouncilDeclined": "Declined by the council",
    "Withdrawn": "Withdrawn by the school",
    "PaymentRecorded": "Payment recorded",
    "InstalmentHeld": "Instalment held",
    "InstalmentHoldLifted": "Hold on an instalment lifted",
    "AwardReleased": "Unpaid award released",
    "RecoveryRaised": "Recovery raised",
    "RecoveryReceived": "Recovery received",
}


def request_id_from(text: str) -> UUID:
    """The request's id from the path; an id that cannot be one is a page that does not exist."""
    try:
        return UUID(text)
    except ValueError:
        raise NotFound(f"no request {text!r}") from None


def parse_as_of(text: str, errors: Errors) -> datetime | None:
    """``2027-03-01T14:30`` (a date-time input, in England's time) or an ISO time with a zone."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors.add("as_of", "Enter a date and time, like 2027-03-01T14:30")
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=ENGLAND)
    try:
        moment.astimezone(ENGLAND)  # the page shows it in England's time: it must have one
    except OverflowError:
        errors.add("as_of", "Enter a date and time between the years 1 and 9999")
        return None
    return moment


def cited_map_url(actor: Actor, citation: ProvisionMapCitation) -> str | None:
    """The read-only page of the cited version, for a role with one (finance reads it on the request only)."""
    place = f"{citation.academic_year.path}/versions/{citation.version}"
    if actor.role is Role.SCHOOL:
        return f"/school/provision-maps/{place}"
    if actor.role in (Role.CLUSTER_LEAD, Role.COUNCIL):
        prefix = "/cluster" if actor.role is Role.CLUSTER_LEAD else "/council"
        return f"{prefix}/provision-maps/{citation.school_urn}/{place}"
    return None


def router(kit: Kit) -> APIRouter:
    pages = kit.router()

    @pages.get("/funding-requests/{request_id}")
    def request_page(request: Request, request_id: str, as_of: str = "") -> Response:
        actor = kit.actor(request)
        uuid = request_id_from(request_id)
        errors = Errors()
        moment = parse_as_of(as_of, errors)
        application = kit.application
        current = application.get_request(actor, uuid)
        history = application.request_history(actor, uuid)
        shown = current
        if moment is not None:
            try:
                shown = application.get_request(actor, uuid, as_at=moment)
            except NotFound:
                # The request exists (``current``), just not yet then: a mistyped moment, not a missing page.
                submitted = when(history[0].timestamp) if history else "later"
                errors.add("as_of", f"The request did not exist yet at {when(moment)}: it was submitted {submitted}")
                moment = None
        if moment is not None:
            history = [entry for entry in history if entry.timestamp <= moment]
        extras = kit.request_page_extras.get(actor.role)
        review = application.evidence_review_of(shown)
        cited = review.cited_map
        return kit.render(
            request,
            "requests/request.html",
            title=f"Request {str(uuid.hex)[:8].upper()}",
            status=400 if errors else 200,
            errors=errors,
            values={"as_of": as_of},
            breadcrumbs=kit.request_page_breadcrumbs.get(actor.role, ()),
            request_id=uuid.hex,
            funding_request=shown,
            current=current,
            as_of=moment,
            history=history,
            event_names=EVENT_NAMES,
            extras=extras(request, actor, current) if extras and moment is None else {},
            evidence_review=review,
            cited_map_url=cited_map_url(actor, cited.citation) if cited and cited.version else None,
        )

    return pages
