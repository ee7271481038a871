"""Landing pages for menu items that gather several pages (``kit.HUBS``): a list of links, each with
a line on what it is for. The menu links to the landing page; the pages keep their own addresses."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.values import Role
from web.kit import HUBS, NAVIGATION, HubLink, Kit


def router(kit: Kit) -> APIRouter:
    pages = kit.router()

    def landing(role: Role, title: str, links: tuple[HubLink, ...]) -> Callable[[Request], Response]:
        def page(request: Request) -> Response:
            kit.actor(request, role)
            return kit.render(request, "hub.html", title=title, links=links)

        return page

    for role, items in NAVIGATION.items():
        for href, text in items:
            if href in HUBS:
                pages.add_api_route(href, landing(role, text, HUBS[href]), methods=["GET"], name=href)
    return pages
