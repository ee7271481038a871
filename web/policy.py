"""The funding policy's pages: what is in force, and changing it.

Council officers and finance read the policy and change it at ``/council/policy`` and
``/finance/policy`` (the council's own, or with ``?cluster=`` a cluster's overrides): every
parameter in force with where its value came from, changes waiting for a second person (approve,
or reject with a reason; the proposer may withdraw), the form to change a parameter, and every
change made. ``?as_of=YYYY-MM-DD`` shows the policy as it stood at the end of that day. A lead
reads their own cluster's at ``/cluster/policy``. The application decides everything: a change
that needs a second person, a value out of range, a date in the past are its refusals.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import Conflict, InvalidValue, NotFound, NotPermitted
from domain.money import Money
from domain.policy import PolicyInForce
from domain.policy_parameters import PARAMETERS, Kind, ParameterSpec
from domain.values import Actor, Role
from funding_engine.application.calendar import ENGLAND, today_in_england
from web.award_terms import date_values, read_date
from web.kit import Errors, Kit, application_message, money
from web.provision_maps import date_items, day

BASES = {Role.COUNCIL: "/council/policy", Role.FINANCE: "/finance/policy"}
LEAD_PAGE = "/cluster/policy"


def shown(spec: ParameterSpec, text: str) -> str:
    """A value as people read it: "£10,000.00", "20 working days", "4, 3, 5 (autumn, spring, summer)"."""
    if spec.kind is Kind.MONEY:
        return money(Money.parse(text).pence)
    if spec.kind is Kind.SHARES:
        return f"{text.replace(',', ', ')} ({spec.unit})"
    return f"{text}%" if spec.unit == "percent" else f"{text} {spec.unit}"


def source_text(in_force: PolicyInForce, name: str) -> str:
    source = in_force.sources.get(name)
    if source is None:
        return "Default"
    scope, change = source
    whose = "Council" if scope == "council" else "Cluster"
    return f"{whose} change {change.number}, from {day(change.effective_from)}"


def _readable(message: str) -> str:
    """The application names a parameter as the API does (``award_cap``); a page names it as people do."""
    for name, spec in PARAMETERS.items():
        message = message.replace(name[:1].upper() + name[1:], spec.title).replace(name, spec.title.lower())
    return message


def _field_of(message: str) -> str:
    """The form field a refusal of the application is about, to put its message beside."""
    if "reason" in message:
        return "reason"
    return "effective_from-day" if "effect" in message or "past" in message else "value"


def as_of_in(request: Request) -> str | None:
    """The day asked for: ``as_of=2026-09-01`` in a link, or the form's three boxes."""
    query = request.query_params
    parts = [query.get(f"as_of-{part}", "").strip() for part in ("year", "month", "day")]
    if any(parts):
        if not all(part.isascii() and part.isdigit() for part in parts):
            return "not a date"
        return f"{int(parts[0]):04d}-{int(parts[1]):02d}-{int(parts[2]):02d}"
    return query.get("as_of") or None


def end_of(day_in_england: date) -> datetime:
    return datetime.combine(day_in_england + timedelta(days=1), time(), ENGLAND) - timedelta(microseconds=1)


