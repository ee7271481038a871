"""Read models built from the event log, exactly once: balances, clusters, the request index, the
decision log and the finance ledger (``read_models/``), typed queries over them (``queries``), the
catch-up machinery (``engine``, ``source``), the audit chain and its anchors, and reconciliation
against a fold of the log. Imports only ``domain``."""
