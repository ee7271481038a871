"""Scenario 7: the web pages people wait on most, rendered by a real server over 10,000 requests.

    .venv/bin/python -m bench.web_pages [--quick] [--store sqlite|postgres]

Target (issue 11): the cluster lead's work queue and the council's decision log render at p95
under 150 ms on SQLite with 10,000 requests in the store.

One cluster of 20 schools holds 10,000 requests in a realistic mix (a tenth each: submitted x3,
evidenced x2, information requested, approved x3, declined): 6,000 are open (the lead's queue)
and 5,000 decisions sit in the log. They are the domain's own aggregates saved in batches
through the application (the same events the pages' commands write; one command each would take
longer than the measurement), and the read models are caught up before the server starts.

Then ``funding-engine serve`` (one worker, as deployed) answers page GETs, one at a time over a
kept-alive connection from this process, with a session cookie signed as the server signs them:
the queue's first page, the queue filtered by school, the decision log's first page, and the log
filtered by kind. Each page is fetched ``--samples`` times after a few warm-up fetches; the
figures are p50 and p95 of the wall time to the last byte. The baseline beside them is
``/healthz`` on the same server: the floor of the stack (uvicorn, FastAPI, one HTTP exchange).
Nothing here asserts time; results go to bench/results/web_pages.json (quick: results/quick/).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import time
from typing import Any

from bench.common import database_url, fresh_store, summary_row, table, write_result
from bench.http_load import Ours, pounds
from bench.servers import free_port, running
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget
from domain.money import Money
from domain.values import (
    Actor,
    ClusterId,
    DeclineReasonCode,
    EvidenceDocument,
    FinancialYear,
    ProvisionLine,
    SchoolUrn,
    SpendLine,
    TopUpReason,
)
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from web.session import SESSION_COOKIE, Signer

REQUESTS = 10_000
CLUSTER = "bench-web-cluster"
SCHOOLS = [f"{870000 + index:06d}" for index in range(20)]
YEAR = "2026-27"
BATCH = 200
TARGET_MS = 150.0
COUNCIL = Actor.council("bench-council")
FINANCE = Actor.finance("bench-finance")
LEAD = Actor.cluster_lead("bench-lead", ClusterId(CLUSTER))
PAGES = {
    "lead's queue": "/cluster/queue",
    "lead's queue, one school": f"/cluster/queue?school_urn={SCHOOLS[3]}",
    "decision log": "/council/decisions",
    "decision log, declines": "/council/decisions?kind=cluster_decline",
}
WHO = {"lead's queue": LEAD, "lead's queue, one school": LEAD, "decision log": COUNCIL}


def prepare(url: str) -> None:
    """Register the cluster, allocate, and save the 10,000 requests in their mix of states."""
    app = bootstrap(Settings(database_url=url))
    try:
        app.register_cluster(COUNCIL, CLUSTER, "Bench web cluster")
        for urn in SCHOOLS:
            app.add_school(COUNCIL, CLUSTER, urn)
        app.allocate_budget(FINANCE, CLUSTER, YEAR, pounds(10**9), "bench allocation")
        cluster, year = ClusterId.parse(CLUSTER), FinancialYear.parse(YEAR)
        # Saved with every batch: approvals commit on it, and a saved aggregate carries on.
        budget: ClusterBudget = app.repository.get(ClusterBudget.id_for(cluster, year))
        pending: list[Any] = [budget]
        for index in range(REQUESTS):
            urn = SCHOOLS[index % len(SCHOOLS)]
            school = Actor.school(f"senco-{index % len(SCHOOLS)}", SchoolUrn.parse(urn))
            request = FundingRequest.submit(
                school_urn=SchoolUrn.parse(urn),
                cluster_id=cluster,
                financial_year=year,
                amount_requested=Money(1_500_00),
                reason=TopUpReason.COMPLEX_NEEDS if index % 2 else TopUpReason.INCREASE_IN_NUMBERS,
                pupil_count=1 + index % 4,
                needs_summary="Needs a summary for the panel; no names.",
                planned_provision=[ProvisionLine.parse("therapies", "1500.00")],
                actor=school,
            )
            state = index % 10
            if state >= 3:
                request.provide_evidence(
                    Money(6_000_00),
                    [SpendLine.parse("therapies", "1000.00", "sessions")],
                    [EvidenceDocument("evidence.pdf", "0" * 64)],
                    school,
                )
            if state in (5, 6, 7):
                request.approve(Money(1_200_00), "meets the criteria", "", LEAD, budget)
            elif state == 8:
                request.decline(DeclineReasonCode.INSUFFICIENT_EVIDENCE, "more evidence needed", LEAD)
            elif state == 9:
                request.request_information("Which provision has the school already tried?", LEAD)
            pending.append(request)
            if len(pending) > BATCH or index == REQUESTS - 1:
                assert app.read_side is not None
                with app.read_side.saving():
                    app.save(*pending)
                pending = [budget]
        app.read_models.balance(FINANCE, CLUSTER, YEAR)  # catches the read models up, untimed
    finally:
        app.close()


def fetch(connection: http.client.HTTPConnection, path: str, cookie: str) -> tuple[float, int, int]:
    began = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    body = response.read()
    return (time.perf_counter() - began) * 1000, response.status, len(body)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(store_kind: str, samples: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with fresh_store(store_kind, "bench_web") as store:
        url = database_url(store)
        began = time.monotonic()
        prepare(url)
        print(f"{store_kind}: {REQUESTS:,} requests saved in {time.monotonic() - began:.0f}s", flush=True)
        ours = Ours()
        port = free_port()
        signer = Signer(ours.secret)
        with running(Ours.argv(port, 1), ours.env(url), port=port, label="web-pages"):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            floor = [fetch(connection, "/healthz", "")[0] for _ in range(samples)]
            for name, path in PAGES.items():
                actor = WHO.get(name, COUNCIL)
                cookie = f"{SESSION_COOKIE}={signer.session_for(actor)}"
                for _ in range(5):
                    _, status, size = fetch(connection, path, cookie)
                    if status != 200:
                        raise SystemExit(f"{path} answered {status}; is the page there?")
                times = [fetch(connection, path, cookie)[0] for _ in range(samples)]
                rows.append(
                    {
                        "store": store_kind,
                        "page": name,
                        "path": path,
                        "bytes": size,
                        "p50_ms": round(statistics.median(times), 1),
                        "p95_ms": round(percentile(times, 0.95), 1),
                        "floor_p95_ms": round(percentile(floor, 0.95), 1),
                    }
                )
                print(f"{store_kind} {name}: p50 {rows[-1]['p50_ms']} ms, p95 {rows[-1]['p95_ms']} ms", flush=True)
            connection.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--store", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--samples", type=int)
    args = parser.parse_args()
    samples = args.samples or (60 if args.quick else 300)
    rows: list[dict[str, Any]] = []
    for store_kind in args.store or ["sqlite", "postgres"]:
        rows.extend(measure(store_kind, samples))
    summary = [
        summary_row(
            scenario="7 web pages",
            store=row["store"],
            measure=f"{row['page']} p95 ms",
            ours=float(row["p95_ms"]),
            baseline=float(row["floor_p95_ms"]),
            ratio=None,
            target=f"< {TARGET_MS:.0f} ms" if row["store"] == "sqlite" else "-",
            met=row["p95_ms"] < TARGET_MS or row["store"] != "sqlite",
        )
        for row in rows
    ]
    print(
        table(
            ["store", "page", "p50 ms", "p95 ms", "/healthz p95 ms", "bytes"],
            [
                [row["store"], row["page"], row["p50_ms"], row["p95_ms"], row["floor_p95_ms"], row["bytes"]]
                for row in rows
            ],
        )
    )
    write_result(
        "web_pages",
        {"requests": REQUESTS, "samples": samples, "rows": rows, "summary": summary},
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
