"""Finance's pages: balances, reconciliation and the ledger (``pages``), allocations and payments
(``forms``), payment runs and the bank's remittances (``payment_runs``, ``remittances``), and what
they share (``common``)."""

from web.finance.pages import router

__all__ = ["router"]
