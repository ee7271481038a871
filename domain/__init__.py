"""The funding domain: aggregates, events, value objects and rules. Pure: no I/O, no framework."""
