"""A decision in its context, for the council's audit: ``/council/decisions/{position}`` shows the
request as it stood just before the decision, the budget as the decision found it, the policy it
was taken under, its evidence, the audit chain's proof, and the decision decided again with the
policy of its time and with today's. ``/council/audit/replay`` replays every decision at once.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import NotFound
from domain.policy_parameters import PARAMETERS
from domain.values import Role
from web.kit import ROLE_NAMES, Kit
from web.labels import DECISION_KINDS
from web.policy import shown, source_text

# The decision event's name, as the decision log says its kind.
KINDS = {
    "InformationRequested": "information_request",
    "ClusterApproved": "cluster_approval",
    "ClusterDeclined": "cluster_decline",
    "Escalated": "escalation",
    "CouncilApproved": "council_approval",
    "CouncilDeclined": "council_decline",
}


def kind_text(event_name: str) -> str:
    return DECISION_KINDS.get(KINDS.get(event_name, ""), event_name)


def router(kit: Kit) -> APIRouter:
    pages = kit.router()
    application = kit.application

    @pages.get("/council/decisions/{position}")
    def decision_context(request: Request, position: str) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        if not (position.isascii() and position.isdigit()) or not 0 < int(position) < 2**63:
            raise NotFound(f"no decision at {position[:20]!r}")
        context = application.decision_context(actor, int(position))
        (replayed,) = application.replay_decisions(actor, int(position)).decisions
        return kit.render(
            request,
            "council/decision_context.html",
            title=f"Decision at position {position}: {kind_text(context.kind)}",
            breadcrumbs=[("/council/decisions", "Decision log")],
            context=context,
            event=context.decision,
            kind=kind_text(context.kind),
            replayed=replayed,
            parameters=PARAMETERS,
            shown=shown,
            source_text=source_text,
            role_names=ROLE_NAMES,
        )

    @pages.get("/council/audit/replay")
    def replay(request: Request, run: str = "") -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        report = application.replay_decisions(actor) if run else None
        title = "Replay every decision"
        if report is not None:
            title += f": {len(report.not_reproduced)} not reproduced"
        return kit.render(
            request,
            "council/replay.html",
            title=title,
            breadcrumbs=[("/council/audit", "Audit")],
            report=report,
            kind_text=kind_text,
        )

    return pages
