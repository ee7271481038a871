"""Signing in and out (``pages``): the demo users in development, the council's OpenID Provider
otherwise (``oidc``). The session cookie itself is ``web/session.py``, which every page reads."""

from web.sign_in.pages import router

__all__ = ["router"]
