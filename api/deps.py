"""FastAPI dependencies: the application, the caller, role checks and If-Match.

Roles are enforced by one dependency, ``allowed(command)``, reading DESIGN.md's role table in
``domain.permissions``; no route has its own ``if role == ...``.

Every dependency here is ``async def`` although none awaits: each only reads the request and
checks an HS256 signature, which never blocks. FastAPI runs a plain ``def`` dependency on the
thread pool, one hop per dependency per request; measured on this stack that cost a third of a
trivial route's throughput (bench/http_load.py, docs/PERFORMANCE.md).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import Unauthenticated
from api.middleware import identity
from domain.errors import StaleVersion
from domain.permissions import check_role
from domain.values import Actor
from funding_engine.application import FundingApplication

bearer = HTTPBearer(auto_error=False, description="A JWT signed with HS256 (see `funding-engine token`)")


async def get_application(request: Request) -> FundingApplication:
    application: FundingApplication = request.app.state.application
    return application


async def current_actor(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Actor:
    # ``bearer`` documents the scheme in OpenAPI; the token itself was verified once, by the
    # Authentication middleware, which read the one Authorization header the request may carry.
    caller = identity(request.scope)
    if isinstance(caller, Unauthenticated):
        raise caller
    return caller


AppDep = Annotated[FundingApplication, Depends(get_application)]
ActorDep = Annotated[Actor, Depends(current_actor)]


def allowed(command: str) -> Any:
    """The caller, if their role may ever do ``command`` (403 otherwise, before the body is read)."""

    async def dependency(actor: ActorDep) -> Actor:
        check_role(actor, command)
        return actor

    dependency.__name__ = f"allowed_to_{command}"
    # Read by the error handlers: a body FastAPI cannot even parse is checked after the token and role.
    dependency.command = command  # type: ignore[attr-defined]
    return Depends(dependency)


def route_commands(route: object) -> list[str]:
    """The commands whose ``allowed`` dependency guards ``route`` (none for an open route)."""
    dependant = getattr(route, "dependant", None)
    commands = [getattr(sub.call, "command", None) for sub in getattr(dependant, "dependencies", [])]
    return [command for command in commands if command]


_ETAG = re.compile(r'^"?([0-9]{1,18})"?$')


async def expected_version(
    if_match: Annotated[
        str | None,
        Header(description='The version the change is based on, as sent in the ETag: "3". A stale one is a 412.'),
    ] = None,
) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    value = if_match.strip()
    if value.startswith("W/"):
        # If-Match compares strongly (RFC 9110 13.1.1): a weak validator never matches.
        raise StaleVersion('If-Match needs a strong ETag as given in the ETag header, e.g. "3", not W/"3"')
    match = _ETAG.match(value)
    if match is None:
        raise StaleVersion('If-Match must be a version as given in the ETag header, e.g. "3"')
    return int(match.group(1))


ExpectedVersion = Annotated[int | None, Depends(expected_version)]
