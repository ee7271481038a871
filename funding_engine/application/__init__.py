"""The application layer: the engine's use cases behind one facade, ``FundingApplication``.

One module per feature, each a class with one method per use case: ``clusters``, ``budgets``,
``requests`` (the lifecycle of a funding request, decisions and payments included), ``schools``
(the school register, and importing it and the clusters from CSV files), ``history``
(a request as it was, event by event), ``evidence`` (the provision map a request's evidence
cites, the warnings beside it, and a cluster's needs overview), ``audit``, ``sign_ins`` (who
signed in and out), ``provision_maps`` (a school's provision maps and their published versions)
and ``sen_reports`` (schools' SEN Information Reports; their queries, public ones among them, are
``local_offer``), ``awards`` (payments, holds, releases and recoveries on an award), ``year_end``,
``payment_runs`` and ``remittances`` (finance's payment runs and the bank's remittances, with
``payment_files`` for the files themselves); ``engine`` is what they stand on. Queries over the
read models are a service of their own, ``app.read_models`` (``read_models``). An adapter keeps an
``Idempotency-Key``'s promise through ``idempotently(claim)``, ``idempotency_record(claim)`` and
``record_answer(claim, answer)``; the errors it maps beside the domain's are in ``errors``.

Every command follows one shape:
  1. check the actor's role (before reading anything, so a refused role learns nothing);
  2. parse the values (a malformed value writes nothing);
  3. under the per-aggregate locks, load, check scope and rules, and ``save()`` every touched
     aggregate in one call, which is one transaction on either store;
  4. if another process saved first (``IntegrityError``), re-read and decide again, a bounded
     number of times, so a race ends as success or a domain error, never a crash.

Build it with ``funding_engine.bootstrap.bootstrap``, which prepares the store first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from eventsourcing.domain import MutableOrImmutableAggregate

from domain.clusters import Cluster
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund
from domain.sen_reports import SenInformationReport
from funding_engine.application.audit import AnchorTargetMissing, AuditReport
from funding_engine.application.awards import Awards
from funding_engine.application.budgets import FundStatement
from funding_engine.application.decision_context import ChainProof, DecisionContext, DecisionContexts
from funding_engine.application.evidence import CitedMap, EvidenceReview, NeedsOverview
from funding_engine.application.history import HistoryEntry
from funding_engine.application.local_offer import LocalOffer
from funding_engine.application.payment_runs import InstalmentRow, PaymentRuns, RemittanceReport
from funding_engine.application.provision_maps import ProvisionMaps
from funding_engine.application.read_models import Page, ReadModels, Reconciliation
from funding_engine.application.replay import ReplayedDecision, ReplayReport
from funding_engine.application.schools import BadRow, ClusterImport, ImportRefused, SchoolImport, SchoolRegister
from funding_engine.application.sen_reports import SenReports
from funding_engine.application.sign_ins import SignInEntry, SignIns
from funding_engine.application.year_end import YearEnd
from funding_engine.idempotency import Answer, IdempotencyClaim, IdempotencyRecord
from funding_engine.settings import Settings

__all__ = [
    "AnchorTargetMissing",
    "Answer",
    "AuditReport",
    "BadRow",
    "ChainProof",
    "CitedMap",
    "ClusterImport",
    "DecisionContext",
    "EvidenceReview",
    "FundStatement",
    "FundingApplication",
    "HistoryEntry",
    "IdempotencyClaim",
    "IdempotencyRecord",
    "ImportRefused",
    "InstalmentRow",
    "NeedsOverview",
    "Page",
    "ReadModels",
    "Reconciliation",
    "RemittanceReport",
    "ReplayReport",
    "ReplayedDecision",
    "SchoolImport",
    "SignInEntry",
]


class FundingApplication(
    PaymentRuns, YearEnd, Awards, DecisionContexts, SignIns, SchoolRegister, ProvisionMaps, SenReports
):
    """The SEND top-up funding engine: every command (``app.approve(...)``), and ``app.read_models``."""

    # The library derives the PostgreSQL tables' names from it: a new name would orphan the stored log.
    name = "FundingEngine"
    # Budgets and funds gather one event per approval all year, and a load replays what came after
    # the last snapshot: at 100, a budget of 10,099 events loaded in 7-9x the time of a 10-event
    # one, at 20 within 2x (bench/long_histories.py). A budget's snapshot is a few figures, so one
    # more small write every 20 approvals is cheap. Requests and clusters stay short.
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
        ClusterBudget: 20,
        CouncilFund: 20,
        Cluster: 100,
        FundingRequest: 100,
        # Broken-link reports from the public pile up on a report between a school's updates.
        SenInformationReport: 50,
    }
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "5000"}

    def __init__(self, settings: Settings, env: Mapping[str, str] | None = None) -> None:
        super().__init__(settings, env)
        self.read_models = ReadModels(self)
        self.read_models.local_offer = LocalOffer(self)