def router(kit: Kit) -> APIRouter:
    pages = kit.router()
    application = kit.application

    def page(
        request: Request,
        actor: Actor,
        cluster: str | None,
        *,
        as_of: str | None = None,
        errors: Errors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
        editable: bool = True,
    ) -> Response:
        moment, as_of_day = None, None
        if as_of:
            try:
                as_of_day = date.fromisoformat(as_of)
            except ValueError:
                errors = errors or Errors()
                errors.add("as_of-day", "The day to see the policy on must be a real date, like 1 9 2026")
                status = 400
            else:
                moment = end_of(as_of_day)
        try:
            in_force, record = application.read_policy(actor, cluster, as_of=moment)
        except InvalidValue:
            raise NotFound(f"no cluster {cluster!r}") from None
        base = BASES.get(actor.role, LEAD_PAGE)
        clusters = [str(row.cluster_id) for row in application.read_models.list_clusters(actor)] if editable else []
        chosen = (values or {}).get("parameter", "")
        parameters = [spec for spec in PARAMETERS.values() if cluster is None or spec.cluster_may_set]
        return kit.render(
            request,
            "policy/policy.html",
            title="Funding policy" if cluster is None else f"Funding policy: {cluster}",
            status=status,
            errors=errors,
            values=values or {"parameter": "", **date_values("effective_from", today_in_england())},
            base=base,
            here=base if cluster is None or base == LEAD_PAGE else f"{base}?cluster={cluster}",
            cluster=cluster,
            clusters=clusters,
            cluster_items=[
                {"value": "", "text": "The council (every cluster)", "selected": cluster is None},
                *({"value": name, "text": f"Cluster {name}", "selected": name == cluster} for name in clusters),
            ],
            parameter_items=[
                {"value": "", "text": "Choose a parameter"},
                *({"value": spec.name, "text": spec.title, "selected": spec.name == chosen} for spec in parameters),
            ],
            editable=editable and as_of_day is None,
            as_of_values=date_values("as_of", as_of_day) if as_of_day else {},
            as_of_day=as_of_day,
            in_force=in_force,
            record=record,
            all_parameters=PARAMETERS,
            shown=shown,
            source_text=source_text,
            threshold=in_force.number("second_person_threshold_percent"),
            date_items=date_items,
            day=day,
        )

    def scope_of(cluster: str | None) -> str | None:
        return cluster or None

    for role, base in BASES.items():

        def show(request: Request, cluster: str | None = None, role: Role = role) -> Response:
            actor = kit.actor(request, role)
            return page(request, actor, scope_of(cluster), as_of=as_of_in(request))

        async def change(request: Request, role: Role = role, base: str = base) -> Response:
            actor = kit.actor(request, role)
            form = await kit.form(request)
            cluster = scope_of(form.get("cluster"))
            values = {
                name: form.get(name)
                for name in ("parameter", "value", "reason", *date_values("effective_from", date.min))
            }
            errors = Errors()
            if form.get("parameter") not in PARAMETERS:
                errors.add("parameter", "Choose the parameter to change")
            if not form.get("value"):
                errors.add("value", "Enter the new value")
            effective_from = read_date(form, errors, "effective_from", "the change takes effect")
            if not form.get("reason"):
                errors.add("reason", "Enter the reason for the change, such as the decision that agreed it")
            if not errors and effective_from is not None:
                try:
                    made = application.change_policy(
                        actor,
                        parameter=form.get("parameter"),
                        value=form.get("value"),
                        effective_from=effective_from,
                        reason=form.get("reason"),
                        cluster_id=cluster,
                    )
                except InvalidValue as error:
                    message = _readable(application_message(error))
                    errors.add(_field_of(message), message)
                except Conflict as error:
                    errors.add("parameter", _readable(application_message(error)))
            if errors:
                return page(request, actor, cluster, errors=errors, values=values, status=400)
            title = PARAMETERS[made.parameter].title
            flash = (
                f"Change {made.number} proposed: {title} waits for a second person to approve it"
                if made.status == "awaiting_second_person"
                else f"Change {made.number} made: {title} is {shown(PARAMETERS[made.parameter], made.value)} "
                f"from {day(made.effective_from)}"
            )
            return kit.redirect(base if cluster is None else f"{base}?cluster={cluster}", flash=flash)

        async def decide(request: Request, number: str, verdict: str, role: Role = role, base: str = base) -> Response:
            actor = kit.actor(request, role)
            form = await kit.form(request)
            cluster = scope_of(form.get("cluster"))
            if not number.isdigit() or verdict not in {"approve", "reject"}:
                raise NotFound(f"no change {number[:20]!r}")
            errors = Errors()
            try:
                if verdict == "approve":
                    application.approve_policy_change(actor, int(number), cluster_id=cluster)
                else:
                    reason = form.get("reason")
                    if not reason:
                        errors.add(f"reason-{number}", "Enter why the change is rejected or withdrawn")
                    else:
                        application.reject_policy_change(actor, int(number), reason, cluster_id=cluster)
            except (NotPermitted, Conflict, InvalidValue) as error:
                errors.add(f"reason-{number}", application_message(error))
            if errors:
                return page(
                    request, actor, cluster, errors=errors, values={f"reason-{number}": form.get("reason")}, status=400
                )
            done = "approved: it counts from its date" if verdict == "approve" else "rejected: it never counts"
            return kit.redirect(
                base if cluster is None else f"{base}?cluster={cluster}", flash=f"Change {number} {done}"
            )

        pages.add_api_route(base, show, methods=["GET"], name=f"{base}-show")
        pages.add_api_route(f"{base}/changes", change, methods=["POST"], name=f"{base}-change")
        pages.add_api_route(f"{base}/changes/{{number}}/{{verdict}}", decide, methods=["POST"], name=f"{base}-decide")

    @pages.get(LEAD_PAGE)
    def lead_policy(request: Request) -> Response:
        actor = kit.actor(request, Role.CLUSTER_LEAD)
        assert actor.cluster_id is not None
        return page(request, actor, str(actor.cluster_id), as_of=as_of_in(request), editable=False)

    return pages
