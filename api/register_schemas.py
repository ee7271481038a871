"""Bodies of the school register's endpoints (``/schools``, since issue 12), apart from ``api.schemas``
so that module stays readable; built from ``domain.limits`` the same way."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas import ShortText, Slug, Strict, Urn
from domain.values import SchoolPhase


class SchoolUpdateRequest(Strict):
    name: ShortText = Field(examples=["Saltmarsh Primary School"])
    phase: SchoolPhase = Field(description="Phase of education, as Get Information about Schools names them")
    cluster_id: Slug = Field(description="The cluster it is in; another cluster than now moves it there")


class SchoolCreateRequest(SchoolUpdateRequest):
    urn: Urn


class SchoolResponse(BaseModel):
    urn: str
    name: str | None = Field(description="None for a school in a cluster that is not on the register yet")
    phase: SchoolPhase | None
    cluster_id: str | None = Field(description="None for a school in no cluster")
    registered: bool
    version: int = Field(description="The register entry's version (0 while not registered); the ETag")


class SchoolListResponse(BaseModel):
    items: list[SchoolResponse]
    next_cursor: str | None
