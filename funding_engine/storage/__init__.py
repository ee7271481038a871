"""How the engine stores its events with the eventsourcing library: recorders that write an
idempotency record in the events' transaction, sealed snapshots and the repository that trusts
only those, the transcodings of the domain's values, and PostgreSQL connections with libpq options.
"""
