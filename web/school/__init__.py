"""The school's pages (a SENCo): their requests (``pages``), starting one (``start``), spend
evidence and answers to information requests (``evidence``), provision maps (``provision_map``,
``provision_map_form``), and what they share (``forms``)."""

from web.school.pages import router

__all__ = ["router"]
