"""The Local Offer's pages: the public listing of schools' SEN Information Reports and reporting a
broken link (``public``, no sign-in), and what the school's and the council's pages share
(``checklist``: the assessment form and dates as people type them)."""

from web.local_offer.public import router

__all__ = ["router"]
