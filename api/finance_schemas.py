"""Finance's response bodies: reconciliation, a fund's year-end statement, commitments by age."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas import Money2dp


class VersionsResponse(BaseModel):
    projected: int | None  # null: not a whole number in the read model (it was overwritten)
    recomputed: int


class ReconciliationRowResponse(BaseModel):
    cluster_id: str | None = None
    # null: the read model holds something that is not an amount there (it was overwritten).
    projected: dict[str, Money2dp | None]
    recomputed: dict[str, Money2dp]
    version: VersionsResponse
    consistent: bool


# A read model's value as stored: text, a whole number, money as a 2-dp string, or null.
Cell = str | int | None


class ColumnDifferenceResponse(BaseModel):
    projected: Cell
    recomputed: Cell


class RowDifferenceResponse(BaseModel):
    key_column: str
    key: Cell
    columns: dict[str, ColumnDifferenceResponse] = Field(
        description="each differing column: the read model's value and the log's (null where the row is absent)"
    )


class ReadModelReconciliationResponse(BaseModel):
    name: str = Field(description="the table", examples=["finance_ledger"])
    read_model: str = Field(description="the projection that writes it", examples=["finance_ledger"])
    consistent: bool
    position: int = Field(description="the log position the read model has applied and was checked at")
    rows_checked: int
    differing: int
    missing: int = Field(description="rows the log accounts for that the read model lacks")
    extra: int = Field(description="rows in the read model that the log does not account for")
    first_difference: RowDifferenceResponse | None = Field(description="the first differing row, in key order")


class InvariantCheckResponse(BaseModel):
    name: str = Field(examples=["on every award: committed = paid + scheduled unpaid + held"])
    holds: bool
    checked: int = Field(description="how many awards or funds it was checked on")
    failing: int
    first_failures: list[str] = Field(description="the first awards or funds that break it, and how")


class ReconciliationResponse(BaseModel):
    financial_year: str
    consistent: bool
    clusters: list[ReconciliationRowResponse]
    council_fund: ReconciliationRowResponse
    log_position: int
    read_models: list[ReadModelReconciliationResponse]
    # Since issue 13.
    invariants: list[InvariantCheckResponse] = Field(description="the awards' invariants, checked at the log's head")
    invariants_position: int = Field(description="the log position the invariants were checked at")


class YearEndStatementResponse(BaseModel):
    fund: Literal["cluster", "council"]
    cluster_id: str | None
    financial_year: str
    closed: bool
    opening_allocation: Money2dp = Field(description="the year's first allocation")
    allocations: Money2dp = Field(description="every later allocation, less every adjustment")
    carried_in: Money2dp
    committed: Money2dp = Field(description="everything awards committed on the year, before releases and recoveries")
    forward_commitments: Money2dp = Field(description="of it, still committed ahead of any allocation")
    commissioned: Money2dp
    paid: Money2dp = Field(description="paid out, less recoveries received while the year was open")
    released: Money2dp
    recovered: Money2dp = Field(description="recoveries received while the year was open")
    income: Money2dp = Field(description="recoveries received once the year was closed")
    carried_forward: Money2dp
    committed_unpaid_at_close: Money2dp | None = Field(description="null while the year is open")
    available: Money2dp
    version: int


class AgeBandResponse(BaseModel):
    band: Literal["months_0_3", "months_3_6", "months_6_12", "months_over_12"]
    unpaid: Money2dp = Field(description="committed and not yet paid, held instalments included")
    held: Money2dp
    awards: int


class FundCommitmentsResponse(BaseModel):
    fund: Literal["cluster", "council"]
    cluster_id: str | None
    unpaid: Money2dp
    held: Money2dp
    bands: list[AgeBandResponse]


class CommitmentsByAgeResponse(BaseModel):
    financial_year: str
    as_of: str = Field(description="the day ages are counted back from", examples=["2027-03-31"])
    funds: list[FundCommitmentsResponse]
