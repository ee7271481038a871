"""The SEND top-up funding engine's composition root.

``application/`` is the application layer (the use cases, and the queries over the read models);
``bootstrap`` builds it from ``settings``, with ``storage/`` (how events and snapshots are stored),
``read_side`` (the read models kept current) and ``idempotency`` (keys recorded with the events).
The entry points (``cli/``, ``server``, ``demo``, ``dev_mode``) are the only modules that wire an
adapter (``api/``) to it; ``tokens`` issues and verifies the bearer tokens both sides use.
"""
