"""Tables, the async database handle, and the queries the bot needs, split by area: courses,
deliveries, check-ins, the training log, groups and operations."""
