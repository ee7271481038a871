"""Finance's pages: balances, reconciliation and the ledger (``pages``), allocations and payments
(``forms``), and what they share (``common``)."""

from web.finance.pages import router

__all__ = ["router"]
