"""The council's decision log: newest first, filtered by date, cluster, school, kind and decider,
a page at a time, and the same filters as a CSV of every matching decision.

The filters are a GET form, so a filtered log is a link that can be shared or bookmarked; the CSV
link carries the same query. A filter that cannot be one (a date that is not a date, a URN that is
not six digits, a kind or cluster not on the list) is a 400 page with the error summary.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import InvalidValue
from domain.values import Actor, Role, SchoolUrn
from funding_engine.application.errors import InvalidQuery
from web.kit import Errors, Kit, application_message
from web.labels import DECISION_KINDS, ENGLAND

PAGE_SIZE = 50
# The query's names for the filters, in the form's order.
FILTERS = ("from", "to", "cluster", "school", "kind", "decider")


@dataclass(frozen=True)
class DecisionFilters:
    """The filters as the application takes them (``None``: not filtered on)."""

    decided_from: datetime | None = None
    decided_to: datetime | None = None
    cluster_id: str | None = None
    school_urn: str | None = None
    kind: str | None = None
    decided_by: str | None = None

    def arguments(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _day(text: str, errors: Errors, field: str, label: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.add(field, f"The {label} date must be a real date, like 2027-03-01")
        return None


def parse_filters(values: dict[str, str], cluster_ids: list[str], errors: Errors) -> DecisionFilters:
    """The form's text as filters; each mistake is added to ``errors`` against its field."""
    first = _day(values["from"], errors, "from", "from")
    last = _day(values["to"], errors, "to", "to")
    if first and last and last < first:
        errors.add("to", "The to date must be the same as or after the from date")
    cluster = values["cluster"] or None
    if cluster is not None and cluster not in cluster_ids:
        errors.add("cluster", "Select a cluster from the list")
    school = values["school"] or None
    if school is not None:
        try:
            SchoolUrn.parse(school)
        except InvalidValue:
            errors.add("school", "Enter a school URN of 6 digits, like 990001")
    kind = values["kind"] or None
    if kind is not None and kind not in DECISION_KINDS:
        errors.add("kind", "Select a kind of decision from the list")
    return DecisionFilters(
        # Whole days in England: from the first midnight to the last moment of the to date.
        decided_from=datetime.combine(first, time.min, tzinfo=ENGLAND) if first else None,
        decided_to=datetime.combine(last, time.max, tzinfo=ENGLAND) if last else None,
        cluster_id=cluster,
        school_urn=school,
        kind=kind,
        decided_by=values["decider"] or None,
    )


def router(kit: Kit) -> APIRouter:
    pages = kit.router()
    read_models = kit.application.read_models

    def filters_from(request: Request, actor: Actor) -> tuple[dict[str, str], list[str], DecisionFilters, Errors]:
        values = {name: request.query_params.get(name, "").strip() for name in FILTERS}
        cluster_ids = [row.cluster_id for row in read_models.list_clusters(actor)]
        errors = Errors()
        return values, cluster_ids, parse_filters(values, cluster_ids, errors), errors

    def log_page(
        request: Request, values: dict[str, str], cluster_ids: list[str], errors: Errors, **context: Any
    ) -> Response:
        query = urlencode({name: value for name, value in values.items() if value})
        return kit.render(
            request,
            "council/decisions.html",
            title="Decision log",
            status=400 if errors else 200,
            errors=errors,
            values=values,
            cluster_ids=cluster_ids,
            query=query,
            filtered=bool(query),
            **context,
        )

    @pages.get("/council/decisions")
    def decisions(request: Request, cursor: str = "") -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        values, cluster_ids, filters, errors = filters_from(request, actor)
        if errors:
            return log_page(request, values, cluster_ids, errors, rows=None)
        try:
            page = read_models.decisions(actor, **filters.arguments(), limit=PAGE_SIZE, cursor=cursor or None)
        except InvalidQuery:
            errors.add("from", "The page link is not one this service gave out: filter the log again")
            return log_page(request, values, cluster_ids, errors, rows=None)
        except InvalidValue as error:
            errors.add("decider", application_message(error))
            return log_page(request, values, cluster_ids, errors, rows=None)
        return log_page(
            request, values, cluster_ids, errors, rows=page.items, next_cursor=page.next_cursor, first_page=not cursor
        )

    @pages.get("/council/decisions.csv")
    def decisions_csv(request: Request) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        values, cluster_ids, filters, errors = filters_from(request, actor)
        if not errors:
            out = io.StringIO()
            try:
                read_models.write_decisions_csv(actor, out, **filters.arguments())
            except InvalidValue as error:
                errors.add("decider", application_message(error))
            else:
                today = datetime.now(UTC).astimezone(ENGLAND).date().isoformat()
                return Response(
                    out.getvalue(),
                    media_type="text/csv; charset=utf-8",
                    headers={
                        "Content-Disposition": f'attachment; filename="decision-log-{today}.csv"',
                        "Cache-Control": "no-store",
                    },
                )
        return log_page(request, values, cluster_ids, errors, rows=None)

    return pages
