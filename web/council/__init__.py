"""The council's pages: escalations and their decisions (``pages``), the decision log and its CSV
(``decisions``), the register of clusters (``clusters``) and of schools (``schools``), who
signed in (``sign_ins``), and the schools' SEN Information Reports (``local_offer``)."""

from fastapi import APIRouter

from web.council import clusters, local_offer, pages, schools, sign_ins
from web.kit import Kit


def router(kit: Kit) -> APIRouter:
    combined = APIRouter()
    for module in (pages, clusters, schools, sign_ins, local_offer):
        combined.include_router(module.router(kit))
    return combined


__all__ = ["router"]
