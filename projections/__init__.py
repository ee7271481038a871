"""Read models built from the event log (balances, queues, audit and finance views): see issue 3."""
