"""The read models: one module per model, each owning its tables outright.

Each projection owns its tables (helper tables included), so any one of them can be dropped and
rebuilt from the log alone. Money is stored as BIGINT pence, times as ISO 8601 UTC text
(``2026-11-27T20:06:44.123456Z``, ``domain.formatting.utc_text``) so both stores sort and print
them identically. Each module also defines the typed rows its tables are read back as.
"""

from __future__ import annotations

from projections.projection import Projection
from projections.read_models.awards import Awards
from projections.read_models.cluster_balances import ClusterBalances
from projections.read_models.clusters import Clusters
from projections.read_models.decision_log import DecisionLog
from projections.read_models.finance_ledger import FinanceLedger
from projections.read_models.instalments import Instalments
from projections.read_models.request_index import RequestIndex
from projections.read_models.schools import Schools
from projections.read_models.sen_reports import SenReports


def read_models() -> list[Projection]:
    """A fresh instance of every read model (the audit chain is built beside them, with its key)."""
    return [
        ClusterBalances(),
        RequestIndex(),
        DecisionLog(),
        FinanceLedger(),
        Clusters(),
        Schools(),
        SenReports(),
        Instalments(),
        Awards(),
    ]
