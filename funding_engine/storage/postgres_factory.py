"""The library's PostgreSQL infrastructure, with the URL's libpq options on every pooled connection.

The eventsourcing library connects with host, port, user, password and database name only, so a
managed service's ``sslmode=verify-full`` or ``sslrootcert=...`` would reach our own connections
(``PostgresStore.conninfo()``) but not the library's. ``PostgresStore.library_env()`` names this
factory only when the URL carries such options; without them the library's own factory is used.
"""

from __future__ import annotations

from eventsourcing import postgres
from eventsourcing.utils import Environment, EnvType
from psycopg.conninfo import conninfo_to_dict

from funding_engine.settings import LIBPQ_OPTIONS_VARIABLE
from funding_engine.storage.recorders import PostgresEventRecorder


class PostgresFactory(postgres.PostgresFactory):
    # The recorder the application's environment names for the library's own factory
    # (funding_engine.storage.recorders.RECORDER_TOPICS), so the two factories record alike.
    application_recorder_class = PostgresEventRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        # The pool is built closed (it opens on first use), so its connection arguments can
        # still be completed here.
        arguments = self.datastore.pool.kwargs
        if not isinstance(arguments, dict):
            raise TypeError("the library's connection pool no longer takes a dict of connection arguments")
        arguments.update(conninfo_to_dict(self.env.get(LIBPQ_OPTIONS_VARIABLE) or ""))
