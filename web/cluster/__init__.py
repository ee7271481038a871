"""The cluster lead's pages: the work queue and commissions (``pages``), the decisions on a request
(``decisions``), the budget and its charts (``budget``), the schools' SEN Information Reports (``sen_reports``),
and what they share (``common``)."""

from web.cluster.pages import router

__all__ = ["router"]
