"""The SEND top-up funding engine's composition root.

``application/`` is the application layer (the use cases, and the queries over the read models);
``bootstrap`` builds it from ``settings``. The entry points (``cli``, ``server``, ``demo``,
``dev_mode``) are the only modules that wire an adapter (``api/``) to it; ``tokens`` issues and
verifies the bearer tokens both sides use.
"""
